"""An X server whose screen this process can read directly, to time "window painted" from outside.

``Xvfb -fbdir DIR`` keeps its framebuffer in a memory-mapped XWD file. Watching that file
needs no hook in the program under test, so the bare PySide6 window, azassist from source and
the frozen bundle are all timed the same way: the window counts as painted at the first
moment the screen matches (to within a small tolerance) what it finally shows.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import shutil
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SCREEN = (1280, 800)
STEP = 4  # compare every 4th pixel in each direction (a 320x200 thumbnail)


@dataclass
class WatchedScreen:
    display: str
    proc: subprocess.Popen[bytes]
    fbdir: Path
    _map: mmap.mmap | None = None
    _pixels: np.ndarray | None = None

    @classmethod
    def start(cls, size: tuple[int, int] = SCREEN) -> WatchedScreen:
        if not shutil.which("Xvfb"):
            raise RuntimeError("Xvfb is not installed: run 'make test' (it installs it)")
        fbdir = Path(tempfile.mkdtemp(prefix="azassist-bench-fb-"))
        read_fd, write_fd = os.pipe()
        proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{size[0]}x{size[1]}x24",
             "-fbdir", str(fbdir), "-nolisten", "tcp"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            proc.kill()
            raise RuntimeError("Xvfb did not start")
        screen = cls(f":{number}", proc, fbdir)
        screen._open()
        return screen

    def _open(self) -> None:
        path = self.fbdir / "Xvfb_screen0"
        with path.open("rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        header = struct.unpack(">25I", self._map[:100])
        header_size, width, height = header[0], header[4], header[5]
        bits_per_pixel, bytes_per_line, ncolours = header[11], header[12], header[19]
        if bits_per_pixel != 32:
            raise RuntimeError(f"unexpected framebuffer depth {bits_per_pixel}")
        offset = header_size + 12 * ncolours
        raw = np.frombuffer(self._map, dtype=np.uint32, count=height * bytes_per_line // 4, offset=offset)
        self._pixels = raw.reshape(height, bytes_per_line // 4)[:, :width]

    @property
    def env(self) -> dict[str, str]:
        return {"DISPLAY": self.display, "QT_QPA_PLATFORM": "xcb"}

    def thumbnail(self) -> np.ndarray:
        assert self._pixels is not None
        return self._pixels[::STEP, ::STEP].copy()

    def time_painted(self, started: float, proc: subprocess.Popen[bytes], *, timeout: float = 30.0,
                     settle: float = 2.0, poll: float = 0.004, tolerance: float = 0.01) -> float | None:
        """Seconds from ``started`` until the screen first (nearly) matches its final state.

        Polls the framebuffer until ``settle`` seconds passed without a big change; the
        picture then is the reference.
        ``tolerance``: the share of changed pixels allowed to differ (a blinking caret, a
        status message). None if nothing was ever drawn.
        """
        blank = self.thumbnail()
        shots: list[tuple[float, np.ndarray]] = []
        last_change = None
        previous = blank
        deadline = started + timeout
        while time.monotonic() < deadline:
            now = time.monotonic()
            shot = self.thumbnail()
            shots.append((now, shot))
            moved = np.count_nonzero(shot != previous)
            if moved > 0.002 * shot.size:
                last_change = now
            previous = shot
            if last_change is not None and now - last_change > settle:
                break
            if proc.poll() is not None:
                break
            time.sleep(poll)
        if last_change is None:
            return None
        final = shots[-1][1]
        changed = np.count_nonzero(final != blank)
        if changed == 0:
            return None
        for at, shot in shots:
            if np.count_nonzero(shot != final) <= tolerance * changed:
                return at - started
        return None

    def stop(self) -> None:
        self._pixels = None
        if self._map is not None:
            with contextlib.suppress(BufferError):
                self._map.close()
            self._map = None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.fbdir, ignore_errors=True)
