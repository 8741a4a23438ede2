"""PyInstaller runtime hook: make sounddevice load the PortAudio carried in the bundle.

On Linux sounddevice finds PortAudio only through ``ctypes.util.find_library("portaudio")``,
which searches the system (ldconfig cache), never the bundle: the copy PyInstaller collected
would be ignored and a machine without libportaudio2 could not open any device. Answer that
one query with the bundled file; every other name still goes to the real lookup.
"""


def _use_bundled_portaudio() -> None:
    import ctypes.util
    import glob
    import os
    import sys

    bundle = getattr(sys, "_MEIPASS", None)
    if not bundle or not sys.platform.startswith("linux"):
        return  # Windows/macOS wheels carry PortAudio inside _sounddevice_data already
    found = sorted(glob.glob(os.path.join(bundle, "libportaudio.so*")))
    if not found:
        return
    bundled = found[0]
    system_find_library = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        if name == "portaudio":
            return bundled
        return system_find_library(name)

    ctypes.util.find_library = find_library


_use_bundled_portaudio()
