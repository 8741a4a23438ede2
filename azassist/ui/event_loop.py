"""The window's asyncio loop: qasync, with asyncio's ready queue put back.

qasync runs every ``call_soon`` on a Qt timer of its own (start, fire, kill, and an
``iscoroutinefunction`` check on the way in), and every timer event crosses from Qt into
Python. A connected, listening window made about a hundred of those calls a second (the
microphone's wake-ups, task wake-ups, the plugin's send task), and that bookkeeping was the
largest single cost on its main thread while idle. Here ready callbacks wait in a FIFO
queue and one zero-length Qt timer runs them all, as asyncio's own loop does; timed
callbacks (``call_later``/``call_at``) stay qasync's.

Closing the loop also destroys qasync's own Qt objects (its timer object and its
cross-thread signaller) right there, on the loop's thread. Left to Python, they die with
the loop object, and a closed loop sits in reference cycles (handles point back at it), so
Python's cycle collector frees it: in whichever thread happens to allocate when a
collection is due, such as an audio callback. A timer object destroyed in another thread
cannot unregister its timers ("QObject::~QObject: Timers cannot be stopped from another
thread"), and qasync leaves a Qt timer running for every cancelled ``call_later`` until it
would have fired; the Qt event loop then delivers that timer to freed memory (SIGSEGV in
``QTimerInfoList::activateTimers``).
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from collections.abc import Callable
from typing import Any

import qasync
import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication


class AppEventLoop(qasync.QEventLoop):
    """A qasync loop whose ready callbacks share one Qt timer per turn."""

    def __init__(self, app: QApplication | None = None) -> None:
        self._ready_handles: collections.deque[asyncio.Handle] = collections.deque()
        self._drain_scheduled = False
        super().__init__(app)

    def call_soon(
        self, callback: Callable[..., Any], *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.Handle:
        self._check_closed()  # as asyncio's own loops: a closed loop has no Qt timer left to run it
        handle = asyncio.Handle(callback, args, self, context)
        self._ready_handles.append(handle)
        self._schedule_drain()
        return handle

    def call_soon_threadsafe(
        self, callback: Callable[..., Any], *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.Handle | None:
        # Closed: the signaller it would emit on is deleted; say so as asyncio's loops do.
        self._check_closed()
        return super().call_soon_threadsafe(callback, *args, context=context)

    def _schedule_drain(self) -> None:
        if not self._drain_scheduled:
            self._drain_scheduled = True
            self._timer.add_callback(asyncio.Handle(self._drain_ready, (), self, None), 0)

    def _drain_ready(self) -> None:
        """Run what was ready when this turn began, in order; later arrivals wait for the
        next turn (so Qt's own events are never starved by callbacks that re-schedule)."""
        self._drain_scheduled = False
        pending = len(self._ready_handles)
        try:
            # a callback may spin a nested Qt loop that drains the queue under us
            while pending > 0 and self._ready_handles:
                pending -= 1
                handle = self._ready_handles.popleft()
                if not handle._cancelled:
                    handle._run()
        finally:
            if self._ready_handles:
                self._schedule_drain()

    def close(self) -> None:
        """Close as qasync does, then destroy its Qt objects here, on the loop's own thread."""
        if self.is_running() or self.is_closed():
            super().close()  # raises for a running loop; a second close does nothing
            return
        super().close()
        self._ready_handles.clear()
        for qt_object in self._qt_objects():
            if shiboken6.isValid(qt_object):
                shiboken6.delete(qt_object)  # its timers are unregistered here, in this thread

    def _qt_objects(self) -> list[QObject]:
        """qasync's own QObjects: the timer object for every callback, the cross-thread
        signaller, and the default executor's worker threads (finished once the loop closed)."""
        executor = getattr(self, "_QEventLoop__default_executor", None)
        workers = getattr(executor, "_QThreadExecutor__workers", None) or []
        found = [getattr(self, "_timer", None), getattr(self, "_QEventLoop__call_soon_signaller", None), *workers]
        return [item for item in found if isinstance(item, QObject)]

    @property
    def ready_count(self) -> int:
        """Callbacks waiting for the next turn (for tests)."""
        return len(self._ready_handles)
