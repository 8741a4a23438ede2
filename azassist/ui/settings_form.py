"""Settings panes generated from the settings schema, with inline validation.

Every row comes from a pydantic field: its title, description, range (ge/le, lengths) and
``json_schema_extra`` hints (apply, choices, labels, multiline, step, mode, devices, widget,
advanced, requires). Adding a field to ``azassist.core.settings`` adds it here; nothing is
copied by hand. Values are validated by the schema itself (``with_value``) as they are typed.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from PySide6.QtCore import QObject, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from azassist.core.settings import Settings, SettingsStore, with_value

log = logging.getLogger(__name__)

APPLY_NOTES = {
    "reconnect": "Applies on next connect.",
    "restart": "Applies after restarting azassist.",
    "live": "",
}



# --- the schema, read ---------------------------------------------------------------------
@dataclass(frozen=True)
class FieldSpec:
    """One setting as the panes need it, read from its pydantic field."""

    group: str
    name: str
    title: str
    description: str
    annotation: Any
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.group}.{self.name}"

    @property
    def apply(self) -> str:
        return str(self.extra.get("apply", "reconnect"))

    @property
    def is_enum(self) -> bool:
        return isinstance(self.annotation, type) and issubclass(self.annotation, enum.Enum)

    def label_for(self, value: Any) -> str:
        raw = value.value if isinstance(value, enum.Enum) else value
        labels = self.extra.get("labels") or {}
        return str(labels.get(raw, str(raw).replace("_", " ").capitalize()))

    @classmethod
    def from_field(cls, group: str, name: str, info: FieldInfo) -> FieldSpec:
        minimum = maximum = max_length = None
        for constraint in info.metadata:
            if isinstance(constraint, annotated_types.Ge):
                minimum = float(constraint.ge)  # type: ignore[arg-type]
            elif isinstance(constraint, annotated_types.Le):
                maximum = float(constraint.le)  # type: ignore[arg-type]
            elif isinstance(constraint, annotated_types.MaxLen):
                max_length = constraint.max_length
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        return cls(
            group=group,
            name=name,
            title=info.title or name.replace("_", " ").capitalize(),
            description=info.description or "",
            annotation=info.annotation,
            default=info.default,
            minimum=minimum,
            maximum=maximum,
            max_length=max_length,
            extra=dict(extra),
        )


def group_model(group: str) -> type[BaseModel]:
    model = Settings.model_fields[group].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    return model


def group_title(group: str) -> str:
    return Settings.model_fields[group].title or group.replace("_", " ").capitalize()


def field_specs(group: str) -> list[FieldSpec]:
    return [FieldSpec.from_field(group, name, info) for name, info in group_model(group).model_fields.items()]


def plain_messages(error: ValidationError) -> list[str]:
    return [str(item["msg"]).removeprefix("Value error, ") for item in error.errors()]


# --- the model the panes edit ---------------------------------------------------------------
class SettingsEditor(QObject):
    """The settings being edited: validated drafts, saved when valid (live) or on commit.

    ``committed`` carries the saved settings and the keys ("group.field") that changed, so
    the window can send live changes to the engine and say which wait for a reconnect.
    """

    committed = Signal(object, object)  # Settings, frozenset[str]
    draftChanged = Signal(object)  # Settings
    reloaded = Signal(object)  # Settings: widgets must show these values

    TEXT_DELAY_MS = 600  # typing is saved after a pause, not on every key

    def __init__(
        self, settings: Settings, store: SettingsStore | None, *, live: bool = True, parent: QObject | None = None
    ) -> None:
        # Give it a parent: a parentless editor is Python's to delete, and the cycle collector
        # may do that in an audio thread, where its timer (running while the user types)
        # cannot be stopped and fires later at freed memory.
        super().__init__(parent)
        self.settings = settings
        self.draft = settings
        self.store = store
        self.live = live
        self.errors: dict[str, str] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.TEXT_DELAY_MS)
        self._timer.timeout.connect(self.commit)

    def propose(self, spec: FieldSpec, value: Any, *, typing: bool = False) -> str | None:
        """Validate one new value; returns the problem in plain words, or None."""
        try:
            draft = with_value(self.draft, spec.group, spec.name, value)
        except ValidationError as exc:
            message = " ".join(plain_messages(exc))
            self.errors[spec.key] = message
            return message
        self.errors.pop(spec.key, None)
        self.draft = draft
        self.draftChanged.emit(draft)
        if self.live:
            if typing:
                self._timer.start()
            else:
                self.commit()
        return None

    def commit(self) -> Settings:
        """Save the draft if it differs; the window hears about it through ``committed``."""
        self._timer.stop()
        changed = changed_keys(self.settings, self.draft)
        if not changed:
            return self.settings
        if self.store is not None:
            self.store.save(self.draft)
        self.settings = self.draft
        self.committed.emit(self.draft, frozenset(changed))
        return self.settings

    def replace(self, settings: Settings) -> Settings:
        """Save a whole new set of settings (e.g. the first-run form) and show it."""
        self.draft = settings
        self.errors.clear()
        committed = self.commit()
        self.reloaded.emit(committed)
        self.draftChanged.emit(committed)
        return committed

    def reload(self, settings: Settings) -> None:
        """Settings changed elsewhere (e.g. the hands-free switch): show them."""
        self._timer.stop()
        self.settings = self.draft = settings
        self.errors.clear()
        self.reloaded.emit(settings)
        self.draftChanged.emit(settings)


def changed_keys(before: Settings, after: Settings) -> set[str]:
    old, new = before.model_dump(), after.model_dump()
    keys = set()
    for group, values in new.items():
        if isinstance(values, dict):
            keys |= {f"{group}.{name}" for name, value in values.items() if old[group].get(name) != value}
    return keys


# --- one editor per kind of field ---------------------------------------------------------------
class FieldEditor(QWidget):
    """A value widget. ``edited(value, typing)``: the user changed it."""

    edited = Signal(object, bool)

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def focus_widget(self) -> QWidget:
        return self

    def _describe(self, widget: QWidget) -> None:
        widget.setAccessibleName(self.spec.title)
        widget.setAccessibleDescription(self.spec.description)
        widget.setToolTip(self.spec.description)


class BoolEditor(FieldEditor):
    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.box = QCheckBox(spec.title)
        self._describe(self.box)
        self.box.toggled.connect(lambda checked: self.edited.emit(checked, False))
        self._layout.addWidget(self.box)
        self._layout.addStretch(1)

    def value(self) -> bool:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.box):
            self.box.setChecked(bool(value))

    def focus_widget(self) -> QWidget:
        return self.box


class ChoiceEditor(FieldEditor):
    """Enums (with their labels) and strings with suggested ``choices`` (editable: custom)."""

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.combo = QComboBox()
        self._describe(self.combo)
        if spec.is_enum:
            for member in spec.annotation:
                self.combo.addItem(spec.label_for(member), member)
            self.combo.currentIndexChanged.connect(lambda _i: self.edited.emit(self.value(), False))
        else:
            editable = bool(spec.extra.get("editable"))
            self.combo.setEditable(editable)
            for choice in spec.extra.get("choices", []):
                self.combo.addItem(str(choice), str(choice))
            if editable:
                line = self.combo.lineEdit()
                assert line is not None  # an editable combo box always has one
                line.setPlaceholderText("type a name")
                line.textEdited.connect(lambda text: self.edited.emit(text, True))
                line.editingFinished.connect(lambda: self.edited.emit(self.value(), False))
            self.combo.activated.connect(lambda _i: self.edited.emit(self.value(), False))
        self.combo.setMinimumWidth(220)
        self._layout.addWidget(self.combo)
        self._layout.addStretch(1)

    def value(self) -> Any:
        if self.spec.is_enum:
            return self.combo.currentData()
        return self.combo.currentText().strip()

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.combo):
            index = self.combo.findData(value)
            if index < 0 and not self.spec.is_enum:
                self.combo.addItem(str(value), str(value))
                index = self.combo.count() - 1
            if index >= 0:
                self.combo.setCurrentIndex(index)

    def focus_widget(self) -> QWidget:
        return self.combo


class DeviceEditor(FieldEditor):
    """Audio devices by name; empty means the system default; the list refreshes itself."""

    def __init__(self, spec: FieldSpec, list_devices: Callable[[str], list[str]], parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.kind = str(spec.extra.get("devices", "input"))
        self.list_devices = list_devices
        self.combo = QComboBox()
        self._describe(self.combo)
        self.combo.setMinimumWidth(320)
        self.combo.activated.connect(self._chosen)
        self._layout.addWidget(self.combo, 1)
        self._current = ""
        self.refresh()

    def _chosen(self, _index: int) -> None:
        self._current = self.value()
        self.edited.emit(self._current, False)

    def refresh(self) -> None:
        """Re-read the device list, keeping the chosen device even if it is unplugged."""
        try:
            names = self.list_devices(self.kind)
        except Exception:  # a broken audio stack shows an empty list
            log.exception("could not list the %s devices", self.kind)
            names = []
        wanted = [("", "System default")] + [(name, name) for name in names]
        if self._current and self._current not in names:
            wanted.append((self._current, f"{self._current} (not connected)"))
        existing = [(self.combo.itemData(i), self.combo.itemText(i)) for i in range(self.combo.count())]
        if existing == wanted:
            return
        with QSignalBlocker(self.combo):
            self.combo.clear()
            for data, text in wanted:
                self.combo.addItem(text, data)
            self.combo.setCurrentIndex(max(0, self.combo.findData(self._current)))

    def value(self) -> str:
        return str(self.combo.currentData() or "")

    def set_value(self, value: Any) -> None:
        self._current = str(value or "")
        self.refresh()
        with QSignalBlocker(self.combo):
            self.combo.setCurrentIndex(max(0, self.combo.findData(self._current)))

    def focus_widget(self) -> QWidget:
        return self.combo


class NumberEditor(FieldEditor):
    """A slider for quick changes and a spin box for exact values, kept in step."""

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.is_int = spec.annotation is int
        step = float(spec.extra.get("step", 1 if self.is_int else 0.05))
        minimum = float(spec.minimum if spec.minimum is not None else 0)
        maximum = float(spec.maximum if spec.maximum is not None else (10_000 if self.is_int else 10.0))
        self.step = step
        self.minimum = minimum
        self.spin: QSpinBox | QDoubleSpinBox
        if self.is_int:
            self.spin = QSpinBox()
            self.spin.setRange(int(minimum), int(maximum))
            self.spin.setSingleStep(int(step))
            if spec.name.endswith("_ms"):
                self.spin.setSuffix(" ms")
        else:
            self.spin = QDoubleSpinBox()
            self.spin.setRange(minimum, maximum)
            self.spin.setSingleStep(step)
            self.spin.setDecimals(2)
        self.spin.setKeyboardTracking(False)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, round((maximum - minimum) / step))
        self.slider.setPageStep(max(1, round(self.slider.maximum() / 10)))
        self._describe(self.spin)
        self._describe(self.slider)
        self.slider.setAccessibleName(f"{spec.title} slider")
        self.slider.valueChanged.connect(self._slider_moved)
        self.spin.valueChanged.connect(self._spin_changed)
        self._layout.addWidget(self.slider, 1)
        self._layout.addWidget(self.spin)
        self.spin.setMinimumWidth(96)

    def _slider_moved(self, position: int) -> None:
        value = self.minimum + position * self.step
        with QSignalBlocker(self.spin):
            self._show_in_spin(value)
        self.edited.emit(self.value(), False)

    def _show_in_spin(self, value: float) -> None:
        if isinstance(self.spin, QSpinBox):
            self.spin.setValue(round(value))
        else:
            self.spin.setValue(round(value, 4))

    def _spin_changed(self, _value: float) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setValue(round((self.spin.value() - self.minimum) / self.step))
        self.edited.emit(self.value(), False)

    def value(self) -> float | int:
        return int(self.spin.value()) if self.is_int else round(float(self.spin.value()), 4)

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.spin), QSignalBlocker(self.slider):
            self._show_in_spin(float(value))
            self.slider.setValue(round((float(value) - self.minimum) / self.step))

    def focus_widget(self) -> QWidget:
        return self.spin


class TextEditor(FieldEditor):
    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.line = QLineEdit()
        self._describe(self.line)
        self.line.setPlaceholderText(str(spec.extra.get("placeholder", "")))
        if spec.max_length:
            self.line.setMaxLength(spec.max_length)
        self.line.setClearButtonEnabled(True)
        self.line.textEdited.connect(lambda text: self.edited.emit(text, True))
        self.line.editingFinished.connect(lambda: self.edited.emit(self.value(), False))
        self._layout.addWidget(self.line, 1)

    def value(self) -> str:
        return self.line.text()

    def set_value(self, value: Any) -> None:
        if self.line.text() != str(value):
            self.line.setText(str(value))

    def focus_widget(self) -> QWidget:
        return self.line


class MultilineEditor(FieldEditor):
    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.text = QPlainTextEdit()
        self._describe(self.text)
        self.text.setTabChangesFocus(True)
        self.text.setMinimumHeight(120)
        self.text.textChanged.connect(lambda: self.edited.emit(self.value(), True))
        self._layout.addWidget(self.text, 1)

    def value(self) -> str:
        return self.text.toPlainText()

    def set_value(self, value: Any) -> None:
        if self.text.toPlainText() != str(value):
            with QSignalBlocker(self.text):
                self.text.setPlainText(str(value))

    def focus_widget(self) -> QWidget:
        return self.text


RESERVED_KEYS = {"Esc": "Esc interrupts the assistant", "Return": "Enter sends a message", "Tab": "Tab moves the focus"}


class KeyEditor(FieldEditor):
    """Press the key to use; one key, no modifiers (it is held down while talking)."""

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.edit = QKeySequenceEdit()
        self.edit.setMaximumSequenceLength(1)
        self.edit.setClearButtonEnabled(True)
        self._describe(self.edit)
        self.edit.editingFinished.connect(lambda: self.edited.emit(self.value(), False))
        self._layout.addWidget(self.edit)
        self._layout.addStretch(1)

    def value(self) -> str:
        return self.edit.keySequence().toString(QKeySequence.SequenceFormat.PortableText)

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.edit):
            self.edit.setKeySequence(QKeySequence.fromString(str(value), QKeySequence.SequenceFormat.PortableText))

    def focus_widget(self) -> QWidget:
        return self.edit


def key_problem(text: str) -> str | None:
    """Why a push-to-talk key cannot be used, or None."""
    sequence = QKeySequence.fromString(text, QKeySequence.SequenceFormat.PortableText)
    modifiers = sequence[0].keyboardModifiers() if sequence.count() else None  # type: ignore[index]
    if sequence.count() != 1 or modifiers != Qt.KeyboardModifier.NoModifier:
        return "Choose a single key without Ctrl, Alt or Shift"
    if text in RESERVED_KEYS:
        return f"{RESERVED_KEYS[text]}; choose another key"
    return None


def make_editor(spec: FieldSpec, list_devices: Callable[[str], list[str]]) -> FieldEditor:
    extra = spec.extra
    if spec.annotation is bool:
        return BoolEditor(spec)
    if spec.is_enum or extra.get("choices"):
        return ChoiceEditor(spec)
    if extra.get("devices"):
        return DeviceEditor(spec, list_devices)
    if extra.get("widget") == "key":
        return KeyEditor(spec)
    if spec.annotation in (int, float):
        return NumberEditor(spec)
    if extra.get("multiline"):
        return MultilineEditor(spec)
    return TextEditor(spec)


# --- a pane: the rows of one group ---------------------------------------------------------------
LABEL_WIDTH = 170


class FieldRow(QWidget):
    """Label, editor, the inline problem, why it is disabled, and the hint."""

    def __init__(self, spec: FieldSpec, editor: FieldEditor, *, apply_notes: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.editor = editor
        self.setObjectName(f"row-{spec.key}")
        self.label = QLabel("" if isinstance(editor, BoolEditor) else spec.title)
        self.label.setBuddy(editor.focus_widget())
        self.label.setFixedWidth(LABEL_WIDTH)
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        note = APPLY_NOTES.get(spec.apply, "") if apply_notes else ""
        if "next connect" in spec.description.lower():
            note = ""  # the description already says so
        description = spec.description.rstrip(".") + "." if spec.description else ""
        self.hint = QLabel(" ".join(part for part in (description, note) if part))
        self.hint.setWordWrap(True)
        self.hint.setProperty("role", "hint")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setProperty("role", "error")
        self.error.setAccessibleName(f"{spec.title} problem")
        self.error.hide()
        self.reason = QLabel()  # why the field is disabled, when it is
        self.reason.setWordWrap(True)
        self.reason.setProperty("role", "reason")
        self.reason.hide()
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 4, 0, 8)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(3)
        grid.setColumnStretch(1, 1)
        if isinstance(editor, MultilineEditor):
            self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            self.label.setContentsMargins(0, 4, 0, 0)
            grid.addWidget(self.label, 0, 0, Qt.AlignmentFlag.AlignTop)
        else:
            grid.addWidget(self.label, 0, 0)
        grid.addWidget(editor, 0, 1)
        grid.addWidget(self.error, 1, 1)
        grid.addWidget(self.reason, 2, 1)
        grid.addWidget(self.hint, 3, 1)

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def set_enabled(self, enabled: bool, reason: str = "") -> None:
        self.editor.setEnabled(enabled)
        self.reason.setText("" if enabled else reason)
        self.reason.setVisible(not enabled and bool(reason))


def labelled(label: str, widget: QWidget) -> QWidget:
    """A row for controls that are not settings, aligned with the generated rows."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 4, 0, 8)
    layout.setSpacing(14)
    caption = QLabel(label)
    caption.setFixedWidth(LABEL_WIDTH)
    caption.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
    caption.setBuddy(widget)
    layout.addWidget(caption)
    layout.addWidget(widget, 1)
    return row


