"""The tray icon: the conversation's state at a glance, show/hide, mute, push-to-talk."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QColor, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from azassist.core.states import Activity, ConnectionState
from azassist.ui.resources import app_icon, badged_icon, pixmap_icon
from azassist.ui.widgets import state_colour

TALKING_COLOUR = "#e53935"  # the microphone is open: seen without looking at the window


class Tray(QObject):
    """Wraps QSystemTrayIcon; ``available`` is False where the desktop has no tray."""

    toggleWindow = Signal()

    def __init__(self, window: QWidget, actions: list[QAction | None]) -> None:
        super().__init__(window)
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self._base = pixmap_icon(app_icon())  # kept here: no Python icon engine behind it
        self._icons: dict[str, QIcon] = {}
        self.icon = QSystemTrayIcon(self._base, window)
        self.menu = QMenu(window)
        self.show_action = QAction("Show or hide the window", self.menu)
        self.show_action.triggered.connect(self.toggleWindow)
        self.menu.addAction(self.show_action)
        self.menu.addSeparator()
        for action in actions:
            if action is None:
                self.menu.addSeparator()
            else:
                self.menu.addAction(action)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.state_text = "azassist"
        self.talking = False
        self._colour = QColor()
        self.icon.setToolTip(self.state_text)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.toggleWindow.emit()

    def show(self) -> None:
        if self.available:
            self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def set_state(self, connection: ConnectionState, activity: Activity, text: str) -> None:
        self._colour = state_colour(connection, activity)
        self.state_text = f"azassist: {text}"
        self._show_icon()

    def set_talking(self, talking: bool) -> None:
        """A push-to-talk turn is open (the global key, the button, the tray's Talk)."""
        if talking != self.talking:
            self.talking = talking
            self._show_icon()

    def _show_icon(self) -> None:
        colour = QColor(TALKING_COLOUR) if self.talking else self._colour
        if colour.isValid():
            icon = self._icons.get(colour.name())
            if icon is None:
                icon = self._icons[colour.name()] = badged_icon(self._base, colour)
            self.icon.setIcon(icon)
        self.icon.setToolTip(f"{self.state_text} (microphone open)" if self.talking else self.state_text)

    def notify(self, message: str) -> None:
        if self.available and self.icon.isVisible():
            self.icon.showMessage("azassist", message, self._base, 4000)
