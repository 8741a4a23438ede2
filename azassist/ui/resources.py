"""Icons drawn for azassist (``resources/icons``), recoloured to the current palette.

Action glyphs are monochrome SVGs drawn in black; they are rendered in the palette's text
colour so they stay visible in light and dark themes and sharp on high-DPI screens.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

_ICON_SIZES = (16, 20, 24, 32, 48, 64, 128, 256)


def resources_dir() -> Path:
    """``resources/`` next to the package in a source tree, or inside a frozen bundle."""
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources")
    here = Path(__file__).resolve()
    candidates += [here.parents[2] / "resources", here.parent / "resources"]
    for candidate in candidates:
        if (candidate / "icons").is_dir():
            return candidate
    return candidates[-1]


@functools.cache
def _svg_text(name: str) -> str:
    path = resources_dir() / "icons" / f"{name}.svg"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _render(svg: str, size: int, ratio: float) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    pixmap = QPixmap(int(size * ratio), int(size * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    if renderer.isValid():
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
    return pixmap


def _screen_ratio() -> float:
    """Render for the sharpest screen so icons stay crisp on high-DPI displays."""
    app = QGuiApplication.instance()
    screens = QGuiApplication.screens() if app is not None else []
    return max([1.0, *(screen.devicePixelRatio() for screen in screens)])


def _icon_from_svg(svg: str) -> QIcon:
    icon = QIcon()
    for size in _ICON_SIZES:
        icon.addPixmap(_render(svg, size, _screen_ratio()))
    return icon


def app_icon() -> QIcon:
    return _icon_from_svg(_svg_text("azassist"))


def glyph(name: str, palette: QPalette | None = None, colour: QColor | None = None) -> QIcon:
    """A monochrome action icon in the palette's text colour (or ``colour``)."""
    palette = palette or QGuiApplication.palette()
    foreground = colour or palette.color(QPalette.ColorRole.WindowText)
    background = palette.color(QPalette.ColorRole.Window)
    svg = _svg_text(name).replace("#000000", foreground.name()).replace("#ffffff", background.name())
    icon = QIcon()
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    disabled_svg = _svg_text(name).replace("#000000", disabled.name()).replace("#ffffff", background.name())
    ratio = _screen_ratio()
    for size in (16, 24, 32, 48):
        icon.addPixmap(_render(svg, size, ratio), QIcon.Mode.Normal)
        icon.addPixmap(_render(disabled_svg, size, ratio), QIcon.Mode.Disabled)
    return icon


def badged_icon(base: QIcon, colour: QColor, size: int = 64) -> QIcon:
    """The app icon with a coloured status dot (the tray shows the conversation state)."""
    pixmap = base.pixmap(size, size)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    diameter = size * 0.42
    rect = QRectF(size - diameter - 1, size - diameter - 1, diameter, diameter)
    painter.setPen(QColor("#ffffff"))
    painter.setBrush(colour)
    painter.drawEllipse(rect)
    painter.end()
    return QIcon(pixmap)