class SettingsForm(QWidget):
    """All fields of one settings group, generated from the schema."""

    def __init__(
        self,
        group: str,
        editor: SettingsEditor,
        list_devices: Callable[[str], list[str]] | None = None,
        *,
        include_advanced: bool = True,
        apply_notes: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.group = group
        self._apply_notes = apply_notes
        self.settings_editor = editor
        self.capabilities: dict[str, tuple[bool, str]] = {}
        self.rows: dict[str, FieldRow] = {}
        self.extras: dict[str, QWidget] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._advanced_rows: list[FieldRow] = []
        self._advanced_toggle: QToolButton | None = None
        devices = list_devices or (lambda _kind: [])
        # a "custom" field has a pane of its own (e.g. Tools › MCP servers, ui/tools_pane.py)
        specs = [spec for spec in field_specs(group) if spec.extra.get("widget") != "custom"]
        for spec in specs:
            if not spec.extra.get("advanced"):
                self._add_row(spec, devices)
        advanced = [spec for spec in specs if spec.extra.get("advanced")] if include_advanced else []
        if advanced:
            toggle = QToolButton()
            toggle.setText("Advanced")
            toggle.setCheckable(True)
            toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            toggle.setArrowType(Qt.ArrowType.RightArrow)
            toggle.setAutoRaise(True)
            toggle.setAccessibleName(f"Show advanced {group_title(group).lower()} settings")
            toggle.toggled.connect(self._toggle_advanced)
            self._layout.addWidget(toggle, 0, Qt.AlignmentFlag.AlignLeft)
            self._advanced_toggle = toggle
            self._advanced_rows = [self._add_row(spec, devices) for spec in advanced]
        self._layout.addStretch(1)
        editor.draftChanged.connect(self._update_dependent_rows)
        editor.reloaded.connect(self.show_values)
        self.show_values(editor.draft)
        values = getattr(editor.draft, group)
        if self._advanced_toggle is not None:
            # Advanced settings someone already changed stay in view.
            changed = any(getattr(values, row.spec.name) != row.spec.default for row in self._advanced_rows)
            self._advanced_toggle.setChecked(changed)
            self._toggle_advanced(changed)

    def _add_row(self, spec: FieldSpec, list_devices: Callable[[str], list[str]]) -> FieldRow:
        row = FieldRow(spec, make_editor(spec, list_devices), apply_notes=self._apply_notes)
        self.rows[spec.name] = row
        self._layout.addWidget(row)
        row.editor.edited.connect(lambda value, typing, row=row: self._edited(row, value, typing))
        return row

    def add_widget_after(self, name: str, widget: QWidget, label: str = "", key: str = "") -> QWidget:
        """Controls that are not settings (API key, Test connection), placed after a field."""
        row = labelled(label, widget)
        anchor = self.extras.get(f"after:{name}") or self.rows[name]
        self._layout.insertWidget(self._layout.indexOf(anchor) + 1, row)
        self.extras[f"after:{name}"] = row
        if key:
            self.extras[key] = row
        return row

    def _toggle_advanced(self, shown: bool) -> None:
        if self._advanced_toggle is not None:
            self._advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self._update_dependent_rows(self.settings_editor.draft)

    def _edited(self, row: FieldRow, value: Any, typing: bool) -> None:
        problem = key_problem(value) if isinstance(row.editor, KeyEditor) else None
        if problem is None:
            problem = self.settings_editor.propose(row.spec, value, typing=typing)
        row.show_error(problem)

    def flush(self) -> list[str]:
        """Validate what is shown now (a value still being typed counts); the problems."""
        problems = []
        for row in self.rows.values():
            if not row.isHidden():
                self._edited(row, row.editor.value(), False)
                if row.error.text():
                    problems.append(f"{row.spec.title}: {row.error.text()}")
        return problems

    def show_values(self, settings: Settings) -> None:
        values = getattr(settings, self.group)
        for name, row in self.rows.items():
            row.editor.set_value(getattr(values, name))
            row.show_error(None)
        self._update_dependent_rows(settings)

    def set_capability(self, key: str, supported: bool, reason: str) -> None:
        """The engine said whether a setting works with the protocol in use."""
        self.capabilities[key] = (supported, reason)
        self._update_dependent_rows(self.settings_editor.draft)

    def _update_dependent_rows(self, settings: Settings) -> None:
        """Rows that only matter in some modes are hidden; ones the protocol refuses, disabled."""
        for row in self.rows.values():
            spec = row.spec
            visible = True
            for sibling, wanted in spec.extra.get("visible_when", {}).items():
                current = getattr(getattr(settings, spec.group), sibling)
                visible = visible and getattr(current, "value", current) == wanted
            if row in self._advanced_rows and self._advanced_toggle is not None:
                visible = visible and self._advanced_toggle.isChecked()
            row.setVisible(visible)
            row.set_enabled(*self._support(spec, settings))

    def _support(self, spec: FieldSpec, settings: Settings) -> tuple[bool, str]:
        if spec.key in self.capabilities and not self.capabilities[spec.key][0]:
            return self.capabilities[spec.key]
        if spec.extra.get("requires") == "preview" and not settings.connection.uses_preview_protocol:
            return False, (
                f"Not available: the current realtime protocol does not accept {spec.title.lower()}; "
                "only a preview deployment with a Legacy API version (Connection › Advanced) does."
            )
        return True, ""

    def refresh_devices(self) -> None:
        for row in self.rows.values():
            if isinstance(row.editor, DeviceEditor):
                row.editor.refresh()
