"""A rotating log file in the log directory, with every known secret scrubbed.

Redaction runs in a handler filter, so records from LiveKit, aiohttp and openai are cleaned
too: an ``api-key`` header or a key echoed in an error message never reaches the disk.
"""

from __future__ import annotations

import logging
import os
import re

from azassist.core.paths import AppPaths
from azassist.core.secrets import redact

_HEADER_PATTERN = re.compile(
    r"(?i)(api[-_]?key|authorization|bearer)(['\"]?\s*[:=]\s*['\"]?|\s+)([^\s'\",}]+)"
)


class RotatingFile(logging.FileHandler):
    """A log file that rolls over to ``.1`` ... ``.N`` at a size, as the standard library's
    RotatingFileHandler does; that module costs the window's first paint ~10 ms of imports
    (socket, pickle, queue) for one class."""

    def __init__(self, path: os.PathLike[str] | str, max_bytes: int, backups: int) -> None:
        super().__init__(path, encoding="utf-8")
        self.max_bytes, self.backups = max_bytes, backups

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._should_roll(record):
                self._roll()
            super().emit(record)
        except Exception:
            self.handleError(record)

    def _should_roll(self, record: logging.LogRecord) -> bool:
        if self.backups <= 0 or self.max_bytes <= 0:
            return False
        if os.path.exists(self.baseFilename) and not os.path.isfile(self.baseFilename):
            return False  # never roll a special file (e.g. /dev/null)
        if self.stream is None:
            self.stream = self._open()
        self.stream.seek(0, 2)
        return self.stream.tell() + len(self.format(record)) + 1 >= self.max_bytes

    def _roll(self) -> None:
        if self.stream:
            self.stream.close()
            self.stream = None  # type: ignore[assignment]
        for index in range(self.backups - 1, 0, -1):
            older = f"{self.baseFilename}.{index}"
            if os.path.exists(older):
                os.replace(older, f"{self.baseFilename}.{index + 1}")
        os.replace(self.baseFilename, f"{self.baseFilename}.1")
        self.stream = self._open()


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message with secrets replaced by ***."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = str(record.msg)
        cleaned = _HEADER_PATTERN.sub(lambda m: f"{m.group(1)}{m.group(2)}***", redact(message))
        record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(paths: AppPaths, level: str = "INFO", *, console: bool = False) -> logging.Handler:
    """Route everything to the rotating file (and optionally stderr); returns the file handler."""
    paths.log_dir.mkdir(parents=True, exist_ok=True)
    handler = RotatingFile(paths.log_file, max_bytes=2_000_000, backups=5)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.setLevel(level.upper())
    root.addHandler(handler)
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream.addFilter(RedactingFilter())
        root.addHandler(stream)
    return handler
