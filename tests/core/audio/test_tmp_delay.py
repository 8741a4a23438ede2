import asyncio
import numpy as np
import pytest
from livekit import rtc
from tests.core.audio.test_conversation import speaker_loopback  # noqa: F401
from tests.core.audio.test_speaker import capture
from tests.core.audio.support import RATE, until

pytestmark = [pytest.mark.audio, pytest.mark.asyncio, pytest.mark.timeout(120)]


async def test_delay(device_audio, speaker_loopback):
    speaker = device_audio.output
    proc = speaker._processor
    renders, captures = [], []
    real_r, real_c = proc.process_render, proc.process_capture

    def spy_r(samples, rate, dac=0.0, *, silent=False):
        if not silent and np.abs(samples).max() > 10000:
            renders.append(dac + int(np.argmax(np.abs(samples) > 10000)) / rate)
        real_r(samples, rate, dac, silent=silent)

    def spy_c(frame, adc=0.0):
        data = np.frombuffer(frame.data, dtype=np.int16)
        if np.abs(data).max() > 3000:
            captures.append(adc + int(np.argmax(np.abs(data) > 3000)) / RATE)
        real_c(frame, adc)

    proc.process_render, proc.process_capture = spy_r, spy_c
    click = np.zeros(RATE // 2, np.int16); click[0:24] = 20000
    for label in ["cold1", "running", "running", "cold2", "cold3", "running", "cold4"]:
        if label.startswith("cold"):
            await until(lambda: speaker.stream.parked, 5, "park")
        else:
            device_audio.expect_reply(); await asyncio.sleep(0.3)
        renders.clear(); captures.clear()
        await capture(speaker, click)
        speaker.flush()
        await speaker.wait_for_playout()
        await asyncio.sleep(0.4)
        d = (captures[0] - renders[0]) * 1000 if renders and captures else None
        print(f"{label}: render at {renders[:1]}, heard at {captures[:1]}, delay {d}")
