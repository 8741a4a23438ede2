"""A real engine against the real local server over a real socket, with memory audio.

``Harness`` bundles the simulator, the engine, the virtual microphone/speaker and every
event the engine emitted, so tests read like the conversation they check.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from azassist.core.audio.memory import ArrayAudioInput, CaptureAudioOutput
from azassist.core.engine import AudioPair, Engine, MemoryKeySource
from azassist.core.events import (
    AssistantText,
    ConnectionState,
    EngineEvent,
    Error,
    UserTranscript,
)
from azassist.core.secrets import Secret
from azassist.core.settings import Settings
from azassist.simulator import LocalRealtimeServer
from azassist.simulator.speech import speak_or_beep

API_KEY = "sim-key-" + "7" * 24
DEPLOYMENT = "gpt-realtime"
T = TypeVar("T")


from tests.support.waiting import until  # noqa: E402  (re-exported for the engine tests)


def speech(text: str = "hello there, how are you") -> np.ndarray:
    """Speech-like audio the simulator's energy VAD hears as a turn, with silence after."""
    voiced = speak_or_beep(text)
    return np.concatenate([voiced, np.zeros(24_000, dtype=np.int16)])


def settings_for(server: LocalRealtimeServer, **groups: dict[str, Any]) -> Settings:
    data: dict[str, Any] = {
        "connection": {"endpoint": server.endpoint, "deployment": DEPLOYMENT, "transcription_deployment": "whisper"},
        "turn_detection": {"silence_duration_ms": 300},
    }
    for group, values in groups.items():
        data.setdefault(group, {}).update(values)
    return Settings.model_validate(data)


@dataclass
class Harness:
    server: LocalRealtimeServer
    engine: Engine
    mic: ArrayAudioInput
    speaker: CaptureAudioOutput
    events: list[EngineEvent] = field(default_factory=list)
    audio_opened: int = 0

    def of(self, kind: type[T]) -> list[T]:
        return [e for e in self.events if isinstance(e, kind)]

    def finals(self, role: str) -> list[Any]:
        kind = UserTranscript if role == "user" else AssistantText
        return [e for e in self.of(kind) if e.final]

    def errors(self) -> list[Error]:
        return self.of(Error)

    async def connected(self, timeout: float = 10.0) -> None:
        await until(
            lambda: self.engine.connection is ConnectionState.CONNECTED
            or self.engine.connection is ConnectionState.FAILED,
            timeout,
            "the engine to connect",
        )
        assert self.engine.connection is ConnectionState.CONNECTED, self.errors()
        # the plugin sends session.update once its socket is open, which can be just after
        # the engine says connected: tests read it
        await until(lambda: self.sent_to_server("session.update"), timeout, "the session.update")

    async def replies(self, count: int, timeout: float = 15.0) -> list[AssistantText]:
        await until(lambda: len(self.finals("assistant")) >= count, timeout, f"{count} assistant replies")
        return self.finals("assistant")

    def sent_to_server(self, event_type: str) -> list[dict[str, Any]]:
        return [e.event for e in self.server.received.of_type(event_type) if e.event is not None]


@contextlib.asynccontextmanager
async def harness(
    *,
    pace: float = 0,
    audio_pace: float | None = None,
    responder: str = "scripted",
    conversations_dir: Path | None = None,
    connect: bool = True,
    engine_kwargs: dict[str, Any] | None = None,
    server_kwargs: dict[str, Any] | None = None,
    **groups: dict[str, Any],
) -> AsyncIterator[Harness]:
    """Server + engine; ``pace`` for the server's reply audio, ``audio_pace`` for the
    memory microphone and speaker (defaults to the same, 0 meaning "as fast as possible")."""
    audio_pace = pace if audio_pace is None else audio_pace
    async with LocalRealtimeServer(
        api_key=API_KEY, deployments=(DEPLOYMENT, "whisper"), responder=responder, pace=pace,
        strict_validation=True, **(server_kwargs or {}),
    ) as server:
        mic = ArrayAudioInput(pace=audio_pace or 8)
        speaker = CaptureAudioOutput(pace=audio_pace)
        box: list[Harness] = []

        def audio(_: Settings) -> AudioPair:
            box[0].audio_opened += 1
            return AudioPair(input=mic, output=speaker)

        engine = Engine(
            settings_for(server, **groups),
            keys=MemoryKeySource(Secret(API_KEY)),
            audio=audio,
            conversations_dir=conversations_dir,
            **(engine_kwargs or {}),
        )
        h = Harness(server, engine, mic, speaker)
        box.append(h)
        engine.subscribe(h.events.append)
        try:
            if connect:
                await engine.connect()
                await h.connected()
            yield h
        finally:
            await engine.aclose()
        assert server.violations == [], server.violations
        finals = [e.turn_id for e in h.finals("assistant")]
        assert len(finals) == len(set(finals)), "a reply was made final twice"


@pytest.fixture(autouse=True)
def _no_preview_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
