"""WAV files through the same seams as the devices: a file as the microphone, a file as the
speaker. For the terminal command, demos and tests; they do not replace the device tests.

Built on memory.py's seams, so the LiveKit contract (frames dropped while detached, one
``playback_finished`` per segment) is the same everywhere. Files use the stdlib ``wave``
module: 16-bit PCM of any rate and channel count is read and converted to 24 kHz mono.
"""

from __future__ import annotations

import logging
import wave
from pathlib import Path

import numpy as np
from livekit import rtc

from azassist.core.audio.levels import LevelMeter
from azassist.core.audio.memory import (
    SAMPLE_RATE,
    ArrayAudioInput,
    CaptureAudioOutput,
    frame_samples,
    int16_frame,
)

log = logging.getLogger(__name__)


class AudioFileError(Exception):
    """A WAV file that cannot be used, in plain words."""


def read_wav(path: Path | str, *, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono int16 samples at ``rate`` from a 16-bit PCM WAV file (any rate, any channels)."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as reader:
            if reader.getsampwidth() != 2:
                raise AudioFileError(f"{path.name} is not 16-bit PCM audio; convert it first.")
            channels, source_rate = reader.getnchannels(), reader.getframerate()
            raw = reader.readframes(reader.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise AudioFileError(f"{path.name} could not be read as a WAV file ({exc}).") from exc
    samples = np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return resample(samples, source_rate, rate)


def resample(samples: np.ndarray, source_rate: int, rate: int) -> np.ndarray:
    """Whole-signal rate conversion with LiveKit's resampler (sox)."""
    if source_rate == rate or not len(samples):
        return samples
    resampler = rtc.AudioResampler(source_rate, rate, quality=rtc.AudioResamplerQuality.HIGH)
    frames = resampler.push(int16_frame(samples, source_rate)) + resampler.flush()
    return np.concatenate([frame_samples(f) for f in frames]) if frames else samples[:0]


def write_wav(path: Path | str, samples: np.ndarray, *, rate: int = SAMPLE_RATE) -> None:
    """Write mono int16 samples as a 16-bit PCM WAV file."""
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())


class WavFileInput(ArrayAudioInput):
    """A WAV file as the microphone, then silence. ``pace`` 1.0 is real time, 0 as fast as
    the session reads. Muting sends silence in its place (the file keeps its timeline)."""

    def __init__(
        self, path: Path | str, *, pace: float = 1.0, meter: LevelMeter | None = None
    ) -> None:
        super().__init__(pace=pace, label=f"file:{Path(path).name}")
        self.path = Path(path)
        self.feed(read_wav(self.path))
        self._meter = meter
        self.muted = False

    async def __anext__(self) -> rtc.AudioFrame:
        frame = await super().__anext__()
        if self.muted:
            frame = int16_frame(np.zeros(frame.samples_per_channel, dtype=np.int16))
        if self._meter is not None:
            self._meter.add(frame_samples(frame))
        return frame


class WavFileOutput(CaptureAudioOutput):
    """Writes what would be heard to a WAV file, segment after segment (interrupted segments
    only up to where they were cut). The file is complete after ``close()``."""

    def __init__(
        self, path: Path | str, *, pace: float = 1.0, meter: LevelMeter | None = None
    ) -> None:
        super().__init__(pace=pace, label=f"file:{Path(path).name}")
        self.path = Path(path)
        self._meter = meter
        self._writer: wave.Wave_write | None = wave.open(str(self.path), "wb")  # noqa: SIM115 - closed by close()
        self._writer.setnchannels(1)
        self._writer.setsampwidth(2)
        self._writer.setframerate(SAMPLE_RATE)
        self._written_segments = 0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._meter is not None:
            self._meter.add(frame_samples(frame))

    def _end_segment(self, *, interrupted: bool) -> None:
        super()._end_segment(interrupted=interrupted)
        if self._writer is None:
            return
        for samples in self.played[self._written_segments :]:
            self._writer.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())
        self._written_segments = len(self.played)

    def close(self) -> None:
        """End any segment in progress and finish the file."""
        self.clear_buffer()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
