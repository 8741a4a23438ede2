"""A real LiveKit conversation against the simulator: unmodified plugin, in-memory audio."""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
import numpy as np
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.types import APIConnectOptions
from livekit.agents.voice.turn import TurnHandlingOptions
from livekit.plugins import openai

from azassist.core.audio.memory import ArrayAudioInput, CaptureAudioOutput
from azassist.simulator import LocalRealtimeServer

DEPLOYMENT = "gpt-realtime"
PREVIEW_API_VERSION = "2025-04-01-preview"


from tests.support.waiting import until  # noqa: E402  (re-exported for the simulator tests)


def make_model(
    server: LocalRealtimeServer | None,
    *,
    preview: bool = False,
    api_key: str = "test-key",
    deployment: str = DEPLOYMENT,
    endpoint: str | None = None,
    fast_retries: bool = False,
    **options: Any,
) -> openai.realtime.RealtimeModel:
    """``with_azure`` exactly as the app calls it; ``fast_retries`` uses the public constructor
    (the only way to pass ``conn_options``) so failure tests do not sit through 2 s retries."""
    endpoint = endpoint or (server.endpoint if server else "")
    if preview:
        options["api_version"] = PREVIEW_API_VERSION
    if fast_retries:
        return openai.realtime.RealtimeModel(
            azure_deployment=deployment,
            base_url=f"{endpoint}/openai",
            api_key=api_key,
            conn_options=APIConnectOptions(max_retry=1, retry_interval=0.1, timeout=5.0),
            **options,
        )
    return openai.realtime.RealtimeModel.with_azure(
        azure_deployment=deployment, azure_endpoint=endpoint, api_key=api_key, **options
    )


@dataclass
class Conversation:
    """One AgentSession wired to array input and capture output, with everything it emitted."""

    model: openai.realtime.RealtimeModel
    session: AgentSession[None]
    mic: ArrayAudioInput
    speaker: CaptureAudioOutput
    messages: list[llm.ChatMessage] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)
    user_transcripts: list[Any] = field(default_factory=list)
    agent_states: list[str] = field(default_factory=list)

    def said(self, role: str) -> list[str]:
        return [m.text_content or "" for m in self.messages if m.role == role]

    @property
    def fatal_errors(self) -> list[BaseException]:
        """The exceptions behind unrecoverable ``error`` events (the session is dead after one)."""
        return [e.error.error for e in self.errors if not e.error.recoverable]

    @property
    def recoverable_errors(self) -> list[BaseException]:
        return [e.error.error for e in self.errors if e.error.recoverable]

    async def wait_for_reply(self, count: int = 1, timeout: float = 10.0) -> str:
        await until(lambda: len(self.said("assistant")) >= count, timeout=timeout,
                    what=f"{count} assistant message(s)")  # fmt: skip
        return self.said("assistant")[count - 1]

    async def aclose(self) -> None:
        """Close as the engine does: a session that already died of a fatal error may raise
        that error again from ``aclose`` (the plugin's main task re-raises it), which is not
        a new failure; any other error from closing is."""
        try:
            await self.session.aclose()
        except Exception:
            if not self.fatal_errors:
                raise
        await self.model.aclose()


async def start_conversation(
    model: openai.realtime.RealtimeModel,
    *,
    mic_pace: float = 0.0,
    speaker_pace: float = 0.0,
    turn_detection: Literal["realtime_llm", "manual"] = "realtime_llm",
    tools: list[Any] | None = None,
) -> Conversation:
    session: AgentSession[None] = AgentSession(
        llm=model,
        vad=None,
        turn_handling=TurnHandlingOptions(turn_detection=turn_detection),
        aec_warmup_duration=None,
        user_away_timeout=None,
    )
    conversation = Conversation(
        model=model,
        session=session,
        mic=ArrayAudioInput(pace=mic_pace),
        speaker=CaptureAudioOutput(pace=speaker_pace),
    )
    session.input.audio = conversation.mic
    session.output.audio = conversation.speaker

    def on_item(event: Any) -> None:
        if isinstance(event.item, llm.ChatMessage):
            conversation.messages.append(event.item)

    session.on("conversation_item_added", on_item)
    session.on("error", conversation.errors.append)
    session.on("user_input_transcribed", conversation.user_transcripts.append)
    session.on("agent_state_changed", lambda ev: conversation.agent_states.append(ev.new_state))
    await session.start(Agent(instructions="Answer briefly.", tools=tools or []))
    return conversation


class RawClient:
    """A bare WebSocket client for protocol details the LiveKit client never exercises."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._http = http
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, server: LocalRealtimeServer, *, preview: bool = False, api_key: str = "test-key"
    ) -> AsyncIterator[RawClient]:
        base = server.endpoint.replace("http", "ws", 1)
        if preview:
            url = (
                f"{base}/openai/realtime?api-version={PREVIEW_API_VERSION}&deployment={DEPLOYMENT}"
            )
        else:
            url = f"{base}/openai/v1/realtime?model={DEPLOYMENT}"
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(url, headers={"api-key": api_key}) as ws,
        ):
            client = cls(http, ws)
            await client.next("session.created")
            yield client

    async def send(self, event: dict[str, Any]) -> str:
        """Send with a fresh ``event_id`` (returned, to match error replies)."""
        event = {"event_id": f"evt_{len(self.seen)}_{time.monotonic_ns()}", **event}
        await self.ws.send_json(event)
        return str(event["event_id"])

    async def next(self, event_type: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next server event of ``event_type``; others are kept in ``seen``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {event_type} within {timeout} s")
            event: dict[str, Any] = await self.ws.receive_json(timeout=remaining)
            self.seen.append(event)
            if event["type"] == event_type:
                return event

    async def send_audio(self, samples: np.ndarray, chunk_ms: int = 100) -> None:
        step = 24 * chunk_ms
        for start in range(0, len(samples), step):
            piece = np.ascontiguousarray(samples[start : start + step], dtype="<i2")
            await self.send(
                {
                    "type": "input_audio_buffer.append",
                    "audio": base64.b64encode(piece.tobytes()).decode(),
                }
            )

    def types(self) -> list[str]:
        return [e["type"] for e in self.seen]
