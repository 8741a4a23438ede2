"""The global push-to-talk key on the Qt side: owns the core controller, talks through the
window (so the key, the button and the tray's Talk share one turn), and gives feedback that
needs no look at the window: the tray icon while talking, optional start/stop tones, and
a tray message when something needs saying while the window is not in front.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel

from azassist.core.hotkey import Cue, Feedback, HotkeyBackend, HotkeyController, Readiness, SessionWatch, choose_backend, watches_session
from azassist.core.states import ConnectionState

if TYPE_CHECKING:
    from collections.abc import Callable

    from azassist.core.settings import Settings
    from azassist.ui.main_window import MainWindow
    from azassist.ui.settings_dialog import SettingsDialog

log = logging.getLogger(__name__)

SOURCE = "global"  # the window's name for who holds the turn


class WindowTarget:
    """The window as the controller's ``TalkTarget``: its own talk sources share one turn."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def readiness(self) -> Readiness:
        window = self.window
        if window.hands_free:
            return Readiness.HANDS_FREE
        if window.connection is ConnectionState.CONNECTED:
            return Readiness.READY
        if window.connection in (ConnectionState.CONNECTING, ConnectionState.RECONNECTING):
            return Readiness.CONNECTING
        return Readiness.DISCONNECTED

    def connect(self) -> str | None:
        if not self.window.settings.connection.is_configured and not self.window.in_demo:
            return "The global key cannot connect: set up the connection first (Settings › Connection)."
        self.window.connect_engine(self.window.mode)
        return None

    def press(self) -> bool:
        return self.window.push_to_talk_press(SOURCE)

    def release(self) -> None:
        self.window.push_to_talk_release(SOURCE)

    def cancel(self) -> None:
        if self.window.ptt_source == SOURCE:
            self.window.push_to_talk_cancel()


class GlobalHotkey(QObject):
    """Starts, restarts and stops the controller as the settings say; the window is its target."""

    def __init__(
        self, window: MainWindow, backend_factory: Callable[[], HotkeyBackend] | None = None
    ) -> None:
        super().__init__(window)
        self.window = window
        self._factory = backend_factory or (lambda: choose_backend(QGuiApplication.platformName()))
        self.controller: HotkeyController | None = None
        self.backend: HotkeyBackend | None = None
        self.session_watch: SessionWatch | None = None  # screen lock/suspend let a held key go (Linux)
        self.feedback: list[Feedback] = []  # the latest few, for the pane and for tests
        self.earcons = True
        self._note: QLabel | None = None

    # --- life ------------------------------------------------------------------------------
    def apply(self, settings: Settings) -> None:
        ui = settings.ui
        self.earcons = ui.global_push_to_talk_earcon
        controller = self.controller
        if controller is not None and (not ui.global_push_to_talk or controller.key != ui.global_push_to_talk_key):
            self.stop()
            controller = None
        if ui.global_push_to_talk and controller is None:
            self.backend = self._factory()
            controller = self.controller = HotkeyController(
                self.backend, WindowTarget(self.window), asyncio.get_event_loop(), key=ui.global_push_to_talk_key,
                max_hold=ui.global_push_to_talk_max_hold_s, on_feedback=self._on_feedback,
            )
            log.info("global key %s on %s", ui.global_push_to_talk_key, self.backend.name)
            controller.start()
            if watches_session():
                loop = asyncio.get_event_loop()
                self.session_watch = SessionWatch(controller.assume_release, loop.call_soon_threadsafe)
                self.session_watch.start()
        if controller is not None:
            controller.max_hold = ui.global_push_to_talk_max_hold_s
        self._show_note()

    def stop(self) -> None:
        controller, self.controller = self.controller, None
        watch, self.session_watch = self.session_watch, None
        if watch is not None:
            watch.stop()
        if controller is not None:
            controller.stop()
        self._show_note()

    def turn_ended(self) -> None:
        """The window's turn changed hands or ended; ours, if it was ours, is over."""
        if self.controller is not None and self.window.ptt_source != SOURCE:
            self.controller.turn_ended()

    def assume_release(self, why: str = "") -> None:
        if self.controller is not None:
            self.controller.assume_release(why)

    # --- feedback ------------------------------------------------------------------------------
    def _on_feedback(self, feedback: Feedback) -> None:
        self.feedback = [*self.feedback[-19:], feedback]
        log.info("global key: %s %s", feedback.cue.value, feedback.message)
        window = self.window
        if self.controller is None:
            return  # stopped: the window may be closing
        if feedback.cue in (Cue.TALKING, Cue.SENT) and self.earcons:
            from azassist.core.hotkey import earcon

            earcon.play(feedback.cue is Cue.TALKING, window.settings.audio.output_device)
        if feedback.message:
            window.statusBar().showMessage(feedback.message, 6000)
            if QApplication.activeWindow() is not window:
                window.tray.notify(feedback.message)
        if feedback.cue in (Cue.UNAVAILABLE, Cue.TOGGLE_MODE):
            self._show_note()

    # --- the settings pane ---------------------------------------------------------------------
    def describe(self) -> str:
        """Which backend listens and its limits, for the pane."""
        if self.controller is None or self.backend is None:
            return "Off. The in-window key and the tray's Talk work without it."
        parts = [f"Listening through {self.backend.name}. {self.backend.limits}"]
        if self.controller.toggle:
            parts.append("This desktop reports no key release: press once to talk, again to send.")
        if self.session_watch is not None and self.session_watch.describe():
            parts.append(self.session_watch.describe())
        reason = self.controller.unavailable_reason
        if reason:
            # Most backends' reasons already say what works instead; say it once.
            parts = [f"Not working: {reason}" + ("" if "in-window key" in reason else " The in-window key still works.")]
        return " ".join(parts)

    def add_note(self, dialog: SettingsDialog) -> None:
        """A line under the key field saying which backend is in use and what it cannot do."""
        form = dialog.forms.get("ui")
        if form is None or "global_push_to_talk" not in form.rows:
            return
        self._note = QLabel()
        self._note.setWordWrap(True)
        self._note.setAccessibleName("Global key backend")
        form.add_widget_after("global_push_to_talk", self._note, "", key="global_key_note")
        self._show_note()

    def _show_note(self) -> None:
        note = self._note
        if note is None:
            return
        try:
            note.setText(self.describe())
        except RuntimeError:  # the dialog (and the label with it) is gone
            self._note = None
