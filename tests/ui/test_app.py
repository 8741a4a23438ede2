"""The application shell: run_gui, the first paint before LiveKit, window state, keyboard
access, themes and the tray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import QAbstractButton, QApplication, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from azassist.core.environment import EnvironmentOffer
from azassist.core.paths import AppPaths
from azassist.core.settings import Settings, Theme
from azassist.ui.theme import apply_style_sheet, apply_theme, is_dark

from .conftest import open_window

REPO = Path(__file__).resolve().parents[2]

RUN_DEMO = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QTimer
    from azassist.core.paths import resolve_paths
    from azassist.core.settings import SettingsStore
    import azassist.ui.main_window as main_window
    from azassist.ui.app import run_gui

    seen = {}
    show = main_window.MainWindow.showEvent
    def first_show(self, event):
        seen.setdefault("livekit_loaded_at_first_show", "livekit" in sys.modules)
        show(self, event)
    main_window.MainWindow.showEvent = first_show
    on_state = main_window.MainWindow._on_state
    def watch(self, event):
        on_state(self, event)
        if event.connection.value == "connected" and "state" not in seen:
            seen["state"] = self.state_pill.text()
            seen["title"] = self.windowTitle()
            QTimer.singleShot(100, self.quit)
    main_window.MainWindow._on_state = watch
    paths = resolve_paths(sys.argv[1]).ensure()
    seen["exit"] = run_gui(paths, SettingsStore(paths.settings_file).load(), demo=True)
    seen["livekit_loaded_at_exit"] = "livekit" in sys.modules
    print(json.dumps(seen))
    """
)


