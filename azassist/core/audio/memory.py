"""In-memory audio seams: an array fed as the microphone, a buffer standing in for a speaker.

They honour the same LiveKit I/O contract as the device seams (frames dropped while detached;
exactly one ``playback_finished`` per flushed segment, also after ``clear_buffer``), so the
engine, tests and benchmarks can run a real session with no sound card.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from livekit import rtc
from livekit.agents.voice.io import AudioInput, AudioOutput, AudioOutputCapabilities

SAMPLE_RATE = 24_000
FRAME_SAMPLES = SAMPLE_RATE // 100  # 10 ms: the echo canceller's unit and a natural pace


def int16_frame(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> rtc.AudioFrame:
    """Wrap mono int16 samples in a LiveKit frame."""
    data = np.ascontiguousarray(samples, dtype=np.int16)
    return rtc.AudioFrame(
        data=data.tobytes(), sample_rate=sample_rate, num_channels=1, samples_per_channel=len(data)
    )


def frame_samples(frame: rtc.AudioFrame) -> np.ndarray:
    """Mono int16 samples of a LiveKit frame (first channel if it has several)."""
    data = np.frombuffer(frame.data, dtype=np.int16)
    if frame.num_channels > 1:
        data = data.reshape(-1, frame.num_channels)[:, 0]
    return data.copy()


class ArrayAudioInput(AudioInput):
    """Feeds queued int16 arrays as 10 ms frames, then silence, like a quiet microphone.

    ``pace`` 1.0 delivers in real time, 0 as fast as the session reads; silence between
    utterances is always paced so a session idles instead of spinning.
    """

    def __init__(self, *, pace: float = 1.0, label: str = "array-input") -> None:
        super().__init__(label=label)
        self._pace = pace
        self._pending: list[np.ndarray] = []
        self._attached = True
        self._next_deadline: float | None = None
        self.frames_delivered = 0
        self.samples_fed = 0

    def feed(self, samples: np.ndarray) -> None:
        """Queue an utterance (mono int16 at 24 kHz)."""
        self._pending.append(np.asarray(samples, dtype=np.int16))

    @property
    def idle(self) -> bool:
        """True once every queued sample has been delivered."""
        return not self._pending

    def _next_chunk(self) -> tuple[np.ndarray, bool]:
        if not self._pending:
            return np.zeros(FRAME_SAMPLES, dtype=np.int16), False
        head = self._pending[0]
        chunk, rest = head[:FRAME_SAMPLES], head[FRAME_SAMPLES:]
        if len(rest):
            self._pending[0] = rest
        else:
            self._pending.pop(0)
        if len(chunk) < FRAME_SAMPLES:
            chunk = np.pad(chunk, (0, FRAME_SAMPLES - len(chunk)))
        return chunk, True

    async def __anext__(self) -> rtc.AudioFrame:
        while True:
            chunk, is_speech = self._next_chunk()
            await self._wait_turn(paced=not is_speech or self._pace > 0)
            if not self._attached:
                continue  # detached (push-to-talk released): the microphone is dropped
            self.frames_delivered += 1
            self.samples_fed += int(is_speech) * FRAME_SAMPLES
            return int16_frame(chunk)

    async def _wait_turn(self, *, paced: bool) -> None:
        now = time.monotonic()
        if self._next_deadline is None or self._next_deadline < now - 0.2:
            self._next_deadline = now
        if paced:
            step = 0.01 / (self._pace if self._pace > 0 else 1.0)
            self._next_deadline += step
            delay = self._next_deadline - now
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            self._next_deadline = now
            await asyncio.sleep(0)

    def on_attached(self) -> None:
        self._attached = True

    def on_detached(self) -> None:
        self._attached = False


class CaptureAudioOutput(AudioOutput):
    """Collects what would be played, "playing" it at ``pace`` times real time.

    Playback position is what a listener would have heard when ``clear_buffer`` hit, so
    truncation and interrupted transcripts behave like a real speaker.
    """

    def __init__(self, *, pace: float = 1.0, label: str = "capture-output") -> None:
        super().__init__(
            label=label,
            capabilities=AudioOutputCapabilities(pause=False),
            sample_rate=SAMPLE_RATE,
        )
        self._pace = pace
        self.played: list[np.ndarray] = []  # everything heard, all segments
        self.segments: list[tuple[float, bool]] = []  # (playback_position, interrupted)
        self._segment_samples = 0
        self._segment_started_at: float | None = None
        self._segment_task: asyncio.Task[None] | None = None
        self._pending: list[np.ndarray] = []

    @property
    def heard(self) -> np.ndarray:
        """All samples played so far, concatenated."""
        return np.concatenate(self.played) if self.played else np.zeros(0, dtype=np.int16)

    def _position(self) -> float:
        """Seconds of the current segment a listener has heard by now."""
        if self._segment_started_at is None:
            return 0.0
        queued = self._segment_samples / SAMPLE_RATE
        if self._pace <= 0:
            return queued
        elapsed = (time.monotonic() - self._segment_started_at) * self._pace
        return min(queued, elapsed)

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._segment_started_at is None:
            self._segment_started_at = time.monotonic()
            self.on_playback_started(created_at=time.time())
        samples = frame_samples(frame)
        self._pending.append(samples)
        self._segment_samples += len(samples)

    def flush(self) -> None:
        super().flush()
        if self._segment_started_at is None:
            # An empty segment still needs its playback_finished, or the reply hangs.
            if self._pending_playback_count > 0:
                self.on_playback_finished(playback_position=0.0, interrupted=False)
            return
        self._segment_task = asyncio.ensure_future(self._finish_segment())

    async def _finish_segment(self) -> None:
        if self._pace > 0:
            remaining = self._segment_samples / SAMPLE_RATE - self._position()
            await asyncio.sleep(max(0.0, remaining / self._pace))
        self._end_segment(interrupted=False)

    def clear_buffer(self) -> None:
        if self._segment_started_at is None:
            return
        if self._segment_task is not None:
            self._segment_task.cancel()
        self._end_segment(interrupted=True)

    def _end_segment(self, *, interrupted: bool) -> None:
        position = self._position() if interrupted else self._segment_samples / SAMPLE_RATE
        heard = int(round(position * SAMPLE_RATE))
        if self._pending:
            self.played.append(np.concatenate(self._pending)[:heard])
        self._pending = []
        self._segment_samples = 0
        self._segment_started_at = None
        self._segment_task = None
        if self._pending_playback_count > 0:  # frames after a clear belong to no new segment
            self.segments.append((position, interrupted))
            self.on_playback_finished(playback_position=position, interrupted=interrupted)
