"""The microphone's capture times come from its sample count, anchored on PortAudio's first
reported time: a wandering reported time (seen on PulseAudio's ALSA plugin) must not move
the echo path the canceller sees. Without devices: WebRTC's canceller is real, the timeline
is made up."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from azassist.core.audio.memory import int16_frame
from azassist.core.audio.microphone import REANCHOR_SECONDS, SampleClock
from azassist.core.audio.processing import AudioProcessor, ProcessingOptions

RATE = 24_000
FRAME = RATE // 100
START = 1000.0  # PortAudio's stream clock at the first block


def wander(block: int) -> float:
    """What the reported times did in the runs that leaked: up to 45 ms off, back and forth."""
    return 0.045 * math.sin(2 * math.pi * block / 400)


def test_times_follow_the_sample_count_not_the_reported_wander() -> None:
    clock = SampleClock()
    times = [clock.block_time(START + k * 0.02 + wander(k), 480, RATE) for k in range(1000)]
    counted = [START + k * 0.02 for k in range(1000)]
    assert max(abs(a - b) for a, b in zip(times, counted, strict=True)) < 0.003  # the wander: 45 ms
    assert clock.anchors == 1


def test_times_follow_another_clock_drifting_away() -> None:
    """A microphone 100 ppm fast against the stream clock, for half an hour: followed to
    within a few ms, never re-anchored (each re-anchoring moves the echo path at once)."""
    clock = SampleClock()
    blocks = 30 * 60 * 50
    errors = [clock.block_time(START + k * 0.02 * (1 + 100e-6), 480, RATE) - (START + k * 0.02 * (1 + 100e-6))
              for k in range(blocks)]
    assert max(abs(error) for error in errors[blocks // 10 :]) < 0.01
    assert clock.anchors == 1


def test_a_jump_a_lost_block_a_new_rate_or_a_new_stream_anchor_anew() -> None:
    clock = SampleClock()
    clock.block_time(START, 480, RATE)
    counted = clock.block_time(START + 0.02 + 0.9 * REANCHOR_SECONDS, 480, RATE)
    assert counted == pytest.approx(START + 0.02) and clock.anchors == 1  # within the bound: counted
    assert clock.block_time(START + 5.0, 480, RATE) == START + 5.0  # a suspended device came back
    assert clock.block_time(START + 5.031, 480, RATE, lost=True) == START + 5.031  # an overflow broke the count
    assert clock.block_time(START + 5.05, 960, 48_000) == START + 5.05  # reopened at another rate
    clock.reset()
    assert clock.block_time(START + 7.0, 960, 48_000) == START + 7.0
    assert clock.anchors == 5


def test_no_reported_time_gives_none_and_the_next_one_anchors() -> None:
    clock = SampleClock()
    clock.block_time(START, 480, RATE)
    assert clock.block_time(0.0, 480, RATE) == 0.0
    assert clock.block_time(START + 0.1, 480, RATE) == START + 0.1
    assert clock.anchors == 2


def echo_reduction_db(voice: np.ndarray, capture_time: Callable[[int, float], float]) -> float:
    """The assistant's voice played and heard back 40 ms later at half level; the processor is
    given each microphone frame with ``capture_time(index, true time)``. Returns how far the
    echo was reduced over the second half (after convergence), in dB."""
    processor = AudioProcessor(ProcessingOptions(echo_cancellation=True, noise_suppression=False, auto_gain=False))
    played = np.concatenate([voice, voice])
    delay = 40 * RATE // 1000
    heard = np.concatenate([np.zeros(delay, np.int16), (played[:-delay] // 2).astype(np.int16)])
    frames = len(played) // FRAME
    ahead = 5  # the speaker queues its frames a little before they play
    for index in range(ahead):
        processor.process_render(played[index * FRAME : (index + 1) * FRAME], RATE, START + index * 0.01)
    out = []
    for index in range(frames):
        coming = index + ahead
        if coming < frames:
            processor.process_render(played[coming * FRAME : (coming + 1) * FRAME], RATE, START + coming * 0.01)
        frame = int16_frame(heard[index * FRAME : (index + 1) * FRAME].copy(), RATE)
        processor.process_capture(frame, capture_time(index, START + index * 0.01))
        out.append(np.frombuffer(frame.data, dtype=np.int16).astype(np.float64))
    second_half = slice(len(voice), None)
    residual = np.concatenate(out)[second_half]
    return 10 * math.log10(np.mean(heard[second_half].astype(np.float64) ** 2) / max(float(np.mean(residual**2)), 1e-9))


def test_wandering_reported_times_let_the_echo_through_and_counted_times_do_not(assistant_voice: np.ndarray) -> None:
    """Why the clock exists, on WebRTC's real canceller: the same audio, aligned by reported
    times that wander, then by the clock's counted times."""
    def reported(index: int, true_time: float) -> float:
        return true_time + wander(index // 2)  # two 10 ms frames per 20 ms block

    clock = SampleClock()

    def counted(index: int, true_time: float) -> float:
        return clock.block_time(reported(index, true_time), FRAME, RATE)

    exact = echo_reduction_db(assistant_voice, lambda _index, true_time: true_time)
    assert exact > 40
    assert echo_reduction_db(assistant_voice, counted) > exact - 3  # the wander followed by a few ms at most
    assert echo_reduction_db(assistant_voice, reported) < exact - 20  # measured: 57 dB exact, 26 dB wandering
