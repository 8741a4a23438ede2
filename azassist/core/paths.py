"""Where azassist keeps its files, and the one switch that moves them all.

``--config-dir DIR`` (or ``AZASSIST_CONFIG_DIR``) puts settings, logs and conversations under
one directory, so tests and portable installs never touch the real user profile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import platformdirs

APP_NAME = "azassist"
CONFIG_DIR_ENV = "AZASSIST_CONFIG_DIR"


class AppPaths(NamedTuple):
    """Resolved locations of every file the app writes.

    A NamedTuple, not a dataclass: the window reads it before its first paint, and the
    dataclasses module costs ~2.5 ms there.
    """

    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def conversations_dir(self) -> Path:
        return self.data_dir / "conversations"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "azassist.log"

    def ensure(self) -> AppPaths:
        """Create the directories (private to the user: they hold conversations)."""
        for directory in (self.config_dir, self.data_dir, self.log_dir, self.conversations_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self


def resolve_paths(config_dir: str | os.PathLike[str] | None = None) -> AppPaths:
    """An explicit directory wins, then the environment, then the platform's conventions."""
    chosen = config_dir or os.environ.get(CONFIG_DIR_ENV)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return AppPaths(config_dir=root, data_dir=root / "data", log_dir=root / "logs")
    return AppPaths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
