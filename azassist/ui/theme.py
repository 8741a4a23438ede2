"""Light and dark palettes: follow the system unless the user forces one.

Fusion is used where Qt has no native style with dark support, so a dark palette looks
right everywhere (including under Xvfb, which has no platform theme).
"""

from __future__ import annotations

import functools
import string
import sys
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:  # the settings module (pydantic) loads after the window's first paint
    from azassist.core.settings import Theme


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


# Colours by palette role. Dark fields are a shade lighter than the window: Fusion's dark
# frames vanish otherwise.
_DARK = {
    "Window": "#202124", "WindowText": "#e8eaed", "Base": "#2a2c30", "AlternateBase": "#303236",
    "ToolTipBase": "#303134", "ToolTipText": "#e8eaed", "PlaceholderText": "#9aa0a6",
    "Text": "#e8eaed", "Button": "#2d2f33", "ButtonText": "#e8eaed", "BrightText": "#ff6e6e",
    "Highlight": "#3b82f6", "HighlightedText": "#ffffff", "Link": "#8ab4f8",
    "LinkVisited": "#c58af9", "Light": "#3c4043", "Midlight": "#303134", "Mid": "#25272a",
    "Dark": "#121314", "Shadow": "#000000",
}
_DARK_DISABLED = {
    "WindowText": "#6f7378", "Text": "#6f7378", "ButtonText": "#6f7378", "Base": "#242528",
    "Button": "#26282b", "Highlight": "#4a4d52",
}
_LIGHT = {
    "Window": "#f3f4f6", "WindowText": "#1f2328", "Base": "#ffffff", "AlternateBase": "#f6f8fa",
    "Text": "#1f2328", "Button": "#eceef1", "ButtonText": "#1f2328", "PlaceholderText": "#6e7781",
    "ToolTipBase": "#ffffff", "ToolTipText": "#1f2328", "Highlight": "#2563eb",
    "HighlightedText": "#ffffff", "Link": "#1d4ed8",
}
_LIGHT_DISABLED = {"WindowText": "#8c959f", "Text": "#8c959f", "ButtonText": "#8c959f", "Highlight": "#c4c9cf"}


def _palette(normal: dict[str, str], disabled: dict[str, str]) -> QPalette:
    palette = QPalette()
    for role, colour in normal.items():
        palette.setColor(getattr(QPalette.ColorRole, role), QColor(colour))
    for role, colour in disabled.items():
        palette.setColor(QPalette.ColorGroup.Disabled, getattr(QPalette.ColorRole, role), QColor(colour))
    return palette


def wants_dark(theme: Theme | str) -> bool:
    if theme == "dark":
        return True
    if theme == "light":
        return False
    return system_prefers_dark()


_FUSION_SET = "azassistFusionSet"


def style_arguments() -> list[str]:
    """QApplication arguments that choose the style at construction.

    ``app.setStyle("Fusion")`` returns the QStyle, and PySide builds its QStyle class to
    wrap it (~5 ms, measured, on the way to the first paint); Qt's own ``-style`` argument
    sets the same style with nothing to wrap. Pair with ``style_chosen``.
    """
    return [] if sys.platform == "darwin" else ["-style", "Fusion"]


def style_chosen(app: QApplication) -> None:
    """Record that ``app`` was built with ``style_arguments()``: apply_theme leaves the style."""
    app.setProperty(_FUSION_SET, True)


def apply_theme(app: QApplication, theme: Theme | str, *, with_style_sheet: bool = True) -> bool:
    """Set the palette for ``theme`` (a Theme or its value); returns True when the result is dark.

    ``with_style_sheet=False`` leaves the application's style sheet for ``apply_style_sheet``
    (start-up sets it after the first paint).
    """
    if sys.platform != "darwin" and not app.property(_FUSION_SET):
        # Once per application; asking app.style() its name would build PySide6's QStyle
        # class (~9 ms) during the first paint for nothing.
        app.setStyle("Fusion")
        app.setProperty(_FUSION_SET, True)
    dark = wants_dark(theme)
    hints = QGuiApplication.styleHints()
    if theme not in ("light", "dark"):  # Theme.SYSTEM
        hints.unsetColorScheme()
    else:
        hints.setColorScheme(Qt.ColorScheme.Dark if dark else Qt.ColorScheme.Light)
    palette = _palette(_DARK, _DARK_DISABLED) if dark else _palette(_LIGHT, _LIGHT_DISABLED)
    app.setPalette(palette)
    if with_style_sheet:
        apply_style_sheet(app)
    return dark


def apply_style_sheet(app: QApplication) -> None:
    """resources/styles/app.qss for the application's palette.

    Every widget under a style sheet is polished through Qt's style-sheet style (~5 ms for
    the main window, measured), so start-up sets it after the first paint; nothing the first
    paint shows depends on it (a test compares the window before and after).
    """
    app.setStyleSheet(style_sheet(app.palette()))


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


class Colours(NamedTuple):
    """Semantic colours for the transcript and status, derived from the palette.

    A NamedTuple, not a dataclass, for start-up: see ``azassist.core.paths.AppPaths``.
    """

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


@functools.cache
def _sheet_template(name: str) -> str:
    """resources/styles/<name>.qss, read once: the talk panel asks again on every palette change."""
    from azassist.ui.resources import resources_dir

    try:
        return (resources_dir() / "styles" / f"{name}.qss").read_text(encoding="utf-8")
    except OSError:
        return ""


def style_sheet(palette: QPalette, name: str = "app") -> str:
    """resources/styles/<name>.qss with its colour names filled for this palette."""
    template = _sheet_template(name)
    if not template:
        return ""
    colours = Colours.for_palette(palette)
    values = {role: colour.name() for role, colour in colours._asdict().items()}
    values["text"] = palette.color(QPalette.ColorRole.Text).name()
    values["base"] = palette.color(QPalette.ColorRole.Base).name()
    return string.Template(template).safe_substitute(values)
