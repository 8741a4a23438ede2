"""Icons are drawn on demand: at the size and scale asked, recoloured, sharp, crash-free."""

from __future__ import annotations

import gc

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from azassist.ui.resources import SvgIconEngine, app_icon, badged_icon, glyph


@pytest.fixture
def app() -> QApplication:
    existing = QApplication.instance()
    return existing if isinstance(existing, QApplication) else QApplication([])


def _ink(pixmap: QPixmap) -> set[str]:
    image = pixmap.toImage()
    return {image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())
            if image.pixelColor(x, y).alpha() == 255}


def _only(ink: set[str], colour: str) -> bool:
    """Every opaque pixel is ``colour`` (to within premultiplied-alpha rounding)."""
    want = QColor(colour)
    return bool(ink) and all(
        max(abs(QColor(c).red() - want.red()), abs(QColor(c).green() - want.green()),
            abs(QColor(c).blue() - want.blue())) <= 2 for c in ink)


def test_glyphs_render_at_the_asked_size_and_scale(app: QApplication) -> None:
    icon = glyph("mic")
    for size, scale in ((16, 1.0), (24, 1.0), (24, 2.0), (20, 1.5)):
        pixmap = icon.pixmap(QSize(size, size), scale)
        assert pixmap.devicePixelRatio() == scale
        assert pixmap.width() == round(size * scale)
        assert _ink(pixmap)  # something drawn


def test_glyphs_take_the_palette_colours(app: QApplication) -> None:
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#123456"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#abcdef"))
    icon = glyph("mic", palette)
    assert _only(_ink(icon.pixmap(QSize(32, 32), 1.0)), "#123456")
    assert _only(_ink(icon.pixmap(QSize(32, 32), 1.0, QIcon.Mode.Disabled)), "#abcdef")
    assert _only(_ink(glyph("mic", palette, QColor("#ff0000")).pixmap(QSize(32, 32), 1.0)), "#ff0000")


def test_icons_survive_their_python_objects_copies_and_changes(app: QApplication) -> None:
    from PySide6.QtGui import QAction

    actions = [QAction(f"a{i}") for i in range(5)]
    for _ in range(20):
        for action in actions:
            action.setIcon(glyph("connect"))
        gc.collect()
    copy = QIcon(actions[0].icon())
    copy.addPixmap(QPixmap(4, 4))  # detaches: Qt clones the engine
    gc.collect()
    assert not copy.pixmap(16, 16).isNull()
    assert all(not action.icon().pixmap(24, 24).isNull() for action in actions)


def test_the_app_icon_and_its_badge(app: QApplication) -> None:
    icon = app_icon()
    assert not icon.isNull()
    assert _ink(icon.pixmap(QSize(64, 64), 1.0))
    assert not icon.pixmap(QSize(64, 64), 1.0, QIcon.Mode.Disabled).isNull()  # greyed by the style
    badged = badged_icon(icon, QColor("#00ff00"))
    assert "#00ff00" in _ink(badged.pixmap(64, 64))


def test_a_missing_drawing_gives_an_empty_pixmap_not_an_error(app: QApplication) -> None:
    icon = QIcon(SvgIconEngine({QIcon.Mode.Normal: ""}))
    assert not _ink(icon.pixmap(QSize(16, 16), 1.0))
