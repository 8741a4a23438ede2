"""Faults on demand, for reliability tests: what a flaky network or an unhappy service does.

Two kinds: *armed* faults wait for the next reply or connection (``drop_mid_reply``,
``stall_next_response``, ``reject_next_connections``...); *immediate* ones act on every live
session now (``send_error``, ``send_malformed_json``, ``drop_connections``...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .responders import ErrorSpec

if TYPE_CHECKING:
    from .session import RealtimeConnection


@dataclass(frozen=True)
class HttpRejection:
    status: int
    code: str
    message: str


class Faults:
    """Attached to a server as ``server.faults``."""

    def __init__(self, live_sessions: Callable[[], Sequence[RealtimeConnection]]) -> None:
        self._live_sessions = live_sessions
        self.drop_after_audio_deltas: int | None = None
        self.stall_seconds: float | None = None
        self.stall_armed = False
        self.response_error: ErrorSpec | None = None
        self.response_delay_s = 0.0
        self.session_max_seconds: float | None = None
        self._rejections: list[HttpRejection] = []

    # ------------------------------------------------------------------ armed (one-shot)

    def drop_mid_reply(self, after_audio_deltas: int = 2) -> None:
        """The next reply's socket is cut (no close frame) after that many audio deltas.

        For a text-only session the count applies to text deltas.
        """
        self.drop_after_audio_deltas = after_audio_deltas

    def stall_next_response(self, seconds: float | None = None) -> None:
        """The next response starts (``response.created``) and then sends nothing.

        ``None``: until the client cancels it; else it resumes after ``seconds``.
        """
        self.stall_armed = True
        self.stall_seconds = seconds

    def error_next_response(
        self, code: str, message: str | None = None, *, type: str | None = None, close: bool = False
    ) -> None:
        """Refuse the next ``response.create`` with an ``error`` event, whatever the responder."""
        self.response_error = ErrorSpec(code, message, type, close)

    def slow_responses(self, delay_s: float) -> None:
        """Every response waits ``delay_s`` before its first output (0 turns it off)."""
        self.response_delay_s = delay_s

    def expire_sessions_after(self, seconds: float | None) -> None:
        """Sessions opened from now on end with ``session_expired`` after ``seconds``."""
        self.session_max_seconds = seconds

    def reject_next_connections(
        self,
        count: int = 1,
        *,
        status: int = 503,
        code: str = "ServiceUnavailable",
        message: str = "The service is temporarily unavailable.",
    ) -> None:
        """Answer the next ``count`` WebSocket upgrades with an HTTP error (429, 500, 503...)."""
        self._rejections.extend(HttpRejection(status, code, message) for _ in range(count))

    # ------------------------------------------------------------------ taken by the server

    def take_rejection(self) -> HttpRejection | None:
        return self._rejections.pop(0) if self._rejections else None

    def take_drop(self) -> int | None:
        value, self.drop_after_audio_deltas = self.drop_after_audio_deltas, None
        return value

    def take_stall(self) -> tuple[bool, float | None]:
        armed, self.stall_armed = self.stall_armed, False
        return armed, self.stall_seconds

    def take_response_error(self) -> ErrorSpec | None:
        value, self.response_error = self.response_error, None
        return value

    # ------------------------------------------------------------------ immediate

    async def send_error(
        self, code: str, message: str | None = None, *, type: str | None = None, close: bool = False
    ) -> None:
        """An ``error`` event to every live session now (``invalid_api_key``, ``insufficient_quota``
        are fatal for the LiveKit client)."""
        for session in self._live_sessions():
            session.send_error_spec(ErrorSpec(code, message, type, close))

    async def send_malformed_json(self, text: str = '{"type": "response.done", "respo') -> None:
        """A frame that is not JSON, to every live session."""
        for session in self._live_sessions():
            session.send_raw(text)

    async def send_unknown_event(self, event_type: str = "simulator.unknown_event") -> None:
        """A well-formed event of a type no client knows, to every live session."""
        for session in self._live_sessions():
            session.send_raw_event({"type": event_type, "note": "injected by the simulator"})

    async def drop_connections(self) -> None:
        """Cut every live socket now, without a close frame."""
        for session in self._live_sessions():
            session.abort()
