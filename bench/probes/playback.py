"""What the echo probes share (figures 8, 11 and 14): azassist's device audio plays a voice
while every microphone frame the session would be handed is kept, with its arrival time."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import time
from dataclasses import dataclass

import numpy as np

SWITCHES = ("--echo-cancellation", "--noise-suppression", "--auto-gain", "--startup-ducking")


@dataclass
class Capture:
    started: float  # monotonic time the first delta was queued
    duration: float  # seconds of voice
    frames: list[tuple[float, np.ndarray]]  # (arrival time, samples) of every delivered frame
    underflows: int  # audible gaps in the playback: each moves the echo path


def add_switches(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """The processing switches, ``on``/``off`` (the start-up ducking defaults to on)."""
    for name in SWITCHES:
        needed = required and name != "--startup-ducking"
        parser.add_argument(name, choices=("on", "off"), required=needed, default=None if needed else "on")


async def play_and_capture(args: argparse.Namespace, *, tail: float, announce: bool = False) -> Capture:
    """Open the default devices with ``args``' switches, let the queues settle, play
    ``args.wav`` as the server's 100 ms deltas and listen ``tail`` seconds past its end.
    ``announce`` prints ``playing T`` when it starts (the bench may then have the user speak)."""
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
        audio.processor.configure(dataclasses.replace(audio.processor.options, startup_ducking=False))
    frames: list[tuple[float, np.ndarray]] = []
    stop = asyncio.Event()

    async def listen() -> None:
        async for frame in audio.input:
            frames.append((time.monotonic(), frame_samples(frame).copy()))
            if stop.is_set():
                return

    reader = asyncio.create_task(listen())
    await asyncio.sleep(1.0)  # streams running, queues at their working level
    started = time.monotonic()
    if announce:
        print(f"playing {started}", flush=True)
    for start in range(0, len(voice), 2400):  # the server's 100 ms deltas, queued ahead
        await audio.output.capture_frame(int16_frame(voice[start : start + 2400]))
    audio.output.flush()
    duration = len(voice) / 24_000
    await asyncio.sleep(duration + tail)
    stop.set()
    await asyncio.wait_for(reader, 5)
    underflows = audio.output.audible_underflows
    await audio.aclose()
    return Capture(started, duration, frames, underflows)
