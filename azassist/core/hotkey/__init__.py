"""The global push-to-talk key: backends (one small module each) behind one interface, the
controller with the rules, and the choice of backend for this desktop. No Qt here."""

from __future__ import annotations

import os
import sys

from azassist.core.hotkey.base import HotkeyBackend, HotkeyListener, NoBackend, ReleaseReport, ThreadSafeListener
from azassist.core.hotkey.controller import Cue, Feedback, HotkeyController, Readiness, TalkTarget
from azassist.core.hotkey.session_watch import SessionWatch

__all__ = [
    "Cue", "Feedback", "HotkeyBackend", "HotkeyController", "HotkeyListener", "NoBackend", "Readiness",
    "ReleaseReport", "SessionWatch", "TalkTarget", "ThreadSafeListener", "choose_backend", "watches_session",
]


def watches_session(system: str | None = None) -> bool:
    """Screen lock and suspend are heard over D-Bus here (``SessionWatch``); not on Windows or macOS."""
    return (sys.platform if system is None else system).startswith(("linux", "freebsd"))


def choose_backend(
    platform_name: str = "", environ: dict[str, str] | None = None, system: str | None = None
) -> HotkeyBackend:
    """The backend for this desktop: ``platform_name`` is Qt's ("xcb", "wayland", …) if known.

    On a Wayland session the portal is used even when Qt runs through XWayland ("xcb"): an
    X11 hook there would only see keys typed into other XWayland windows."""
    env = dict(os.environ) if environ is None else environ
    system = sys.platform if system is None else system
    if system == "win32":
        from azassist.core.hotkey.windows import WindowsHookBackend

        return WindowsHookBackend()
    if system == "darwin":
        from azassist.core.hotkey.macos import MacEventTapBackend

        return MacEventTapBackend()
    if system.startswith(("linux", "freebsd")):
        if platform_name.startswith("wayland") or env.get("WAYLAND_DISPLAY"):
            from azassist.core.hotkey.portal import PortalShortcutsBackend

            return PortalShortcutsBackend()
        if env.get("DISPLAY"):
            from azassist.core.hotkey.x11 import X11RecordBackend

            return X11RecordBackend()
        return NoBackend("No X11 or Wayland desktop here: use the in-window key instead.")
    return NoBackend(
        "A global key is not available on this system: use the in-window key, or the tray menu's Talk."
    )
