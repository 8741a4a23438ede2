"""The engine's audio seam: whoever builds the engine hands it a factory of audio pairs.

The engine never opens a device itself. A factory (sync or async) gets the current settings
and returns an object with ``input`` (a LiveKit ``AudioInput`` or None) and ``output`` (an
``AudioOutput`` or None), and optionally ``read_levels()``, ``wait_for_sound()``, ``apply(settings)``,
``set_muted(bool)`` and ``aclose()``: exactly what ``azassist.core.audio``'s
``DeviceAudioIO``/``FileAudioIO`` offer, so they plug in as they are (and ``batch_input``,
which only the device microphone has). ``AudioPair`` builds
such an object from loose parts (memory seams in tests, a WAV input with a real speaker).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from livekit import rtc
from livekit.agents.voice.io import AudioInput, AudioOutput

from azassist.core.audio.levels import SILENCE_DBFS, LevelMeter, wait_for_sound
from azassist.core.audio.memory import frame_samples
from azassist.core.settings import Settings

LevelReading = tuple[float, float, float, float]  # input rms, input peak, output rms, output peak (dBFS)


class AudioSeam(Protocol):
    """What the engine needs from the audio layer; the optional methods are looked up."""

    input: AudioInput | None
    output: AudioOutput | None


@dataclass
class AudioPair:
    """An input and an output (either may be None) with optional extras as plain callables."""

    input: AudioInput | None
    output: AudioOutput | None
    levels: Callable[[], LevelReading] | None = None
    close: Callable[[], Awaitable[None] | None] | None = None
    on_settings: Callable[[Settings], None] | None = None
    batch: Callable[[int], None] | None = None  # the input's batch_input, when it has one

    def batch_input(self, samples: int) -> None:
        if self.batch is not None:
            self.batch(samples)

    def read_levels(self) -> LevelReading | None:
        return self.levels() if self.levels is not None else None

    def apply(self, settings: Settings) -> None:
        if self.on_settings is not None:
            self.on_settings(settings)

    async def aclose(self) -> None:
        if self.close is not None:
            result = self.close()
            if inspect.isawaitable(result):
                await result


AudioFactory = Callable[[Settings], Any]  # returns an AudioSeam, or an awaitable of one


async def open_audio(factory: AudioFactory, settings: Settings) -> Any:
    result = factory(settings)
    return await result if inspect.isawaitable(result) else result


def no_audio(settings: Settings) -> AudioPair:
    """Typed messages only: no microphone, no speaker (replies still arrive as text)."""
    return AudioPair(input=None, output=None)


def read_levels(audio: Any) -> LevelReading | None:
    reader = getattr(audio, "read_levels", None)
    return reader() if callable(reader) else None


async def wait_for_sound_in(audio: Any, timeout: float) -> bool:
    """Wait until ``audio`` hears more than silence, or ``timeout`` seconds. False at once
    when it cannot tell (no ``wait_for_sound``): the caller keeps polling."""
    waiter = getattr(audio, "wait_for_sound", None)
    if not callable(waiter):
        return False
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(waiter(), timeout)
    return True


async def close_audio(audio: Any) -> None:
    closer = getattr(audio, "aclose", None)
    if callable(closer):
        await closer()


class MeteredInput(AudioInput):
    """Passes the microphone through, measuring what the session really received.

    ``seconds_captured`` counts only frames delivered while attached, which is how
    push-to-talk tells a tap that carried speech from one that did not; the meter gives
    input levels when the audio layer measures none itself. It only measures once
    ``measuring`` is set (by whoever reads it): on the loop's thread, for every frame, it
    would otherwise repeat what the audio layer already measured on its own thread.
    """

    def __init__(self, source: AudioInput) -> None:
        super().__init__(label=f"metered({source.label})", source=source)
        self.meter = LevelMeter()
        self.measuring = False
        self.seconds_captured = 0.0
        self.attached = True

    async def __anext__(self) -> rtc.AudioFrame:
        frame = await super().__anext__()
        if self.attached:
            self.seconds_captured += frame.samples_per_channel / max(frame.sample_rate, 1)
        if self.measuring:
            self.meter.add(frame_samples(frame))
        return frame

    def read_levels(self) -> LevelReading:
        rms, peak = self.meter.take()
        return rms, peak, SILENCE_DBFS, SILENCE_DBFS

    async def wait_for_sound(self) -> None:
        await wait_for_sound(self.meter)

    def on_attached(self) -> None:
        self.attached = True
        super().on_attached()

    def on_detached(self) -> None:
        self.attached = False
        super().on_detached()


__all__ = [
    "AudioFactory",
    "AudioPair",
    "AudioSeam",
    "LevelReading",
    "MeteredInput",
    "close_audio",
    "no_audio",
    "open_audio",
    "read_levels",
    "wait_for_sound_in",
]
