"""The settings window: one generated pane per settings group, plus what is not a setting
(the API key, Test connection, instruction presets, the audio check)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from azassist.core.credentials import CredentialStore
from azassist.core.secrets import Secret
from azassist.core.settings import GROUPS, AuthMode, Settings
from azassist.ui.api_key import ApiKeyField
from azassist.ui.session import TestResult
from azassist.ui.settings_form import SettingsEditor, SettingsForm, group_title
from azassist.ui.widgets import LevelMeter, set_style_property

log = logging.getLogger(__name__)

BUILTIN_PRESETS: dict[str, str] = {
    "Friendly assistant": "You are a helpful, friendly voice assistant. Keep answers short and conversational.",
    "Concise expert": "You are an expert who answers precisely in one or two sentences. Ask a question back only when you must.",
    "Language tutor": "You are a patient language tutor. Speak slowly and simply, correct mistakes gently, and ask a follow-up question.",
    "Brainstorm partner": "You are an energetic brainstorming partner. Offer several short ideas, then ask which to explore.",
}


class PresetStore:
    """Saved instruction presets (built-ins plus the user's, in a small JSON file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def user_presets(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def all(self) -> dict[str, str]:
        return {**BUILTIN_PRESETS, **self.user_presets()}

    def save(self, name: str, text: str) -> None:
        presets = self.user_presets()
        presets[name] = text
        self._write(presets)

    def delete(self, name: str) -> None:
        presets = self.user_presets()
        presets.pop(name, None)
        self._write(presets)

    def _write(self, presets: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(presets, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


class PresetBar(QWidget):
    """Pick a saved set of instructions, save the current ones, delete your own."""

    def __init__(self, store: PresetStore, editor: SettingsEditor, form: SettingsForm, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.editor, self.form = store, editor, form
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setAccessibleName("Instruction presets")
        self.combo.setMinimumWidth(220)
        self.combo.activated.connect(self._chosen)
        self.save_button = QPushButton("Save as preset…")
        self.save_button.clicked.connect(self._ask_name)
        self.delete_button = QPushButton("Delete preset")
        self.delete_button.clicked.connect(self._delete)
        row.addWidget(self.combo)
        row.addWidget(self.save_button)
        row.addWidget(self.delete_button)
        row.addStretch(1)
        self.reload()

    def reload(self) -> None:
        self.combo.clear()
        self.combo.addItem("Choose a preset…", None)
        for name in self.store.all():
            self.combo.addItem(name, name)
        self.delete_button.setEnabled(bool(self.store.user_presets()))

    def _chosen(self, index: int) -> None:
        name = self.combo.itemData(index)
        if name:
            self.apply(name)

    def apply(self, name: str) -> None:
        text = self.store.all()[name]
        row = self.form.rows["instructions"]
        row.editor.set_value(text)
        row.show_error(self.editor.propose(row.spec, text))

    def save_current(self, name: str) -> None:
        self.store.save(name, self.editor.draft.model.instructions)
        self.reload()
        self.combo.setCurrentIndex(self.combo.findData(name))

    def _ask_name(self) -> None:
        name, ok = QInputDialog.getText(self, "Save instructions", "Name of the preset:")
        if ok and name.strip():
            self.save_current(name.strip())

    def _delete(self) -> None:
        name = self.combo.currentData()
        user = self.store.user_presets()
        if name in user:
            self.store.delete(name)
        elif user:
            self.store.delete(next(iter(user)))
        self.reload()


class SettingsDialog(QDialog):
    """Non-modal: changes are validated as typed and apply at once (or on next connect)."""

    reconnectRequested = Signal()
    audioCheckToggled = Signal(bool)

    def __init__(
        self,
        editor: SettingsEditor,
        credentials: CredentialStore,
        *,
        test_connection: Callable[[Settings, Secret | None], Awaitable[TestResult]],
        list_devices: Callable[[str], list[str]],
        refresh_devices: Callable[[], None] | None = None,
        presets: PresetStore,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("azassist settings")
        self.setObjectName("settingsDialog")
        self.editor = editor
        self._test_connection = test_connection
        self._refresh_devices = refresh_devices
        self.resize(860, 640)
        layout = QVBoxLayout(self)
        body = QHBoxLayout()
        self.nav = QListWidget()
        self.nav.setObjectName("settingsNav")
        self.nav.setAccessibleName("Settings sections")
        self.nav.setFixedWidth(180)
        self.stack = QStackedWidget()
        self.forms: dict[str, SettingsForm] = {}
        for group in GROUPS:
            form = SettingsForm(group, editor, list_devices)
            self.forms[group] = form
            page = QWidget()
            page_layout = QVBoxLayout(page)
            heading = QLabel(group_title(group))
            heading.setProperty("role", "title")
            page_layout.addWidget(heading)
            page_layout.addWidget(form)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(page)
            self.stack.addWidget(scroll)
            self.nav.addItem(group_title(group))
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.currentRowChanged.connect(lambda _row: self.refresh_devices())
        body.addWidget(self.nav)
        body.addWidget(self.stack, 1)
        layout.addLayout(body, 1)

        self._build_connection_extras(credentials)
        self.presets = PresetBar(presets, editor, self.forms["model"])
        self.forms["model"].add_widget_after("instructions", self.presets, "Presets")
        self._build_audio_extras()
        from azassist.ui.tools_pane import add_to_settings  # Tools › MCP servers (issue 21)

        self.mcp_servers = add_to_settings(self)

        footer = QHBoxLayout()
        self.notice = QFrame()
        self.notice.setObjectName("noticeBar")
        notice_row = QHBoxLayout(self.notice)
        notice_row.setContentsMargins(10, 4, 4, 4)
        self.notice_label = QLabel()
        self.notice_label.setWordWrap(True)
        self.reconnect_button = QPushButton("Reconnect now")
        self.reconnect_button.clicked.connect(self._reconnect)
        notice_row.addWidget(self.notice_label, 1)
        notice_row.addWidget(self.reconnect_button)
        self.notice.hide()
        footer.addWidget(self.notice, 1)
        footer.addStretch(0)
        self.saved_label = QLabel()
        self.saved_label.setProperty("role", "hint")
        footer.addWidget(self.saved_label)
        close = QPushButton("Close")
        close.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        close.setDefault(True)
        close.clicked.connect(self.close)
        footer.addWidget(close)
        layout.addLayout(footer)
        editor.committed.connect(lambda _s, _k: self.saved_label.setText("Saved."))
        editor.draftChanged.connect(self._on_draft)
        self._on_draft(editor.draft)
        self._device_timer = QTimer(self)
        self._device_timer.setInterval(4000)
        self._device_timer.timeout.connect(self.refresh_devices)
        self.nav.setCurrentRow(0)

    # --- connection ---------------------------------------------------------------------------
    def _build_connection_extras(self, credentials: CredentialStore) -> None:
        form = self.forms["connection"]
        self.key_field = ApiKeyField(credentials)
        form.add_widget_after("auth_mode", self.key_field, "API key", key="api_key")
        # here, not at the top: it brings azure-identity and the engine package, and this
        # module is imported before the window's first paint (PresetStore)
        from azassist.ui.entra_sign_in import EntraSignIn

        self.entra = EntraSignIn(self.editor)
        form.add_widget_after("entra_tenant", self.entra, "Account", key="entra")
        tester = QWidget()
        row = QVBoxLayout(tester)
        row.setContentsMargins(0, 0, 0, 0)
        self.test_button = QPushButton("Test connection")
        self.test_button.setAccessibleName("Test connection")
        self.test_button.clicked.connect(lambda: asyncio.ensure_future(self.run_connection_test()))
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        self.test_result.setAccessibleName("Connection test result")
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignLeft)
        row.addWidget(self.test_result)
        form.add_widget_after("api_version", tester, "")

    def _on_draft(self, settings: Settings) -> None:
        self.forms["connection"].extras["api_key"].setVisible(settings.connection.auth_mode is AuthMode.API_KEY)
        self.forms["connection"].extras["entra"].setVisible(settings.connection.auth_mode is AuthMode.ENTRA_ID)
        if settings.connection.host != self.key_field.host:
            self.key_field.set_host(settings.connection.host)

    async def run_connection_test(self) -> bool:
        """Connect with what the pane shows (and the key typed, if any); say what happened."""
        problems = self.forms["connection"].flush()
        if problems:
            self._show_test(False, " ".join(problems))
            return False
        settings = self.editor.commit() if self.editor.live else self.editor.draft
        self.test_button.setEnabled(False)
        self._show_test(None, f"Connecting to {settings.connection.host or 'the endpoint'}…")
        try:
            result = await self._test_connection(settings, self.key_field.typed_key())
        except Exception as exc:  # a bug must not leave the button dead
            log.exception("connection test failed")
            self._show_test(False, f"The test could not run: {type(exc).__name__}. Details are in the log.")
            return False
        finally:
            self.test_button.setEnabled(True)
        self._show_test(result.ok, result.message)
        return bool(result.ok)

    def _show_test(self, ok: bool | None, message: str) -> None:
        prefix = "" if ok is None else ("✔ " if ok else "✖ ")
        self.test_result.setText(prefix + message)
        set_style_property(self.test_result, "role", "hint" if ok is None else ("success" if ok else "error"))

    # --- audio --------------------------------------------------------------------------------
    def _build_audio_extras(self) -> None:
        form = self.forms["audio"]
        meter_box = QWidget()
        meter_row = QVBoxLayout(meter_box)
        meter_row.setContentsMargins(0, 0, 0, 0)
        self.input_meter = LevelMeter("Microphone level (settings)")
        meter_row.addWidget(self.input_meter)
        meter_hint = QLabel("Moves while you are connected or during the audio check.")
        meter_hint.setProperty("role", "hint")
        meter_row.addWidget(meter_hint)
        form.add_widget_after("input_device", meter_box, "Input level")
        check = QWidget()
        check_row = QVBoxLayout(check)
        check_row.setContentsMargins(0, 0, 0, 0)
        self.audio_check_button = QPushButton("Start audio check")
        self.audio_check_button.setCheckable(True)
        self.audio_check_button.setAccessibleName("Audio check")
        self.audio_check_button.toggled.connect(self._audio_check_toggled)
        self.audio_check_status = QLabel(
            "Speak after starting: a local stand-in plays your voice back through the whole "
            "pipeline, without any cloud."
        )
        self.audio_check_status.setWordWrap(True)
        self.audio_check_status.setProperty("role", "hint")
        check_row.addWidget(self.audio_check_button, 0, Qt.AlignmentFlag.AlignLeft)
        check_row.addWidget(self.audio_check_status)
        form.add_widget_after("auto_gain", check, "Audio check")

    def _audio_check_toggled(self, running: bool) -> None:
        self.audio_check_button.setText("Stop audio check" if running else "Start audio check")
        self.audioCheckToggled.emit(running)

    def set_audio_check_state(self, running: bool, message: str) -> None:
        with QSignalBlocker(self.audio_check_button):
            self.audio_check_button.setChecked(running)
            self.audio_check_button.setText("Stop audio check" if running else "Start audio check")
        self.audio_check_status.setText(message)

    def refresh_devices(self) -> None:
        """Re-enumerate while the Audio pane is in view, so a plugged-in headset appears."""
        if self.stack.currentIndex() != list(GROUPS).index("audio"):
            return
        if self._refresh_devices is not None:
            self._refresh_devices()
        self.forms["audio"].refresh_devices()

    # --- footer and lifecycle -----------------------------------------------------------------
    def note_applies_on_reconnect(self, titles: list[str]) -> None:
        """Say which saved changes wait for the next connect, with a way to do it now."""
        self.notice_label.setText(f"{', '.join(titles)}: applies on next connect.")
        self.notice.show()

    def _reconnect(self) -> None:
        self.notice.hide()
        self.reconnectRequested.emit()

    def show_group(self, group: str) -> None:
        self.nav.setCurrentRow(list(GROUPS).index(group))

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        self.key_field.refresh_backend()
        self.saved_label.clear()
        self.refresh_devices()
        self._device_timer.start()

    def closeEvent(self, event: object) -> None:
        self.editor.commit()  # a value still waiting for the typing pause is kept
        self._device_timer.stop()
        if self.audio_check_button.isChecked():
            self.audio_check_button.setChecked(False)
        super().closeEvent(event)  # type: ignore[arg-type]
