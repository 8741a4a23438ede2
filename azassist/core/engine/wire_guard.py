"""What the service sends is checked before LiveKit's plugin reads it.

The plugin's receive loop parses each frame outside its own error handling: one frame that
is not JSON, an event that is not an object or has no string ``type``, or an audio delta
that is not a string ends the whole session with an exception. Here the WebSocket itself
(aiohttp's ``ws_response_class``) skips such frames and says what it skipped, so the
conversation carries on.

The same seam is the engine's view of progress: when the last frame arrived and which
replies the service has started and not finished. A reply that stops arriving is noticed
by that, whatever the plugin does (it has no inactivity timeout of its own).
"""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import aiohttp

# Fields the plugin dereferences: present means of this type (None is allowed where the
# protocol allows null). Checked on every event; anything else passes through untouched.
_STRING_FIELDS = ("item_id", "response_id", "event_id", "previous_item_id", "call_id")
_INT_FIELDS = ("output_index", "content_index", "audio_start_ms", "audio_end_ms")
_DELTA_EVENTS = frozenset(
    {
        "response.output_audio.delta",
        "response.audio.delta",
        "response.output_audio_transcript.delta",
        "response.audio_transcript.delta",
        "response.output_text.delta",
        "response.text.delta",
        "conversation.item.input_audio_transcription.delta",
        "response.function_call_arguments.delta",
    }
)
_TEXT_DELTAS = frozenset(
    {
        "response.output_audio_transcript.delta",
        "response.audio_transcript.delta",
        "response.output_text.delta",
        "response.text.delta",
    }
)
_OBJECT_FIELDS: dict[str, str] = {
    "response.created": "response",
    "response.done": "response",
    "response.output_item.added": "item",
    "response.output_item.done": "item",
    "conversation.item.added": "item",
    "conversation.item.created": "item",
    "conversation.item.done": "item",
    "conversation.item.retrieved": "item",
    "error": "error",
    "session.created": "session",
    "session.updated": "session",
}
_STRING_IN_OBJECT: dict[str, tuple[str, ...]] = {
    "error": ("message",),
    "response": ("id", "status"),
    "item": ("id", "type", "role"),
}
_DONE_TEXT_FIELDS: dict[str, str] = {
    "response.output_audio_transcript.done": "transcript",
    "response.audio_transcript.done": "transcript",
    "response.output_text.done": "text",
    "response.text.done": "text",
    "conversation.item.input_audio_transcription.completed": "transcript",
}


def check_server_event(data: str) -> tuple[dict[str, Any] | None, str | None]:
    """The event if the plugin can read it safely, else ``None`` and what was wrong."""
    try:
        event = json.loads(data)
    except (ValueError, RecursionError):
        return None, "a message that is not valid JSON"
    if not isinstance(event, dict):
        return None, "a JSON message that is not an event"
    kind = event.get("type")
    if not isinstance(kind, str) or not kind:
        return None, "an event without a type"
    for name in _STRING_FIELDS:
        if name in event and event[name] is not None and not isinstance(event[name], str):
            return None, f"a '{kind}' event whose {name} is not text"
    for name in _INT_FIELDS:
        value = event.get(name)
        if name in event and value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return None, f"a '{kind}' event whose {name} is not a number"
    if kind in _DELTA_EVENTS and not isinstance(event.get("delta"), str):
        return None, f"a '{kind}' event without text in its delta"
    done_field = _DONE_TEXT_FIELDS.get(kind)
    if done_field and event.get(done_field) is not None and not isinstance(event[done_field], str):
        return None, f"a '{kind}' event whose {done_field} is not text"
    object_field = _OBJECT_FIELDS.get(kind)
    if object_field is not None:
        value = event.get(object_field)
        if not isinstance(value, dict):
            return None, f"a '{kind}' event without its {object_field}"
        for name in _STRING_IN_OBJECT.get(object_field, ()):
            if name in value and value[name] is not None and not isinstance(value[name], str):
                return None, f"a '{kind}' event whose {object_field}.{name} is not text"
        if object_field == "error" and not isinstance(value.get("message"), str):
            return None, "an error event without a message"
    return event, None


