"""Timers and reminders: kept by the engine, so they outlive a reconnect (not the app).

Each timer is an ``asyncio`` timer handle on the app's loop; when one goes off the owner's
``on_due`` callback says so (the tray, and the assistant if a conversation is connected).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_SECONDS = 7 * 24 * 3600  # a week: longer is a calendar's job


@dataclass
class Timer:
    id: str
    label: str
    seconds: float
    due_at: float  # time.time()
    handle: asyncio.TimerHandle | None = field(default=None, repr=False)

    def remaining(self, now: float | None = None) -> float:
        return max(0.0, self.due_at - (time.time() if now is None else now))


def describe_duration(seconds: float) -> str:
    """'10 minutes', '1 hour 5 minutes', '45 seconds': how people say it."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    for amount, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")):
        if amount:
            parts.append(f"{amount} {unit}" + ("" if amount == 1 else "s"))
    return " ".join(parts) or "0 seconds"


class TimerBook:
    """Set, list and cancel timers; ``on_due(timer)`` runs on the loop when one goes off."""

    def __init__(self, on_due: Callable[[Timer], None] | None = None) -> None:
        self.on_due = on_due
        self._timers: dict[str, Timer] = {}
        self._ids = itertools.count(1)

    def set(self, seconds: float, label: str) -> Timer:
        if not 0 < seconds <= MAX_SECONDS:
            raise ValueError(f"A timer must be between 1 second and {describe_duration(MAX_SECONDS)}.")
        timer = Timer(f"t{next(self._ids)}", label.strip() or "Timer", seconds, time.time() + seconds)
        timer.handle = asyncio.get_running_loop().call_later(seconds, self._fire, timer.id)
        self._timers[timer.id] = timer
        return timer

    def list(self) -> list[Timer]:
        return sorted(self._timers.values(), key=lambda t: t.due_at)

    def cancel(self, which: str) -> Timer | None:
        """By id, or else by label (case-insensitive); the timer cancelled, or None."""
        wanted = which.strip().lower()
        timer = self._timers.get(which) or next((t for t in self.list() if t.label.lower() == wanted), None)
        if timer is None:
            return None
        del self._timers[timer.id]
        if timer.handle is not None:
            timer.handle.cancel()
        return timer

    def cancel_all(self) -> None:
        for timer in list(self._timers.values()):
            self.cancel(timer.id)

    def _fire(self, timer_id: str) -> None:
        timer = self._timers.pop(timer_id, None)
        if timer is not None and self.on_due is not None:
            self.on_due(timer)
