"""Echo return loss enhancement on the virtual devices: the speaker looped back into the
microphone at unity gain (harsher than a real room), measured on the microphone frames the
session would get, after the canceller's warm-up."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from azassist.core.audio.facade import DeviceAudioIO
from azassist.core.audio.memory import int16_frame
from azassist.core.audio.processing import WARMUP_SECONDS
from azassist.core.settings import AudioSettings
from tests.core.audio.support import device_glitches, until

pytestmark = [pytest.mark.audio, pytest.mark.asyncio, pytest.mark.timeout(60)]


@pytest.fixture
def loopback(virtual_audio: object) -> Iterator[None]:
    module = subprocess.run(
        ["pactl", "load-module", "module-loopback", "source=spk.monitor", "sink=mic", "latency_msec=60"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    yield
    subprocess.run(["pactl", "unload-module", module], capture_output=True)


async def echo_levels(settings: AudioSettings, far_end: np.ndarray) -> tuple[np.ndarray, int]:
    """Per-10 ms level (dBFS) of what the microphone delivered while ``far_end`` played, and
    how many device glitches PortAudio reported meanwhile."""
    audio = DeviceAudioIO(settings)
    await audio.start()
    frames: list[np.ndarray] = []

    async def read() -> None:
        async for frame in audio.input:
            frames.append(np.frombuffer(frame.data, dtype=np.int16).copy())

    reader = asyncio.create_task(read())
    try:
        await until(lambda: len(frames) > 20, 10, "microphone frames")
        frames.clear()
        for start in range(0, len(far_end), 2400):
            await audio.output.capture_frame(int16_frame(far_end[start : start + 2400]))
        audio.output.flush()
        await asyncio.wait_for(audio.output.wait_for_playout(), 20)
        await asyncio.sleep(0.2)
        glitches = device_glitches(audio)
    finally:
        reader.cancel()
        await audio.aclose()
    samples = np.concatenate(frames).astype(np.float64)
    blocks = samples[: len(samples) // 240 * 240].reshape(-1, 240)
    return 20 * np.log10(np.sqrt((blocks**2).mean(axis=1)) / 32768 + 1e-9), glitches


async def clean_echo_levels(settings: AudioSettings, far_end: np.ndarray) -> np.ndarray:
    """``echo_levels``, played once more if a device glitch cut into the first run (a gap
    in the loop looks like an echo-path jump to the canceller; see ``device_glitches``)."""
    for attempt in (1, 2):
        levels, glitches = await echo_levels(settings, far_end)
        if not glitches:
            return levels
        print(f"attempt {attempt}: {glitches} device glitch(es) during playback; playing again")
    pytest.fail("the sound server glitched in both attempts: the echo cannot be measured")


async def test_echo_return_loss_enhancement(
    loopback: None, speech: np.ndarray, record_property: Callable[[str, object], None]
) -> None:
    far_end = speech  # about 2.7 s
    off = await clean_echo_levels(AudioSettings(echo_cancellation=False, noise_suppression=False, auto_gain=False), far_end)
    on = await clean_echo_levels(AudioSettings(echo_cancellation=True, noise_suppression=False, auto_gain=False), far_end)
    # compare where the echo is loud, after the warm-up (no ducking there: the canceller alone)
    after = int((WARMUP_SECONDS + 0.5) * 100)
    count = min(len(off), len(on))
    loud = np.flatnonzero(off[:count] > -40)
    loud = loud[loud > after]
    assert len(loud) > 50, "the loopback did not bring the speaker into the microphone"
    erle = float(np.mean(off[loud]) - np.mean(on[loud]))
    record_property("erle_db", round(erle, 1))
    print(f"ERLE after warm-up: {erle:.1f} dB over {len(loud)} loud frames; residual echo max {on[loud].max():.1f} dBFS")
    assert erle > 25
    leaks = loud[on[loud] >= -45]
    # below the local server's default VAD threshold; an intermittent leak (two frames at about
    # -41 dBFS just after the warm-up, twice in about a dozen clean-clone CI runs, never in 40
    # runs alone) says where it was, for the next one to be read
    assert not len(leaks), "echo leaked at " + ", ".join(
        f"{index * 10} ms (on {on[index]:.0f}, off {off[index]:.0f} dBFS)" for index in leaks
    ) + f"; on around the first: {np.round(on[max(leaks[0] - 5, 0) : leaks[0] + 6]).tolist()}"
