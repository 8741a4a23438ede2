"""Stand-ins for what cannot exist in a unit test: a keyboard (the backend), a connection
(the target) and the passing of time (a clock that moves only when told)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from azassist.core.hotkey import HotkeyListener, Readiness, ReleaseReport


class FakeBackend:
    name = "Fake"
    limits = "A test keyboard."
    filters_autorepeat = False

    def __init__(self, release: ReleaseReport = ReleaseReport.YES) -> None:
        self.release = release
        self.listener: HotkeyListener | None = None
        self.key: str | None = None
        self.stopped = 0

    def start(self, key: str, listener: HotkeyListener) -> None:
        self.key, self.listener = key, listener

    def stop(self) -> None:
        self.stopped += 1

    def down(self) -> None:
        assert self.listener is not None
        self.listener.pressed()

    def up(self) -> None:
        assert self.listener is not None
        self.listener.released()

    def lost(self, reason: str = "gone") -> None:
        assert self.listener is not None
        self.listener.unavailable(reason)


@dataclass
class FakeTarget:
    state: Readiness = Readiness.READY
    accepts: bool = True
    connect_problem: str | None = None
    calls: list[str] = field(default_factory=list)

    def readiness(self) -> Readiness:
        return self.state

    def connect(self) -> str | None:
        self.calls.append("connect")
        return self.connect_problem

    def press(self) -> bool:
        self.calls.append("press" if self.accepts else "press-refused")
        return self.accepts

    def release(self) -> None:
        self.calls.append("release")

    def cancel(self) -> None:
        self.calls.append("cancel")


class _Handle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """Timers fire only in ``advance``; thread-safe posts run at once (tests are one thread)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._timers: list[tuple[float, int, _Handle, Callable[[], object]]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], object]) -> _Handle:
        handle = _Handle()
        heapq.heappush(self._timers, (self.now + delay, next(self._order), handle, callback))
        return handle

    def call_soon_threadsafe(self, callback: Callable[[], object]) -> None:
        callback()

    def advance(self, seconds: float) -> None:
        until = self.now + seconds
        while self._timers and self._timers[0][0] <= until:
            due, _, handle, callback = heapq.heappop(self._timers)
            self.now = due
            if not handle.cancelled:
                callback()
        self.now = until
