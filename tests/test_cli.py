"""The installed entry point and the global options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from azassist import __version__


def _entry_point() -> Path:
    return Path(sys.executable).parent / "azassist"


def test_version_from_the_installed_entry_point(tmp_path: Path) -> None:
    result = subprocess.run([str(_entry_point()), "--version"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"azassist {__version__}"


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = subprocess.run([str(_entry_point()), "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0
    for word in ("--config-dir", "--log-level", "talk", "simulator", "selftest"):
        assert word in result.stdout


def test_config_dir_moves_every_file(tmp_path: Path) -> None:
    profile = tmp_path / "elsewhere"
    env = {k: v for k, v in os.environ.items() if k != "AZASSIST_CONFIG_DIR"}
    result = subprocess.run(
        [str(_entry_point()), "--config-dir", str(profile), "talk", "--help"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert (profile / "logs" / "azassist.log").exists()
    assert (profile / "data" / "conversations").is_dir()


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run([str(_entry_point()), "dance"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_no_arguments_mean_what_the_parser_gives_for_none() -> None:
    """A plain start skips the parser (start-up): its options must be the parser's own."""
    from azassist.__main__ import NO_ARGUMENTS, build_parser, parse_arguments

    assert parse_arguments([]) == build_parser().parse_args([]) == NO_ARGUMENTS
    assert parse_arguments([]) is not NO_ARGUMENTS  # a fresh copy each time
    assert parse_arguments(["--selftest", "--json"]).args == ["--json"]
