"""Qt objects are deleted by Qt, in the window's thread, never by Python's cycle collector.

Python's cycle collector runs in whichever thread allocates when a collection is due: in
this app often an audio callback thread. A Qt object that Python owns (no Qt parent) and
that ends up in a reference cycle is deleted by that collection, in that thread; if it has a
timer running, Qt cannot unregister it there ("QObject::~QObject: Timers cannot be stopped
from another thread") and later delivers the timer to freed memory: SIGSEGV inside the Qt
event loop (``QTimerInfoList::activateTimers``). That was the window tests' intermittent
crash: each test's closed qasync loop (qasync keeps a Qt timer running for every cancelled
``call_later``) was freed by a collection in a later test's audio thread.

These tests force the collection into another thread, where the real crash needs luck.
A regression kills the process (the suite fails, nothing is retried), or, for the subprocess
test, shows as its exit status and Qt's warning.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject

from azassist.core.paths import AppPaths
from azassist.simulator import LocalRealtimeServer

from .conftest import memory_key, open_window, settings_for, until

REPO = Path(__file__).resolve().parents[2]
THREAD_WARNING = "from another thread"


def collect_in_another_thread() -> int:
    """One full collection, run by a plain Python thread (as an audio callback would)."""
    found: list[int] = []
    worker = threading.Thread(target=lambda: found.append(gc.collect()), name="collector")
    worker.start()
    worker.join(30)
    return found[0]


def python_owned_qt_objects() -> dict[int, str]:
    """Every live Qt object that Python owns (it has no Qt parent): Python deletes it, when
    its wrapper is freed, in the thread that frees it."""
    return {
        id(item): f"{type(item).__module__}.{type(item).__qualname__}"
        for item in gc.get_objects()
        if isinstance(item, QObject) and shiboken6.isValid(item) and shiboken6.ownedByPython(item)
    }


@pytest.fixture
def collector_thread() -> Iterator[list[int]]:
    """A thread that runs Python's cycle collector while the test runs (every 0.3 s: a full
    collection holds the interpreter for about 0.1 s with LiveKit loaded)."""
    stop = threading.Event()
    runs: list[int] = []

    def collect() -> None:
        while not stop.wait(0.3):
            gc.collect()
            runs.append(1)

    worker = threading.Thread(target=collect, name="collector", daemon=True)
    worker.start()
    yield runs
    stop.set()
    worker.join(30)


CLOSED_LOOP = textwrap.dedent(
    """
    import asyncio, gc, threading
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from azassist.ui.event_loop import AppEventLoop

    app = QApplication([])

    async def main():
        loop = asyncio.get_running_loop()
        # Cancelled before it fires: qasync's Qt timer for it keeps running (0.3 s).
        loop.call_later(0.3, print, "never").cancel()
        await asyncio.wait_for(asyncio.sleep(0.01), 20)  # and so does a finished wait's timeout
        await asyncio.sleep(0)

    loop = AppEventLoop(app)
    loop.run_until_complete(main())
    loop.close()
    loop.cycle = loop  # as test loops are: only the cycle collector frees it
    del loop
    gc.disable()
    collector = threading.Thread(target=gc.collect)
    collector.start()
    collector.join()
    QTimer.singleShot(800, app.quit)  # past the timers the closed loop had running
    app.exec()
    print("survived")
    """
)


@pytest.mark.timeout(60)
def test_a_closed_loop_freed_in_another_thread_leaves_no_timer_behind(tmp_path: Path) -> None:
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", CLOSED_LOOP],
        capture_output=True, text=True, timeout=50, env=environment, cwd=REPO, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]  # was -11: SIGSEGV in activateTimers
    assert "survived" in result.stdout
    assert THREAD_WARNING not in result.stderr, result.stderr[-3000:]


def test_a_closed_loop_has_deleted_its_qt_objects() -> None:
    from PySide6.QtWidgets import QApplication

    from azassist.ui.event_loop import AppEventLoop

    app = QApplication.instance() or QApplication([])
    loop = AppEventLoop(app)  # type: ignore[arg-type]
    loop.call_later(60, lambda: None)
    owned = loop._qt_objects()
    assert len(owned) == 2  # qasync's timer object and its cross-thread signaller
    loop.close()
    assert not any(shiboken6.isValid(item) for item in owned)
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_soon(lambda: None)
    with pytest.raises(RuntimeError, match="closed"):  # from an audio thread, after the window went
        loop.call_soon_threadsafe(lambda: None)
    loop.close()  # twice is fine


async def _close_mid_reply_while_typing(paths: AppPaths, server: LocalRealtimeServer) -> None:
    from azassist.ui.main_window import _spec

    server.scripted.queue_reply("A long reply that is still arriving when the window goes away. " * 8)
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        window.send_text("tell me something long")
        await until(lambda: h.rows("assistant"), what="the reply to start")
        window.editor.propose(_spec("ui", "push_to_talk_key"), "F8", typing=True)  # saved after a pause
        assert window.editor._timer.isActive()


@pytest.mark.asyncio
@pytest.mark.audio
@pytest.mark.timeout(90)
async def test_a_window_closed_mid_reply_while_a_setting_is_typed_survives_collection_in_another_thread(
    paths: AppPaths, server: LocalRealtimeServer, collector_thread: list[int], capfd: pytest.CaptureFixture[str]
) -> None:
    """The window goes mid-conversation (a reply streaming in, a setting typed but not yet
    saved: its 0.6 s timer running) while a thread keeps running the cycle collector."""
    await _close_mid_reply_while_typing(paths, server)  # its frame, and the window's last references, are gone
    for _ in range(3):
        collect_in_another_thread()
        await asyncio.sleep(0.4)  # past the typing timer: Qt would deliver it now
    assert collector_thread  # the other thread really ran collections meanwhile
    assert THREAD_WARNING not in capfd.readouterr().err  # Qt's word for an object deleted in the wrong thread


@pytest.mark.asyncio
@pytest.mark.audio
@pytest.mark.timeout(90)
async def test_what_the_window_makes_has_a_qt_parent(paths: AppPaths, server: LocalRealtimeServer) -> None:
    """Deterministic: through a whole window life (talk, a setting typed, the dialogs, new
    icons) the window is the only Qt object it made that Python owns; the rest is deleted
    with it, by Qt, in this thread."""
    from azassist.ui.main_window import _spec

    before = python_owned_qt_objects()
    server.scripted.queue_reply("Hello there.")
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        window.send_text("hello")
        await until(lambda: h.finals("assistant"), what="the reply")
        window.open_settings("model")
        window.editor.propose(_spec("ui", "push_to_talk_key"), "F8", typing=True)
        window.show_conversations()
        window.set_muted(True)  # new icons, drawn now
        window.grab()
        made = {key: name for key, name in python_owned_qt_objects().items() if key not in before}
        # The loop's own: qasync's objects are deleted when the loop closes (the test above);
        # its socket notifiers (the local server and the engine's socket share this loop)
        # are disabled before qasync drops them, and a disabled one may go in any thread.
        made = {key: name for key, name in made.items()
                if not name.startswith("qasync.") and name != "PySide6.QtCore.QSocketNotifier"}
        assert sorted(made.values()) == ["azassist.ui.main_window.MainWindow"]
