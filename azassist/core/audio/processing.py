"""The microphone's signal processing: WebRTC's echo canceller, noise suppressor, high-pass
filter and automatic gain, through ``livekit.rtc.AudioProcessingModule``.

One processor is shared by both directions: the speaker callback feeds it what was played
(the reverse stream), the microphone callback runs the captured audio through it. WebRTC
works on exactly 10 ms frames, so both sides cut their blocks with ``FrameChunker``.
The module's switches are fixed at construction; toggling a setting builds a new one and
swaps the reference, which the audio threads pick up at their next frame.

Automatic gain runs in a module of its own, after the canceller, and only while no played
audio can be in the microphone: WebRTC's adaptive gain takes the canceller's residual echo
for speech and raises it towards speaking level (measured on the virtual loopback: with
gain on in the same module, echo reduction fell from 81-85 dB to as low as 4 dB in some
runs, the assistant's voice back at full level in bursts, enough for the service's VAD to
hear the user barge in). Held back while the assistant speaks, the gain neither adapts to
nor amplifies its echo.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from livekit import rtc

from azassist.core.audio.memory import int16_frame

log = logging.getLogger(__name__)

# How far ahead of a microphone frame (by stream-clock time) played audio is handed to the
# echo canceller. 0: a played frame goes in just before the first microphone frame captured
# after it reached the DAC. Such frames are always queued by then (the speaker queues ~25 ms
# before the DAC, the microphone is processed ~20 ms after the ADC), so the delay WebRTC
# sees is the acoustic path alone and stays constant.
RENDER_LEAD = 0.0

# WebRTC's canceller needs about half a second of far-end speech to converge; until then a
# loud echo (a laptop's speakers next to its microphone) leaks in bursts that the service's
# VAD takes for the user barging in. So for the first WARMUP_SECONDS of played speech after
# the canceller is built, microphone frames are attenuated while the speaker is active (or
# was in the last FAR_ACTIVE_FRAMES * 10 ms, the echo's way back). Much shorter than LiveKit's
# own warm-up (the whole first 3 s of the first reply muted), and only while audio plays.
WARMUP_SECONDS = 1.0
WARMUP_GAIN = 0.03  # -30 dB
# A gap in the playback (the speaker's device ran dry mid-reply: a late callback under CPU
# load) or in the capture (the microphone's buffer overflowed) shifts the echo path the
# canceller had converged on, and it leaks while it re-converges: the attenuation comes back
# for this much played speech.
REWARM_SECONDS = 1.0
FAR_ACTIVE_FRAMES = 30
FAR_ACTIVE_PEAK = 300  # about -40 dBFS


_NOTHING = np.zeros(0, dtype=np.int16)


class FrameChunker:
    """Cuts a stream of int16 blocks of any size into fixed-size frames (audio thread only).

    The frames are views of the pushed block where they can be: copy what must outlive it.
    """

    def __init__(self, frame_size: int) -> None:
        self.frame_size = frame_size
        self._rest = _NOTHING

    def push(self, samples: np.ndarray) -> list[np.ndarray]:
        data = np.concatenate((self._rest, samples)) if len(self._rest) else samples
        whole = len(data) - len(data) % self.frame_size
        # device blocks are usually whole frames: nothing to keep, nothing to allocate
        self._rest = data[whole:].copy() if whole < len(data) else _NOTHING
        return [data[start : start + self.frame_size] for start in range(0, whole, self.frame_size)]

    @property
    def pending(self) -> int:
        """Samples held back from the previous push (they lead the next frame)."""
        return len(self._rest)

    def reset(self) -> None:
        self._rest = _NOTHING


class _Silence:
    """One shared all-zero frame per rate: what the speaker plays while nobody talks.

    The echo canceller gets every played frame, silent ones too: WebRTC's AEC3 treats a
    render stream that stops arriving as an underrun and resets its delay estimate
    (``BlockProcessorImpl::ProcessCapture`` in aec3/block_processor.cc calls
    ``delay_controller_->Reset`` on ``kRenderUnderrun``), so the start of the next reply
    would echo while it re-converged. Silence therefore still goes
    in, but without copying, scanning or wrapping 100 zero frames a second in Python.
    """

    def __init__(self) -> None:
        self._samples: dict[int, np.ndarray] = {}
        self._frames: dict[int, rtc.AudioFrame] = {}

    def samples(self, rate: int) -> np.ndarray:
        zeros = self._samples.get(rate)
        if zeros is None:
            zeros = self._samples[rate] = np.zeros(rate // 100, dtype=np.int16)
            zeros.flags.writeable = False
        return zeros

    def is_silence(self, chunk: np.ndarray, rate: int) -> bool:
        return chunk is self._samples.get(rate)

    def frame(self, rate: int) -> rtc.AudioFrame:
        """A 10 ms silent frame for the APM (which may write to it: checked, rebuilt if so)."""
        frame = self._frames.get(rate)
        if frame is None or np.count_nonzero(np.frombuffer(frame.data, dtype=np.int16)):
            frame = self._frames[rate] = int16_frame(self.samples(rate), rate)
        return frame


def _processed(step: Callable[[rtc.AudioFrame], None], frame: rtc.AudioFrame, direction: str) -> bool:
    """Run one WebRTC step on ``frame``; a frame it rejects is logged and skipped, never raised
    into the audio thread."""
    try:
        step(frame)
    except RuntimeError:
        log.debug("%s frame rejected by the audio processor", direction, exc_info=True)
        return False
    return True


@dataclass(frozen=True)
class ProcessingOptions:
    echo_cancellation: bool = True
    noise_suppression: bool = True
    auto_gain: bool = True
    high_pass_filter: bool = True
    # the -30 dB attenuation of the canceller's first second (and after a playback gap); off
    # only to measure what it does (bench figures 11 and 14)
    startup_ducking: bool = True


class AudioProcessor:
    """Owns the canceller's module and the gain's; safe to call from the two audio threads and to
    reconfigure from the loop."""

    def __init__(self, options: ProcessingOptions | None = None) -> None:
        self._options = options or ProcessingOptions()
        self._apm: rtc.AudioProcessingModule | None = self._build(self._options)
        self._gain: rtc.AudioProcessingModule | None = self._build_gain(self._options)
        self.gain_held_frames = 0
        self._render_lock = threading.Lock()
        self._render_chunker: FrameChunker | None = None
        self._render_rate = 0
        # played 10 ms frames (samples, rate, DAC time) waiting for the microphone (max 1 s)
        self._warmup_left = WARMUP_SECONDS
        self._far_quiet_frames = FAR_ACTIVE_FRAMES  # render frames since the last active one
        self._silence = _Silence()
        self.ducked_frames = 0
        self.playback_gaps = 0  # each re-arms the warm-up's attenuation (REWARM_SECONDS)
        self.capture_gaps = 0  # ... as do these, while the assistant is audible
        self._render_next_at = 0.0  # DAC time right after the last frame handed over
        self._render_queue: collections.deque[tuple[np.ndarray, int, float]] = collections.deque(maxlen=100)
        self._delay_ms = -1
        self.render_frames = 0
        self.capture_frames = 0

    @staticmethod
    def _build(options: ProcessingOptions) -> rtc.AudioProcessingModule | None:
        if not (options.echo_cancellation or options.noise_suppression or options.high_pass_filter):
            return None
        return rtc.AudioProcessingModule(
            echo_cancellation=options.echo_cancellation,
            noise_suppression=options.noise_suppression,
            high_pass_filter=options.high_pass_filter,
        )

    @staticmethod
    def _build_gain(options: ProcessingOptions) -> rtc.AudioProcessingModule | None:
        """The gain stage: its own module, so it never sees the canceller's frames mid-echo."""
        return rtc.AudioProcessingModule(auto_gain_control=True) if options.auto_gain else None

    @property
    def options(self) -> ProcessingOptions:
        return self._options

    def configure(self, options: ProcessingOptions) -> None:
        """Switch features on or off live (a fresh module: the echo path re-converges)."""
        if options == self._options:
            return
        self._options = options
        self._apm = self._build(options)
        self._gain = self._build_gain(options)
        self._delay_ms = -1
        self._warmup_left = WARMUP_SECONDS
        log.info("audio processing: %s", options)

    def set_stream_delay(self, seconds: float) -> None:
        """Speaker-to-microphone delay the echo canceller should expect (from PortAudio times)."""
        apm = self._apm
        delay_ms = max(0, min(500, int(round(seconds * 1000))))
        if apm is None or not self._options.echo_cancellation or delay_ms == self._delay_ms:
            return
        try:
            apm.set_stream_delay_ms(delay_ms)
            self._delay_ms = delay_ms
        except RuntimeError:  # WebRTC rejects some values; its own estimator still runs
            log.debug("stream delay %d ms rejected", delay_ms)

    def process_capture(self, frame: rtc.AudioFrame, adc_time: float = 0.0) -> None:
        """Clean one 10 ms microphone frame in place.

        ``adc_time``: when its first sample was captured, on PortAudio's stream clock (0 when
        unknown). Played frames reach the echo canceller just before the first microphone
        frame captured after they were heard, so WebRTC sees the same render/capture
        alignment however unevenly Python schedules the two PortAudio threads (a stall of
        one thread otherwise looks like a jump of the echo delay, and the canceller lets the
        echo through while it re-converges).
        """
        apm, gain = self._apm, self._gain
        if apm is not None:
            self._feed_render(apm, adc_time)
            if not _processed(apm.process_stream, frame, "capture"):
                return
            self.capture_frames += 1
        if gain is not None and self.far_end_active:
            self.gain_held_frames += 1
        elif gain is not None:
            _processed(gain.process_stream, frame, "capture (gain)")
        if self._warmup_left > 0 and self.far_end_active and self._options.startup_ducking:
            samples = np.frombuffer(frame.data, dtype=np.int16)  # APM made it writable
            samples[:] = (samples.astype(np.int32) * WARMUP_GAIN).astype(np.int16)
            self.ducked_frames += 1

    def playback_gap(self) -> None:
        """The speaker's device ran dry inside a reply (speaker thread): attenuate the
        microphone again while the canceller re-converges (REWARM_SECONDS)."""
        if self._apm is None or not self._options.echo_cancellation:
            return
        self.playback_gaps += 1
        self._rewarm()

    def capture_gap(self) -> None:
        """The microphone's buffer overflowed (microphone thread): while the assistant is
        audible, the same as a playback gap (the echo path moved); otherwise nothing."""
        if self._apm is None or not self._options.echo_cancellation or not self.far_end_active:
            return
        self.capture_gaps += 1
        self._rewarm()

    def _rewarm(self) -> None:
        # one 10 ms frame more: the played frame that first counts down is already in the
        # canceller when its microphone frame is attenuated
        self._warmup_left = max(self._warmup_left, REWARM_SECONDS + 0.01)

    @property
    def far_end_active(self) -> bool:
        """Played audio may still be in the microphone (it was heard in the last 300 ms)."""
        return self._far_quiet_frames < FAR_ACTIVE_FRAMES

    def process_render(
        self, samples: np.ndarray, sample_rate: int, dac_time: float = 0.0, *, silent: bool = False
    ) -> None:
        """Note what the speaker plays (any block size, speaker thread). ``dac_time``: when
        its first sample reaches the DAC, on PortAudio's stream clock (0 when unknown).
        ``silent``: the caller knows the block is all zeros (it need not be scanned)."""
        if self._apm is None or not self._options.echo_cancellation:
            return
        with self._render_lock:
            if self._render_chunker is None or self._render_rate != sample_rate:
                self._render_chunker = FrameChunker(sample_rate // 100)
                self._render_rate = sample_rate
            pending = self._render_chunker.pending
            frame_size = self._render_chunker.frame_size
            if silent and not pending and not len(samples) % frame_size:
                # the idle speaker's blocks: the same entries the general path below makes
                zeros = self._silence.samples(sample_rate)
                for index in range(len(samples) // frame_size):
                    at = dac_time + index * frame_size / sample_rate if dac_time else 0.0
                    self._render_queue.append((zeros, sample_rate, at))
                return
            for index, chunk in enumerate(self._render_chunker.push(samples)):
                at = dac_time + (index * len(chunk) - pending) / sample_rate if dac_time else 0.0
                # the block is PortAudio's buffer: keep a copy, or the shared silence
                kept = chunk.copy() if np.count_nonzero(chunk) else self._silence.samples(sample_rate)
                self._render_queue.append((kept, sample_rate, at))

    def _feed_render(self, apm: rtc.AudioProcessingModule, adc_time: float) -> None:
        queue = self._render_queue
        while queue:
            chunk, rate, at = queue[0]
            if adc_time and at and at > adc_time + RENDER_LEAD:
                return  # keep the render stream a fixed time ahead of the capture stream
            queue.popleft()
            if at and self._render_next_at:
                # the speaker thread was late (the device played silence meanwhile): give the
                # canceller that silence too, or the echo path seems to jump and echo leaks
                missing = min(int(round((at - self._render_next_at) * 100)), 50)
                for _ in range(missing):
                    self._reverse(apm, self._silence.samples(rate), rate)
            self._render_next_at = at + len(chunk) / rate if at else 0.0
            self._reverse(apm, chunk, rate)

    def _reverse(self, apm: rtc.AudioProcessingModule, chunk: np.ndarray, rate: int) -> None:
        if self._silence.is_silence(chunk, rate):
            frame, active = self._silence.frame(rate), False
        else:
            frame = int16_frame(chunk, rate)
            active = bool(len(chunk)) and max(int(chunk.max()), -int(chunk.min())) > FAR_ACTIVE_PEAK
        if active:
            self._far_quiet_frames = 0
            if self._warmup_left > 0:
                self._warmup_left -= len(chunk) / rate
        elif self._far_quiet_frames < FAR_ACTIVE_FRAMES:
            self._far_quiet_frames += 1
        if _processed(apm.process_reverse_stream, frame, "render"):
            self.render_frames += 1
