"""The Windows hook and macOS tap backends with their OS calls replaced (the seam is
``HookApi``/``TapApi``): key codes, press/release, autorepeat, failures and the macOS
permission message. The real ctypes halves are untested here (no Windows, no Mac)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from azassist.core.hotkey import Cue, Feedback, HotkeyController, NoBackend, choose_backend
from azassist.core.hotkey.macos import MacEventTapBackend, permission_message
from azassist.core.hotkey.portal import PortalShortcutsBackend
from azassist.core.hotkey.windows import WindowsHookBackend
from azassist.core.hotkey.x11 import X11RecordBackend
from tests.core.hotkey.fakes import FakeTarget, ManualClock

VK_PAUSE, VK_A = 0x13, 0x41
MAC_F13, MAC_A = 0x69, 0x00
WAIT = 10.0  # seconds a test waits for a thread before failing (never a measured limit)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.done = threading.Event()

    def pressed(self) -> None:
        self.seen.append("press")

    def released(self) -> None:
        self.seen.append("release")

    def unavailable(self, reason: str) -> None:
        self.seen.append(f"unavailable: {reason}")
        self.done.set()


class FakeOs:
    """Stands in for Win32Hook and QuartzTap: ``run`` blocks until stopped, or fails."""

    def __init__(self, fail: Exception | None = None, allowed: bool = True, pane: str = "Input Monitoring") -> None:
        self.fail = fail
        self.allowed, self.pane = allowed, pane
        self.on_key: Callable[..., None] | None = None
        self.running = threading.Event()
        self.stopped = threading.Event()
        self.requested = 0

    # HookApi / TapApi
    def run(self, on_key: Callable[..., None]) -> None:
        if self.fail is not None:
            raise self.fail
        self.on_key = on_key
        self.running.set()
        self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()

    # TapApi only
    def access(self) -> tuple[bool, str]:
        return self.allowed, self.pane

    def request_access(self) -> None:
        self.requested += 1

    def key(self, *args: object) -> None:
        assert self.running.wait(WAIT) and self.on_key is not None
        self.on_key(*args)


# --- Windows ---------------------------------------------------------------------------------
def test_windows_hook_held_key_is_one_press_and_one_release_through_the_controller() -> None:
    fake, clock, target, cues = FakeOs(), ManualClock(), FakeTarget(), list[Feedback]()
    backend = WindowsHookBackend(lambda: fake)
    controller = HotkeyController(backend, target, clock, key="Pause", on_feedback=cues.append)
    controller.start()
    try:
        fake.key(VK_A, True)  # another key: not ours
        fake.key(VK_A, False)
        fake.key(VK_PAUSE, True)
        for _ in range(10):  # Windows repeats key-down while the key is held
            fake.key(VK_PAUSE, True)
        assert target.calls == ["press"]
        fake.key(VK_PAUSE, False)
        assert target.calls == ["press", "release"], "a real key-up sends at once"
        fake.key(VK_PAUSE, False)  # a stray key-up pairs with nothing
        fake.key(VK_PAUSE, True)
        fake.key(VK_PAUSE, False)
        assert target.calls == ["press", "release", "press", "release"]
    finally:
        controller.stop()
    assert fake.stopped.is_set() and controller.unavailable_reason is None
    assert [cue.cue for cue in cues] == [Cue.TALKING, Cue.SENT, Cue.TALKING, Cue.SENT]


def test_windows_key_without_a_code_is_unavailable() -> None:
    recorder = Recorder()
    WindowsHookBackend(FakeOs).start("Ctrl", recorder)
    assert recorder.seen == ["unavailable: Windows has no key code for Ctrl: choose another global key (Pause, F13…)."]


def test_windows_hook_that_cannot_be_installed_is_unavailable() -> None:
    recorder = Recorder()
    backend = WindowsHookBackend(lambda: FakeOs(fail=OSError("[WinError 5] Access is denied")))
    backend.start("F13", recorder)
    assert recorder.done.wait(WAIT)
    assert recorder.seen == ["unavailable: The global key cannot listen on this Windows desktop: [WinError 5] Access is denied"]
    backend.stop()


def test_windows_hook_ending_by_itself_is_reported_and_stop_is_not() -> None:
    fake, recorder = FakeOs(), Recorder()
    backend = WindowsHookBackend(lambda: fake)
    backend.start("Pause", recorder)
    assert fake.running.wait(WAIT)
    fake.stopped.set()  # the message loop ended without us asking
    assert recorder.done.wait(WAIT)
    assert recorder.seen == ["unavailable: The global key stopped listening: Windows ended the keyboard hook."]
    backend.stop()

    fake, recorder = FakeOs(), Recorder()
    backend = WindowsHookBackend(lambda: fake)
    backend.start("Pause", recorder)
    assert fake.running.wait(WAIT)
    backend.stop()
    backend.stop()  # twice is fine
    assert recorder.seen == []


# --- macOS -----------------------------------------------------------------------------------
def test_macos_tap_drops_autorepeat_and_other_keys() -> None:
    fake, recorder = FakeOs(), Recorder()
    backend = MacEventTapBackend(lambda: fake)
    backend.start("F13", recorder)
    try:
        fake.key(MAC_A, True, False)
        fake.key(MAC_F13, True, False)
        fake.key(MAC_F13, True, True)  # autorepeat, as the tap marks it
        fake.key(MAC_F13, True, True)
        fake.key(MAC_F13, False, False)
        fake.key(MAC_F13, True, True)  # a late repeat after the key-up opens nothing
        assert recorder.seen == ["press", "release"]
    finally:
        backend.stop()
    assert fake.stopped.is_set() and recorder.seen == ["press", "release"]


@pytest.mark.parametrize("pane", ["Input Monitoring", "Accessibility"])
def test_macos_missing_permission_says_where_to_grant_it(pane: str) -> None:
    fake, recorder = FakeOs(allowed=False, pane=pane), Recorder()
    MacEventTapBackend(lambda: fake).start("F13", recorder)
    assert fake.requested == 1, "macOS is asked to show its own prompt"
    assert not fake.running.is_set(), "no tap is tried without the permission"
    assert recorder.seen == [f"unavailable: {permission_message(pane)}"]
    message = permission_message(pane)
    assert f"System Settings › Privacy & Security › {pane}" in message and "switch on azassist" in message
    assert "in-window key works" in message


def test_macos_tap_refused_at_creation_gives_the_permission_message() -> None:
    recorder = Recorder()
    backend = MacEventTapBackend(lambda: FakeOs(fail=PermissionError("the event tap was refused")))
    backend.start("F13", recorder)
    assert recorder.done.wait(WAIT)
    assert recorder.seen == [f"unavailable: {permission_message('Input Monitoring')}"]
    backend.stop()


def test_macos_key_without_a_layout_free_code_is_unavailable() -> None:
    recorder = Recorder()
    MacEventTapBackend(FakeOs).start("A", recorder)
    assert len(recorder.seen) == 1 and recorder.seen[0].startswith("unavailable: The global key cannot be A on macOS")


# --- the choice at run time ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("system", "platform_name", "environ", "expected"),
    [
        ("linux", "xcb", {"DISPLAY": ":0"}, X11RecordBackend),
        ("linux", "", {"DISPLAY": ":0"}, X11RecordBackend),
        ("linux", "wayland", {"WAYLAND_DISPLAY": "wayland-0"}, PortalShortcutsBackend),
        # Qt through XWayland on a Wayland session: an X11 hook would miss native apps' keys.
        ("linux", "xcb", {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, PortalShortcutsBackend),
        ("linux", "offscreen", {"WAYLAND_DISPLAY": "wayland-0"}, PortalShortcutsBackend),
        ("linux", "offscreen", {}, NoBackend),
        ("win32", "windows", {}, WindowsHookBackend),
        ("darwin", "cocoa", {}, MacEventTapBackend),
        ("sunos5", "", {"DISPLAY": ":0"}, NoBackend),
    ],
)
def test_backend_is_chosen_by_platform_and_session(
    system: str, platform_name: str, environ: dict[str, str], expected: type
) -> None:
    assert isinstance(choose_backend(platform_name, environ, system=system), expected)


def test_no_desktop_says_what_works_instead() -> None:
    recorder = Recorder()
    choose_backend("offscreen", {}, system="linux").start("Pause", recorder)
    assert recorder.seen == ["unavailable: No X11 or Wayland desktop here: use the in-window key instead."]
