"""The window's event loop keeps asyncio's ready-queue contract on top of qasync: callbacks
run once, in the order they were scheduled, cancelled ones never; one that schedules another
lets Qt run in between; a failing one reaches the exception handler and the rest still run;
calls from other threads arrive; and a connected session's wake-ups share Qt timers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from azassist.ui.event_loop import AppEventLoop

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


async def test_ready_callbacks_run_in_order_and_cancelled_ones_never() -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, AppEventLoop)
    ran: list[int] = []
    handles = [loop.call_soon(ran.append, n) for n in range(6)]
    handles[2].cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert ran == [0, 1, 3, 4, 5]
    assert loop.ready_count == 0


async def test_a_callback_scheduled_by_a_callback_waits_for_the_next_turn() -> None:
    loop = asyncio.get_running_loop()
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        loop.call_soon(ran.append, "scheduled by first")
        assert loop.ready_count >= 1  # not run inside this turn

    loop.call_soon(first)
    loop.call_soon(ran.append, "second")
    done = loop.create_future()
    loop.call_soon(lambda: loop.call_soon(done.set_result, None))
    await done
    assert ran == ["first", "second", "scheduled by first"]


async def test_a_failing_callback_is_reported_and_the_rest_still_run() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        ran: list[str] = []

        def broken() -> None:
            raise ValueError("broken callback")

        loop.call_soon(broken)
        loop.call_soon(ran.append, "after")
        await asyncio.sleep(0.01)
        assert ran == ["after"]
        assert isinstance(reported[0]["exception"], ValueError)
    finally:
        loop.set_exception_handler(previous)


async def test_calls_from_other_threads_arrive_in_order() -> None:
    loop = asyncio.get_running_loop()
    received: list[int] = []
    done = asyncio.Event()

    def produce() -> None:
        for n in range(200):
            loop.call_soon_threadsafe(received.append, n)
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=produce).start()
    await asyncio.wait_for(done.wait(), 10)
    assert received == list(range(200))


async def test_many_ready_callbacks_share_one_qt_timer() -> None:
    """The point of the loop: a burst of wake-ups costs one Qt timer event, not one each."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, AppEventLoop)
    started: list[int] = []
    original = loop._timer.startTimer

    def counting_start_timer(*args: Any) -> int:
        started.append(1)
        return original(*args)

    loop._timer.startTimer = counting_start_timer
    try:
        ran: list[int] = []
        for n in range(50):
            loop.call_soon(ran.append, n)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    finally:
        del loop._timer.startTimer
    assert ran == list(range(50))
    assert len(started) <= 3  # this burst's turn, and the turns that resumed this test