class WireMonitor:
    """One connection's view of the service: when it last sent anything, which replies are
    open, and the text each reply carried (so a reply cut off by a failure can be saved
    whole). Lives on the event loop thread."""

    def __init__(self, on_problem: Callable[[str], None] | None = None) -> None:
        self.last_frame_at = time.monotonic()
        self.frames = 0
        self.skipped = 0
        self.open_responses: set[str] = set()
        self.expecting_since: float | None = None  # a reply was asked for, none started yet
        self.reply_text: dict[str, str] = {}
        self.completed: set[str] = set()
        self.pending_changed = asyncio.Event()
        self.text_only: set[str] = set()  # replies whose content came as text, not audio
        self.watched_items: set[str] = set()  # history items sent at connect, see watch_items
        self.acknowledged_items: set[str] = set()
        self.items_acknowledged = asyncio.Event()
        self._on_problem = on_problem
        self._problems_said: set[str] = set()

    # --- what the engine asks -----------------------------------------------------------

    @property
    def pending(self) -> bool:
        """The service owes us something: a reply was asked for or is under way."""
        return bool(self.open_responses) or self.expecting_since is not None

    def expect_reply(self) -> None:
        """The client asked for a reply (a typed message, a committed push-to-talk turn)."""
        if self.expecting_since is None:
            self.expecting_since = time.monotonic()
        self.pending_changed.set()

    def silent_for(self, now: float | None = None) -> float:
        """Seconds since the service last sent anything, or since a reply was asked for."""
        now = time.monotonic() if now is None else now
        since = max(self.last_frame_at, self.expecting_since or 0.0)
        return now - since

    def watch_items(self, item_ids: list[str]) -> None:
        """The history items LiveKit sends at connect: the service acknowledges each with
        ``conversation.item.added``. LiveKit waits 5 s for all of them and then only logs;
        counting here tells the engine how much of the history the model really has."""
        self.watched_items = set(item_ids)
        self.acknowledged_items.clear()
        if not self.watched_items:
            self.items_acknowledged.set()

    def text_of(self, response_id: str) -> str:
        return self.reply_text.get(response_id, "")

    # --- what the socket tells it ---------------------------------------------------------

    def frame_arrived(self) -> None:
        self.frames += 1
        self.last_frame_at = time.monotonic()

    def problem(self, what: str) -> None:
        self.skipped += 1
        if what not in self._problems_said and self._on_problem is not None:
            self._problems_said.add(what)
            self._on_problem(what)

    def event_arrived(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "response.created":
            response_id = event["response"].get("id")
            if isinstance(response_id, str):
                self.open_responses.add(response_id)
                self.reply_text.setdefault(response_id, "")
            self.expecting_since = None
        elif kind == "response.done":
            response = event["response"]
            response_id = response.get("id")
            self.open_responses.discard(response_id)
            if isinstance(response_id, str) and response.get("status") == "completed":
                self.completed.add(response_id)
        elif kind == "response.content_part.added" or kind == "response.output_text.delta" or kind == "response.text.delta":
            part = event.get("part")
            is_text = kind != "response.content_part.added" or (isinstance(part, dict) and part.get("type") == "text")
            response_id = event.get("response_id")
            if is_text and isinstance(response_id, str):
                self.text_only.add(response_id)
            if kind != "response.content_part.added" and isinstance(response_id, str):
                self.reply_text[response_id] = self.reply_text.get(response_id, "") + event["delta"]
        elif kind in ("conversation.item.added", "conversation.item.created"):
            item_id = event["item"].get("id")
            if item_id in self.watched_items:
                self.acknowledged_items.add(item_id)
                if self.acknowledged_items >= self.watched_items:
                    self.items_acknowledged.set()
        elif kind in _TEXT_DELTAS:
            response_id = event.get("response_id")
            if isinstance(response_id, str):
                self.reply_text[response_id] = self.reply_text.get(response_id, "") + event["delta"]
        elif kind == "error":
            # a refused request gets no reply; an unrelated error changes nothing that
            # response.created would not set again
            self.expecting_since = None
        self.pending_changed.set()

    def forget(self) -> None:
        """Nothing is owed any more (the connection is being replaced)."""
        self.open_responses.clear()
        self.expecting_since = None


class GuardedWebSocket(aiohttp.ClientWebSocketResponse):
    """Hands the plugin only frames it can read; tells the monitor about every frame."""

    monitor: ClassVar[WireMonitor]

    async def receive(self, timeout: float | None = None) -> aiohttp.WSMessage:
        while True:
            message = await super().receive(timeout)
            self.monitor.frame_arrived()
            if message.type is aiohttp.WSMsgType.BINARY:
                self.monitor.problem("a binary frame")
                continue
            if message.type is aiohttp.WSMsgType.ERROR:
                self.monitor.problem(f"a frame that could not be read ({message.data})")
                return message
            if message.type is not aiohttp.WSMsgType.TEXT:
                return message
            event, problem = check_server_event(message.data)
            if event is None:
                self.monitor.problem(problem or "an unreadable message")
                continue
            self.monitor.event_arrived(event)
            return message


# aiohttp refuses (and closes the socket on) a message over 4 MiB by default, which the plugin
# then takes for a dropped connection: a reply the service had sent whole was lost. No real
# event comes near this; an oversized one still ends in a reconnect with the conversation kept.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # aiohttp discourages subclasses

    class _GuardedSession(aiohttp.ClientSession):
        """Its WebSockets take messages up to ``MAX_MESSAGE_BYTES`` unless told otherwise."""

        def ws_connect(self, url: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("max_msg_size", MAX_MESSAGE_BYTES)
            return super().ws_connect(url, **kwargs)


def guarded_http_session(monitor: WireMonitor) -> aiohttp.ClientSession:
    """An HTTP session whose WebSockets report to ``monitor``. The caller closes it."""
    socket_class = type("GuardedWebSocketFor", (GuardedWebSocket,), {"monitor": monitor})
    return _GuardedSession(ws_response_class=socket_class)
