"""Replaces PyInstaller's hook for PySide6.QtGui: the same collection, minus Qt plugins a
desktop azassist never loads.

Dropped here, before PyInstaller walks the plugins' library dependencies, so nothing they
would drag in reaches the bundle either:
- platformthemes/libqgtk3: links the build machine's whole GTK 3 stack (GTK, GDK, Pango,
  cairo, HarfBuzz, ...); Qt falls back to its own theme or the XDG desktop portal.
- platforms for embedded/kiosk devices (eglfs, linuxfb, vnc, vkkhrdisplay, minimal*) and
  their egldeviceintegrations / generic evdev input plugins.
Kept: xcb (X11), wayland, offscreen (tests, headless self-test), xdgdesktopportal theme,
input contexts, image formats, xcb GL and wayland client integrations.
"""

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

DROPPED_PLUGINS = (
    "platformthemes/libqgtk3",
    "platforms/libqeglfs",
    "platforms/libqlinuxfb",
    "platforms/libqvnc",
    "platforms/libqvkkhrdisplay",
    "platforms/libqminimal",
    "egldeviceintegrations/",
    "generic/",
)

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)


def _wanted(entry: tuple[str, str]) -> bool:
    source = entry[0].replace("\\", "/")
    return not any(f"/plugins/{dropped}" in source for dropped in DROPPED_PLUGINS)


binaries = [entry for entry in binaries if _wanted(entry)]
