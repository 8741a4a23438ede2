"""Raster copies of the app icon (resources/icons/azassist.svg) for installers and launchers.

PyInstaller wants a bitmap for the Windows .exe / macOS .app icon (it converts a PNG with
Pillow), and the Linux menu wants PNG sizes next to the SVG. Rendered with Qt's own SVG
renderer, offscreen, so the build needs nothing the app does not already use.
"""

from __future__ import annotations

import os
from pathlib import Path

LINUX_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render_icons(
    svg: Path, target_dir: Path, sizes: tuple[int, ...] = LINUX_ICON_SIZES
) -> dict[int, Path]:
    """``target_dir/azassist-<size>.png`` for each size; returns size -> path."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer
    from PySide6.QtWidgets import QApplication

    # A QApplication, not a bare QGuiApplication: whoever runs next in this process (the
    # test suite's windows) needs widgets, and Qt allows one application object per process.
    _app = QApplication.instance() or QApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG")
    target_dir.mkdir(parents=True, exist_ok=True)
    written: dict[int, Path] = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        path = target_dir / f"azassist-{size}.png"
        if not image.save(str(path)):
            raise OSError(f"could not write {path}")
        written[size] = path
    return written


def write_windows_and_mac_icons(pngs: dict[int, Path], target_dir: Path) -> list[Path]:
    """``azassist.ico`` (Inno Setup, the .exe) and ``azassist.icns`` (the .app) with Pillow,
    which the build environment has (PyInstaller uses it the same way); none without it."""
    try:
        from PIL import Image
    except ImportError:
        return []
    largest = Image.open(pngs[max(pngs)])
    ico = target_dir / "azassist.ico"
    largest.save(ico, sizes=[(size, size) for size in sorted(pngs) if size <= 256])
    icns = target_dir / "azassist.icns"
    largest.save(icns)
    return [ico, icns]
