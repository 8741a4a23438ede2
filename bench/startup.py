"""Start-up: process start -> main window painted, timed on the X server's framebuffer.

Used by figure 5 (azassist from source against a bare PySide6 program) and figure 9 (the
frozen bundle against the source). Commands are interleaved round by round, after one
discarded warm-up round (bytecode caches, disk cache), so machine noise hits all alike.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from .harness import PYTHON, ROOT, BenchEnv, python_env
from .screen import WatchedScreen

CONFIGURED = {"connection": {"endpoint": "http://127.0.0.1:9", "deployment": "gpt-realtime"}}


def configured_dir(parent: Path, name: str) -> Path:
    """A config dir with an endpoint saved, so the window opens on the conversation page."""
    directory = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))
    (directory / "settings.json").write_text(json.dumps(CONFIGURED))
    return directory


def startup_commands(bench: BenchEnv, bundle: Path | None) -> dict[str, list[str]]:
    commands = {
        "bare": [PYTHON, "-m", "bench.probes.bare_window"],
        "source": [PYTHON, "-m", "azassist", "--config-dir", str(configured_dir(bench.workdir, "source"))],
    }
    if bundle is not None:
        commands["frozen"] = [str(bundle / "azassist"), "--config-dir", str(configured_dir(bench.workdir, "frozen"))]
    return commands


def time_startup(screen: WatchedScreen, argv: list[str], env: dict[str, str]) -> float | None:
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    try:
        return screen.time_painted(started, proc, settle=1.0)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        time.sleep(0.3)  # the X server removes the window before the next start


def measure_startups(bench: BenchEnv, screen: WatchedScreen, commands: dict[str, list[str]],
                     rounds: int) -> dict[str, list[float]]:
    env = python_env(bench) | screen.env
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(rounds + 1):
        for name, argv in commands.items():
            seconds = time_startup(screen, argv, env)
            if round_number and seconds is not None:  # round 0 warms the caches
                times[name].append(seconds)
    return times
