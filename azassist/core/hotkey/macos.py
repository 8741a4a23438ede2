"""macOS: a listen-only Quartz event tap (``CGEventTapCreate``) through ctypes, no pyobjc.

macOS lets a program watch the keyboard only once the user allows it under System Settings ›
Privacy & Security › Input Monitoring (Accessibility on macOS before 10.15). Without it the
tap cannot be created, so the permission is checked first
(``CGPreflightListenEventAccess``, or ``AXIsProcessTrusted`` where that is missing) and the
pane says where to grant it; macOS is also asked to show its own prompt.

The OS calls live in ``QuartzTap`` behind the small ``TapApi`` seam, so the rest (key codes,
press/release, autorepeat, the permission message) is tested on any system. Untested on a
real Mac here.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from azassist.core.hotkey.base import HotkeyListener, ReleaseReport, mac_keycode, stop_hook_thread
from azassist.core.hotkey.edges import KeyEdges

log = logging.getLogger(__name__)

KEY_DOWN, KEY_UP = 10, 11  # kCGEventKeyDown, kCGEventKeyUp
TAP_DISABLED_BY_TIMEOUT, TAP_DISABLED_BY_USER_INPUT = 0xFFFFFFFE, 0xFFFFFFFF
FIELD_AUTOREPEAT, FIELD_KEYCODE = 8, 9  # kCGKeyboardEventAutorepeat, kCGKeyboardEventKeycode
SESSION_TAP, HEAD_INSERT, LISTEN_ONLY = 1, 0, 1


def permission_message(pane: str) -> str:
    """Where to allow azassist to watch the keyboard, in the words of System Settings."""
    return (
        f"macOS has not allowed azassist to watch the keyboard. Open System Settings › Privacy & Security › "
        f"{pane}, switch on azassist (when it runs from a terminal: that terminal app), then switch the global "
        "key off and on here. The in-window key works meanwhile."
    )


class TapApi(Protocol):
    """The OS side of the event tap."""

    def access(self) -> tuple[bool, str]:
        """Whether keyboard watching is allowed, and the Privacy pane that grants it."""
        ...

    def request_access(self) -> None:
        """Ask macOS to show its own permission prompt (it shows it once)."""
        ...

    def run(self, on_key: Callable[[int, bool, bool], None]) -> None:
        """Call ``on_key(keycode, down, autorepeat)`` for every key until ``stop``; raise
        PermissionError if the tap cannot be created."""
        ...

    def stop(self) -> None:
        """Make ``run`` return; callable from any thread, before or while it runs."""
        ...


class MacEventTapBackend:
    name = "macOS (event tap)"
    limits = (
        "Listens only: the key still reaches the app in front, so pick one that does nothing there (F13–F19; "
        "a PC keyboard's Pause and Scroll Lock arrive as F15 and F14). Needs Input Monitoring permission."
    )
    release = ReleaseReport.YES
    filters_autorepeat = True  # the tap marks autorepeat key-downs; KeyEdges drops them

    def __init__(self, api_factory: Callable[[], TapApi] | None = None) -> None:
        self._api_factory = api_factory or QuartzTap
        self._api: TapApi | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self, key: str, listener: HotkeyListener) -> None:
        code = mac_keycode(key)
        if code is None:
            listener.unavailable(
                f"The global key cannot be {key} on macOS: choose a function key (F13–F19), or Home, End, "
                "Page Up/Down or an arrow key."
            )
            return
        api = self._api = self._api_factory()
        try:
            allowed, pane = api.access()
        except Exception as exc:
            listener.unavailable(f"The global key cannot listen on this Mac: {exc}")
            return
        if not allowed:
            try:
                api.request_access()
            except Exception:
                log.debug("asking macOS for keyboard access failed", exc_info=True)
            listener.unavailable(permission_message(pane))
            return
        self._stopping.clear()
        edges = KeyEdges(code, listener)
        self._thread = threading.Thread(
            target=self._run, args=(api, edges, listener, pane), name="azassist-macos-hotkey", daemon=True
        )
        self._thread.start()

    def _run(self, api: TapApi, edges: KeyEdges, listener: HotkeyListener, pane: str) -> None:
        def on_key(code: int, down: bool, repeat: bool) -> None:
            try:
                edges.key(code, down, repeat)
            except Exception:  # an exception must never cross into the C callback
                log.exception("global key tap callback failed")

        try:
            api.run(on_key)
        except PermissionError:
            if not self._stopping.is_set():
                listener.unavailable(permission_message(pane))
            return
        except Exception as exc:
            if not self._stopping.is_set():
                listener.unavailable(f"The global key cannot listen on this Mac: {exc}")
            return
        if not self._stopping.is_set():
            listener.unavailable("The global key stopped listening: macOS ended the event tap.")

    def stop(self) -> None:
        stop_hook_thread(self._stopping, self._api, self._thread, "macOS event tap")
        self._thread = None
        self._api = None


class QuartzTap:
    """CoreGraphics/CoreFoundation through ctypes: a listen-only session tap on its own run loop."""

    APP_SERVICES = "/System/Library/Frameworks/ApplicationServices.framework/ApplicationServices"
    CORE_FOUNDATION = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._run_loop: int | None = None
        self._cf: Any = None

    def _libraries(self) -> tuple[Any, Any]:
        services = ctypes.cdll.LoadLibrary(self.APP_SERVICES)
        cf = self._cf = ctypes.cdll.LoadLibrary(self.CORE_FOUNDATION)
        return services, cf

    def access(self) -> tuple[bool, str]:
        services, _cf = self._libraries()
        preflight = getattr(services, "CGPreflightListenEventAccess", None)
        if preflight is not None:  # macOS 10.15+: Input Monitoring
            preflight.restype = ctypes.c_bool
            return bool(preflight()), "Input Monitoring"
        services.AXIsProcessTrusted.restype = ctypes.c_bool
        return bool(services.AXIsProcessTrusted()), "Accessibility"

    def request_access(self) -> None:
        services, _cf = self._libraries()
        request = getattr(services, "CGRequestListenEventAccess", None)
        if request is not None:
            request.restype = ctypes.c_bool
            request()

    def run(self, on_key: Callable[[int, bool, bool], None]) -> None:
        services, cf = self._libraries()
        vp = ctypes.c_void_p
        callback_type = ctypes.CFUNCTYPE(vp, vp, ctypes.c_uint32, vp, vp)
        services.CGEventTapCreate.restype = vp
        services.CGEventTapCreate.argtypes = [
            ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint64, callback_type, vp,
        ]
        services.CGEventTapEnable.argtypes = [vp, ctypes.c_bool]
        services.CGEventGetIntegerValueField.restype = ctypes.c_int64
        services.CGEventGetIntegerValueField.argtypes = [vp, ctypes.c_uint32]
        cf.CFMachPortCreateRunLoopSource.restype = vp
        cf.CFMachPortCreateRunLoopSource.argtypes = [vp, vp, ctypes.c_long]
        cf.CFRunLoopGetCurrent.restype = vp
        cf.CFRunLoopAddSource.argtypes = [vp, vp, vp]
        cf.CFRunLoopRunInMode.argtypes = [vp, ctypes.c_double, ctypes.c_bool]
        cf.CFRunLoopStop.argtypes = [vp]
        cf.CFMachPortInvalidate.argtypes = [vp]
        cf.CFRelease.argtypes = [vp]
        common_modes = vp.in_dll(cf, "kCFRunLoopCommonModes")
        default_mode = vp.in_dll(cf, "kCFRunLoopDefaultMode")
        tap_box: list[int | None] = [None]

        def tap_callback(_proxy: int | None, kind: int, event: int | None, _info: int | None) -> int | None:
            if kind in (TAP_DISABLED_BY_TIMEOUT, TAP_DISABLED_BY_USER_INPUT):
                log.info("macOS disabled the key tap (%#x); enabling it again", kind)
                if tap_box[0]:
                    services.CGEventTapEnable(tap_box[0], True)
            elif kind in (KEY_DOWN, KEY_UP) and event:
                code = int(services.CGEventGetIntegerValueField(event, FIELD_KEYCODE))
                repeat = bool(services.CGEventGetIntegerValueField(event, FIELD_AUTOREPEAT))
                on_key(code, kind == KEY_DOWN, repeat)
            return event  # listen-only: the event goes on unchanged

        callback = callback_type(tap_callback)  # kept alive while the tap exists
        mask = (1 << KEY_DOWN) | (1 << KEY_UP)
        tap = services.CGEventTapCreate(SESSION_TAP, HEAD_INSERT, LISTEN_ONLY, mask, callback, None)
        if not tap:
            raise PermissionError("the event tap was refused")
        tap_box[0] = tap
        source = cf.CFMachPortCreateRunLoopSource(None, tap, 0)
        try:
            with self._lock:
                if self._stopped.is_set():
                    return
                self._run_loop = cf.CFRunLoopGetCurrent()
            cf.CFRunLoopAddSource(self._run_loop, source, common_modes)
            services.CGEventTapEnable(tap, True)
            while not self._stopped.is_set():  # a stop that lands between two runs is seen here
                cf.CFRunLoopRunInMode(default_mode, 1.0, False)
        finally:
            services.CGEventTapEnable(tap, False)
            cf.CFMachPortInvalidate(tap)
            cf.CFRelease(source)
            cf.CFRelease(tap)
            del callback

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
            run_loop = self._run_loop
        if run_loop is not None and self._cf is not None:
            self._cf.CFRunLoopStop(run_loop)
