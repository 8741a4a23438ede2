"""PySide6 6.12.0 drops a reference to True on each Signal.emit and aborts Python 3.11.
qasync emits a signal for every cross-thread call, so this must never regress."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import threading
from PySide6.QtCore import QObject, Signal, QCoreApplication
app = QCoreApplication([])
class Emitter(QObject):
    fired = Signal(bool)
seen = []
e = Emitter()
e.fired.connect(lambda v: seen.append(v))
for _ in range(2000):
    e.fired.emit(True)
import gc; gc.collect()
print("survived", len(seen))
"""


def test_signal_emit_does_not_crash_the_interpreter() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                            env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "survived 2000" in result.stdout
