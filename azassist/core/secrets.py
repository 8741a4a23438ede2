"""A string that refuses to be printed, and the registry the log redactor reads.

Keys live in memory as ``Secret`` so an accidental ``repr``, f-string or log line shows
``***`` instead of the key; every secret the app has seen is also scrubbed from log records.
"""

from __future__ import annotations

import re
import threading

_known: set[str] = set()
# a credential quoted with its header name, e.g. by a service echoing the request's headers
_HEADER_PATTERN = re.compile(
    r"(?i)(api[-_]?key['\"]?\s*[:=]\s*['\"]?|authorization['\"]?\s*[:=]\s*['\"]?(?:bearer\s+)?|\bbearer\s+)([^\s'\",}]+)"
)
_lock = threading.Lock()


class Secret:
    """Holds a secret value; only ``reveal()`` gives it out, and only to the one call that needs it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip()
        self._value = value
        if len(value) >= 6:
            with _lock:
                _known.add(value)

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __reduce__(self) -> None:  # type: ignore[override]
        raise TypeError("a Secret cannot be pickled")


def redact(text: str) -> str:
    """Replace every known secret in ``text`` with ***."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, "***")
    return text


def scrub(text: str) -> str:
    """``redact``, and whatever follows an ``api-key``/``Authorization``/``Bearer`` label: for
    text that leaves the app (the window, stderr, the log), where a secret this process never
    saw (another key, a token) must not appear either."""
    return _HEADER_PATTERN.sub(lambda m: f"{m.group(1)}***", redact(text))
