"""Unexpected exceptions anywhere in the UI: logged in full, shown in a sentence, survived."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

from azassist.core.secrets import scrub

log = logging.getLogger(__name__)


def summarize(exc: BaseException) -> str:
    """One short line for the window: the type and the first line of the message, no traceback."""
    text = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    if len(text) > 160:
        text = text[:157] + "…"
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def unexpected_message(exc: BaseException) -> str:
    return f"Something went wrong ({summarize(exc)}). azassist keeps running; the details are in the log."


def install_exception_hooks(report: Callable[[str], None], loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Route uncaught exceptions (Qt slots, callbacks, tasks) to the log and the window.

    Returns a function that restores the previous hooks.
    """
    previous_hook = sys.excepthook
    previous_handler = loop.get_exception_handler()

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, (KeyboardInterrupt, SystemExit)):
            previous_hook(kind, exc, tb)
            return
        log.error("unexpected error in the window", exc_info=(kind, exc, tb))
        _safely(report, unexpected_message(exc))

    def loop_handler(the_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, asyncio.CancelledError):
            return
        if isinstance(exc, BaseException):
            log.error("unexpected error in a task: %s", context.get("message", ""), exc_info=exc)
            _safely(report, unexpected_message(exc))
        else:
            # Resource warnings and the like: worth a log line, not a banner.
            log.warning("event loop: %s", context.get("message", context))

    sys.excepthook = excepthook
    loop.set_exception_handler(loop_handler)

    def restore() -> None:
        sys.excepthook = previous_hook
        loop.set_exception_handler(previous_handler)

    return restore


def _safely(report: Callable[[str], None], message: str) -> None:
    try:
        report(message)
    except Exception:  # the reporter itself failing must not recurse into the hook
        log.exception("could not show an error in the window")
