"""A rotating log file in the log directory, with every known secret scrubbed.

Redaction runs in a handler filter, so records from LiveKit, aiohttp and openai are cleaned
too: an ``api-key`` header or a key echoed in an error message never reaches the disk.
"""

from __future__ import annotations

import logging
import logging.handlers

from azassist.core.paths import AppPaths
from azassist.core.secrets import redact, scrub


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message with secrets replaced by ***."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(paths: AppPaths, level: str = "INFO", *, console: bool = False) -> logging.Handler:
    """Route everything to the rotating file (and optionally stderr); returns the file handler."""
    paths.log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        paths.log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
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
