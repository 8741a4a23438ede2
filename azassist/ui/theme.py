"""Light and dark palettes: follow the system unless the user forces one.

Fusion is used where Qt has no native style with dark support, so a dark palette looks
right everywhere (including under Xvfb, which has no platform theme).
"""

from __future__ import annotations

import string
import sys
from dataclasses import dataclass, fields

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from azassist.core.settings import Theme


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def _dark_palette() -> QPalette:
    palette = QPalette()
    roles = QPalette.ColorRole
    # Fields a shade lighter than the window: Fusion's dark frames vanish otherwise.
    window, base, text = QColor("#202124"), QColor("#2a2c30"), QColor("#e8eaed")
    palette.setColor(roles.Window, window)
    palette.setColor(roles.WindowText, text)
    palette.setColor(roles.Base, base)
    palette.setColor(roles.AlternateBase, QColor("#303236"))
    palette.setColor(roles.ToolTipBase, QColor("#303134"))
    palette.setColor(roles.ToolTipText, text)
    palette.setColor(roles.PlaceholderText, QColor("#9aa0a6"))
    palette.setColor(roles.Text, text)
    palette.setColor(roles.Button, QColor("#2d2f33"))
    palette.setColor(roles.ButtonText, text)
    palette.setColor(roles.BrightText, QColor("#ff6e6e"))
    palette.setColor(roles.Highlight, QColor("#3b82f6"))
    palette.setColor(roles.HighlightedText, QColor("#ffffff"))
    palette.setColor(roles.Link, QColor("#8ab4f8"))
    palette.setColor(roles.LinkVisited, QColor("#c58af9"))
    palette.setColor(roles.Light, QColor("#3c4043"))
    palette.setColor(roles.Midlight, QColor("#303134"))
    palette.setColor(roles.Mid, QColor("#25272a"))
    palette.setColor(roles.Dark, QColor("#121314"))
    palette.setColor(roles.Shadow, QColor("#000000"))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(disabled, role, QColor("#6f7378"))
    palette.setColor(disabled, roles.Base, QColor("#242528"))
    palette.setColor(disabled, roles.Highlight, QColor("#4a4d52"))
    palette.setColor(disabled, roles.Button, QColor("#26282b"))
    return palette


def _light_palette() -> QPalette:
    palette = QPalette()
    roles = QPalette.ColorRole
    palette.setColor(roles.Window, QColor("#f3f4f6"))
    palette.setColor(roles.WindowText, QColor("#1f2328"))
    palette.setColor(roles.Base, QColor("#ffffff"))
    palette.setColor(roles.AlternateBase, QColor("#f6f8fa"))
    palette.setColor(roles.Text, QColor("#1f2328"))
    palette.setColor(roles.Button, QColor("#eceef1"))
    palette.setColor(roles.ButtonText, QColor("#1f2328"))
    palette.setColor(roles.PlaceholderText, QColor("#6e7781"))
    palette.setColor(roles.ToolTipBase, QColor("#ffffff"))
    palette.setColor(roles.ToolTipText, QColor("#1f2328"))
    palette.setColor(roles.Highlight, QColor("#2563eb"))
    palette.setColor(roles.HighlightedText, QColor("#ffffff"))
    palette.setColor(roles.Link, QColor("#1d4ed8"))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(disabled, role, QColor("#8c959f"))
    palette.setColor(disabled, roles.Highlight, QColor("#c4c9cf"))
    return palette


def wants_dark(theme: Theme) -> bool:
    if theme == Theme.DARK:
        return True
    if theme == Theme.LIGHT:
        return False
    return system_prefers_dark()


def apply_theme(app: QApplication, theme: Theme) -> bool:
    """Set the palette for ``theme``; returns True when the result is dark."""
    if sys.platform != "darwin" and app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    dark = wants_dark(theme)
    hints = QGuiApplication.styleHints()
    if theme == Theme.SYSTEM:
        hints.unsetColorScheme()
    else:
        hints.setColorScheme(Qt.ColorScheme.Dark if dark else Qt.ColorScheme.Light)
    palette = _dark_palette() if dark else _light_palette()
    app.setPalette(palette)
    app.setStyleSheet(style_sheet(palette))
    return dark


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


@dataclass(frozen=True)
class Colours:
    """Semantic colours for the transcript and status, derived from the palette."""

    user: QColor
    user_tint: QColor
    assistant: QColor
    assistant_tint: QColor
    error: QColor
    error_tint: QColor
    warning: QColor
    muted: QColor
    good: QColor

    @classmethod
    def for_palette(cls, palette: QPalette) -> Colours:
        if is_dark(palette):
            return cls(
                user=QColor("#8ab4f8"), user_tint=QColor("#263a57"),
                assistant=QColor("#81c995"), assistant_tint=QColor("#27392e"),
                error=QColor("#f28b82"), error_tint=QColor("#4a2828"),
                warning=QColor("#fdd663"), muted=QColor("#9aa0a6"), good=QColor("#81c995"),
            )
        return cls(
            user=QColor("#1a56c4"), user_tint=QColor("#e8f0fe"),
            assistant=QColor("#17803d"), assistant_tint=QColor("#eef7f0"),
            error=QColor("#c5221f"), error_tint=QColor("#fce8e6"),
            warning=QColor("#a15c00"), muted=QColor("#5f6368"), good=QColor("#188038"),
        )


def style_sheet(palette: QPalette) -> str:
    """resources/styles/app.qss with its colour names filled for this palette."""
    from azassist.ui.resources import resources_dir

    try:
        template = (resources_dir() / "styles" / "app.qss").read_text(encoding="utf-8")
    except OSError:
        return ""
    colours = Colours.for_palette(palette)
    values = {item.name: getattr(colours, item.name).name() for item in fields(colours)}
    values["text"] = palette.color(QPalette.ColorRole.Text).name()
    values["base"] = palette.color(QPalette.ColorRole.Base).name()
    return string.Template(template).safe_substitute(values)
