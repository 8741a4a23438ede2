"""The engine's audio seam: whoever builds the engine hands it a factory of audio pairs.

The engine never opens a device itself. A factory returns an ``AudioIO`` (a LiveKit
``AudioInput``/``AudioOutput`` pair plus optional level readings and a close hook) for the
current settings, so the same engine runs on real devices, WAV files or memory arrays.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np
from livekit import rtc
from livekit.agents.voice.io import AudioInput, AudioOutput

from azassist.core.settings import Settings

SILENCE_DB = float("-inf")
LevelReading = tuple[float, float, float, float]  # input rms, input peak, output rms, output peak (dBFS)


@dataclass
class AudioIO:
    """One conversation's audio.

    ``echo_cancelled`` says our own echo canceller runs on the input, so LiveKit's AEC
    warm-up (which mutes the microphone for the first seconds of a reply) is turned off.
    ``levels`` gives meter readings if the audio layer measures them at the device; without
    it the engine meters the input frames itself and reports the output as silent.
    """

    input: AudioInput | None
    output: AudioOutput | None
    echo_cancelled: bool = False
    levels: Callable[[], LevelReading | None] | None = None
    close: Callable[[], Awaitable[None] | None] | None = None
    apply_settings: Callable[[Settings], None] | None = None

    async def aclose(self) -> None:
        if self.close is not None:
            result = self.close()
            if inspect.isawaitable(result):
                await result


AudioFactory = Callable[[Settings], "AudioIO | Awaitable[AudioIO]"]


async def open_audio(factory: AudioFactory, settings: Settings) -> AudioIO:
    result = factory(settings)
    return await result if inspect.isawaitable(result) else result  # type: ignore[return-value]


def no_audio(settings: Settings) -> AudioIO:
    """Typed messages only: no microphone, no speaker (text replies still arrive)."""
    return AudioIO(input=None, output=None)


def dbfs(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else SILENCE_DB


@dataclass
class _Meter:
    rms_db: float = SILENCE_DB
    peak_db: float = SILENCE_DB


class MeteredInput(AudioInput):
    """Passes the microphone through, measuring what the session really received.

    ``samples_captured`` counts only frames delivered while attached, which is how
    push-to-talk tells a tap that carried speech from one that did not.
    """

    def __init__(self, source: AudioInput) -> None:
        super().__init__(label=f"metered({source.label})", source=source)
        self.meter = _Meter()
        self.samples_captured = 0
        self.seconds_captured = 0.0
        self.attached = True

    async def __anext__(self) -> rtc.AudioFrame:
        frame = await super().__anext__()
        if self.attached:
            self.samples_captured += frame.samples_per_channel
            self.seconds_captured += frame.samples_per_channel / max(frame.sample_rate, 1)
        samples = np.frombuffer(frame.data, dtype=np.int16)
        if samples.size:
            floats = samples.astype(np.float32) / 32768.0
            self.meter = _Meter(
                rms_db=dbfs(float(np.sqrt(np.mean(floats * floats)))),
                peak_db=dbfs(float(np.max(np.abs(floats)))),
            )
        return frame

    def on_attached(self) -> None:
        self.attached = True
        super().on_attached()

    def on_detached(self) -> None:
        self.attached = False
        super().on_detached()


__all__ = [
    "AudioFactory",
    "AudioIO",
    "LevelReading",
    "MeteredInput",
    "no_audio",
    "open_audio",
]
