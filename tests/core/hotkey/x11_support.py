"""A second X client that owns the keyboard focus (an "editor"), and key injection through
XTEST with xdotool (device events, as a real keyboard makes; ``--window`` would send
synthetic events, which no hook sees)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

FOCUS_CLIENT = textwrap.dedent(
    """
    import sys
    from Xlib import X, display
    d = display.Display()
    screen = d.screen()
    window = screen.root.create_window(10, 10, 300, 200, 0, screen.root_depth,
                                       event_mask=X.KeyPressMask | X.KeyReleaseMask | X.FocusChangeMask)
    window.set_wm_name("editor")
    window.map()
    d.sync()
    window.set_input_focus(X.RevertToParent, X.CurrentTime)
    d.sync()
    print("focused", window.id, flush=True)
    while True:
        event = d.next_event()
        if event.type in (X.KeyPress, X.KeyRelease):
            print("press" if event.type == X.KeyPress else "release", event.detail, flush=True)
    """
)


def need_xdotool() -> str:
    path = shutil.which("xdotool")
    if path is None:
        pytest.fail("xdotool is not installed: run 'make test' (it installs it)")
    return path


@dataclass
class FocusedClient:
    proc: subprocess.Popen[str]
    window: int

    def focused_window(self, display: str) -> int:
        out = subprocess.run(
            ["xdotool", "getwindowfocus"], env={**os.environ, "DISPLAY": display}, capture_output=True, text=True, timeout=10
        )
        return int(out.stdout.strip())


@contextmanager
def focused_client(display: str) -> Iterator[FocusedClient]:
    """Another program's window with the keyboard focus; it prints the keys it gets."""
    proc = subprocess.Popen(
        [sys.executable, "-c", FOCUS_CLIENT], env={**os.environ, "DISPLAY": display},
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line and line[0] == "focused", "the focus client did not start"
        yield FocusedClient(proc, int(line[1]))
    finally:
        proc.kill()
        proc.wait(timeout=10)


def xdotool(display: str, *args: str) -> None:
    """Inject through XTEST: no --window, so these are device events."""
    subprocess.run([need_xdotool(), *args], env={**os.environ, "DISPLAY": display}, check=True, timeout=10)
