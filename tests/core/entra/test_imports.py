"""The Entra ID sign-in is opened from Settings on the window's thread, while the voice engine
may be importing on its worker thread (azassist.core.preload). If the sign-in imported the
engine package itself, two threads would import LiveKit at once: one of them then met a
partially initialised module ("cannot import name 'AgentSession' from partially initialized
module 'livekit.agents.voice'", seen once in a window test). So neither the Entra core nor
its pane may import LiveKit."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["azassist.core.entra", "azassist.core.auth", "azassist.ui.entra_sign_in"])
def test_importing_it_loads_no_livekit(module: str) -> None:
    probe = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('livekit')))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"
