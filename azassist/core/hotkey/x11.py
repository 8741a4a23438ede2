"""X11: a listen-only keyboard hook through the RECORD extension (python-xlib).

RECORD copies every client's key device events to us; nothing is grabbed, so the key also
reaches the focused application (choose one that does nothing there: Pause, F13…). Device
events are what a keyboard or XTEST makes; synthetic XSendEvent keys are not seen. Under
Wayland only keys typed into XWayland windows would be seen, so the portal is used there.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from azassist.core.hotkey.base import HotkeyListener, ReleaseReport, x_keysym_name

log = logging.getLogger(__name__)

# X autorepeat, where it shows as key-up/key-down pairs, stamps both with the same server
# time; a person cannot let go and press again within this many milliseconds.
REPEAT_PAIR_MS = 30


class X11RecordBackend:
    name = "X11 (RECORD)"
    limits = (
        "Listens only: the key still reaches the application in front, so pick one that does nothing there "
        "(Pause, Scroll Lock, F13). Keys typed into Wayland windows are not seen."
    )
    release = ReleaseReport.YES
    filters_autorepeat = True

    def __init__(self, display_name: str | None = None) -> None:
        self.display_name = display_name  # None: $DISPLAY
        self._control: Any = None  # Xlib Display for requests (keysyms, disable)
        self._record: Any = None  # Xlib Display blocked in record_enable_context
        self._context: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self, key: str, listener: HotkeyListener) -> None:
        try:
            keycodes = self._open(key)
        except Exception as exc:
            self._close()
            listener.unavailable(f"The global key cannot listen on this X display: {exc}")
            return
        if not keycodes:
            self._close()
            listener.unavailable(f"This keyboard has no {key} key: choose another global key.")
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(frozenset(keycodes), listener), name="azassist-x11-hotkey", daemon=True
        )
        self._thread.start()

    def _open(self, key: str) -> set[int]:
        from Xlib import XK, display
        from Xlib.ext import record

        self._control = display.Display(self.display_name)
        self._record = display.Display(self.display_name)
        if not self._record.has_extension("RECORD"):
            raise RuntimeError("the X server has no RECORD extension")
        keysym = XK.string_to_keysym(x_keysym_name(key))
        if keysym == 0:
            return set()
        keycodes = {code for code, _index in self._control.keysym_to_keycodes(keysym)}
        self._context = self._record.record_create_context(
            0,
            [record.AllClients],
            [{
                "core_requests": (0, 0), "core_replies": (0, 0),
                "ext_requests": (0, 0, 0, 0), "ext_replies": (0, 0, 0, 0),
                "delivered_events": (0, 0), "device_events": (2, 3),  # KeyPress, KeyRelease
                "errors": (0, 0), "client_started": False, "client_died": False,
            }],
        )
        return keycodes

    def _run(self, keycodes: frozenset[int], listener: HotkeyListener) -> None:
        from Xlib import X
        from Xlib.ext import record
        from Xlib.protocol import rq

        record_display = self._record
        field = rq.EventField(None)
        lock = threading.Lock()
        pending: dict[object, threading.Timer] = {}  # releases held back until no press follows
        last_release = [-1]

        def send_release(token: object) -> None:
            with lock:
                if pending.pop(token, None) is None:
                    return  # a press with the same timestamp came: autorepeat
            listener.released()

        def on_reply(reply: Any) -> None:
            if reply.category != record.FromServer or reply.client_swapped or not reply.data:
                return
            data = reply.data
            while data:
                event, data = field.parse_binary_value(data, record_display.display, None, None)
                if event.detail not in keycodes:
                    continue
                if event.type == X.KeyPress:
                    with lock:
                        repeat = bool(pending) and 0 <= event.time - last_release[0] <= REPEAT_PAIR_MS
                        for held in pending.values():
                            held.cancel()
                        pending.clear()
                    if not repeat:
                        listener.pressed()
                elif event.type == X.KeyRelease:
                    token = object()
                    timer = threading.Timer(REPEAT_PAIR_MS / 1000, send_release, args=(token,))
                    timer.daemon = True
                    with lock:
                        last_release[0] = event.time
                        pending[token] = timer
                    timer.start()

        try:
            record_display.record_enable_context(self._context, on_reply)
        except Exception as exc:
            if not self._stopping.is_set():
                log.warning("X11 key listener stopped: %r", exc)
                listener.unavailable(f"The global key stopped listening: the X display went away ({type(exc).__name__}).")
            return
        if not self._stopping.is_set():
            listener.unavailable("The global key stopped listening: the X server ended the recording.")

    def stop(self) -> None:
        self._stopping.set()
        if self._control is not None and self._context is not None:
            try:
                self._control.record_disable_context(self._context)
                self._control.flush()
            except Exception:
                log.debug("could not disable the RECORD context", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout=5)
            if self._thread.is_alive():
                log.warning("X11 key listener did not stop in time")
            self._thread = None
        if self._record is not None and self._context is not None:
            try:
                self._record.record_free_context(self._context)
            except Exception:
                log.debug("could not free the RECORD context", exc_info=True)
        self._close()

    def _close(self) -> None:
        for attribute in ("_record", "_control"):
            connection = getattr(self, attribute)
            setattr(self, attribute, None)
            if connection is not None:
                try:
                    connection.close()
                except Exception:
                    log.debug("closing an X connection failed", exc_info=True)
        self._context = None
