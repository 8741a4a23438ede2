"""Icons drawn for azassist (``resources/icons``), recoloured to the current palette.

Action glyphs are monochrome SVGs drawn in black; they are rendered in the palette's text
colour so they stay visible in light and dark themes. Every icon is an SVG drawn on demand
(``SvgIconEngine``): only at the size, mode and device pixel ratio Qt asks for, once each, so
it is sharp on any screen and start-up renders just what the first paint shows.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import shiboken6
from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication


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


# Clones handed to Qt (it copies an icon's engine when a shared icon is modified). Qt owns and
# deletes them, but a Python object returned from a virtual must outlive the call: kept here,
# dropped once Qt has deleted the C++ side.
_clones: list[SvgIconEngine] = []


class SvgIconEngine(QIconEngine):
    """An icon drawn from SVG text when Qt asks for a size, per mode, cached per size and scale.

    ``svgs`` maps a mode to its drawing; a mode without one is derived from Normal by the
    style, as Qt does for pixmap icons (greyed when disabled, tinted when selected).
    """

    def __init__(self, svgs: dict[QIcon.Mode, str]) -> None:
        super().__init__()
        self._svgs = svgs
        self._pixmaps: dict[tuple[int, int, QIcon.Mode, float], QPixmap] = {}

    def _render(self, mode: QIcon.Mode, size: QSize, scale: float) -> QPixmap:
        # A renderer for this drawing only, not kept: a QSvgRenderer is a QObject, and one kept
        # in the engine dies with it, whenever and in whatever thread Python frees the engine.
        # Each size is drawn once anyway (the pixmaps are cached).
        renderer = QSvgRenderer(QByteArray(self._svgs[mode].encode("utf-8")))
        pixmap = QPixmap(max(1, round(size.width() * scale)), max(1, round(size.height() * scale)))
        pixmap.setDevicePixelRatio(scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        if renderer.isValid():
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            side = min(size.width(), size.height())  # square drawings, centred
            renderer.render(painter, QRectF((size.width() - side) / 2, (size.height() - side) / 2, side, side))
            painter.end()
        return pixmap

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:
        scale = max(1.0, float(scale))
        key = (size.width(), size.height(), mode, scale)
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            if size.isEmpty():
                return QPixmap()
            if mode in self._svgs:
                pixmap = self._render(mode, size, scale)
            else:
                pixmap = self.scaledPixmap(size, QIcon.Mode.Normal, state, scale)
                if isinstance(QApplication.instance(), QApplication):
                    from PySide6.QtWidgets import QStyleOption  # rarely needed: greyed app icon

                    style = QApplication.style()
                    generated = style.generatedIconPixmap(mode, pixmap, QStyleOption())
                    generated.setDevicePixelRatio(scale)
                    pixmap = generated
            self._pixmaps[key] = pixmap
        return pixmap

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        device = painter.device()
        scale = device.devicePixelRatioF() if device is not None else 1.0
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, scale))

    def isNull(self) -> bool:
        return False

    def key(self) -> str:
        return "azassist-svg"

    def clone(self) -> QIconEngine:
        _clones[:] = [engine for engine in _clones if shiboken6.isValid(engine)]
        twin = SvgIconEngine(self._svgs)
        _clones.append(twin)
        return twin


def app_icon() -> QIcon:
    """The azassist logo at any size (window managers ask for the sizes they show)."""
    return QIcon(SvgIconEngine({QIcon.Mode.Normal: _svg_text("azassist")}))


def glyph(name: str, palette: QPalette | None = None, colour: QColor | None = None) -> QIcon:
    """A monochrome action icon in the palette's text colour (or ``colour``)."""
    palette = palette or QGuiApplication.palette()
    foreground = colour or palette.color(QPalette.ColorRole.WindowText)
    background = palette.color(QPalette.ColorRole.Window).name()
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    text = _svg_text(name)
    return QIcon(SvgIconEngine({
        QIcon.Mode.Normal: text.replace("#000000", foreground.name()).replace("#ffffff", background),
        QIcon.Mode.Disabled: text.replace("#000000", disabled.name()).replace("#ffffff", background),
    }))


def pixmap_icon(icon: QIcon, sizes: tuple[int, ...] = (16, 24, 32, 48, 64)) -> QIcon:
    """``icon`` drawn now, at ``sizes``, into a plain pixmap icon: for an icon a Python object
    keeps. One backed by ``SvgIconEngine`` and kept in an object that Python's cycle collector
    frees (the tray, after its window went) had its engine deleted before the last QIcon that
    used it: SIGSEGV in ``QIcon::~QIcon`` during the collection."""
    fixed = QIcon()
    for size in sizes:
        fixed.addPixmap(icon.pixmap(size, size))
    return fixed


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
