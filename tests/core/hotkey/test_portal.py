"""The Wayland backend against a fake desktop portal on a private session bus: a real
dbus-daemon, the fake ``org.freedesktop.portal.Desktop`` in its own process, the backend's
own D-Bus thread, and the controller on a real asyncio loop with the fake engine target."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from azassist.core.hotkey import Cue, Feedback, HotkeyController
from azassist.core.hotkey.portal import PortalShortcutsBackend, preferred_trigger, request_path
from tests.core.hotkey.dbus_fakes import Bus, FakeService, private_bus, service_factory
from tests.core.hotkey.fakes import FakeTarget
from tests.support.waiting import until

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def bus() -> Iterator[Bus]:
    with private_bus() as bus:
        yield bus


class Portal(FakeService):
    """The fake portal (tests/core/hotkey/fake_portal.py)."""

    MODULE = "tests.core.hotkey.fake_portal"
    PATH = "/org/freedesktop/portal/desktop"
    INTERFACE = "org.azassist.FakePortal"
    NAME = "org.freedesktop.portal.Desktop"

    def calls(self) -> list[str]:
        """What the backend asked of the portal (the test's own control calls left out)."""
        return [call for call in self.call("Calls")[0] if not call.startswith("control.")]


@pytest.fixture
def portal_factory(bus: Bus) -> Iterator[Any]:
    with service_factory(Portal, bus.address) as start:
        yield start


def make_controller(
    bus: Bus, repeat_gap: float = 0.05
) -> tuple[HotkeyController, PortalShortcutsBackend, FakeTarget, list[Feedback]]:
    backend = PortalShortcutsBackend(bus=bus.address)
    target, cues = FakeTarget(), list[Feedback]()
    controller = HotkeyController(
        backend, target, asyncio.get_running_loop(), key="Pause", repeat_gap=repeat_gap, on_feedback=cues.append
    )
    return controller, backend, target, cues


def test_trigger_and_request_path_follow_the_specs() -> None:
    assert preferred_trigger("Pause") == "Pause"
    assert preferred_trigger("F13") == "F13"
    assert preferred_trigger("ScrollLock") == "Scroll_Lock"
    assert preferred_trigger("Ctrl+Alt+T") == "CTRL+ALT+t"
    assert preferred_trigger("Meta+Shift+Space") == "LOGO+SHIFT+space"
    assert request_path(":1.42", "azassist_x") == "/org/freedesktop/portal/desktop/request/1_42/azassist_x"


@pytest.mark.asyncio
async def test_activated_and_deactivated_are_a_held_turn(bus: Bus, portal_factory: Any) -> None:
    portal = portal_factory("normal")
    controller, backend, target, cues = make_controller(bus)
    controller.start()
    try:
        await until(lambda: "bind push-to-talk Pause True" in portal.calls(), what="the shortcut to be bound")
        await until(lambda: backend.trigger_description == "Pause", what="the bind's answer")
        assert portal.calls()[:3] == ["Get", "CreateSession", "BindShortcuts"]
        assert "The desktop's trigger: Pause." in backend.limits
        portal.call("Press")
        await until(lambda: target.calls == ["press"], what="Activated to start a turn")
        assert controller.talking
        portal.call("Release")
        await until(lambda: target.calls == ["press", "release"], what="Deactivated to send it")
        assert not controller.toggle and not controller.talking
        portal.call("Press")
        portal.call("Release")
        await until(lambda: target.calls == ["press", "release", "press", "release"], what="a second turn")
        assert [cue.cue for cue in cues] == [Cue.TALKING, Cue.SENT, Cue.TALKING, Cue.SENT]
    finally:
        controller.stop()
    await until(lambda: "Close" in portal.calls(), what="the session to be closed on stop")
    assert controller.unavailable_reason is None
    controller.stop()  # twice is fine


@pytest.mark.asyncio
async def test_a_desktop_that_never_sends_deactivated_toggles(bus: Bus, portal_factory: Any) -> None:
    portal = portal_factory("no-release")
    # No autorepeat gap: every press counts, so the test needs no waiting on the clock.
    controller, backend, target, cues = make_controller(bus, repeat_gap=0.0)
    controller.start()
    try:
        await until(lambda: backend.trigger_description, what="the shortcut to be bound")
        portal.call("Press")
        await until(lambda: target.calls == ["press"], what="the turn to start")
        portal.call("Release")  # dropped by this desktop
        portal.call("Press")
        await until(lambda: target.calls == ["press", "release"], what="the second press to send")
        assert controller.toggle
        assert cues[-1].cue is Cue.TOGGLE_MODE and "press once to talk, press again to send" in cues[-1].message
        portal.call("Press")
        await until(lambda: target.calls == ["press", "release", "press"], what="a toggled turn")
        portal.call("Press")
        await until(lambda: target.calls == ["press", "release", "press", "release"], what="a toggled send")
    finally:
        controller.stop()


@pytest.mark.asyncio
async def test_no_portal_is_unavailable_and_says_what_works(bus: Bus) -> None:
    controller, _backend, target, cues = make_controller(bus)
    controller.start()
    try:
        await until(lambda: controller.unavailable_reason, what="the missing portal to be reported")
        reason = controller.unavailable_reason or ""
        assert reason.startswith("No desktop portal is running") and "in-window key" in reason
        assert cues == [Feedback(Cue.UNAVAILABLE, reason)] and target.calls == []
    finally:
        controller.stop()


@pytest.mark.asyncio
async def test_a_portal_without_global_shortcuts_is_unavailable(bus: Bus, portal_factory: Any) -> None:
    portal_factory("no-interface")
    controller, _backend, _target, _cues = make_controller(bus)
    controller.start()
    try:
        reason = await until(lambda: controller.unavailable_reason, what="the missing interface to be reported")
        assert "has no global shortcuts" in reason and "in-window key" in reason
    finally:
        controller.stop()


@pytest.mark.asyncio
async def test_the_user_refusing_the_binding_is_unavailable(bus: Bus, portal_factory: Any) -> None:
    portal = portal_factory("refuse")
    controller, backend, target, _cues = make_controller(bus)
    controller.start()
    try:
        reason = await until(lambda: controller.unavailable_reason, what="the refusal to be reported")
        assert reason.startswith("You did not allow the global shortcut") and "switch the setting off and on" in reason
        assert "bind push-to-talk Pause True" in portal.calls()
        await until(lambda: backend._thread is not None and not backend._thread.is_alive(), what="the listener to end")
        assert target.calls == []
    finally:
        controller.stop()


@pytest.mark.asyncio
async def test_losing_the_session_or_the_portal_sends_the_turn(bus: Bus, portal_factory: Any) -> None:
    portal = portal_factory("normal")
    controller, backend, target, cues = make_controller(bus)
    controller.start()
    try:
        await until(lambda: backend.trigger_description, what="the shortcut to be bound")
        portal.call("Press")
        await until(lambda: target.calls == ["press"], what="the turn to start")
        portal.call("CloseSession")
        reason = await until(lambda: controller.unavailable_reason, what="the closed session to be reported")
        assert "ended the global shortcut session" in reason
        assert target.calls == ["press", "release"] and [c.cue for c in cues][-2:] == [Cue.SENT, Cue.UNAVAILABLE]
    finally:
        controller.stop()

    controller, backend, target, _cues = make_controller(bus)
    controller.start()
    try:
        await until(lambda: backend.trigger_description, what="the shortcut to be bound again")
        portal.call("Press")
        await until(lambda: target.calls == ["press"], what="the turn to start")
        portal.proc.kill()  # the portal crashes with the key down
        reason = await until(lambda: controller.unavailable_reason, what="the lost portal to be reported")
        assert "portal went away" in reason and target.calls == ["press", "release"]
    finally:
        controller.stop()


@pytest.mark.asyncio
async def test_a_portal_error_on_a_call_is_unavailable_in_its_own_words(bus: Bus, portal_factory: Any) -> None:
    portal_factory("no-app-id")
    controller, _backend, _target, _cues = make_controller(bus)
    controller.start()
    try:
        reason = await until(lambda: controller.unavailable_reason, what="the error to be reported")
        assert reason.startswith("The desktop portal refused to open a global shortcut session")
        assert "NotAllowed: An app id is required" in reason and "in-window key" in reason
    finally:
        controller.stop()


@pytest.mark.asyncio
async def test_stopping_while_the_desktop_dialog_is_open_closes_the_session(bus: Bus, portal_factory: Any) -> None:
    portal = portal_factory("pending")
    controller, backend, target, cues = make_controller(bus)
    controller.start()
    await until(lambda: "BindShortcuts" in portal.calls(), what="the binding dialog to be open")
    controller.stop()  # the user switched the setting off meanwhile
    assert backend._thread is None, "the D-Bus thread was joined"
    await until(lambda: "Close" in portal.calls(), what="the session to be closed")
    assert target.calls == [] and cues == [] and controller.unavailable_reason is None
