"""The global push-to-talk key: backends (one small module each) behind one interface, the
controller with the rules, and the choice of backend for this desktop. No Qt here."""

from __future__ import annotations

import os
import sys

from azassist.core.hotkey.base import HotkeyBackend, HotkeyListener, NoBackend, ReleaseReport, ThreadSafeListener
from azassist.core.hotkey.controller import Cue, Feedback, HotkeyController, Readiness, TalkTarget

__all__ = [
    "Cue", "Feedback", "HotkeyBackend", "HotkeyController", "HotkeyListener", "NoBackend", "Readiness",
    "ReleaseReport", "TalkTarget", "ThreadSafeListener", "choose_backend",
]


def choose_backend(platform_name: str = "", environ: dict[str, str] | None = None) -> HotkeyBackend:
    """The backend for this desktop: ``platform_name`` is Qt's ("xcb", "wayland", …) if known."""
    env = dict(os.environ) if environ is None else environ
    wayland = platform_name == "wayland" or (
        platform_name not in ("xcb",) and env.get("XDG_SESSION_TYPE") == "wayland" and bool(env.get("WAYLAND_DISPLAY"))
    )
    if sys.platform.startswith("linux") or sys.platform.startswith("freebsd"):
        if wayland:
            return NoBackend(
                "Wayland: the desktop portal's global shortcuts are not supported yet; use the in-window key.",
                name="Wayland (no portal support yet)",
            )
        if env.get("DISPLAY"):
            from azassist.core.hotkey.x11 import X11RecordBackend

            return X11RecordBackend()
        return NoBackend("No X11 or Wayland desktop here: use the in-window key instead.")
    return NoBackend(
        "A global key is not available on this system yet: use the in-window key, or the tray menu's Talk."
    )
