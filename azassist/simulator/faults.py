"""Faults on demand, for reliability tests: what a flaky network or an unhappy service does.

Two kinds: *armed* faults wait for the next reply or connection (``drop_mid_reply``,
``stall_next_response``, ``reject_next_connections``...); *immediate* ones act on every live
session now (``send_error``, ``send_malformed_json``, ``drop_connections``...).

The general primitive under the fuzzer (tests/robustness) is a *tamper*: a hook that sees each
outgoing event of the next reply (``tamper_next_reply``) or of the next session
(``tamper_next_session``) before it is queued, and answers with actions: keep it, drop it,
replace it, insert events, raw text or binary frames, close with a code, cut the socket, or
stall the connection for good. Events a hook emits are marked as faults and skip the strict
validation unless it asks for it; everything it keeps is validated as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from .responders import ErrorSpec

if TYPE_CHECKING:
    from .session import RealtimeConnection


@dataclass(frozen=True)
class HttpRejection:
    status: int
    code: str
    message: str


# ---------------------------------------------------------------------- tamper actions


@dataclass(frozen=True)
class Keep:
    """Send the event the hook was shown, as the server made it (validated as usual)."""


@dataclass(frozen=True)
class Emit:
    """Send this event instead of (or beside) the original.

    Named as in GA; renamed for the preview dialect when it has a name for it. ``event_id`` is
    added unless given. ``validate`` True: it is meant to be valid (an oversized delta), so the
    strict validator checks it and it counts as ordinary traffic in the wire log; False (the
    default): a deliberate violation, recorded with ``fault=True``.
    """

    event: dict[str, Any]
    validate: bool = False


@dataclass(frozen=True)
class RawText:
    """A text frame sent as is: not JSON, or JSON the server would never produce."""

    text: str


@dataclass(frozen=True)
class RawBinary:
    """A binary frame (the protocol has none)."""

    data: bytes


@dataclass(frozen=True)
class Close:
    """A WebSocket close frame with this code; nothing after it is sent."""

    code: int = 1000
    reason: str = ""


@dataclass(frozen=True)
class Abort:
    """Cut the TCP connection now (RST, no close frame): bytes in flight may be lost."""


@dataclass(frozen=True)
class Hangup:
    """Close the TCP connection after what was queued is written (FIN, no close frame)."""


@dataclass(frozen=True)
class Stall:
    """Send nothing more on this connection, ever; the socket stays open and is still read."""


@dataclass(frozen=True)
class Pause:
    """Hold the writer this long (a congested network), then carry on."""

    seconds: float


Action: TypeAlias = Keep | Emit | RawText | RawBinary | Close | Abort | Hangup | Stall | Pause
KEEP = Keep()


@dataclass
class TamperContext:
    """Where in the tampered reply (or session) the event being shown stands.

    Counts are of the events shown *before* this one. ``response_id`` / ``item_id`` are those
    of the tampered reply (the item once ``response.output_item.added`` was shown), so a hook
    can forge events that belong to it.
    """

    session_id: str
    response_id: str | None = None
    item_id: str | None = None
    events: int = 0
    text_deltas: int = 0  # output_text / output_audio_transcript deltas
    audio_deltas: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # scratch space for stateful hooks


TamperHook: TypeAlias = Callable[[dict[str, Any], TamperContext], Sequence[Action] | None]
"""Shown each outgoing event (GA names, before renaming); returns the actions, None to keep it."""


_TEXT_DELTAS = frozenset({"response.output_text.delta", "response.output_audio_transcript.delta"})


class Tamper:
    """One armed hook applied to one reply or one session, keeping its context."""

    def __init__(self, hook: TamperHook, context: TamperContext) -> None:
        self.hook = hook
        self.context = context

    def filter(self, event: dict[str, Any]) -> Sequence[Action]:
        context = self.context
        if event.get("type") == "response.output_item.added" and context.item_id is None:
            item = event.get("item")
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                context.item_id = item["id"]
        actions = self.hook(event, context)
        context.events += 1
        if event.get("type") in _TEXT_DELTAS:
            context.text_deltas += 1
        elif event.get("type") == "response.output_audio.delta":
            context.audio_deltas += 1
        return (KEEP,) if actions is None else actions


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
        self._reply_tampers: list[tuple[int, TamperHook]] = []  # (replies to skip, hook)
        self._session_tampers: list[TamperHook] = []

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

    def tamper_next_reply(self, hook: TamperHook, *, after_replies: int = 0) -> None:
        """``hook`` sees every outgoing event of a coming reply, from its ``response.created``
        to the ``rate_limits.updated`` after its ``response.done``, and of nothing else.

        ``after_replies`` replies (of any session) start untouched first. Replies refused by
        an ``error`` never start, so they do not count.
        """
        self._reply_tampers.append((after_replies, hook))

    def tamper_next_session(self, hook: TamperHook) -> None:
        """``hook`` sees every outgoing event of the next session to connect, from its
        ``session.created`` on (a hook that ignores what it does not want returns None)."""
        self._session_tampers.append(hook)

    # ------------------------------------------------------------------ taken by the server

    def take_reply_tamper(self, session_id: str, response_id: str) -> Tamper | None:
        """Called as each reply starts: the hook due for this one, if any."""
        if not self._reply_tampers:
            return None
        skip, hook = self._reply_tampers[0]
        if skip > 0:
            self._reply_tampers[0] = (skip - 1, hook)
            return None
        self._reply_tampers.pop(0)
        return Tamper(hook, TamperContext(session_id, response_id=response_id))

    def take_session_tamper(self, session_id: str) -> Tamper | None:
        if not self._session_tampers:
            return None
        return Tamper(self._session_tampers.pop(0), TamperContext(session_id))


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
