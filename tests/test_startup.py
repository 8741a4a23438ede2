"""Start-up without the slow lookups: the version constant and the first paint's settings guess."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from azassist import __version__
from azassist.core.settings import SettingsStore
from azassist.ui.app import FirstPaint, read_settings_json

REPO = Path(__file__).resolve().parents[1]


def _guess(settings_file: Path) -> FirstPaint:
    """What start-up guesses from the file, as run_gui reads it."""
    return FirstPaint.guess(read_settings_json(settings_file))


def test_the_version_constant_matches_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert __version__ == project["version"]


@pytest.mark.parametrize(
    "saved",
    [
        {},
        {"connection": {"endpoint": "https://x.openai.azure.com", "deployment": "gpt-realtime"}},
        {"connection": {"endpoint": "http://127.0.0.1:9", "deployment": "d"}, "ui": {"theme": "dark"}},
        {"connection": {"endpoint": "https://x.openai.azure.com"}, "ui": {"theme": "light", "start_minimised": True}},
        {"turn_detection": {"mode": "manual"}, "ui": {"push_to_talk_key": "F9"}},
        {"turn_detection": {"mode": "semantic_vad"}},
    ],
)
def test_the_guess_from_the_raw_file_agrees_with_the_validated_settings(tmp_path: Path, saved: dict) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(saved))
    assert _guess(path) == FirstPaint.of(SettingsStore(path).load())


@pytest.mark.parametrize("text", ["{ not json", "[1, 2]", '"text"', '{"connection": []}', '{"ui": 3}'])
def test_a_file_that_does_not_read_gives_the_defaults(tmp_path: Path, text: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(text)
    assert _guess(path) == FirstPaint()
    assert _guess(tmp_path / "missing.json") == FirstPaint()


def test_when_unsure_about_the_tray_there_is_no_early_window(tmp_path: Path) -> None:
    """pydantic reads "yes" as true: showing early and then hiding would be a flash."""
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"ui": {"start_minimised": "yes"}}))
    assert _guess(path).minimised


def test_the_first_paint_does_not_import_what_it_does_not_draw() -> None:
    """pydantic, qasync, asyncio, the rotating log handler, the event classes and the
    dataclasses module come after the window is painted. (platformdirs does load before it:
    where files live is needed first.)"""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from azassist.core.paths import resolve_paths\n"
        "import azassist.ui.app, azassist.ui.main_window\n"
        "print(' '.join(sorted(m for m in ('pydantic', 'qasync', 'asyncio', 'logging.handlers',"
        " 'azassist.core.events', 'dataclasses')"
        " if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True,
                            env={"HOME": "/tmp", "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"})
    assert result.stdout.strip() == ""
