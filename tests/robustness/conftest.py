"""The fuzzer's switches: markers, the red gate, and its summary line at the end of the run.

``fuzz`` marks the fault-injection fuzzer (minutes, not seconds). ``fuzz_red`` marks it while
the app still fails it: such tests run only when asked for, that is when the run names
tests/robustness (``pytest tests/robustness -q -s``), selects ``-m fuzz``, or sets
AZASSIST_FUZZ=1; ``make test`` skips them. Remove ``fuzz_red`` from the test module's
``pytestmark`` once the fuzzer is green, and it runs in ``make test``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SUMMARIES = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: the fault-injection fuzzer (a few minutes; tests/robustness)")
    config.addinivalue_line("markers", "fuzz_red: known to fail today; runs only when asked for (see tests/robustness/conftest.py)")
    config.stash[SUMMARIES] = []


def _asked_for(config: pytest.Config) -> bool:
    if os.environ.get("AZASSIST_FUZZ", "").strip() in ("1", "true", "yes"):
        return True
    if "fuzz" in (config.getoption("markexpr", "") or "") and "not fuzz" not in config.getoption("markexpr", ""):
        return True
    named = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    return bool(named) and all(path == HERE or HERE in path.parents for path in named)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _asked_for(config):
        return
    skip = pytest.mark.skip(reason="fuzz_red: the app still fails the fuzzer; run `pytest tests/robustness -q -s`")
    for item in items:
        if item.get_closest_marker("fuzz_red") is not None:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    for line in config.stash.get(SUMMARIES, []):
        terminalreporter.write_line(line)
