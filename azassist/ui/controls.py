"""The talk panel under the transcript: push-to-talk, meters and the message box."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from azassist.ui.resources import glyph
from azassist.ui.theme import style_sheet
from azassist.ui.widgets import LevelMeter, set_style_property


class PushToTalkButton(QPushButton):
    """Talks while held, by mouse, touch or the hold key (the window forwards the key)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pushToTalk")
        self.setAccessibleName("Push to talk")
        self.setAccessibleDescription("Hold to speak; release to send what you said")
        self.setIconSize(QSize(28, 28))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the hold key must not "click" it
        self.held = False
        self.setProperty("held", False)  # the style sheet's [held="true"]
        self._key = "Space"
        self._show_text()

    def set_key_name(self, key: str) -> None:
        self._key = key
        self.setToolTip(f"Hold this button, or hold {key}, while you speak")
        self._show_text()

    def set_held(self, held: bool) -> None:
        """Show the pressed look also when the hold key (not the mouse) holds it."""
        self.held = held
        self._show_text()
        set_style_property(self, "held", held)

    def _show_text(self) -> None:
        self.setText("Listening… release to send" if self.held else f"Hold to talk  ({self._key})")


class MessageBox(QLineEdit):
    """The typed-message box: Enter sends, Esc leaves it (so the hold key works again)."""

    escaped = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.text() == "":
            self.escaped.emit()
        super().keyPressEvent(event)


class ControlsPanel(QWidget):
    """Push-to-talk (or the hands-free indicator), the level meters and the message box."""

    pressed = Signal()
    released = Signal()
    sendRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._restyle()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 8, 12, 10)
        outer.setSpacing(8)

        talk_row = QHBoxLayout()
        talk_row.setSpacing(16)
        self.talk_stack = QStackedWidget(self)  # in the panel from the start: its style sheet sizes the button
        self.talk_stack.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.ptt_button = PushToTalkButton()
        self.ptt_button.setIcon(glyph("mic"))
        self.ptt_button.pressed.connect(self.pressed)
        self.ptt_button.released.connect(self.released)
        self.hands_free_label = QLabel("Hands-free: just talk")
        self.hands_free_label.setObjectName("handsFreeIndicator")
        self.hands_free_label.setProperty("active", False)  # the style sheet's [active="true"]
        self.hands_free_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hands_free_label.setAccessibleName("Hands-free listening")
        self.talk_stack.addWidget(self.ptt_button)
        self.talk_stack.addWidget(self.hands_free_label)
        self.talk_stack.setFixedHeight(self.ptt_button.sizeHint().height() + 8)
        talk_row.addWidget(self.talk_stack, 3)

        meters = QGridLayout()
        meters.setHorizontalSpacing(8)
        meters.setVerticalSpacing(6)
        self.mic_meter = LevelMeter("Microphone level")
        self.speaker_meter = LevelMeter("Speaker level")
        self.mic_icon = QLabel()
        self.mic_icon.setPixmap(glyph("mic").pixmap(16, 16))
        self.mic_icon.setToolTip("Microphone")
        speaker_icon = QLabel()
        speaker_icon.setPixmap(glyph("speaker").pixmap(16, 16))
        speaker_icon.setToolTip("Speaker")
        meters.addWidget(self.mic_icon, 0, 0)
        meters.addWidget(self.mic_meter, 0, 1)
        meters.addWidget(speaker_icon, 1, 0)
        meters.addWidget(self.speaker_meter, 1, 1)
        meters_box = QWidget()
        meters_box.setLayout(meters)
        meters_box.setMinimumWidth(160)
        meters_box.setMaximumWidth(240)
        talk_row.addWidget(meters_box, 1)
        outer.addLayout(talk_row)

        message_row = QHBoxLayout()
        self.message = MessageBox()
        self.message.setPlaceholderText("Type a message and press Enter")
        self.message.setAccessibleName("Message")
        self.message.setAccessibleDescription("Type a message to the assistant; Enter sends it")
        self.message.returnPressed.connect(self._send)
        self.send_button = QPushButton("Send")
        self.send_button.setIcon(glyph("send"))
        self.send_button.setAccessibleName("Send message")
        self.send_button.clicked.connect(self._send)
        message_row.addWidget(self.message, 1)
        message_row.addWidget(self.send_button)
        outer.addLayout(message_row)

    def _restyle(self) -> None:
        """The panel's own style sheet (resources/styles/controls.qss) in its palette's colours."""
        sheet = style_sheet(self.palette(), "controls")
        if sheet != self.styleSheet():
            self.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # a theme switch
            self._restyle()

    def warm_up(self) -> None:
        """What the first paint does not show, added after it.

        The message box's clear button appears only over typed text; its first use loads the
        style's standard icons (~3.5 ms, measured), so start-up adds it once the window is up.
        """
        self.message.setClearButtonEnabled(True)

    def _send(self) -> None:
        text = self.message.text().strip()
        if text:
            self.message.clear()
            self.sendRequested.emit(text)

    def set_hands_free(self, hands_free: bool) -> None:
        self.talk_stack.setCurrentWidget(self.hands_free_label if hands_free else self.ptt_button)

    def set_listening(self, active: bool, text: str) -> None:
        self.hands_free_label.setText(text)
        set_style_property(self.hands_free_label, "active", active)

    def set_muted(self, muted: bool) -> None:
        self.mic_icon.setPixmap(glyph("mic-off" if muted else "mic").pixmap(16, 16))
        self.mic_meter.setEnabled(not muted)
