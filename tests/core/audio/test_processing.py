"""The echo canceller's render side without devices: the speaker's idle blocks, which it
declares silent, are handed over exactly as the general path hands over scanned silence."""

from __future__ import annotations

import numpy as np

from azassist.core.audio.processing import AudioProcessor

RATE = 24_000
FRAME = RATE // 100


def render_queue(processor: AudioProcessor) -> list[tuple[int, int, float, bool]]:
    """(length, rate, DAC time, all zeros) of every played frame waiting for the canceller.
    Reads the processor's private queue: the fast path must be indistinguishable there."""
    return [(len(chunk), rate, at, not np.count_nonzero(chunk)) for chunk, rate, at in processor._render_queue]


def test_declared_silence_queues_what_scanned_silence_queues() -> None:
    scanned, declared = AudioProcessor(), AudioProcessor()
    for block, dac in ((480, 1.0), (240, 1.02), (720, 1.03)):
        zeros = np.zeros(block, np.int16)
        scanned.process_render(zeros, RATE, dac)
        declared.process_render(zeros, RATE, dac, silent=True)
    assert render_queue(declared) == render_queue(scanned)
    assert len(render_queue(declared)) == (480 + 240 + 720) // FRAME
    # the shared silent frame, not a copy per block
    assert len({id(chunk) for chunk, _, _ in declared._render_queue}) == 1


def test_declared_silence_after_a_partial_frame_takes_the_general_path() -> None:
    scanned, declared = AudioProcessor(), AudioProcessor()
    tone = np.full(100, 3000, np.int16)  # leaves 100 samples pending in the chunker
    for processor in (scanned, declared):
        processor.process_render(tone, RATE, 2.0)
    scanned.process_render(np.zeros(480, np.int16), RATE, 2.0 + 100 / RATE)
    declared.process_render(np.zeros(480, np.int16), RATE, 2.0 + 100 / RATE, silent=True)
    assert render_queue(declared) == render_queue(scanned)
    assert render_queue(declared)[0][3] is False  # the frame that starts with the tone


def test_unknown_dac_times_stay_unknown() -> None:
    scanned, declared = AudioProcessor(), AudioProcessor()
    scanned.process_render(np.zeros(480, np.int16), RATE, 0.0)
    declared.process_render(np.zeros(480, np.int16), RATE, 0.0, silent=True)
    assert render_queue(declared) == render_queue(scanned) == [(FRAME, RATE, 0.0, True)] * 2
