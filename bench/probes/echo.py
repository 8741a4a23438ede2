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

import numpy as np

from .playback import add_switches, play_and_capture

CONVERGE_S = 2.0  # the canceller's first seconds are not its steady state


async def run(args: argparse.Namespace) -> dict[str, float]:
    capture = await play_and_capture(args, tail=0.5)
    start, end = capture.started + CONVERGE_S, capture.started + capture.duration
    window = [s for t, s in capture.frames if start <= t <= end]
    samples = np.concatenate(window).astype(np.float64) if window else np.zeros(1)
    return {"power": float(np.mean(samples**2)), "seconds": len(samples) / 24_000, "underflows": capture.underflows}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wav", required=True)
    add_switches(parser, required=True)
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
