"""Windows: a low-level keyboard hook (``WH_KEYBOARD_LL``) through ctypes.

The hook sees every key-down and key-up on the desktop and passes each one on (listen-only:
the key still reaches the program in front). ``RegisterHotKey`` was not used: it reports
presses only. A held key repeats key-down with no key-up between, which ``KeyEdges`` drops.

The OS calls live in ``Win32Hook`` behind the small ``HookApi`` seam, so the rest (key
codes, press/release, autorepeat, failures) is tested on any system. Untested on real
Windows here.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from azassist.core.hotkey.base import HotkeyListener, ReleaseReport, stop_hook_thread, windows_vk
from azassist.core.hotkey.edges import KeyEdges

log = logging.getLogger(__name__)

WH_KEYBOARD_LL = 13
HC_ACTION = 0
WM_KEYDOWN, WM_KEYUP, WM_SYSKEYDOWN, WM_SYSKEYUP = 0x0100, 0x0101, 0x0104, 0x0105
WM_QUIT, WM_USER, PM_NOREMOVE = 0x0012, 0x0400, 0x0000


class HookApi(Protocol):
    """The OS side: install the hook on the calling thread and pump its messages."""

    def run(self, on_key: Callable[[int, bool], None]) -> None:
        """Call ``on_key(virtual_key, down)`` for every key until ``stop``; raise OSError if
        the hook cannot be installed."""
        ...

    def stop(self) -> None:
        """Make ``run`` return; callable from any thread, before or while it runs."""
        ...


class WindowsHookBackend:
    name = "Windows (low-level keyboard hook)"
    limits = (
        "Listens only: the key still reaches the program in front, so pick one that does nothing there "
        "(Pause, Scroll Lock, F13). Keys typed into programs running as administrator are not seen "
        "unless azassist runs as administrator too."
    )
    release = ReleaseReport.YES
    filters_autorepeat = True  # the hook repeats key-down only; KeyEdges drops the repeats

    def __init__(self, api_factory: Callable[[], HookApi] | None = None) -> None:
        self._api_factory = api_factory or Win32Hook
        self._api: HookApi | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self, key: str, listener: HotkeyListener) -> None:
        vk = windows_vk(key)
        if vk is None:
            listener.unavailable(f"Windows has no key code for {key}: choose another global key (Pause, F13…).")
            return
        self._stopping.clear()
        api = self._api = self._api_factory()
        edges = KeyEdges(vk, listener)
        self._thread = threading.Thread(
            target=self._run, args=(api, edges, listener), name="azassist-windows-hotkey", daemon=True
        )
        self._thread.start()

    def _run(self, api: HookApi, edges: KeyEdges, listener: HotkeyListener) -> None:
        def on_key(vk: int, down: bool) -> None:
            try:
                edges.key(vk, down)
            except Exception:  # never let an error reach the OS's hook chain
                log.exception("global key hook callback failed")

        try:
            api.run(on_key)
        except Exception as exc:
            if not self._stopping.is_set():
                listener.unavailable(f"The global key cannot listen on this Windows desktop: {exc}")
            return
        if not self._stopping.is_set():
            listener.unavailable("The global key stopped listening: Windows ended the keyboard hook.")

    def stop(self) -> None:
        stop_hook_thread(self._stopping, self._api, self._thread, "Windows keyboard hook")
        self._thread = None
        self._api = None


class Win32Hook:
    """``SetWindowsHookExW(WH_KEYBOARD_LL)`` and a message loop on the calling thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = False
        self._thread_id: int | None = None
        self._user32: Any = None

    def run(self, on_key: Callable[[int, bool], None]) -> None:
        from ctypes import wintypes

        win_dll: Any = getattr(ctypes, "WinDLL")  # noqa: B009 - Windows-only names, hidden from mypy on Linux
        functype: Any = getattr(ctypes, "WINFUNCTYPE")  # noqa: B009
        user32, kernel32 = win_dll("user32", use_last_error=True), win_dll("kernel32", use_last_error=True)
        self._user32 = user32
        lresult, wparam, lparam = ctypes.c_ssize_t, ctypes.c_size_t, ctypes.c_ssize_t

        class KBDLLHOOKSTRUCT(ctypes.Structure):
            _fields_ = [
                ("vkCode", wintypes.DWORD), ("scanCode", wintypes.DWORD), ("flags", wintypes.DWORD),
                ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_size_t),
            ]

        hookproc = functype(lresult, ctypes.c_int, wparam, lparam)
        user32.SetWindowsHookExW.argtypes = [ctypes.c_int, hookproc, wintypes.HINSTANCE, wintypes.DWORD]
        user32.SetWindowsHookExW.restype = wintypes.HHOOK
        user32.CallNextHookEx.argtypes = [wintypes.HHOOK, ctypes.c_int, wparam, lparam]
        user32.CallNextHookEx.restype = lresult
        user32.UnhookWindowsHookEx.argtypes = [wintypes.HHOOK]
        user32.GetMessageW.argtypes = [ctypes.POINTER(wintypes.MSG), wintypes.HWND, wintypes.UINT, wintypes.UINT]
        user32.PeekMessageW.argtypes = [
            ctypes.POINTER(wintypes.MSG), wintypes.HWND, wintypes.UINT, wintypes.UINT, wintypes.UINT,
        ]
        user32.PostThreadMessageW.argtypes = [wintypes.DWORD, wintypes.UINT, wparam, lparam]
        kernel32.GetModuleHandleW.argtypes = [wintypes.LPCWSTR]
        kernel32.GetModuleHandleW.restype = wintypes.HMODULE

        def proc(n_code: int, w_param: int, l_param: int) -> int:
            if n_code == HC_ACTION:
                info = ctypes.cast(l_param, ctypes.POINTER(KBDLLHOOKSTRUCT)).contents
                if w_param in (WM_KEYDOWN, WM_SYSKEYDOWN):
                    on_key(int(info.vkCode), True)
                elif w_param in (WM_KEYUP, WM_SYSKEYUP):
                    on_key(int(info.vkCode), False)
            return int(user32.CallNextHookEx(None, n_code, w_param, l_param))

        callback = hookproc(proc)  # kept alive for as long as the hook is installed
        msg = wintypes.MSG()
        # Make this thread's message queue exist before anyone may post WM_QUIT to it.
        user32.PeekMessageW(ctypes.byref(msg), None, WM_USER, WM_USER, PM_NOREMOVE)
        with self._lock:
            if self._stopped:
                return
            self._thread_id = int(kernel32.GetCurrentThreadId())
        hook = user32.SetWindowsHookExW(WH_KEYBOARD_LL, callback, kernel32.GetModuleHandleW(None), 0)
        if not hook:
            raise getattr(ctypes, "WinError")(getattr(ctypes, "get_last_error")())  # noqa: B009
        try:
            while user32.GetMessageW(ctypes.byref(msg), None, 0, 0) > 0:  # 0: WM_QUIT, -1: error
                user32.TranslateMessage(ctypes.byref(msg))
                user32.DispatchMessageW(ctypes.byref(msg))
        finally:
            user32.UnhookWindowsHookEx(hook)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            thread_id = self._thread_id
        if thread_id is not None and self._user32 is not None:
            self._user32.PostThreadMessageW(thread_id, WM_QUIT, 0, 0)
