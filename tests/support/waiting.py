"""Polling on the running event loop, the one way tests wait for something to happen.

Nested Qt loops (qtbot.wait/waitUntil) re-enter asyncio tasks under qasync, and timers make
tests flaky; polling a predicate with a generous timeout fails clearly instead of hanging.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


async def until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "", poll: float = 0.02) -> Any:
    """Return ``predicate()``'s first truthy value; raise AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(poll)
