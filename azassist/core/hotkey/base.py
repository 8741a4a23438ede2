"""The one interface every global-key backend implements, and the names of keys.

A backend only listens: it reports that the chosen key went down (``pressed``), came up
(``released``), or that it can no longer listen (``unavailable``, with the reason in plain
words). It knows nothing about talking; the controller decides what a press means.

Backends may call their listener from a thread of their own; the controller hands them a
listener that moves every call onto the event loop (``ThreadSafeListener``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

log = logging.getLogger(__name__)


class ReleaseReport(str, Enum):
    """How far a backend's key-up can be trusted: it decides hold-to-talk or toggle."""

    YES = "yes"  # a real key-up for every key-down (X11, Windows hook, macOS tap)
    NO = "no"  # never a key-up: press to start, press again to send
    UNVERIFIED = "unverified"  # the portal: the compositor may or may not send Deactivated


class HotkeyListener(Protocol):
    def pressed(self) -> None: ...
    def released(self) -> None: ...
    def unavailable(self, reason: str) -> None: ...


class HotkeyBackend(Protocol):
    """Listen-only source of one key's down/up edges."""

    name: str  # shown in the settings pane: "X11 (XRecord)", "Desktop portal", …
    limits: str  # one or two sentences on what this backend cannot do
    release: ReleaseReport
    # True when the backend drops autorepeat's release/press pairs itself, by the events' own
    # timestamps: then the controller acts on a release at once instead of waiting out a gap
    # on the loop's clock (a busy loop would deliver a release and a real new press together).
    filters_autorepeat: bool

    def start(self, key: str, listener: HotkeyListener) -> None:
        """Begin listening for ``key`` (a Qt portable key name such as "Pause" or "F13").

        A failure to start is reported through ``listener.unavailable``, never raised, so the
        caller has one path for "it does not work here" whether it is found now or later."""
        ...

    def stop(self) -> None:
        """Stop listening and release whatever was taken; safe to call twice."""
        ...


@dataclass
class ThreadSafeListener:
    """Forwards a backend's calls onto the loop's thread (``post`` is ``call_soon_threadsafe``)."""

    target: HotkeyListener
    post: Callable[[Callable[[], None]], object]

    def pressed(self) -> None:
        self.post(self.target.pressed)

    def released(self) -> None:
        self.post(self.target.released)

    def unavailable(self, reason: str) -> None:
        self.post(lambda: self.target.unavailable(reason))


class NoBackend:
    """Where nothing can listen: says why at once, so the pane can show it."""

    release = ReleaseReport.NO
    filters_autorepeat = False

    def __init__(self, reason: str, name: str = "None") -> None:
        self.name = name
        self.limits = reason

    def start(self, key: str, listener: HotkeyListener) -> None:
        listener.unavailable(self.limits)

    def stop(self) -> None:
        pass


# Qt's portable key names (what the settings' key field stores) -> X keysym names. Letters
# and digits map to themselves in lower case; anything missing is looked up as given.
X_KEYSYMS: dict[str, str] = {
    "Space": "space", "Ins": "Insert", "Del": "Delete", "PgUp": "Prior", "PgDown": "Next",
    "Esc": "Escape", "Backspace": "BackSpace", "ScrollLock": "Scroll_Lock", "CapsLock": "Caps_Lock",
    "NumLock": "Num_Lock", "Enter": "KP_Enter", "Return": "Return", "Tab": "Tab", "Menu": "Menu",
    "Print": "Print", "Pause": "Pause", "Home": "Home", "End": "End", "Left": "Left", "Right": "Right",
    "Up": "Up", "Down": "Down", "`": "grave", "-": "minus", "=": "equal", "[": "bracketleft",
    "]": "bracketright", ";": "semicolon", "'": "apostrophe", ",": "comma", ".": "period", "/": "slash",
    "\\": "backslash",
}

# Windows virtual-key codes for the same names (letters, digits and F-keys are computed).
WINDOWS_VK: dict[str, int] = {
    "Pause": 0x13, "ScrollLock": 0x91, "Space": 0x20, "Ins": 0x2D, "Del": 0x2E, "Home": 0x24, "End": 0x23,
    "PgUp": 0x21, "PgDown": 0x22, "Left": 0x25, "Up": 0x26, "Right": 0x27, "Down": 0x28, "Menu": 0x5D,
    "Print": 0x2C, "CapsLock": 0x14, "NumLock": 0x90, "Backspace": 0x08, "Esc": 0x1B, "Tab": 0x09,
    "Return": 0x0D, "Enter": 0x0D,
}

# macOS virtual key codes (Carbon kVK_*). A PC keyboard's Pause and Scroll Lock arrive as F15/F14.
MAC_KEYCODES: dict[str, int] = {
    "F1": 0x7A, "F2": 0x78, "F3": 0x63, "F4": 0x76, "F5": 0x60, "F6": 0x61, "F7": 0x62, "F8": 0x64,
    "F9": 0x65, "F10": 0x6D, "F11": 0x67, "F12": 0x6F, "F13": 0x69, "F14": 0x6B, "F15": 0x71, "F16": 0x6A,
    "F17": 0x40, "F18": 0x4F, "F19": 0x50, "F20": 0x5A, "Pause": 0x71, "ScrollLock": 0x6B, "Space": 0x31,
    "Home": 0x73, "End": 0x77, "PgUp": 0x74, "PgDown": 0x79, "Del": 0x75, "Ins": 0x72, "Left": 0x7B,
    "Right": 0x7C, "Down": 0x7D, "Up": 0x7E, "Esc": 0x35, "Tab": 0x30, "Return": 0x24, "Backspace": 0x33,
}


def x_keysym_name(key: str) -> str:
    """The X keysym name for a Qt portable key name ("F13" -> "F13", "A" -> "a")."""
    if key in X_KEYSYMS:
        return X_KEYSYMS[key]
    return key.lower() if len(key) == 1 else key


def windows_vk(key: str) -> int | None:
    """The virtual-key code for a Qt portable key name, or None if it has none."""
    if key in WINDOWS_VK:
        return WINDOWS_VK[key]
    if len(key) == 1 and key.isascii() and key.isalnum():
        return ord(key.upper())
    if key.startswith("F") and key[1:].isdigit() and 1 <= int(key[1:]) <= 24:
        return 0x70 + int(key[1:]) - 1
    return None


def mac_keycode(key: str) -> int | None:
    """The macOS virtual key code for a Qt portable key name, or None (letters depend on the layout)."""
    return MAC_KEYCODES.get(key)


def stop_hook_thread(stopping: threading.Event, api: Any, thread: threading.Thread | None, what: str) -> None:
    """End an OS hook that runs a loop on a thread of its own (the Windows keyboard hook, the
    macOS event tap): say it is stopping, ask the hook to end its loop, wait for the thread."""
    stopping.set()
    if api is not None:
        try:
            api.stop()
        except Exception:
            log.debug("stopping the %s failed", what, exc_info=True)
    if thread is not None:
        thread.join(timeout=5)
        if thread.is_alive():
            log.warning("the %s did not stop in time", what)
