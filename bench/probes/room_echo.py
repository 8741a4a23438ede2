"""What azassist's microphone seam delivers while its speaker plays the assistant's voice into
a simulated room (figures 11 and 14, issue 23).

Opens azassist's device audio (``open_device_audio``: the microphone and speaker seams and
their processing) on the default devices, which the bench has joined through
``tests/support/room.py``; plays the voice through the speaker and keeps every microphone
frame the session would send, with its arrival time. Prints ``playing T`` (monotonic time
the first delta was queued: the bench may then have the user speak into the room), then
one JSON line; the delivered samples go to ``--out`` (int16 .npy) with their arrival times.

    python -m bench.probes.room_echo --wav reply.wav --out captured.npy \
        [--echo-cancellation on|off] [--noise-suppression on|off] [--auto-gain on|off] [--startup-ducking on|off]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import time

import numpy as np


async def run(args: argparse.Namespace) -> dict[str, object]:
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
    if args.startup_ducking == "off":
        options = audio.processor.options
        audio.processor.configure(dataclasses.replace(options, startup_ducking=False))
    captured: list[tuple[float, np.ndarray]] = []
    stop = asyncio.Event()

    async def listen() -> None:
        async for frame in audio.input:
            captured.append((time.monotonic(), frame_samples(frame).copy()))
            if stop.is_set():
                return

    reader = asyncio.create_task(listen())
    await asyncio.sleep(1.0)  # streams running, queues at their working level
    started = time.monotonic()
    print(f"playing {started}", flush=True)
    for start in range(0, len(voice), 2400):  # the server's 100 ms deltas, queued ahead
        await audio.output.capture_frame(int16_frame(voice[start : start + 2400]))
    audio.output.flush()
    duration = len(voice) / 24_000
    await asyncio.sleep(duration + args.tail)
    stop.set()
    await asyncio.wait_for(reader, 5)
    underflows = audio.output.audible_underflows
    await audio.aclose()
    times = np.array([t - started for t, _ in captured])
    lengths = np.array([len(s) for _, s in captured])
    np.save(args.out, np.concatenate([s for _, s in captured]).astype(np.int16))
    np.save(args.out.removesuffix(".npy") + "-times.npy", np.stack([times, lengths]))
    return {"duration": duration, "underflows": underflows, "frames": len(captured)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wav", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--tail", type=float, default=0.5, help="seconds to keep listening after the voice")
    for name in ("--echo-cancellation", "--noise-suppression", "--auto-gain", "--startup-ducking"):
        parser.add_argument(name, choices=("on", "off"), default="on")
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
