"""Start the window: QApplication, the qasync event loop, error hooks, run until quit.

Start-up order is chosen for the first paint: the main window's frame goes on screen before
the settings (pydantic), the keyring, qasync and the engine session are imported; they fill
the window in right after, before any user input is handled.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from azassist import __version__
from azassist.core.paths import AppPaths
from azassist.ui.resources import app_icon
from azassist.ui.theme import apply_style_sheet, apply_theme, style_arguments, style_chosen

if TYPE_CHECKING:
    from collections.abc import Callable

    from azassist.core.settings import LoadResult
    from azassist.ui.main_window import MainWindow

log = logging.getLogger(__name__)
T = TypeVar("T")


def create_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication, set up for high-DPI screens and the desktop's identity."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        # Exact fractional scaling (125 %, 150 %) instead of rounding to whole pixels.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication([*(argv if argv is not None else sys.argv[:1]), *style_arguments()])
        style_chosen(app)
    app.setApplicationName("azassist")
    app.setApplicationDisplayName("azassist")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("azassist")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)  # the window decides (it may live on in the tray)
    return app


def read_settings_json(settings_file: Path) -> object:
    """The settings file's JSON, unvalidated; None when it cannot be read or parsed."""
    try:
        return json.loads(settings_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class FirstPaint(NamedTuple):
    """What the first paint needs from settings.json, read without validating it.

    A guess for drawing early only: the validated settings replace it right after. A file
    that does not read as expected gives the defaults, and so does the real load.
    (A NamedTuple, not a dataclass: the dataclasses module costs ~2.5 ms before the paint.)
    """

    theme: str = "system"
    minimised: bool = False
    configured: bool = False
    push_to_talk: bool = False

    @classmethod
    def guess(cls, raw: Any) -> FirstPaint:
        """From the parsed file (``read_settings_json``): any JSON value, or None."""
        try:
            connection, ui = raw.get("connection", {}), raw.get("ui", {})
            return cls(
                theme=str(ui.get("theme", "system")),
                minimised=bool(ui.get("start_minimised")),  # when unsure, no early window
                configured=bool(connection.get("endpoint")) and bool(connection.get("deployment")),
                push_to_talk=raw.get("turn_detection", {}).get("mode") == "manual",  # TurnMode.PUSH_TO_TALK
            )
        except AttributeError:
            return cls()

    @classmethod
    def of(cls, load: LoadResult) -> FirstPaint:
        from azassist.core.settings import TurnMode

        settings = load.settings
        return cls(
            theme=settings.ui.theme.value,
            minimised=settings.ui.start_minimised,
            configured=settings.connection.is_configured,
            push_to_talk=settings.turn_detection.mode is TurnMode.PUSH_TO_TALK,
        )


def paint_now(window: QWidget, timeout: float = 0.5) -> None:
    """Let the window reach the screen before the slow part of start-up.

    Qt paints a new window when the window system exposes it, which only happens while events
    are processed. User input is left queued: nothing is ready to act on it yet.
    """
    app = QApplication.instance()
    assert app is not None
    deadline = time.monotonic() + timeout
    handle = window.windowHandle()
    while time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents, 5)
        if handle is None or handle.isExposed():
            break
        time.sleep(0.002)
    app.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    QGuiApplication.sync()  # the painted frame reaches the window system now, not later


# What the window's finish_start_up and the event loop import (classes only, no Qt object
# made): loaded beside a window painted early, before the engine's import begins.
FINISH_MODULES = (
    "asyncio",
    "azassist.core.credentials",
    "azassist.core.events",
    "azassist.ui.session",
    "azassist.ui.settings_form",
    "azassist.ui.settings_dialog",
    "azassist.ui.tray",
    "azassist.ui.global_hotkey",
    "azassist.ui.tool_confirm",
    "azassist.ui.errors",
    "azassist.ui.event_loop",
)


def beside_the_window(work: Callable[[], T]) -> T:
    """``work()`` run on the import thread (``azassist.core.preload``) while this one keeps the
    painted window's events flowing (paint, expose, timers; user input stays queued: nothing
    is ready for it yet)."""
    from azassist.core.preload import in_import_thread

    app = QApplication.instance()
    assert app is not None
    future = in_import_thread(work)
    while True:
        try:
            return future.result(timeout=0.004)
        except TimeoutError:
            app.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents, 5)


