"""What crossed the wire, with monotonic timestamps: for tests to assert on, benchmarks to time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["received", "sent"]


@dataclass(frozen=True)
class WireEvent:
    """One frame. ``event`` is the parsed JSON (None for a malformed frame, see ``raw``)."""

    direction: Direction
    t: float  # time.monotonic() when it was read, or just before it was written
    session_id: str
    type: str
    event: dict[str, Any] | None
    raw: str | None = None  # the text of frames that are not JSON objects
    fault: bool = False  # injected on purpose (malformed, unknown type): not validated

    def __getitem__(self, key: str) -> Any:
        """``wire_event["item_id"]`` reads the event's field: shorter test assertions."""
        if self.event is None:
            raise KeyError(key)
        return self.event[key]


class WireLog:
    """An append-only, optionally bounded, list of wire events that tests can await."""

    def __init__(self, limit: int | None) -> None:
        self._events: deque[WireEvent] = deque(maxlen=limit)
        self._changed = asyncio.Event()
        self._waiters = 0

    def append(self, event: WireEvent) -> None:
        self._events.append(event)
        if self._waiters:
            self._changed.set()

    def __iter__(self) -> Iterator[WireEvent]:
        return iter(list(self._events))

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, index: int) -> WireEvent:
        return self._events[index]

    def of_type(self, event_type: str, session_id: str | None = None) -> list[WireEvent]:
        return [
            e
            for e in self._events
            if e.type == event_type and (session_id is None or e.session_id == session_id)
        ]

    def types(self, session_id: str | None = None, *, skip_audio: bool = True) -> list[str]:
        """Event types in order; audio appends/deltas left out by default (they drown the rest)."""
        noisy = {"input_audio_buffer.append", "response.output_audio.delta", "response.audio.delta"}
        return [
            e.type
            for e in self._events
            if (session_id is None or e.session_id == session_id)
            and not (skip_audio and e.type in noisy)
        ]

    async def wait_for(
        self, predicate: Callable[[WireEvent], bool], *, timeout: float = 10.0
    ) -> WireEvent:
        """The first recorded event (past or future) that matches ``predicate``."""
        deadline = time.monotonic() + timeout
        self._waiters += 1
        try:
            while True:
                for event in list(self._events):
                    if predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no matching wire event within the timeout")
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
        finally:
            self._waiters -= 1
