"""Echo left in the microphone while azassist's speaker plays the assistant's voice (figure 8).

Opens azassist's device audio (``open_device_audio``: the microphone and speaker seams with
their echo canceller) on the default devices, plays a reply through the speaker, and reads
what the microphone delivers, exactly what the session would send. The bench has looped
the speaker's monitor back into the microphone, so everything heard is echo. Prints one JSON
line: the mean power of the delivered microphone signal while the voice plays, after a
convergence period.

    python -m bench.probes.echo --wav reply.wav --echo-cancellation on|off --noise-suppression on|off \
        --auto-gain on|off
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

import numpy as np

CONVERGE_S = 2.0  # the canceller's first seconds are not its steady state


async def run(args: argparse.Namespace) -> dict[str, float]:
    from azassist.core.audio.facade import open_device_audio
    from azassist.core.audio.files import read_wav
    from azassist.core.audio.memory import frame_samples, int16_frame
    from azassist.core.settings import AudioSettings

    settings = AudioSettings(
        echo_cancellation=args.echo_cancellation == "on",
        noise_suppression=args.noise_suppression == "on",
        auto_gain=args.auto_gain == "on",
    )
    voice = read_wav(args.wav)
    audio = await open_device_audio(settings, strict=True)
    captured: list[tuple[float, np.ndarray]] = []
    stop = asyncio.Event()

    async def listen() -> None:
        async for frame in audio.input:
            captured.append((time.monotonic(), frame_samples(frame)))
            if stop.is_set():
                return

    reader = asyncio.create_task(listen())
    await asyncio.sleep(1.0)  # streams running, queues at their working level
    started = time.monotonic()
    for start in range(0, len(voice), 2400):  # the server's 100 ms deltas, queued ahead
        await audio.output.capture_frame(int16_frame(voice[start : start + 2400]))
    audio.output.flush()
    duration = len(voice) / 24_000
    await asyncio.sleep(duration + 0.5)
    stop.set()
    await asyncio.wait_for(reader, 5)
    underflows = audio.output.audible_underflows  # a gap in the reply moves the echo path
    await audio.aclose()
    window = [s for t, s in captured if started + CONVERGE_S <= t <= started + duration]
    samples = np.concatenate(window).astype(np.float64) if window else np.zeros(1)
    return {"power": float(np.mean(samples**2)), "seconds": len(samples) / 24_000, "underflows": underflows}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wav", required=True)
    for name in ("--echo-cancellation", "--noise-suppression", "--auto-gain"):
        parser.add_argument(name, choices=("on", "off"), required=True)
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
