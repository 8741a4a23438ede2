"""Offline: how soon the local server's VAD hears a barge-in, through each processing variant.

Figure 13 times barge-ins end to end through devices; this replays the part that differs
between azassist and the perfect echo path without any device, deterministically: the
room's ``Mixer`` (tests/support/room.py) and azassist's ``AudioProcessor``, 10 ms frame by
frame, into the simulator's ``EnergyVad`` with the session's defaults. The assistant's reply
plays on (looped); the user says figure 13's sentence every 4 s at its levels, after 3 s of
playback (the start-up ducking has ended). Prints, per room and variant, the milliseconds
from the user's first syllable at the microphone to the VAD's speech start.

    python -m bench.onset_offline [ROOM ...]      (default: every room)

Variants: ``defaults`` (the app), ``perfect`` (echo cut, canceller off: figure 13's
baseline), ``canceller-no-echo``, ``no-noise-suppression``, ``gain-always`` (the gain not held
while the assistant talks), ``raw-no-echo`` (no processing, no echo).
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from azassist.core.audio.facade import processing_options
from azassist.core.audio.memory import FRAME_SAMPLES, int16_frame
from azassist.core.audio.processing import AudioProcessor, ProcessingOptions
from azassist.core.settings import AudioSettings
from azassist.simulator.vad import EnergyVad, SpeechStarted, VadSettings
from tests.support.room import RATE, ROOMS, Mixer, level_variation, near_end

from .hands_free import BARGE_IN_OFFSETS, LONG_REPLY_TEXT, USER_TEXT
from .harness import speech_samples

VARIANTS = ("defaults", "perfect", "canceller-no-echo", "no-noise-suppression", "gain-always", "raw-no-echo")
LEAD_S = 3
PERIOD_S = 4
GIVE_UP_S = 2


class _GainAlways(AudioProcessor):
    """The app's processor with the gain never held (nor the ducking on: it is over anyway)."""

    @property
    def far_end_active(self) -> bool:
        return False


def _processor(variant: str) -> tuple[AudioProcessor, bool]:
    """The processor for ``variant`` and whether the room's echo reaches the microphone."""
    base: ProcessingOptions = processing_options(AudioSettings())
    off = dataclasses.replace
    return {
        "defaults": (AudioProcessor(base), True),
        "perfect": (AudioProcessor(off(base, echo_cancellation=False)), False),
        "canceller-no-echo": (AudioProcessor(base), False),
        "no-noise-suppression": (AudioProcessor(off(base, noise_suppression=False)), True),
        "gain-always": (_GainAlways(base), True),
        "raw-no-echo": (AudioProcessor(off(base, echo_cancellation=False, noise_suppression=False,
                                           auto_gain=False, high_pass_filter=False)), False),
    }[variant]


def onset_delays(room: str, variant: str, count: int = len(BARGE_IN_OFFSETS)) -> list[int | None]:
    """Milliseconds from each barge-in's first syllable to the VAD's speech start (None: unheard)."""
    processor, echo = _processor(variant)
    mixer = Mixer(ROOMS[room], echo=echo)
    reply, user = speech_samples(LONG_REPLY_TEXT), speech_samples(USER_TEXT)
    levels = level_variation(count)
    total = (LEAD_S + count * PERIOD_S) * RATE
    played_all = np.tile(reply, total // len(reply) + 1)[:total]
    barge_at = {(LEAD_S + i * PERIOD_S) * RATE: i for i in range(count)}
    delays: list[int | None] = []
    vad: EnergyVad | None = None
    onset = 0
    for start in range(0, total, FRAME_SAMPLES):
        if start in barge_at:
            speech = near_end(room, user, levels[barge_at[start]])
            mixer.say(speech)
            onset = start + int(np.flatnonzero(np.abs(speech) > 100)[0])
            vad = EnergyVad(VadSettings())
        played = played_all[start : start + FRAME_SAMPLES]
        processor.process_render(played, RATE)
        frame = int16_frame(mixer.process(played.astype(np.float64)).copy())
        processor.process_capture(frame)
        if vad is None:
            continue
        if any(isinstance(event, SpeechStarted) for event in vad.push(np.frombuffer(frame.data, np.int16))):
            delays.append(round(1000 * (start + FRAME_SAMPLES - onset) / RATE))
            vad = None
        elif start - onset > GIVE_UP_S * RATE:
            delays.append(None)
            vad = None
    return delays


def main(argv: list[str]) -> int:
    for room in argv or list(ROOMS):
        for variant in VARIANTS:
            delays = onset_delays(room, variant)
            heard = sorted(d for d in delays if d is not None)
            middle = heard[len(heard) // 2] if heard else None
            print(f"{room:16s} {variant:22s} median {middle} ms, each {delays}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
