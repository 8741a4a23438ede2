"""One key's press and release from an OS stream that repeats key-down while the key is held
(the Windows hook, the macOS tap): a key-down while the key is down is autorepeat."""

from __future__ import annotations

import threading

from azassist.core.hotkey.base import HotkeyListener


class KeyEdges:
    """Reports the first key-down and the key-up for one key code; everything else is dropped.

    A key-up with no key-down seen (the key was held when listening began) is dropped too, so
    the listener never hears a release it cannot pair with a press."""

    def __init__(self, code: int, listener: HotkeyListener) -> None:
        self.code = code
        self.listener = listener
        self.held = False
        self._lock = threading.Lock()  # the OS thread and a stopping caller may both touch it

    def key(self, code: int, down: bool, repeat: bool = False) -> None:
        if code != self.code:
            return
        with self._lock:
            if down:
                if self.held or repeat:
                    return
                self.held = True
            else:
                if not self.held:
                    return
                self.held = False
        if down:
            self.listener.pressed()
        else:
            self.listener.released()
