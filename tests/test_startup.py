"""Start-up without the slow lookups: the version constant and the first paint's settings guess."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from azassist import __version__
from azassist.core.settings import SettingsStore
from azassist.ui.app import FirstPaint

REPO = Path(__file__).resolve().parents[1]


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
    assert FirstPaint.read(path) == FirstPaint.of(SettingsStore(path).load())


@pytest.mark.parametrize("text", ["{ not json", "[1, 2]", '"text"', '{"connection": []}', '{"ui": 3}'])
def test_a_file_that_does_not_read_gives_the_defaults(tmp_path: Path, text: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(text)
    assert FirstPaint.read(path) == FirstPaint()
    assert FirstPaint.read(tmp_path / "missing.json") == FirstPaint()


def test_when_unsure_about_the_tray_there_is_no_early_window(tmp_path: Path) -> None:
    """pydantic reads "yes" as true: showing early and then hiding would be a flash."""
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"ui": {"start_minimised": "yes"}}))
    assert FirstPaint.read(path).minimised


@pytest.mark.parametrize(
    "environment",
    [
        {"HOME": "/home/ada"},
        {"HOME": "/home/ada/", "XDG_CONFIG_HOME": "/cfg", "XDG_DATA_HOME": "/data", "XDG_STATE_HOME": "/state"},
        {"HOME": "/home/ada", "XDG_CONFIG_HOME": "relative/ignored", "XDG_STATE_HOME": ""},
        {"HOME": "/"},
    ],
)
def test_default_locations_match_platformdirs(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The Linux fast path (no platformdirs import before the first paint) gives what
    platformdirs gives."""
    import platformdirs

    from azassist.core.paths import APP_NAME, CONFIG_DIR_ENV, resolve_paths

    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", CONFIG_DIR_ENV, "ANDROID_DATA", "ANDROID_ROOT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    paths = resolve_paths()
    assert paths.config_dir == Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    assert paths.data_dir == Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    assert paths.log_dir == Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def test_the_log_file_rolls_over_like_the_standard_handler(tmp_path: Path) -> None:
    import logging

    from azassist.core.logs import RotatingFile

    path = tmp_path / "azassist.log"
    handler = RotatingFile(path, max_bytes=100, backups=2)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for index in range(12):
        handler.emit(logging.LogRecord("t", logging.INFO, __file__, 1, f"line {index:02d} " + "x" * 30, None, None))
    handler.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["azassist.log", "azassist.log.1", "azassist.log.2"]
    assert all(p.stat().st_size <= 100 for p in tmp_path.iterdir())
    assert "line 11" in path.read_text() and "line 00" not in "".join(p.read_text() for p in tmp_path.iterdir())


def test_the_first_paint_does_not_import_what_it_does_not_draw() -> None:
    """platformdirs, logging.handlers, pydantic, qasync and asyncio come after the window is
    painted (or never, on Linux)."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from azassist.core.paths import resolve_paths\n"
        "from azassist.core.logs import setup_logging\n"
        "import azassist.ui.app, azassist.ui.main_window\n"
        "print(' '.join(sorted(m for m in ('platformdirs', 'logging.handlers', 'pydantic', 'qasync', 'asyncio')"
        " if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True,
                            env={"HOME": "/tmp", "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"})
    assert result.stdout.strip() == ""
