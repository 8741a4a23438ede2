"""Start-up: process start -> main window painted, timed on the X server's framebuffer.

Used by figure 5 (azassist from source against a bare PySide6 program) and figure 9 (the
frozen bundle against the source). Commands are interleaved round by round, after one
discarded warm-up round (bytecode caches, disk cache), so machine noise hits all alike.

azassist runs as a user runs it: no ``--config-dir``, so it finds its files in the default
per-user locations (platformdirs and all), pointed at a scratch directory through the XDG
variables. Every command, the bare one too, gets the same kind of environment.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .harness import PYTHON, ROOT, BenchEnv, python_env
from .screen import WatchedScreen

CONFIGURED = {"connection": {"endpoint": "http://127.0.0.1:9", "deployment": "gpt-realtime"}}
APP_NAME = "azassist"


@dataclass(frozen=True)
class StartCommand:
    """A program to start and what its environment adds (its own per-user directories)."""

    argv: list[str]
    env: dict[str, str]


def user_home(parent: Path, name: str, configured: bool = True) -> dict[str, str]:
    """XDG per-user directories in a fresh scratch directory; with ``configured`` an endpoint
    is saved where azassist looks by default, so the window opens on the conversation page."""
    root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))
    env = {"XDG_CONFIG_HOME": str(root / "config"), "XDG_DATA_HOME": str(root / "data"),
           "XDG_STATE_HOME": str(root / "state")}
    if configured:
        settings = Path(env["XDG_CONFIG_HOME"]) / APP_NAME / "settings.json"
        settings.parent.mkdir(parents=True, mode=0o700)
        settings.write_text(json.dumps(CONFIGURED))
    return env


def startup_commands(bench: BenchEnv, bundle: Path | None) -> dict[str, StartCommand]:
    workdir = bench.workdir
    commands = {
        "bare": StartCommand([PYTHON, "-m", "bench.probes.bare_window"], user_home(workdir, "bare", configured=False)),
        "source": StartCommand([PYTHON, "-m", "azassist"], user_home(workdir, "source")),
    }
    if bundle is not None:
        commands["frozen"] = StartCommand([str(bundle / "azassist")], user_home(workdir, "frozen"))
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


def measure_startups(bench: BenchEnv, screen: WatchedScreen, commands: dict[str, StartCommand],
                     rounds: int) -> dict[str, list[float]]:
    base = python_env(bench) | screen.env
    base.pop("AZASSIST_CONFIG_DIR", None)  # the default locations are what is measured
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(rounds + 1):
        for name, command in commands.items():
            seconds = time_startup(screen, command.argv, base | command.env)
            if round_number and seconds is not None:  # round 0 warms the caches
                times[name].append(seconds)
    return times
