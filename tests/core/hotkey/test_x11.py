"""The X11 backend on a real X server (Xvfb): another client has the focus, keys come in
through XTEST, and the controller runs on a real asyncio loop."""

from __future__ import annotations

import asyncio
import time

import pytest

from azassist.core.hotkey import Cue, Feedback, HotkeyController
from azassist.core.hotkey.x11 import X11RecordBackend
from tests.core.hotkey.fakes import FakeTarget
from tests.core.hotkey.x11_support import focused_client, xdotool
from tests.support.services import Xvfb
from tests.support.waiting import until

pytestmark = pytest.mark.xvfb


class Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def pressed(self) -> None:
        self.seen.append("press")

    def released(self) -> None:
        self.seen.append("release")

    def unavailable(self, reason: str) -> None:
        self.seen.append(f"unavailable: {reason}")


def test_listens_without_taking_the_key_from_the_focused_client(xvfb_display: str) -> None:
    recorder = Recorder()
    backend = X11RecordBackend(xvfb_display)
    with focused_client(xvfb_display) as editor:
        backend.start("Pause", recorder)
        try:
            assert editor.focused_window(xvfb_display) == editor.window
            xdotool(xvfb_display, "key", "a")  # another key: not ours
            xdotool(xvfb_display, "keydown", "Pause")
            xdotool(xvfb_display, "keyup", "Pause")
            seen = recorder.seen
            deadline = time.monotonic() + 10
            while seen != ["press", "release"] and time.monotonic() < deadline:
                time.sleep(0.02)
            assert seen == ["press", "release"]
            assert editor.proc.stdout is not None
            lines = [editor.proc.stdout.readline().split()[0] for _ in range(4)]
            assert lines == ["press", "release", "press", "release"], "the editor still got both keys"
        finally:
            backend.stop()
    backend.stop()  # twice is fine


def test_unknown_key_and_no_display_are_reported_not_raised() -> None:
    recorder = Recorder()
    X11RecordBackend(":987654").start("Pause", recorder)
    assert len(recorder.seen) == 1 and recorder.seen[0].startswith("unavailable: The global key cannot listen")


@pytest.mark.asyncio
async def test_a_held_key_is_one_turn_and_losing_the_server_sends_it() -> None:
    server = Xvfb.start()
    target, cues = FakeTarget(), list[Feedback]()
    controller = HotkeyController(
        X11RecordBackend(server.display), target, asyncio.get_running_loop(), key="Pause", on_feedback=cues.append
    )
    try:
        with focused_client(server.display):
            controller.start()
            xdotool(server.display, "keydown", "Pause")
            await until(lambda: target.calls == ["press"], what="the turn to start")
            # Held long enough for the X server's autorepeat (660 ms delay) to send more presses.
            await asyncio.sleep(1.0)
            xdotool(server.display, "keyup", "Pause")
            await until(lambda: target.calls == ["press", "release"], what="the turn to be sent")
            xdotool(server.display, "keydown", "Pause")
            await until(lambda: target.calls == ["press", "release", "press"], what="a second turn")
            server.stop()  # the X server goes away with the key down
            await until(lambda: controller.unavailable_reason, what="the loss to be noticed")
        assert target.calls == ["press", "release", "press", "release"]
        assert [cue.cue for cue in cues][-2:] == [Cue.SENT, Cue.UNAVAILABLE]
        assert isinstance(cues[-1], Feedback) and "X display went away" in cues[-1].message
    finally:
        controller.stop()
        server.stop()
