"""Screen lock and suspend let a held global key go: the watcher against a fake logind and fake
screen savers on one private bus (standing in for both the system and the session bus), the
watcher's own D-Bus threads, and the controller on a real asyncio loop with the fake target."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from azassist.core.hotkey import Cue, Feedback, HotkeyController
from azassist.core.hotkey.session_watch import LOCK, SLEEP, SessionWatch
from tests.core.hotkey.dbus_fakes import FakeService, private_bus, service_factory
from tests.core.hotkey.fake_login1 import OTHER_SESSION, OUR_SESSION
from tests.core.hotkey.fakes import FakeBackend, FakeTarget
from tests.support.waiting import until

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def bus() -> Iterator[str]:
    """A private bus's address: it stands in for both the system and the session bus."""
    with private_bus() as bus:
        yield bus.address


class Login1(FakeService):
    """The fake logind and screen savers (tests/core/hotkey/fake_login1.py)."""

    MODULE = "tests.core.hotkey.fake_login1"
    PATH = "/org/freedesktop/login1"
    INTERFACE = "org.azassist.FakeLogin1"
    NAME = "org.freedesktop.login1"


@pytest.fixture
def login1_factory(bus: str) -> Iterator[Any]:
    with service_factory(Login1, bus) as start:
        yield start


def make_watch(controller: HotkeyController, system_bus: str, session_bus: str) -> SessionWatch:
    loop = asyncio.get_running_loop()
    return SessionWatch(controller.assume_release, loop.call_soon_threadsafe, system_bus=system_bus, session_bus=session_bus)


def make_controller() -> tuple[HotkeyController, FakeBackend, FakeTarget, list[Feedback]]:
    backend, target, cues = FakeBackend(), FakeTarget(), list[Feedback]()
    controller = HotkeyController(backend, target, asyncio.get_running_loop(), key="Pause", on_feedback=cues.append)
    return controller, backend, target, cues


# Each case: a signal that must be ignored, then the one that lets the key go. Both go out on
# the same bus, in order, so once the second is heard the first was handled (and ignored).
CASES = {
    "suspend": (("Sleep", "b", False), ("Sleep", "b", True), SLEEP),
    "session Lock": (("Lock", "o", OTHER_SESSION), ("Lock", "o", OUR_SESSION), LOCK),
    "LockedHint": (("LockedHint", "ob", OUR_SESSION, False), ("LockedHint", "ob", OUR_SESSION, True), LOCK),
    "freedesktop screen saver": (
        ("ActiveChanged", "sb", "org.freedesktop.ScreenSaver", False),
        ("ActiveChanged", "sb", "org.freedesktop.ScreenSaver", True), LOCK,
    ),
    "GNOME screen saver": (
        ("ActiveChanged", "sb", "org.gnome.ScreenSaver", False),
        ("ActiveChanged", "sb", "org.gnome.ScreenSaver", True), LOCK,
    ),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("case", CASES)
async def test_lock_and_suspend_send_a_held_turn(bus: str, login1_factory: Any, case: str) -> None:
    fake = login1_factory("normal")
    ignored, trigger, why = CASES[case]
    controller, backend, target, cues = make_controller()
    watch = make_watch(controller, bus, bus)
    controller.start()
    watch.start()
    try:
        await until(lambda: watch.ready, what="the watcher to listen")
        assert watch.watching == {"suspend", "session lock", "screen saver"} and watch.not_watching == {}
        assert watch.session_path == OUR_SESSION and f"GetSessionByPID {os.getpid()}" in fake.call("Calls")[0]
        assert watch.describe() == "A held turn is sent when the screen locks or the computer sleeps."
        backend.down()
        await until(lambda: target.calls == ["press"], what="the key to start a turn")
        fake.call(*ignored)
        fake.call(*trigger)
        await until(lambda: target.calls == ["press", "release"], what="the signal to send the turn")
        assert watch.heard == [why]
        assert cues == [Feedback(Cue.TALKING), Feedback(Cue.SENT, why)] and not controller.talking
        # The key-up the locker swallowed may still come: it sends nothing; a new press talks again.
        backend.up()
        backend.down()
        await until(lambda: len(target.calls) == 3, what="a new press after the lock")
        assert target.calls == ["press", "release", "press"]
        fake.call(*trigger)  # a second lock with the key still held sends that turn too
        await until(lambda: len(target.calls) == 4, what="the second signal")
        assert target.calls[-1] == "release"
    finally:
        watch.stop()
        controller.stop()
    assert not watch._threads, "the watcher's threads were joined"
    watch.stop()  # twice is fine


@pytest.mark.asyncio
async def test_no_session_for_the_process_still_watches_suspend(bus: str, login1_factory: Any) -> None:
    fake = login1_factory("no-session")
    controller, backend, target, _cues = make_controller()
    watch = make_watch(controller, bus, bus)
    controller.start()
    watch.start()
    try:
        await until(lambda: watch.ready, what="the watcher to listen")
        assert fake.call("Calls")[0] == [f"GetSessionByPID {os.getpid()}", "GetSession auto"]
        assert watch.watching == {"suspend"} and watch.session_path is None
        assert watch.not_watching["session lock"].startswith("no login session for this process")
        assert watch.describe().startswith("A held turn is sent when the computer sleeps. Not watched: screen lock (")
        backend.down()
        await until(lambda: target.calls == ["press"], what="the key to start a turn")
        fake.call("Sleep", "b", True)
        await until(lambda: target.calls == ["press", "release"], what="suspend to send the turn")
    finally:
        watch.stop()
        controller.stop()


@pytest.mark.asyncio
async def test_missing_services_and_buses_are_not_watched_and_say_so(bus: str) -> None:
    controller, _backend, _target, _cues = make_controller()
    watch = make_watch(controller, bus, bus)  # a bus with neither logind nor a screen saver on it
    watch.start()
    try:
        await until(lambda: watch.ready, what="the watcher to look")
        assert watch.watching == set()
        assert watch.not_watching == {
            "suspend": "logind is not running", "session lock": "logind is not running",
            "screen saver": "no screen saver service on the session bus",
        }
        assert watch.describe() == (
            "Screen lock and suspend are not watched here (logind is not running; no screen saver service on the "
            "session bus): let go of the key before them."
        )
    finally:
        watch.stop()

    nowhere = "unix:path=/nonexistent/azassist-test-bus"
    watch = make_watch(controller, nowhere, nowhere)
    watch.start()
    try:
        await until(lambda: watch.ready, what="the watcher to give up")
        assert watch.watching == set()
        assert watch.not_watching["suspend"] == "no system D-Bus"
        assert watch.not_watching["screen saver"] == "no session D-Bus"
    finally:
        watch.stop()


@pytest.mark.asyncio
async def test_stopping_at_once_ends_the_threads(bus: str, login1_factory: Any) -> None:
    login1_factory("normal")
    controller, _backend, _target, _cues = make_controller()
    watch = make_watch(controller, bus, bus)
    assert watch.describe() == "", "nothing to say before it knows"
    watch.start()
    watch.stop()  # whether or not the threads got as far as connecting
    assert not watch._threads
    watch.start()
    await until(lambda: watch.ready, what="a restarted watcher to listen")
    assert watch.watching == {"suspend", "session lock", "screen saver"}
    watch.stop()
    assert not watch._threads and not watch._conns
