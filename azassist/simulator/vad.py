"""Energy VAD for the simulator's ``server_vad``: the session's numbers, applied to the real signal.

The real service runs a neural VAD; we cannot. What we keep is its *contract*: the same three
knobs, measured on the audio's own timeline (not the wall clock), so a test that feeds audio
faster than real time sees the same events as one that feeds it live.

Threshold mapping (documented for users of the simulator):
  the session's ``threshold`` t in [0, 1] becomes an RMS level of ``-70 + 50 * t`` dBFS per
  10 ms frame: 0.0 -> -70 dBFS (anything above near-silence), 0.5 (the default) -> -45 dBFS,
  1.0 -> -20 dBFS (only loud, close speech).
  espeak speech at normal level sits around -20 dBFS RMS (-15 to -30 within words), a quiet
  room through a microphone at -60 to -50 dBFS, and digital silence at minus infinity.
Onset: at least 3 loud frames among the last 5 (30 of 50 ms), so single clicks do not count.
Offset: ``silence_duration_ms`` of consecutive quiet frames.
Prefix padding: the committed audio starts ``prefix_padding_ms`` before the onset.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 24_000
FRAME_MS = 10
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
ONSET_WINDOW_FRAMES = 5
ONSET_MIN_LOUD_FRAMES = 3
_FULL_SCALE = 32768.0


def threshold_to_dbfs(threshold: float) -> float:
    """The documented mapping from the protocol's 0..1 threshold to an RMS level in dBFS."""
    return -70.0 + 50.0 * threshold


def frame_level_dbfs(frame: np.ndarray) -> float:
    """RMS level of int16 samples in dBFS (-inf for digital silence)."""
    if len(frame) == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(frame.astype(np.float64)))))
    if rms <= 0.0:
        return float("-inf")
    return 20.0 * float(np.log10(rms / _FULL_SCALE))


@dataclass(frozen=True)
class VadSettings:
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 200


@dataclass(frozen=True)
class SpeechStarted:
    audio_start_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    audio_end_ms: int
    audio: np.ndarray  # prefix padding + speech + trailing silence: the turn to commit


VadEvent = SpeechStarted | SpeechStopped


class EnergyVad:
    """Feeds on appended audio, yields start/stop events with positions in session audio time.

    It owns the input buffer while turn detection is on: idle it keeps only the prefix-padding
    window, in speech it keeps the whole turn, which is what gets committed.
    """

    def __init__(self, settings: VadSettings, *, start_ms: int = 0) -> None:
        self.settings = settings
        self._pending = np.zeros(0, dtype=np.int16)
        self._frames_seen = start_ms // FRAME_MS
        self._recent_loud: deque[bool] = deque(maxlen=ONSET_WINDOW_FRAMES)
        # the padding window plus the onset window, so the turn can start before the onset
        self._prefix: deque[np.ndarray] = deque(
            maxlen=settings.prefix_padding_ms // FRAME_MS + ONSET_WINDOW_FRAMES
        )
        self._turn: list[np.ndarray] = []
        self._in_speech = False
        self._quiet_frames = 0
        self._level = threshold_to_dbfs(settings.threshold)

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def position_ms(self) -> int:
        return self._frames_seen * FRAME_MS

    def buffered_audio(self) -> np.ndarray:
        """What a manual commit would take now: the turn so far, or the padding window."""
        parts = self._turn if self._in_speech else list(self._prefix)
        parts = [*parts, self._pending]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def reset(self) -> None:
        """Forget buffered audio (commit or clear); the audio clock keeps running."""
        self._pending = np.zeros(0, dtype=np.int16)
        self._recent_loud.clear()
        self._prefix.clear()
        self._turn = []
        self._in_speech = False
        self._quiet_frames = 0

    def push(self, samples: np.ndarray) -> list[VadEvent]:
        events: list[VadEvent] = []
        data = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        whole = len(data) // FRAME_SAMPLES * FRAME_SAMPLES
        self._pending = data[whole:].copy()
        for offset in range(0, whole, FRAME_SAMPLES):
            event = self._on_frame(data[offset : offset + FRAME_SAMPLES])
            if event is not None:
                events.append(event)
        return events

    def _on_frame(self, frame: np.ndarray) -> VadEvent | None:
        self._frames_seen += 1
        loud = frame_level_dbfs(frame) >= self._level
        self._recent_loud.append(loud)
        if not self._in_speech:
            self._prefix.append(frame)
            if sum(self._recent_loud) >= ONSET_MIN_LOUD_FRAMES:
                self._in_speech = True
                self._quiet_frames = 0
                onset_frames = len(self._recent_loud) - 1 - list(self._recent_loud).index(True)
                onset_ms = self.position_ms - (onset_frames + 1) * FRAME_MS
                padding_frames = self.settings.prefix_padding_ms // FRAME_MS + onset_frames + 1
                self._turn = list(self._prefix)[-padding_frames:]
                return SpeechStarted(audio_start_ms=max(0, onset_ms))
            return None
        self._turn.append(frame)
        self._quiet_frames = 0 if loud else self._quiet_frames + 1
        if self._quiet_frames * FRAME_MS >= self.settings.silence_duration_ms:
            audio = np.concatenate(self._turn)
            end_ms = self.position_ms
            self.reset()
            return SpeechStopped(audio_end_ms=end_ms, audio=audio)
        return None
