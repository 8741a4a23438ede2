"""The microphone's signal processing: WebRTC's echo canceller, noise suppressor, high-pass
filter and automatic gain, through ``livekit.rtc.AudioProcessingModule``.

One processor is shared by both directions: the speaker callback feeds it what was played
(the reverse stream), the microphone callback runs the captured audio through it. WebRTC
works on exactly 10 ms frames, so both sides cut their blocks with ``FrameChunker``.
The module's switches are fixed at construction; toggling a setting builds a new one and
swaps the reference, which the audio threads pick up at their next frame.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
from livekit import rtc

from azassist.core.audio.memory import int16_frame

log = logging.getLogger(__name__)


class FrameChunker:
    """Cuts a stream of int16 blocks of any size into fixed-size frames (audio thread only)."""

    def __init__(self, frame_size: int) -> None:
        self.frame_size = frame_size
        self._rest = np.zeros(0, dtype=np.int16)

    def push(self, samples: np.ndarray) -> list[np.ndarray]:
        data = np.concatenate((self._rest, samples)) if len(self._rest) else samples
        whole = len(data) - len(data) % self.frame_size
        self._rest = data[whole:].copy()
        return [data[start : start + self.frame_size] for start in range(0, whole, self.frame_size)]

    def reset(self) -> None:
        self._rest = np.zeros(0, dtype=np.int16)


@dataclass(frozen=True)
class ProcessingOptions:
    echo_cancellation: bool = True
    noise_suppression: bool = True
    auto_gain: bool = True
    high_pass_filter: bool = True

    @property
    def any(self) -> bool:
        return self.echo_cancellation or self.noise_suppression or self.auto_gain or self.high_pass_filter


class AudioProcessor:
    """Owns the APM; safe to call from the two audio threads and to reconfigure from the loop."""

    def __init__(self, options: ProcessingOptions | None = None) -> None:
        self._options = options or ProcessingOptions()
        self._apm: rtc.AudioProcessingModule | None = self._build(self._options)
        self._render_lock = threading.Lock()
        self._render_chunker: FrameChunker | None = None
        self._render_rate = 0
        self._delay_ms = -1
        self.render_frames = 0
        self.capture_frames = 0

    @staticmethod
    def _build(options: ProcessingOptions) -> rtc.AudioProcessingModule | None:
        if not options.any:
            return None
        return rtc.AudioProcessingModule(
            echo_cancellation=options.echo_cancellation,
            noise_suppression=options.noise_suppression,
            high_pass_filter=options.high_pass_filter,
            auto_gain_control=options.auto_gain,
        )

    @property
    def options(self) -> ProcessingOptions:
        return self._options

    def configure(self, options: ProcessingOptions) -> None:
        """Switch features on or off live (a fresh module: the echo path re-converges)."""
        if options == self._options:
            return
        self._options = options
        self._apm = self._build(options)
        self._delay_ms = -1
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

    def process_capture(self, frame: rtc.AudioFrame) -> None:
        """Clean one 10 ms microphone frame in place."""
        apm = self._apm
        if apm is None:
            return
        try:
            apm.process_stream(frame)
            self.capture_frames += 1
        except RuntimeError:
            log.debug("capture frame rejected by the audio processor", exc_info=True)

    def process_render(self, samples: np.ndarray, sample_rate: int) -> None:
        """Tell the echo canceller what the speaker is playing (any block size)."""
        apm = self._apm
        if apm is None or not self._options.echo_cancellation:
            return
        with self._render_lock:
            if self._render_chunker is None or self._render_rate != sample_rate:
                self._render_chunker = FrameChunker(sample_rate // 100)
                self._render_rate = sample_rate
            for chunk in self._render_chunker.push(samples):
                try:
                    apm.process_reverse_stream(int16_frame(chunk, sample_rate))
                    self.render_frames += 1
                except RuntimeError:
                    log.debug("render frame rejected by the audio processor", exc_info=True)