def run_gui(
    paths: AppPaths,
    settings_result: LoadResult | None = None,
    demo: bool = False,
    start_logging: Callable[[], None] | None = None,
    connect: bool = False,
) -> int:
    """Open the window and run until the user quits; returns the exit status.

    ``demo`` starts the offline demo, ``connect`` connects to the configured service at once
    (both while the window fills in: the engine's import has started on its thread by then).
    Without ``settings_result`` the settings file is read after the window's first paint.
    ``start_logging`` runs after the paint too (before the settings are read): the rotating
    file handler's module imports socket, pickle and queue (~8-14 ms, measured), which the
    first paint does not need.
    """
    app = create_application()
    raw = read_settings_json(paths.settings_file) if settings_result is None else None
    hint = FirstPaint.of(settings_result) if settings_result is not None else FirstPaint.guess(raw)
    apply_theme(app, hint.theme, with_style_sheet=False)
    early: MainWindow | None = None
    # The conversation page needs nothing the frame lacks (the demo opens on it too); the
    # welcome page and starting hidden in the tray wait for the settings as before.
    if (hint.configured or demo) and not hint.minimised:
        from azassist.ui.main_window import MainWindow

        early = MainWindow(paths, hands_free=not hint.push_to_talk)
        early.show()
        paint_now(early)
    apply_style_sheet(app)  # the first paint needs none of it
    if start_logging is not None and early is None:
        start_logging()

    def load_settings() -> LoadResult:
        from azassist.core.settings import SettingsStore

        return settings_result or SettingsStore(paths.settings_file).load(raw)  # parsed once

    def load_settings_and_modules() -> LoadResult:
        result = load_settings()
        for name in FINISH_MODULES:
            importlib.import_module(name)
        return result

    # With a window on screen its events keep flowing while pydantic, the settings and what
    # finish_start_up builds with load on a thread (on this one: 0.2 s for the settings and
    # 0.16 s for the rest, measured as the window's longest stalls after its first paint).
    if early is not None:
        if start_logging is not None:
            # the log's modules beside the window too: on this thread they added ~14 ms to the
            # repaint the style sheet asks for, one stall of ~50 ms (measured); the log still
            # starts before the settings load, whose warnings (a corrupt file) it keeps
            beside_the_window(lambda: importlib.import_module("azassist.core.logs"))
            start_logging()
        log.info("window painted, loading the rest")
        load = beside_the_window(load_settings_and_modules)
    else:
        load = load_settings()

    import asyncio

    from azassist.core.preload import preload_keyring
    from azassist.ui.errors import install_exception_hooks
    from azassist.ui.event_loop import AppEventLoop

    preload_keyring()  # the window's credential store asks it right away
    if early is not None:
        # The voice engine imports on its own thread from now on (one to two seconds of CPU)
        # while this one builds the rest of the window; the first connect awaits it. After the
        # first paint (the import competes for the interpreter) and the settings (they import
        # pydantic, which the engine's import needs too). A window not painted early starts it
        # once shown (MainWindow._schedule_warm_up, or the demo's connect, whichever is first).
        from azassist.core.preload import preload_engine

        preload_engine()
    if load.settings.ui.theme.value != hint.theme:
        apply_theme(app, load.settings.ui.theme)

    async def main() -> int:
        from azassist.ui.main_window import MainWindow

        if early is not None:
            window = early
            window.finish_start_up(load, welcome=not demo)
        else:
            window = MainWindow(paths, load)
        restore_hooks = install_exception_hooks(window.report_unexpected, asyncio.get_running_loop())
        # Python handles Ctrl+C only when it runs; a light timer gives it the chance.
        wake = QTimer(window)  # deleted with the window, in this thread
        wake.start(250)
        wake.timeout.connect(lambda: None)
        try:
            if early is None:
                if load.settings.ui.start_minimised and window.tray.available:
                    window.tray.show()
                    # nothing to paint: the engine's import begins on its thread now, so a
                    # resident azassist started at login is warm when the tray's talk is pressed
                    from azassist.core.preload import preload_engine

                    preload_engine()
                else:
                    window.show()  # the engine's import begins once it is painted (_schedule_warm_up)
            if demo:
                window.start_demo()
            elif connect and load.settings.connection.is_configured:
                window.connect_engine()
            await window.wait_closed()
        finally:
            wake.stop()
            await window.shutdown()
            restore_hooks()
        return 0

    log.info("window starting (demo=%s)", demo)
    with asyncio.Runner(loop_factory=lambda: AppEventLoop(app)) as runner:
        try:
            return runner.run(main())
        except KeyboardInterrupt:
            return 130
