"""Checks every wire event against the official openai-python models.

GA events are checked against ``openai.types.realtime`` (the members of ``RealtimeServerEvent``
and ``RealtimeClientEvent``), preview events against ``openai.types.beta.realtime``. Two
checks, both strict:
  * the event validates (pydantic strict mode on the JSON text: no coercion of "1" to 1);
  * no field anywhere in it is unknown to the model (the SDK models accept extra fields
    silently, which would hide a misspelt or wrong-generation field).
The union is resolved by the ``type`` field first, so a violation names one model and reads
like a real error instead of a hundred union branches.
"""

from __future__ import annotations

import logging
import time
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .protocol import Dialect

Direction = Literal["received", "sent"]
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Violation:
    """An event on the wire that the official models reject."""

    direction: Direction
    dialect: Dialect
    event_type: str
    problem: str
    session_id: str
    t: float

    def __str__(self) -> str:
        return (
            f"{self.direction} {self.dialect.value} {self.event_type!r} "
            f"(session {self.session_id}): {self.problem}"
        )


def _union_members(union: Any) -> Iterable[type[BaseModel]]:
    """Models inside ``Annotated[Union[...], PropertyInfo]`` aliases."""
    args = typing.get_args(union)
    if args and typing.get_origin(union) is typing.Annotated:
        args = typing.get_args(args[0])
    return [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]


def _by_type(union: Any) -> dict[str, type[BaseModel]]:
    table: dict[str, type[BaseModel]] = {}
    for model in _union_members(union):
        literal = model.model_fields["type"].annotation
        for value in typing.get_args(literal):
            table[value] = model
    return table


@cache
def event_models(dialect: Dialect, direction: Direction) -> dict[str, type[BaseModel]]:
    """type -> model for events a server sends (``sent``) or receives, in ``dialect``."""
    if dialect is Dialect.GA:
        from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
    else:
        from openai.types.beta.realtime import (
            RealtimeClientEvent,
            RealtimeServerEvent,
        )
    return _by_type(RealtimeServerEvent if direction == "sent" else RealtimeClientEvent)


def _unknown_fields(value: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, BaseModel):
        for name in value.model_extra or {}:
            found.append(f"{path}.{name}" if path else name)
        for name in type(value).model_fields:
            found.extend(_unknown_fields(getattr(value, name), f"{path}.{name}" if path else name))
    elif isinstance(value, list | tuple):
        for index, element in enumerate(value):
            found.extend(_unknown_fields(element, f"{path}[{index}]"))
    elif isinstance(value, dict):
        for key, element in value.items():
            found.extend(_unknown_fields(element, f"{path}.{key}"))
    return found


def check_event(
    raw_json: str, event_type: str, dialect: Dialect, direction: Direction
) -> str | None:
    """None when the event is valid, else a one-line description of what is wrong."""
    model = event_models(dialect, direction).get(event_type)
    if model is None:
        return f"no {dialect.value} {direction} event type {event_type!r} in the openai models"
    try:
        parsed = model.model_validate_json(raw_json, strict=True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        return f"{model.__name__}: {problems}"
    unknown = _unknown_fields(parsed, "")
    if unknown:
        return f"{model.__name__}: unknown field(s) {', '.join(unknown)}"
    return None


class EventValidator:
    """Collects the violations of one server (tests assert the list stays empty)."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def check(
        self,
        raw_json: str,
        event_type: str,
        dialect: Dialect,
        direction: Direction,
        session_id: str,
    ) -> Violation | None:
        problem = check_event(raw_json, event_type, dialect, direction)
        if problem is None:
            return None
        violation = Violation(direction, dialect, event_type, problem, session_id, time.monotonic())
        self.violations.append(violation)
        logger.error("realtime schema violation: %s", violation)
        return violation
