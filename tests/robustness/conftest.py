"""The fuzzer's marker and its summary line at the end of the run.

``fuzz`` marks the fault-injection fuzzer (a few minutes; part of ``make test``). Run it alone
with ``pytest tests/robustness -q -s`` or ``python -m tests.robustness.fuzz``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SUMMARIES = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: the fault-injection fuzzer (a few minutes; tests/robustness)")
    config.stash[SUMMARIES] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    for line in config.stash.get(SUMMARIES, []):
        terminalreporter.write_line(line)
