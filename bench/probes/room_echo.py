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
import json
import os
import sys

import numpy as np

from .playback import add_switches, play_and_capture


async def run(args: argparse.Namespace) -> dict[str, object]:
    capture = await play_and_capture(args, tail=args.tail, announce=True)
    times = np.array([t - capture.started for t, _ in capture.frames])
    lengths = np.array([len(s) for _, s in capture.frames])
    np.save(args.out, np.concatenate([s for _, s in capture.frames]).astype(np.int16))
    np.save(args.out.removesuffix(".npy") + "-times.npy", np.stack([times, lengths]))
    return {"duration": capture.duration, "underflows": capture.underflows, "frames": len(capture.frames)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wav", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--tail", type=float, default=0.5, help="seconds to keep listening after the voice")
    add_switches(parser, required=False)
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
