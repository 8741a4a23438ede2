"""The built-in tools: clock, timers and reminders, clipboard, opening a web address.

Each is a plain async function over a ``ToolEnv`` (the seams: timers, clipboard, browser),
described once here for the model (name, description, JSON parameters) and for the user
(title, why it asks). Results are short sentences the model, and the offline demo, can say.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from azassist.core.tools.timers import TimerBook, describe_duration

CLIPBOARD_MAX_CHARS = 20_000


class ToolFailure(Exception):
    """A tool could not do it; ``message`` goes to the model and the transcript as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Clipboard(Protocol):
    """The system clipboard as the front end reaches it (the window: Qt's; a terminal: none)."""

    def read_text(self) -> str: ...

    def write_text(self, text: str) -> None: ...


def open_in_browser(url: str) -> bool:
    """The default browser (``webbrowser`` honours ``$BROWSER``, as the tests use)."""
    return webbrowser.open(url, new=2)


@dataclass
class ToolEnv:
    timers: TimerBook
    clipboard: Clipboard | None = None
    open_url: Callable[[str], bool] = open_in_browser


Run = Callable[[ToolEnv, dict[str, Any]], Awaitable[str]]


@dataclass(frozen=True)
class BuiltinTool:
    name: str
    setting: str  # the Settings › Tools switch that enables it
    title: str
    description: str
    parameters: dict[str, Any]
    run: Run
    asks: bool = False
    why: str = ""

    @property
    def schema(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


def _object(properties: dict[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties or {}, "required": list(required), "additionalProperties": False}


async def current_time(env: ToolEnv, args: dict[str, Any]) -> str:
    zone_name = str(args.get("timezone") or "").strip()
    if zone_name:
        try:
            now = datetime.now(ZoneInfo(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            raise ToolFailure(f"'{zone_name}' is not a time zone I know; use a name like Europe/Paris.") from None
        where = zone_name
    else:
        now = datetime.now().astimezone()
        where = f"the user's time zone ({now.tzname()})"
    offset = now.strftime("%z")
    return f"It is {now:%H:%M} on {now:%A}, {now.day} {now:%B %Y} in {where}, UTC{offset[:3]}:{offset[3:]}."


async def set_timer(env: ToolEnv, args: dict[str, Any]) -> str:
    try:
        seconds = float(args.get("seconds", 0))
    except (TypeError, ValueError):
        raise ToolFailure("The timer needs a number of seconds.") from None
    label = str(args.get("label") or "").strip() or "Timer"
    try:
        timer = env.timers.set(seconds, label)
    except ValueError as exc:
        raise ToolFailure(str(exc)) from None
    due = datetime.fromtimestamp(timer.due_at)
    return f"Timer set for {describe_duration(seconds)}: '{timer.label}' goes off at {due:%H:%M}."


async def list_timers(env: ToolEnv, args: dict[str, Any]) -> str:
    timers = env.timers.list()
    if not timers:
        return "There are no timers running."
    return "Timers running: " + "; ".join(f"'{t.label}' in {describe_duration(t.remaining())}" for t in timers) + "."


async def cancel_timer(env: ToolEnv, args: dict[str, Any]) -> str:
    which = str(args.get("timer") or "").strip()
    timer = env.timers.cancel(which)
    if timer is None:
        raise ToolFailure(f"There is no timer called '{which}'.")
    return f"Cancelled the timer '{timer.label}'."


def _clipboard(env: ToolEnv) -> Clipboard:
    if env.clipboard is None:
        raise ToolFailure("The clipboard cannot be reached from here (azassist talk runs without one).")
    return env.clipboard


async def read_clipboard(env: ToolEnv, args: dict[str, Any]) -> str:
    text = _clipboard(env).read_text()
    if not text:
        return "The clipboard is empty (or holds no text)."
    if len(text) > CLIPBOARD_MAX_CHARS:
        return f"The clipboard holds {len(text):,} characters; the first {CLIPBOARD_MAX_CHARS:,}: {text[:CLIPBOARD_MAX_CHARS]}"
    return f"The clipboard holds: {text}"


async def write_clipboard(env: ToolEnv, args: dict[str, Any]) -> str:
    text = str(args.get("text") or "")
    if not text:
        raise ToolFailure("There was no text to copy.")
    _clipboard(env).write_text(text[:CLIPBOARD_MAX_CHARS])
    return f"Copied {len(text):,} characters to the clipboard."


async def open_url(env: ToolEnv, args: dict[str, Any]) -> str:
    url = str(args.get("url") or "").strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ToolFailure("Only web addresses starting with http:// or https:// can be opened.")
    if not env.open_url(url):
        raise ToolFailure("No web browser could be started on this computer.")
    return f"Opened {url} in the browser."


BUILTIN_TOOLS: tuple[BuiltinTool, ...] = (
    BuiltinTool(
        "get_current_time", "clock", "Tell the time",
        "The current date and time, in the user's time zone or in a named IANA time zone (e.g. Asia/Tokyo).",
        _object({"timezone": {"type": "string", "description": "IANA time zone name; leave out for the user's own"}}),
        current_time,
    ),
    BuiltinTool(
        "set_timer", "timers", "Set a timer",
        "Set a timer or reminder that goes off after a number of seconds; the user is notified then.",
        _object(
            {"seconds": {"type": "number", "description": "how long from now, in seconds"},
             "label": {"type": "string", "description": "what to remind the user of"}},
            ("seconds",),
        ),
        set_timer,
    ),
    BuiltinTool("list_timers", "timers", "List timers", "The timers and reminders still running.", _object(), list_timers),
    BuiltinTool(
        "cancel_timer", "timers", "Cancel a timer", "Cancel a running timer or reminder, by its label.",
        _object({"timer": {"type": "string", "description": "the timer's label"}}, ("timer",)),
        cancel_timer,
    ),
    BuiltinTool(
        "read_clipboard", "clipboard", "Read the clipboard", "The text the user copied to the clipboard.",
        _object(), read_clipboard, asks=True, why="It reads what you copied, which may be private.",
    ),
    BuiltinTool(
        "write_clipboard", "clipboard", "Copy to the clipboard", "Put text on the user's clipboard.",
        _object({"text": {"type": "string"}}, ("text",)), write_clipboard,
        asks=True, why="It replaces what is on your clipboard.",
    ),
    BuiltinTool(
        "open_url", "open_url", "Open a web address", "Open a web address (http or https) in the user's browser.",
        _object({"url": {"type": "string"}}, ("url",)), open_url,
        asks=True, why="It opens a page in your browser.",
    ),
)


def enabled_builtins(switches: Any) -> list[BuiltinTool]:
    """The built-in tools whose Settings › Tools switch is on."""
    return [tool for tool in BUILTIN_TOOLS if getattr(switches, tool.setting, False)]
