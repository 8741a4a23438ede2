"""Small widgets of the window: level meters, the state pill and the error banner."""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from azassist.core.states import Activity, ConnectionState
from azassist.ui.theme import Colours

FLOOR_DB = -60.0
_INVISIBLE = 0.005  # of the meter's width: about a pixel, under where paintEvent draws a peak mark (0.01)


def set_style_property(widget: QWidget, name: str, value: object) -> None:
    """Set a property the style sheet selects on (``[active="true"]``) and restyle the widget.

    A style sheet reads properties only when it polishes a widget, so a change needs a
    re-polish; an unchanged value, or a widget not yet polished, needs none. Skipping
    ``style()`` there keeps PySide from building its QStyle class (~6 ms, measured) before
    the window's first paint: widgets start with their property set, so the first state
    shown changes nothing.
    """
    if widget.property(name) == value:
        return
    widget.setProperty(name, value)
    if widget.testAttribute(Qt.WidgetAttribute.WA_WState_Polished):
        style = widget.style()
        style.unpolish(widget)
        style.polish(widget)


def db_to_fraction(db: float) -> float:
    """dBFS (-inf..0) to 0..1 on a scale where -60 dB is silence."""
    if not math.isfinite(db) or db <= FLOOR_DB:
        return 0.0
    return min(1.0, (db - FLOOR_DB) / -FLOOR_DB)


class LevelMeter(QWidget):
    """A horizontal audio meter: RMS bar with a peak mark, decaying smoothly."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(name)
        self.setToolTip(name)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.rms_db = -math.inf
        self.peak_db = -math.inf
        self.updates = 0  # how many readings arrived: tests check the meter moved
        self._shown_rms = 0.0
        self._shown_peak = 0.0

    def sizeHint(self) -> QSize:
        return QSize(140, 10)

    def minimumSizeHint(self) -> QSize:
        return QSize(60, 8)

    def set_level(self, rms_db: float, peak_db: float) -> None:
        self.rms_db, self.peak_db = rms_db, peak_db
        self.updates += 1
        rms, peak = db_to_fraction(rms_db), db_to_fraction(peak_db)
        # Rise at once, fall gently, so speech reads as a level rather than flicker.
        shown_rms = rms if rms > self._shown_rms else self._shown_rms * 0.7 + rms * 0.3
        shown_peak = peak if peak > self._shown_peak else max(rms, self._shown_peak - 0.03)
        # the fall ends at an empty bar (below what paintEvent draws), not a tail of ever
        # smaller repaints
        shown_rms = shown_rms if shown_rms >= _INVISIBLE else 0.0
        shown_peak = shown_peak if shown_peak >= _INVISIBLE else 0.0
        description = f"{rms_db:.0f} dB" if math.isfinite(rms_db) else "silent"
        if description != self.accessibleDescription():
            self.setAccessibleDescription(description)
        if (shown_rms, shown_peak) != (self._shown_rms, self._shown_peak):
            self._shown_rms, self._shown_peak = shown_rms, shown_peak
            self.update()  # a reading that changes nothing on screen costs no repaint

    def reset(self) -> None:
        self.set_level(-math.inf, -math.inf)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        palette = self.palette()
        painter.setPen(palette.color(QPalette.ColorRole.Mid))
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        radius = rect.height() / 2
        painter.drawRoundedRect(rect, radius, radius)
        colours = Colours.for_palette(palette)
        fill = colours.good if self._shown_rms < 0.85 else colours.warning
        if not self.isEnabled():
            fill = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
        width = rect.width() * self._shown_rms
        if width > 1:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(rect.left(), rect.top(), width, rect.height()), radius, radius)
        if self._shown_peak > 0.01:
            x = rect.left() + rect.width() * self._shown_peak
            painter.setPen(fill.darker(130))
            painter.drawLine(int(x), int(rect.top()) + 1, int(x), int(rect.bottom()) - 1)
        painter.end()


STATE_COLOURS = {
    "disconnected": "#9aa0a6",
    "connecting": "#f9ab00",
    "failed": "#d93025",
    Activity.IDLE: "#9aa0a6",
    Activity.LISTENING: "#1e8e3e",
    Activity.USER_SPEAKING: "#1a73e8",
    Activity.THINKING: "#9334e6",
    Activity.ASSISTANT_SPEAKING: "#12b5cb",
}


def state_colour(connection: ConnectionState, activity: Activity) -> QColor:
    if connection is ConnectionState.CONNECTED:
        return QColor(STATE_COLOURS[activity])
    if connection in (ConnectionState.CONNECTING, ConnectionState.RECONNECTING):
        return QColor(STATE_COLOURS["connecting"])
    if connection is ConnectionState.FAILED:
        return QColor(STATE_COLOURS["failed"])
    return QColor(STATE_COLOURS["disconnected"])


class StatePill(QLabel):
    """A coloured dot and words: the connection and what is happening."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Connection state")
        self._colour = QColor("#9aa0a6")
        self.setContentsMargins(18, 0, 6, 0)

    def set_state(self, text: str, colour: QColor) -> None:
        self._colour = colour
        self.setText(text)
        self.setAccessibleDescription(text)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._colour)
        size = 10
        painter.drawEllipse(QRectF(4, (self.height() - size) / 2, size, size))
        painter.end()


class ErrorBanner(QFrame):
    """An error in plain words with what to do about it; never a traceback."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setAccessibleName("Error")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        self.icon = QLabel("⚠")
        self.icon.setObjectName("errorBannerIcon")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.message, 1)
        self._actions_layout = QHBoxLayout()
        self._actions_layout.setSpacing(6)
        layout.addLayout(self._actions_layout)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setAccessibleName("Dismiss the error")
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.hide)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.action_buttons: list[QPushButton] = []
        self.hide()

    def show_message(self, message: str, actions: list[tuple[str, Callable[[], object]]]) -> None:
        self.message.setText(message)
        self.setAccessibleDescription(message)
        for button in self.action_buttons:
            self._actions_layout.removeWidget(button)
            button.deleteLater()
        self.action_buttons = []
        for label, callback in actions:
            button = QPushButton(label)
            button.setAccessibleName(label)
            button.clicked.connect(self._acting(callback))
            self._actions_layout.addWidget(button)
            self.action_buttons.append(button)
        self.show()

    def _acting(self, callback: Callable[[], object]) -> Callable[[], None]:
        """The banner goes once its action is taken."""

        def act() -> None:
            self.hide()
            callback()

        return act

    def action_labels(self) -> list[str]:
        return [button.text() for button in self.action_buttons]
