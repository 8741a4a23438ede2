"""Start the window: QApplication, the qasync event loop, error hooks, run until quit."""

from __future__ import annotations

import asyncio
import logging
import sys

import qasync
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from azassist import __version__
from azassist.core.paths import AppPaths
from azassist.core.settings import LoadResult
from azassist.ui.errors import install_exception_hooks
from azassist.ui.resources import app_icon
from azassist.ui.theme import apply_theme

log = logging.getLogger(__name__)


def create_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication, set up for high-DPI screens and the desktop's identity."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        # Exact fractional scaling (125 %, 150 %) instead of rounding to whole pixels.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("azassist")
    app.setApplicationDisplayName("azassist")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("azassist")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)  # the window decides (it may live on in the tray)
    return app


def run_gui(paths: AppPaths, settings_result: LoadResult, demo: bool = False) -> int:
    """Open the window and run until the user quits; returns the exit status."""
    app = create_application()
    apply_theme(app, settings_result.settings.ui.theme)

    async def main() -> int:
        from azassist.ui.main_window import MainWindow

        window = MainWindow(paths, settings_result)
        restore_hooks = install_exception_hooks(window.report_unexpected, asyncio.get_running_loop())
        # Python handles Ctrl+C only when it runs; a light timer gives it the chance.
        wake = QTimer()
        wake.start(250)
        wake.timeout.connect(lambda: None)
        try:
            if settings_result.settings.ui.start_minimised and window.tray.available:
                window.tray.show()
            else:
                window.show()
            if demo:
                window.start_demo()
            await window.wait_closed()
        finally:
            wake.stop()
            await window.shutdown()
            restore_hooks()
        return 0

    log.info("window starting (demo=%s)", demo)
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        try:
            return runner.run(main())
        except KeyboardInterrupt:
            return 130
