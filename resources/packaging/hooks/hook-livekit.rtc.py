"""PyInstaller hook for livekit.rtc: its native FFI library (liblivekit_ffi.so / .dylib / .dll).

livekit.rtc opens the library with ``ctypes.CDLL`` on a path from
``importlib.resources.files("livekit.rtc.resources")``, so PyInstaller's import analysis never
sees it. It is collected as a binary (so its own dependencies are analysed too) into
``livekit/rtc/resources`` of the bundle, where PyInstaller's resource reader finds it. The
licence text goes along; the Jupyter widget page does not.
"""

from pathlib import Path

from PyInstaller.utils.hooks import get_module_file_attribute

# livekit is a namespace package: locate livekit.rtc by its own __init__ file.
resources = Path(get_module_file_attribute("livekit.rtc")).parent / "resources"

hiddenimports = ["livekit.rtc.resources"]
binaries = [
    (str(path), "livekit/rtc/resources")
    for path in resources.iterdir()
    if path.name in {"liblivekit_ffi.so", "liblivekit_ffi.dylib", "livekit_ffi.dll"}
]
datas = [(str(resources / "LICENSE.md"), "livekit/rtc/resources")]
