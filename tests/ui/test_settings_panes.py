"""Settings panes are generated from the schema, validate inline and save what is valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from azassist.core.credentials import CredentialStore, Secret
from azassist.core.settings import GROUPS, Settings, SettingsStore
from azassist.ui.session import TestResult
from azassist.ui.settings_dialog import BUILTIN_PRESETS, PresetStore, SettingsDialog
from azassist.ui.settings_form import (
    BoolEditor,
    ChoiceEditor,
    DeviceEditor,
    KeyEditor,
    MultilineEditor,
    NumberEditor,
    SettingsEditor,
    TextEditor,
    group_model,
)


def saved(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return tmp_path / "settings.json"


@pytest.fixture
def dialog(qtbot: QtBot, settings_file: Path, tmp_path: Path) -> SettingsDialog:
    async def no_test(settings: Settings, key: Secret | None) -> TestResult:
        raise AssertionError("not used here")

    store = SettingsStore(settings_file)
    editor = SettingsEditor(Settings(), store)
    made = SettingsDialog(
        editor, CredentialStore(), test_connection=no_test,
        list_devices=lambda direction: [f"Virtual {direction} device"], presets=PresetStore(tmp_path / "presets.json"),
    )
    qtbot.addWidget(made)
    made.show()
    return made


def type_text(qtbot: QtBot, widget: Any, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)
    widget.editingFinished.emit()


def test_every_schema_field_has_a_generated_row(dialog: SettingsDialog) -> None:
    for group in GROUPS:
        form = dialog.forms[group]
        fields = group_model(group).model_fields
        custom = {n for n, i in fields.items() if isinstance(i.json_schema_extra, dict) and i.json_schema_extra.get("widget") == "custom"}
        assert set(form.rows) == set(fields) - custom, group  # a custom field has its own pane (Tools › MCP servers)
        for name, row in form.rows.items():
            info = group_model(group).model_fields[name]
            assert row.spec.title == info.title
            assert row.hint.text().startswith(info.description.rstrip("."))  # the schema's words
            assert row.editor.focus_widget().accessibleName() == info.title
    kinds = {
        "connection.endpoint": TextEditor, "connection.auth_mode": ChoiceEditor, "voice.voice": ChoiceEditor,
        "voice.speed": NumberEditor, "model.instructions": MultilineEditor, "turn_detection.create_response": BoolEditor,
        "audio.input_device": DeviceEditor, "ui.push_to_talk_key": KeyEditor,
    }
    for key, kind in kinds.items():
        group, name = key.split(".")
        assert isinstance(dialog.forms[group].rows[name].editor, kind), key


def test_ranges_and_choices_come_from_the_schema(dialog: SettingsDialog) -> None:
    speed = dialog.forms["voice"].rows["speed"].editor
    assert isinstance(speed, NumberEditor)
    assert (speed.spin.minimum(), speed.spin.maximum(), speed.spin.singleStep()) == (0.25, 1.5, 0.05)
    voice = dialog.forms["voice"].rows["voice"].editor
    assert isinstance(voice, ChoiceEditor) and voice.combo.isEditable()  # the ten names plus custom
    assert [voice.combo.itemText(i) for i in range(10)] == [
        "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar",
    ]
    mode = dialog.forms["turn_detection"].rows["mode"].editor
    assert isinstance(mode, ChoiceEditor)
    assert [mode.combo.itemText(i) for i in range(3)] == ["Server VAD (hands-free)", "Semantic VAD", "Push-to-talk only"]


def test_connection_pane_validates_inline_and_saves_valid_values(
    qtbot: QtBot, dialog: SettingsDialog, settings_file: Path
) -> None:
    row = dialog.forms["connection"].rows["endpoint"]
    type_text(qtbot, row.editor.focus_widget(), "http://example.com")
    assert not row.error.isHidden() and "https://" in row.error.text()
    assert not settings_file.exists()  # nothing invalid is saved
    type_text(qtbot, row.editor.focus_widget(), "https://my-res.openai.azure.com")
    assert row.error.isHidden()
    assert saved(settings_file)["connection"]["endpoint"] == "https://my-res.openai.azure.com"
    deployment = dialog.forms["connection"].rows["deployment"]
    type_text(qtbot, deployment.editor.focus_widget(), "my realtime")
    assert "spaces" in deployment.error.text()
    type_text(qtbot, deployment.editor.focus_widget(), "gpt-realtime")
    assert saved(settings_file)["connection"]["deployment"] == "gpt-realtime"


def test_voice_pane_takes_a_listed_or_custom_voice_and_a_speed(
    qtbot: QtBot, dialog: SettingsDialog, settings_file: Path
) -> None:
    voice = dialog.forms["voice"].rows["voice"]
    combo = voice.editor.focus_widget()
    combo.setCurrentIndex(combo.findText("cedar"))
    combo.activated.emit(combo.currentIndex())
    assert saved(settings_file)["voice"]["voice"] == "cedar"
    type_text(qtbot, combo.lineEdit(), "not a voice!")
    assert not voice.error.isHidden() and "single word" in voice.error.text()
    type_text(qtbot, combo.lineEdit(), "my-custom-voice")
    assert saved(settings_file)["voice"]["voice"] == "my-custom-voice"
    speed = dialog.forms["voice"].rows["speed"].editor
    assert isinstance(speed, NumberEditor)
    speed.slider.setValue(speed.slider.maximum())
    assert saved(settings_file)["voice"]["speed"] == 1.5
    assert speed.spin.value() == 1.5


def test_model_pane_instructions_presets_and_temperature(
    qtbot: QtBot, dialog: SettingsDialog, settings_file: Path
) -> None:
    form = dialog.forms["model"]
    instructions = form.rows["instructions"].editor
    assert isinstance(instructions, MultilineEditor)
    instructions.text.setPlainText("Answer like a pirate.")
    dialog.editor.commit()  # what closing the dialog or the typing pause does
    assert saved(settings_file)["model"]["instructions"] == "Answer like a pirate."
    dialog.presets.apply("Concise expert")
    assert saved(settings_file)["model"]["instructions"] == BUILTIN_PRESETS["Concise expert"]
    instructions.text.setPlainText("My own style.")
    dialog.editor.commit()
    dialog.presets.save_current("Mine")
    assert PresetStore(dialog.presets.store.path).all()["Mine"] == "My own style."
    # Temperature: disabled with the reason while the GA protocol is in use.
    temperature = form.rows["temperature"]
    assert not temperature.editor.isEnabled()
    assert not temperature.reason.isHidden() and "preview" in temperature.reason.text()
    advanced = dialog.forms["connection"].rows["api_version"]
    type_text(qtbot, advanced.editor.focus_widget(), "2025-04-01-preview")
    assert temperature.editor.isEnabled() and temperature.reason.isHidden()
    # The engine can still say no, in its own words.
    form.set_capability("model.temperature", False, "Temperature is not supported by this API version.")
    assert not temperature.editor.isEnabled()
    assert temperature.reason.text() == "Temperature is not supported by this API version."


def test_model_pane_shows_the_tts_voice_only_for_text_plus_tts(dialog: SettingsDialog, settings_file: Path) -> None:
    form = dialog.forms["model"]
    assert form.rows["tts_voice"].isHidden()
    combo = form.rows["modalities"].editor.focus_widget()
    combo.setCurrentIndex(combo.findText("Text + separate voice (TTS)"))
    assert not form.rows["tts_voice"].isHidden()
    assert saved(settings_file)["model"]["modalities"] == "text_tts"


def test_turn_detection_pane_shows_what_each_mode_uses(dialog: SettingsDialog, settings_file: Path) -> None:
    form = dialog.forms["turn_detection"]
    def visible() -> set[str]:
        return {name for name, row in form.rows.items() if not row.isHidden()}
    assert {"threshold", "prefix_padding_ms", "silence_duration_ms"} <= visible()
    assert "eagerness" not in visible()
    combo = form.rows["mode"].editor.focus_widget()
    combo.setCurrentIndex(combo.findText("Semantic VAD"))
    assert "eagerness" in visible() and "threshold" not in visible()
    combo.setCurrentIndex(combo.findText("Push-to-talk only"))
    assert visible() == {"mode", "create_response", "interrupt_response"}
    assert saved(settings_file)["turn_detection"]["mode"] == "manual"
    combo.setCurrentIndex(combo.findText("Server VAD (hands-free)"))
    threshold = form.rows["threshold"].editor
    assert isinstance(threshold, NumberEditor)
    threshold.spin.setValue(0.7)  # type: ignore[arg-type]  # a QDoubleSpinBox
    silence = form.rows["silence_duration_ms"].editor
    assert isinstance(silence, NumberEditor)
    silence.spin.setValue(800)
    assert silence.spin.suffix() == " ms"
    saved_td = saved(settings_file)["turn_detection"]
    assert (saved_td["threshold"], saved_td["silence_duration_ms"]) == (0.7, 800)
    for name in ("create_response", "interrupt_response", "threshold", "eagerness"):
        assert form.rows[name].hint.text(), name  # a short hint on what each does


def test_audio_pane_lists_devices_and_saves_choices(dialog: SettingsDialog, settings_file: Path) -> None:
    form = dialog.forms["audio"]
    device = form.rows["input_device"].editor
    assert isinstance(device, DeviceEditor)
    assert [device.combo.itemText(i) for i in range(device.combo.count())] == ["System default", "Virtual input device"]
    device.combo.setCurrentIndex(1)
    device.combo.activated.emit(1)
    assert saved(settings_file)["audio"]["input_device"] == "Virtual input device"
    box = form.rows["echo_cancellation"].editor
    assert isinstance(box, BoolEditor)
    box.box.setChecked(False)
    assert saved(settings_file)["audio"]["echo_cancellation"] is False
    # A saved device that is unplugged stays chosen, marked, rather than vanishing.
    device.list_devices = lambda direction: []
    device.refresh()
    assert device.combo.currentText() == "Virtual input device (not connected)"


def test_interface_pane_key_must_be_one_plain_key(qtbot: QtBot, dialog: SettingsDialog, settings_file: Path) -> None:
    row = dialog.forms["ui"].rows["push_to_talk_key"]
    editor = row.editor
    assert isinstance(editor, KeyEditor)
    editor.edit.setKeySequence(QKeySequence("Ctrl+Space"))
    editor.edit.editingFinished.emit()
    assert not row.error.isHidden() and "single key" in row.error.text()
    editor.edit.setKeySequence(QKeySequence("Esc"))
    editor.edit.editingFinished.emit()
    assert "interrupts" in row.error.text()
    editor.edit.setKeySequence(QKeySequence(Qt.Key.Key_F9))
    editor.edit.editingFinished.emit()
    assert row.error.isHidden()
    assert saved(settings_file)["ui"]["push_to_talk_key"] == "F9"


def test_panes_say_when_a_change_waits_for_the_next_connect(dialog: SettingsDialog) -> None:
    assert "Applies on next connect." in dialog.forms["connection"].rows["deployment"].hint.text()
    assert "Applies on next connect." in dialog.forms["model"].rows["modalities"].hint.text()
    assert "Applies after restarting" in dialog.forms["ui"].rows["start_minimised"].hint.text()
    assert "next connect" not in dialog.forms["voice"].rows["speed"].hint.text()  # live
    dialog.note_applies_on_reconnect(["Voice"])
    assert not dialog.notice.isHidden() and "applies on next connect" in dialog.notice_label.text()


def test_labels_name_their_fields_for_screen_readers(dialog: SettingsDialog) -> None:
    for form in dialog.forms.values():
        for row in form.rows.values():
            label: QLabel = row.label
            assert label.buddy() is row.editor.focus_widget() or isinstance(row.editor, BoolEditor)


def test_typing_is_saved_after_a_pause_not_on_every_key(qtbot: QtBot, dialog: SettingsDialog, settings_file: Path) -> None:
    editor = dialog.forms["model"].rows["instructions"].editor
    assert isinstance(editor, MultilineEditor)
    editor.text.setPlainText("Typed slowly.")
    assert not settings_file.exists()
    qtbot.waitUntil(lambda: settings_file.exists(), timeout=5000)
    assert saved(settings_file)["model"]["instructions"] == "Typed slowly."
