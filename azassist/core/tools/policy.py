"""Who decides whether a tool call runs: the user, through a ``Confirmer``.

The window asks with a small dialog (Allow once / Allow for this conversation / Deny), the
terminal command allows everything with ``--allow-tools`` and otherwise refuses calls that
need a yes. A refusal goes back to the model as a plain sentence it can say.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal


class Decision(str, Enum):
    ALLOW_ONCE = "allow_once"
    ALLOW_CONVERSATION = "allow_conversation"
    DENY = "deny"


class ToolPolicy(str, Enum):
    """A tool's confirmation rule. AUTO: ask unless the tool says it only reads (MCP
    ``readOnlyHint``); built-in tools carry their own fixed rule."""

    AUTO = "auto"
    ASK = "ask"
    ALLOW = "allow"
    BLOCK = "block"


@dataclass(frozen=True)
class ToolRequest:
    """A call waiting for the user's yes: what it is, in words a person can judge."""

    call_id: str
    tool: str  # the name the model used
    title: str  # e.g. "Read the clipboard" or "time › convert_time"
    arguments: str  # short, readable
    why: str  # why it asks, e.g. "It reads what you copied."
    server: str | None = None  # the MCP server, for MCP tools


Confirmer = Callable[[ToolRequest], Awaitable[Decision]]


async def allow_everything(_request: ToolRequest) -> Decision:
    """``azassist talk --allow-tools``: a non-interactive run the user has vouched for."""
    return Decision.ALLOW_ONCE


async def refuse_everything(_request: ToolRequest) -> Decision:
    """No one to ask (a script without ``--allow-tools``): calls that need a yes are refused."""
    return Decision.DENY


@dataclass
class Permissions:
    """'Allow for this conversation' answers; forgotten with the conversation."""

    allowed: set[str] = field(default_factory=set)

    def covers(self, key: str) -> bool:
        return key in self.allowed

    def remember(self, key: str) -> None:
        self.allowed.add(key)

    def forget(self) -> None:
        self.allowed.clear()


ActivityStatus = Literal["asking", "running", "done", "refused", "failed"]


@dataclass(frozen=True)
class ToolActivity:
    """One tool call as the transcript shows it: a compact row that updates in place."""

    call_id: str
    tool: str
    arguments: str
    status: ActivityStatus
    result: str = ""
    duration_s: float | None = None
    server: str | None = None
    at: float = field(default_factory=time.time)
    type: Literal["tool"] = "tool"

    @property
    def finished(self) -> bool:
        return self.status in ("done", "refused", "failed")


@dataclass(frozen=True)
class ReminderDue:
    """A timer or reminder went off: the tray says it, and the assistant too if connected."""

    label: str
    message: str
    at: float = field(default_factory=time.time)
    type: Literal["reminder"] = "reminder"


@dataclass(frozen=True)
class ToolServerStatus:
    """What an MCP server did when a conversation connected: its tools, or why it has none."""

    server: str
    ok: bool
    message: str
    tools: tuple[str, ...] = ()
    at: float = field(default_factory=time.time)
    type: Literal["tool_server"] = "tool_server"


def shorten(text: str, limit: int = 80) -> str:
    """One line, at most ``limit`` characters: what a compact row and a dialog can show."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


__all__ = [
    "ActivityStatus",
    "Confirmer",
    "Decision",
    "Permissions",
    "ReminderDue",
    "ToolActivity",
    "ToolPolicy",
    "ToolRequest",
    "ToolServerStatus",
    "activity_row",
    "allow_everything",
    "refuse_everything",
    "shorten",
]


def activity_row(activity: ToolActivity) -> str:
    """The transcript's compact row for a call, as it goes: asking, running, then its result."""
    name = f"{activity.server} › {activity.tool}" if activity.server else activity.tool
    head = f"{name}({activity.arguments})"
    if activity.status == "asking":
        return f"{head} · waiting for your answer"
    if activity.status == "running":
        return f"{head} · running…"
    outcome = {"refused": "refused: ", "failed": "failed: "}.get(activity.status, "")
    took = f" · {activity.duration_s:.2f} s" if activity.duration_s is not None else ""
    return f"{head} → {outcome}{activity.result}{took}"
