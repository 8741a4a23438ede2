"""Typed events the conversation engine emits: the one stream the window, the terminal
command, the tests and the benchmarks all consume.

Plain frozen dataclasses with no Qt and no LiveKit types, so any front end can render them
and tests can compare them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

# The state words are part of this stream; they live apart so the window can load them alone.
from azassist.core.states import Activity, ConnectionState, ErrorKind
from azassist.core.tools.policy import ReminderDue, ToolActivity, ToolServerStatus


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class StateChanged:
    connection: ConnectionState
    activity: Activity
    at: float = field(default_factory=_now)
    type: Literal["state"] = "state"


@dataclass(frozen=True)
class UserTranscript:
    """The user's words. Partials are cumulative for the turn and replaced by the final."""

    turn_id: str
    text: str
    final: bool
    at: float = field(default_factory=_now)
    type: Literal["user_transcript"] = "user_transcript"


@dataclass(frozen=True)
class AssistantText:
    """The assistant's reply so far (cumulative, paced to what has been heard)."""

    turn_id: str
    text: str
    final: bool
    interrupted: bool = False
    at: float = field(default_factory=_now)
    type: Literal["assistant_text"] = "assistant_text"


@dataclass(frozen=True)
class Levels:
    """Meter readings in dBFS (-inf..0), about 30 per second."""

    input_rms: float
    input_peak: float
    output_rms: float
    output_peak: float
    at: float = field(default_factory=_now)
    type: Literal["levels"] = "levels"


@dataclass(frozen=True)
class TurnLatency:
    """End of the user's speech (or a typed message) to the first assistant audio heard."""

    turn_id: str
    seconds: float
    trigger: Literal["speech", "typed"]
    at: float = field(default_factory=_now)
    type: Literal["latency"] = "latency"


@dataclass(frozen=True)
class Usage:
    turn_id: str
    input_tokens: int
    output_tokens: int
    conversation_input_tokens: int
    conversation_output_tokens: int
    details: TurnUsage | None = None  # text/audio/cached split, when the service gave one
    at: float = field(default_factory=_now)
    type: Literal["usage"] = "usage"

    @property
    def conversation_total(self) -> int:
        return self.conversation_input_tokens + self.conversation_output_tokens


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not an error (e.g. 'applies on next connect')."""

    message: str
    setting: str | None = None  # "group.field" when it concerns a setting
    at: float = field(default_factory=_now)
    type: Literal["notice"] = "notice"


@dataclass(frozen=True)
class Warning:
    message: str
    at: float = field(default_factory=_now)
    type: Literal["warning"] = "warning"


@dataclass(frozen=True)
class Error:
    """An error in plain words; ``detail`` is for the log; ``fatal`` means the session is dead."""

    kind: ErrorKind
    message: str
    detail: str = ""
    fatal: bool = False
    at: float = field(default_factory=_now)
    type: Literal["error"] = "error"


@dataclass(frozen=True)
class Capability:
    """Whether a setting can be used with the current protocol, and why not."""

    setting: str  # "group.field", e.g. "model.temperature"
    supported: bool
    reason: str = ""
    at: float = field(default_factory=_now)
    type: Literal["capability"] = "capability"


EngineEvent = (
    StateChanged | UserTranscript | AssistantText | Levels | TurnLatency | Usage | Notice | Warning | Error | Capability
    | ToolActivity | ReminderDue | ToolServerStatus
)


# --- The engine's intents: what a front end may ask of it ------------------------------------
from collections.abc import Callable  # noqa: E402
from typing import TYPE_CHECKING, Any, Protocol  # noqa: E402

if TYPE_CHECKING:
    from pathlib import Path

    from azassist.core.settings import Settings
    from azassist.core.transcript import TurnUsage


class ConversationEngine(Protocol):
    """The contract between the engine (azassist.core.engine) and every front end.

    Intents are plain calls; results arrive only as events through ``subscribe`` on the
    asyncio loop's thread. No call raises for a user-caused problem: it becomes an ``Error``.
    """

    @property
    def connection(self) -> ConnectionState: ...

    @property
    def activity(self) -> Activity: ...

    def subscribe(self, callback: Callable[[EngineEvent], None]) -> Callable[[], None]:
        """Register a listener; returns a function that unregisters it."""
        ...

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def reconnect(self) -> None:
        """A fresh session and model that keep the conversation so far."""
        ...

    async def apply_settings(self, settings: Settings) -> None:
        """Apply what can be applied live; emit a Notice for what waits for the next connect."""
        ...

    def send_text(self, text: str) -> None:
        """A typed message; interrupts the assistant if it is speaking."""
        ...

    def interrupt(self) -> None: ...

    def set_muted(self, muted: bool) -> None: ...

    def set_hands_free(self, hands_free: bool) -> None:
        """Hands-free uses the configured VAD; off means push-to-talk (manual turns)."""
        ...

    def push_to_talk_press(self) -> None: ...

    def push_to_talk_release(self) -> None: ...

    def push_to_talk_cancel(self) -> None: ...

    def new_conversation(self) -> None: ...

    async def continue_conversation(self, path: Path) -> Any:
        """Carry on a saved conversation: its turns are the past, new ones go to its file.
        Returns what was loaded, or None (an Error event says why)."""
        ...
