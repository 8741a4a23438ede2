"""Fixtures for the audio tests: speech signals and device audio on the virtual server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from azassist.core.audio.facade import DeviceAudioIO
from azassist.core.events import EngineEvent
from azassist.core.settings import AudioSettings
from tests.core.audio.support import make_speech, read_wav

PLAIN = AudioSettings(echo_cancellation=False, noise_suppression=False, auto_gain=False)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About three seconds of espeak-ng speech, 24 kHz mono."""
    return make_speech(tmp_path_factory.mktemp("speech"), "Hello there, this is a test of the audio path.")


@pytest.fixture(scope="session")
def short_speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About one second of speech, for tests that only need something audible."""
    return make_speech(tmp_path_factory.mktemp("short"), "Testing, one, two.", name="short")


@pytest.fixture(scope="session")
def short_speech(short_speech_wav: Path) -> np.ndarray:
    return read_wav(short_speech_wav)


@pytest.fixture(scope="session")
def speech(speech_wav: Path) -> np.ndarray:
    return read_wav(speech_wav)


@pytest.fixture(scope="session")
def assistant_voice(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """About five seconds of the assistant speaking, cut to whole 10 ms frames (the audio
    processor's unit), for the tests that drive the processor without devices."""
    text = "I am the assistant, and I keep talking for a while so the echo canceller has work to do."
    voice = read_wav(make_speech(tmp_path_factory.mktemp("voice"), text, name="voice"))
    return voice[: len(voice) // 240 * 240]


@pytest.fixture
def audio_events() -> list[EngineEvent]:
    return []


@pytest_asyncio.fixture
async def device_audio(virtual_audio: object, audio_events: list[EngineEvent]) -> AsyncIterator[DeviceAudioIO]:
    """Default microphone and speaker with no processing, so signals compare exactly."""
    audio = DeviceAudioIO(PLAIN, on_event=audio_events.append, retry_interval=0.5)
    audio.processor.configure(audio.processor.options.__class__(False, False, False, False))
    await audio.start()
    yield audio
    await audio.aclose()