@pytest.mark.audio
@pytest.mark.timeout(90)
def test_run_gui_demo_paints_before_livekit_then_talks_and_quits(tmp_path: Path) -> None:
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    environment.pop("OPENAI_API_VERSION", None)
    result = subprocess.run(
        [sys.executable, "-c", RUN_DEMO, str(tmp_path / "profile")],
        capture_output=True, text=True, timeout=80, env=environment, cwd=REPO, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["livekit_loaded_at_first_show"] is False  # the window painted first
    assert seen["livekit_loaded_at_exit"] is True
    assert seen["state"].startswith("Connected") and "offline demo" in seen["state"]
    assert "offline demo" in seen["title"]
    assert seen["exit"] == 0
    assert (tmp_path / "profile" / "window.ini").exists()  # size and position remembered


RUN_CONFIGURED = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QTimer
    import azassist.ui.main_window as main_window
    from azassist.__main__ import main

    seen = {"imported_with_the_window_module": sorted(name for name in ("pydantic", "keyring", "qasync", "asyncio") if name in sys.modules)}
    show = main_window.MainWindow.showEvent
    def first_show(self, event):
        seen.setdefault("loaded_at_first_show", sorted(name for name in ("pydantic", "keyring", "qasync", "livekit", "logging.handlers", "azassist.core.events", "azassist.ui.tray", "dataclasses") if name in sys.modules))
        from PySide6 import QtGui, QtWidgets
        seen.setdefault("qt_classes_at_first_show", sorted(name for name in ("QStyle", "QSystemTrayIcon") if name in vars(QtWidgets)) + sorted(name for name in ("QTextFormat", "QTextCharFormat", "QTextCursor") if name in vars(QtGui)))
        seen.setdefault("state_at_first_show", self.state_pill.text())
        seen.setdefault("toolbar_at_first_show", not self.toolbar.isHidden())
        show(self, event)
    main_window.MainWindow.showEvent = first_show
    finish = main_window.MainWindow.finish_start_up
    def finished(self, load, **options):
        finish(self, load, **options)
        seen["state"] = self.state_pill.text()
        seen["endpoint"] = self.endpoint_label.text()
        seen["page"] = "conversation" if self.pages.currentWidget() is self.conversation_page else "welcome"
        seen["banner"] = "" if self.banner.isHidden() else self.banner.message.text()
        from PySide6.QtWidgets import QApplication
        style = QApplication.style()  # the style sheet's style, over the one chosen at construction
        seen["style"] = [item.metaObject().className() for item in (style, *style.children())]
        seen["arguments"] = QApplication.arguments()
        QTimer.singleShot(50, self.quit)
    main_window.MainWindow.finish_start_up = finished
    seen["exit"] = main(["--config-dir", sys.argv[1]])
    print(json.dumps(seen))
    """
)


def _start_configured(tmp_path: Path, saved: dict) -> dict:
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "settings.json").write_text(json.dumps(saved))
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", RUN_CONFIGURED, str(profile)],
        capture_output=True, text=True, timeout=80, env=environment, cwd=REPO, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(90)
def test_a_configured_start_paints_the_window_before_settings_keyring_and_loop(tmp_path: Path) -> None:
    seen = _start_configured(tmp_path, {"connection": {"endpoint": "http://127.0.0.1:9", "deployment": "gpt-realtime"}})
    assert seen["imported_with_the_window_module"] == []
    assert seen["loaded_at_first_show"] == []  # the frame is on screen before any of them
    assert seen["qt_classes_at_first_show"] == []  # PySide builds these Python classes on first use, 6 ms for QStyle
    assert seen["state_at_first_show"] == "Starting…" and seen["toolbar_at_first_show"]
    assert seen["state"] == "Disconnected" and seen["endpoint"] == "gpt-realtime @ 127.0.0.1"
    assert seen["page"] == "conversation" and seen["banner"] == ""
    assert "QFusionStyle" in seen["style"] and "-style" not in seen["arguments"]  # Qt took its argument
    assert seen["exit"] == 0
    log = (tmp_path / "profile" / "logs" / "azassist.log").read_text()  # started right after the paint
    assert "starting: run" in log and "window painted" in log


@pytest.mark.timeout(90)
def test_a_configured_looking_file_that_fails_validation_still_says_so(tmp_path: Path) -> None:
    """The early window guessed "configured"; the real load kept the file aside: welcome, and the notice."""
    seen = _start_configured(tmp_path, {"connection": {"endpoint": "http://example.com", "deployment": "d"}})
    assert seen["state_at_first_show"] == "Starting…"
    assert seen["page"] == "welcome"
    assert "could not be read" in seen["banner"]
    assert list((tmp_path / "profile").glob("settings.json.invalid-*"))
    assert seen["exit"] == 0
    log = (tmp_path / "profile" / "logs" / "azassist.log").read_text()  # the log started before the settings
    assert "settings: Your settings file could not be read" in log


@pytest.mark.asyncio
async def test_the_window_remembers_its_size_and_position(paths: AppPaths) -> None:
    async with open_window(paths, Settings()) as h:
        h.window.resize(640, 480)
        h.window.move(40, 30)
        placed = h.window.geometry()
    assert placed.width() != 900  # really changed from the harness's size
    # Closing saved the geometry; the next window opens where this one was.
    async with open_window(paths, Settings(), size=None) as h:
        assert h.window.geometry() == placed


@pytest.mark.asyncio
async def test_every_action_has_a_shortcut_or_menu_and_every_control_a_name(paths: AppPaths) -> None:
    async with open_window(paths, Settings.model_validate({"connection": {"endpoint": "https://x.openai.azure.com", "deployment": "d"}})) as h:
        window = h.window
        shortcuts = {a.text(): a.shortcut().toString() for a in window.actions() if not a.shortcut().isEmpty()}
        assert shortcuts["Connect"] == "Ctrl+K"
        assert shortcuts["Interrupt"] == "Esc"
        assert shortcuts["Mute"] == "Ctrl+M"
        assert shortcuts["Switch hands-free / push-to-talk"] == "Ctrl+T"
        assert shortcuts["New conversation"] == "Ctrl+N"
        assert shortcuts["Export…"] == "Ctrl+E"
        assert shortcuts["Settings…"] == "Ctrl+,"
        assert shortcuts["Type a message"] == "Ctrl+L"
        assert shortcuts["Offline demo"] == "Ctrl+Shift+D" and shortcuts["Audio check…"] == "Ctrl+Shift+A"
        for action in window.actions():
            if action not in (window.hands_free_action, window.ptt_mode_action, window.ptt_tray_action):
                assert not action.shortcut().isEmpty(), action.text()  # the two modes share Ctrl+T
        in_menus = {a.text() for menu in window.menuBar().findChildren(type(window.menuBar().actions()[0].menu())) for a in menu.actions()}
        for action in window.actions():
            assert isinstance(action, QAction)
            if action is window.ptt_tray_action:
                continue  # a tray-only item
            assert action.text() in in_menus, action.text()
        unnamed = [
            widget for widget in window.conversation_page.findChildren(QWidget)
            if isinstance(widget, (QAbstractButton, QLineEdit)) and widget.isVisibleTo(window)
            and not (widget.accessibleName() or (isinstance(widget, QAbstractButton) and widget.text()))
        ]
        assert unnamed == []
        for action in window.toolbar.actions():
            button = window.toolbar.widgetForAction(action)
            if isinstance(button, QAbstractButton):
                assert button.accessibleName(), action.text()
        assert window.transcript.accessibleName() == "Conversation transcript"
        assert window.controls.mic_meter.accessibleName() == "Microphone level"


@pytest.mark.asyncio
async def test_the_hold_key_and_theme_follow_the_settings(paths: AppPaths) -> None:
    async with open_window(paths, Settings()) as h:
        window = h.window
        from azassist.ui.main_window import _spec

        window.editor.propose(_spec("ui", "push_to_talk_key"), "F9")
        assert window.ptt_key() == Qt.Key.Key_F9.value
        assert window.controls.ptt_button.text() == "Hold to talk  (F9)"
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        window.editor.propose(_spec("ui", "theme"), Theme.DARK)
        assert is_dark(app.palette())
        assert "#8ab4f8" in window.controls.styleSheet()  # the talk panel's own sheet follows
        window.editor.propose(_spec("ui", "theme"), Theme.LIGHT)
        assert not is_dark(app.palette())
        assert "#1a56c4" in window.controls.styleSheet() and "#8ab4f8" not in window.controls.styleSheet()
        assert app.palette().color(QPalette.ColorRole.Window).lightness() > 200
    apply_theme(app, Theme.LIGHT)


@pytest.mark.asyncio
async def test_closing_keeps_running_in_the_tray_when_asked(paths: AppPaths) -> None:
    async with open_window(paths, Settings.model_validate({"ui": {"keep_in_tray": True}})) as h:
        window = h.window
        menu_texts = [a.text() for a in window.tray.menu.actions()]
        assert "Mute" in menu_texts and "Talk (click again to send)" in menu_texts and "Quit" in menu_texts
        window.tray.available = True  # as on a desktop with a tray
        window.close()
        assert window.isHidden() and not window._closed.is_set()  # hidden, still running
        window.tray.toggleWindow.emit()
        assert window.isVisible()
        window.quit()  # Quit really quits
        assert window._closed.is_set()


def test_an_unreadable_settings_file_is_said_not_fatal(qtbot: QtBot, paths: AppPaths) -> None:
    from azassist.core.settings import SettingsStore
    from azassist.ui.main_window import MainWindow

    paths.settings_file.write_text("{ this is not json")
    load = SettingsStore(paths.settings_file).load()
    window = MainWindow(paths, load, offer=EnvironmentOffer())
    qtbot.addWidget(window)
    assert not window.banner.isHidden()
    assert "could not be read" in window.banner.message.text()
    assert window.banner.action_labels() == ["Open settings"]
    QApplication.instance().removeEventFilter(window)


@pytest.mark.parametrize("theme", [Theme.LIGHT, Theme.DARK])
@pytest.mark.parametrize("hands_free", [True, False])
def test_the_style_sheet_set_after_the_first_paint_changes_nothing_it_shows(
    qtbot: QtBot, paths: AppPaths, theme: Theme, hands_free: bool
) -> None:
    """Start-up paints the frame before the application's style sheet (it costs ~5 ms):
    the frame must look exactly the same with it."""
    from azassist.ui.main_window import MainWindow

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyleSheet("")
    apply_theme(app, theme, with_style_sheet=False)
    window = MainWindow(paths, hands_free=hands_free)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    talk = window.controls.talk_stack.currentWidget()
    assert talk.height() >= 56 and window.controls.talk_stack.height() >= talk.height()  # controls.qss: not clipped
    before = window.grab().toImage()
    apply_style_sheet(app)
    assert app.styleSheet()  # the sheet is really set
    qtbot.wait(50)  # the re-polish posts layout requests; let them run
    after = window.grab().toImage()
    assert before.size() == after.size()
    assert before == after, "the window changed when the application's style sheet arrived"
    apply_theme(app, Theme.LIGHT)
