"""The audio processor without devices: the speaker's idle blocks, which it declares silent,
are handed over exactly as the general path hands over scanned silence; and the automatic
gain stage, which raises a quiet voice but is held while played audio can be in the
microphone."""

from __future__ import annotations

import numpy as np

from azassist.core.audio.memory import int16_frame
from azassist.core.audio.processing import (
    FAR_ACTIVE_FRAMES,
    FAR_ACTIVE_PEAK,
    REWARM_SECONDS,
    WARMUP_SECONDS,
    AudioProcessor,
    ProcessingOptions,
)

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


GAIN_ONLY = ProcessingOptions(False, False, auto_gain=True, high_pass_filter=False)


def level_dbfs(samples: np.ndarray) -> float:
    return 10 * float(np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-9)) - 90.3


def capture(processor: AudioProcessor, near: np.ndarray, far: np.ndarray | None = None) -> np.ndarray:
    """Run ``near`` through the processor frame by frame, ``far`` played alongside (10 ms
    frames, no clock times: each played frame reaches the canceller before its capture)."""
    out = []
    for index in range(len(near) // FRAME):
        if far is not None:
            processor.process_render(far[index * FRAME : (index + 1) * FRAME], RATE)
        frame = int16_frame(near[index * FRAME : (index + 1) * FRAME].copy(), RATE)
        processor.process_capture(frame)
        out.append(np.frombuffer(frame.data, dtype=np.int16).copy())
    return np.concatenate(out)


def test_automatic_gain_raises_a_quiet_voice(assistant_voice: np.ndarray) -> None:
    quiet = (assistant_voice * 0.03).astype(np.int16)  # about 30 dB under a normal speaking level
    out = capture(AudioProcessor(GAIN_ONLY), np.concatenate([quiet, quiet]))
    second_pass = slice(len(quiet), None)  # the gain has adapted by then
    assert level_dbfs(out[second_pass]) > level_dbfs(quiet) + 15


def test_automatic_gain_is_held_while_the_assistant_speaks(assistant_voice: np.ndarray) -> None:
    """While played audio can be in the microphone the gain stage neither adapts nor applies:
    the user's quiet voice leaves exactly as the canceller left it (with gain on in the
    canceller's own module, WebRTC raised the residual echo towards speaking level)."""
    options = ProcessingOptions(echo_cancellation=True, noise_suppression=False, auto_gain=True)
    held, reference = AudioProcessor(options), AudioProcessor(ProcessingOptions(True, False, False))
    quiet = (assistant_voice * 0.03).astype(np.int16)
    assistant = np.roll(assistant_voice, len(assistant_voice) // 3)  # another stretch of speech, loud, playing meanwhile
    with_gain = capture(held, quiet, assistant)
    without_gain = capture(reference, quiet, assistant)
    frames = len(quiet) // FRAME
    heard = [np.abs(assistant[i * FRAME : (i + 1) * FRAME]).max() > FAR_ACTIVE_PEAK for i in range(frames)]
    # held: a frame with the assistant audible in it or in the 300 ms before (its echo's way back)
    held_frames = [any(heard[max(0, i - FAR_ACTIVE_FRAMES + 1) : i + 1]) for i in range(frames)]
    assert held.gain_held_frames == sum(held_frames) > frames // 2
    held_samples = np.repeat(held_frames, FRAME)
    np.testing.assert_array_equal(with_gain[held_samples], without_gain[held_samples])

    # the assistant stops: once its echo path has drained, the gain stage takes over again
    silence = np.zeros(FAR_ACTIVE_FRAMES * FRAME, np.int16)
    capture(held, silence, silence)
    assert not held.far_end_active
    drained = held.gain_held_frames
    after = capture(held, np.concatenate([quiet, quiet]))
    assert held.gain_held_frames == drained  # no more frames held
    assert level_dbfs(after[len(quiet) :]) > level_dbfs(quiet) + 15


def test_switching_automatic_gain_off_removes_the_stage(assistant_voice: np.ndarray) -> None:
    processor = AudioProcessor(GAIN_ONLY)
    processor.configure(ProcessingOptions(False, False, auto_gain=False, high_pass_filter=False))
    quiet = (assistant_voice * 0.03).astype(np.int16)
    np.testing.assert_array_equal(capture(processor, quiet), quiet)


def test_a_playback_gap_attenuates_the_echo_again_while_the_canceller_reconverges(assistant_voice: np.ndarray) -> None:
    """The first second of played speech is attenuated while the canceller converges; after
    that the microphone passes as the canceller leaves it, until the speaker's device runs dry
    mid-reply (a late callback under CPU load): the echo path the canceller sees has shifted,
    so the attenuation comes back for REWARM_SECONDS of played speech, then goes again."""
    processor = AudioProcessor(ProcessingOptions(echo_cancellation=True, noise_suppression=False, auto_gain=False))
    echo = (assistant_voice * 0.5).astype(np.int16)  # the speaker heard in the microphone
    active = sum(np.abs(assistant_voice[i * FRAME : (i + 1) * FRAME]).max() > FAR_ACTIVE_PEAK
                 for i in range(len(assistant_voice) // FRAME))
    assert active * FRAME / RATE > WARMUP_SECONDS + REWARM_SECONDS  # enough speech for both

    capture(processor, echo, assistant_voice)
    converged = processor.ducked_frames
    assert 0 < converged < len(assistant_voice) // FRAME  # the warm-up, then no more
    capture(processor, echo, assistant_voice)
    assert processor.ducked_frames == converged

    processor.playback_gap()
    out = capture(processor, echo, assistant_voice)
    rearmed = processor.ducked_frames - converged
    assert processor.playback_gaps == 1
    # ducked frames: the ones while REWARM_SECONDS of played speech went by (and its echo's tail)
    assert REWARM_SECONDS * 100 <= rearmed < len(assistant_voice) // FRAME
    first_ducked = np.repeat(np.arange(len(out) // FRAME) < 20, FRAME)
    assert level_dbfs(out[first_ducked]) < level_dbfs(echo[first_ducked]) - 30
    capture(processor, echo, assistant_voice)
    assert processor.ducked_frames == converged + rearmed  # over again


def test_without_echo_cancellation_a_playback_gap_changes_nothing(assistant_voice: np.ndarray) -> None:
    processor = AudioProcessor(ProcessingOptions(echo_cancellation=False, noise_suppression=False, auto_gain=False))
    processor.playback_gap()
    capture(processor, assistant_voice, assistant_voice)
    assert processor.ducked_frames == 0 and processor.playback_gaps == 0


def test_a_capture_gap_while_the_assistant_is_audible_attenuates_again(assistant_voice: np.ndarray) -> None:
    processor = AudioProcessor(ProcessingOptions(echo_cancellation=True, noise_suppression=False, auto_gain=False))
    echo = (assistant_voice * 0.5).astype(np.int16)
    capture(processor, echo, assistant_voice)  # converged: the warm-up is over
    processor.capture_gap()  # the assistant went quiet at the end of the voice: nothing to do
    assert processor.capture_gaps == 0
    converged = processor.ducked_frames
    half = len(assistant_voice) // 2 // FRAME * FRAME
    capture(processor, echo[:half], assistant_voice[:half])
    assert processor.ducked_frames == converged and processor.far_end_active
    processor.capture_gap()  # mid-speech: the echo path moved
    capture(processor, echo[half:], assistant_voice[half:])
    assert processor.capture_gaps == 1 and processor.ducked_frames > converged

