"""Function calls in the simulator: what a reply that calls tools looks like on the wire.

The GA service streams a function call as its own output item: ``response.output_item.added``
(a ``function_call`` item with empty arguments), ``conversation.item.added``, the arguments as
``response.function_call_arguments.delta`` pieces and ``.done``, ``conversation.item.done``,
``response.output_item.done`` (the event LiveKit runs the tool on) and, after all items,
``response.done``. The client answers with ``function_call_output`` items and a new
``response.create``. This module builds those items and events; the connection
(``session.py``) sends them in order with the rest of the reply.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .protocol import ConversationItem, Dialect, JsonDict, new_id

ARGUMENT_CHUNK_CHARS = 12  # the service streams arguments in small pieces; so do we


@dataclass(frozen=True)
class ToolCall:
    """One function call a reply makes: the tool's name and its arguments (JSON text)."""

    name: str
    arguments: str = "{}"
    call_id: str = field(default_factory=lambda: new_id("call"))

    @classmethod
    def of(cls, name: str, arguments: Mapping[str, Any] | str | None = None) -> ToolCall:
        text = arguments if isinstance(arguments, str) else json.dumps(dict(arguments or {}))
        return cls(name, text)


def tool_names(tools: tuple[JsonDict, ...]) -> set[str]:
    """The function names a ``session.update`` declared (what the model may call)."""
    return {str(t.get("name")) for t in tools if t.get("type", "function") == "function" and t.get("name")}


def call_item(call: ToolCall) -> ConversationItem:
    """The conversation item of a call, still streaming (arguments arrive as deltas)."""
    return ConversationItem(
        id=new_id("item"), type="function_call", status="in_progress", call_id=call.call_id, name=call.name, arguments=""
    )


def call_events(
    response_id: str,
    item: ConversationItem,
    arguments: str,
    output_index: int,
    previous_item_id: str | None,
    dialect: Dialect,
    *,
    in_conversation: bool = True,
) -> list[JsonDict]:
    """Every event of one function call item, in the service's order (GA names; the
    connection renames them for the preview dialect). Completes ``item`` as it goes."""
    started = item.render(dialect)
    events: list[JsonDict] = [
        {"type": "response.output_item.added", "response_id": response_id, "output_index": output_index, "item": started}
    ]
    if in_conversation:
        events.append({"type": "conversation.item.added", "previous_item_id": previous_item_id, "item": started})
    ids = {"response_id": response_id, "item_id": item.id, "output_index": output_index, "call_id": item.call_id}
    for start in range(0, len(arguments), ARGUMENT_CHUNK_CHARS):
        events.append(
            {"type": "response.function_call_arguments.delta", **ids, "delta": arguments[start : start + ARGUMENT_CHUNK_CHARS]}
        )
    named = {"name": item.name} if dialect is Dialect.GA else {}  # the preview event has no name
    events.append({"type": "response.function_call_arguments.done", **ids, **named, "arguments": arguments})
    item.arguments = arguments
    item.status = "completed"
    done = item.render(dialect)
    if in_conversation:
        events.append({"type": "conversation.item.done", "previous_item_id": previous_item_id, "item": done})
    events.append({"type": "response.output_item.done", "response_id": response_id, "output_index": output_index, "item": done})
    return events


def unknown_call_id(call_id: str, items: list[ConversationItem]) -> bool:
    """A ``function_call_output`` must answer a call of this conversation (the service
    refuses one whose ``call_id`` it never issued)."""
    return not any(i.type == "function_call" and i.call_id == call_id for i in items)


def last_tool_output(conversation: tuple[ConversationItem, ...]) -> ConversationItem | None:
    """The newest ``function_call_output`` if nothing the user said came after it: the
    follow-up ``response.create`` after a tool ran."""
    for item in reversed(conversation):
        if item.type == "function_call_output":
            return item
        if item.type == "message" and item.role == "user":
            return None
    return None


def call_for(output: ConversationItem, conversation: tuple[ConversationItem, ...]) -> ConversationItem | None:
    """The function call a tool output answers."""
    return next((i for i in conversation if i.type == "function_call" and i.call_id == output.call_id), None)


__all__ = ["ToolCall", "call_events", "call_for", "call_item", "last_tool_output", "tool_names", "unknown_call_id"]
