"""Load the voice engine on a worker thread, so the window never freezes for it.

Importing the engine (LiveKit Agents, its OpenAI plugin, openai-python's protocol types,
aiohttp, PyAV, PortAudio) takes one to two seconds of CPU; done on the window's thread it
froze the window that long right after the first paint. :func:`preload_engine` starts the
import on a thread of its own, once per process, as early as the caller likes (the window:
right after its first paint; ``azassist talk``: before it reads its settings);
:func:`load_engine` awaits it and returns the package. Anything that needs the engine on the
event loop's thread goes through :func:`load_engine` (an ``import`` there could block on the
module lock the worker holds).

Two things make this work with LiveKit:

* LiveKit's plugins register themselves when imported and refuse to do it off the main
  thread (``Plugin.register_plugin``). While the worker imports, a registration from it is
  kept and done on the main thread by :func:`load_engine` (or :func:`finish_on_main_thread`),
  exactly as it would have been, only later; one from the main thread goes through at once.
* The garbage collector is paused during the import: with ~1,800 modules being created a
  full collection ran in the middle and held the GIL for ~50 ms (the window's longest stall
  while importing, measured). Afterwards everything imported is frozen out of future
  collections (``gc.freeze``): ~1,800 modules' objects never need scanning again, so later
  collections while audio flows are short.
"""

from __future__ import annotations

import gc
import importlib
import logging
import queue
import sys
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

log = logging.getLogger(__name__)
T = TypeVar("T")

# What the engine and a device connection need, the big independent pieces first; the last
# one imports LiveKit's OpenAI plugin (a registration, kept for later). The others are only a
# head start: one that fails here (no PortAudio) fails again, and is reported, where it is used.
ENGINE = "azassist.core.engine"
ENGINE_MODULES = (
    "numpy",
    "sounddevice",  # initialises PortAudio (device enumeration): C work without the GIL
    "aiohttp",
    "livekit.rtc",
    "livekit.agents",
    "azassist.core.audio.facade",
    ENGINE,
)

_lock = threading.Lock()
_future: Future[None] | None = None
_kept: list[Any] = []  # plugins that asked to register from the worker thread
_original_register: Any = None
_keyring_started = False
_jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_worker: threading.Thread | None = None


def in_import_thread(work: Callable[[], T]) -> Future[T]:
    """Run ``work`` on the one thread that does every background import of this process, in
    the order asked (the settings beside the window, keyring, the engine, the local server).

    One thread, not one per job: two threads importing the same package at once can meet in
    its circular imports, and Python then hands one of them the half-initialised module (a
    window launched with the engine's import beside the settings' failed on pydantic:
    "cannot import name 'import_string' from partially initialized module"). Not a daemon:
    a quit waits for the import under way (finalising under a thread that loads native
    modules crashed: SIGSEGV at exit)."""
    global _worker
    future: Future[T] = Future()
    future.set_running_or_notify_cancel()  # a waiter that gives up cannot cancel the work

    def job() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:
            future.set_exception(exc)

    with _lock:
        _jobs.put(job)
        if _worker is None:
            _worker = threading.Thread(target=_run_jobs, name="azassist-import")
            _worker.start()
    return future


def _run_jobs() -> None:
    global _worker
    while True:
        with _lock:
            try:
                job = _jobs.get_nowait()
            except queue.Empty:
                _worker = None  # the next job starts a new thread
                return
        job()


def preload_engine() -> Future[None]:
    """Start importing the engine on the import thread (once); the future is done when it is."""
    global _future
    with _lock:
        if _future is not None:
            return _future
        if ENGINE in sys.modules:  # imported the plain way already
            _future = Future()
            _future.set_running_or_notify_cancel()
            _future.set_result(None)
            return _future
    future = in_import_thread(_import_all)
    with _lock:
        _future = _future or future
        return _future


def preload_keyring() -> None:
    """Let keyring choose its backend on the import thread (once). Its first use imports
    every backend it knows and asks D-Bus which one answers: 0.3 s on the window's thread
    while the engine imported (measured: the demo's longest stall after its first paint)."""
    global _keyring_started
    with _lock:
        if _keyring_started:
            return
        _keyring_started = True

    def choose() -> None:
        try:
            import keyring

            keyring.get_keyring()
        except Exception:  # said by the credential store when it is used
            log.debug("keyring backend not chosen ahead of use", exc_info=True)

    in_import_thread(choose)


def _import_all() -> None:
    started = time.perf_counter()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for name in ENGINE_MODULES:
            if name == ENGINE:
                _keep_plugin_registrations()
                importlib.import_module(name)
                continue
            try:
                importlib.import_module(name)
            except Exception:
                log.debug("preloading %s failed; it is imported again where it is used", name, exc_info=True)
        gc.freeze()  # what was imported is never garbage: keep it out of every later collection
    finally:
        if was_enabled:
            gc.enable()
    log.debug("voice engine imported on a worker thread in %.0f ms", 1000 * (time.perf_counter() - started))


def _keep_plugin_registrations() -> None:
    """Until :func:`finish_on_main_thread`, a plugin registering from this thread is kept."""
    global _original_register
    from livekit.agents.plugin import Plugin

    if _original_register is not None:
        return
    _original_register = Plugin.__dict__["register_plugin"]
    register = _original_register.__func__

    def register_plugin(cls: type[Plugin], plugin: Plugin) -> None:
        if threading.current_thread() is threading.main_thread():
            register(cls, plugin)
        else:
            _kept.append(plugin)

    Plugin.register_plugin = classmethod(register_plugin)  # type: ignore[method-assign,assignment]


def finish_on_main_thread() -> None:
    """Register the kept plugins (on the main thread, as LiveKit wants) and restore LiveKit's
    own registration. Call once the preload's future is done; off the main thread it does
    nothing (a registration from there would fail as it always has)."""
    global _original_register
    if threading.current_thread() is not threading.main_thread():
        return  # (a front end run on another thread, as in tests) the main thread's turn does it
    with _lock:
        original, _original_register = _original_register, None
        kept = list(_kept)
        _kept.clear()
    if original is None:
        return
    from livekit.agents.plugin import Plugin

    Plugin.register_plugin = original  # type: ignore[method-assign]
    for plugin in kept:
        Plugin.register_plugin(plugin)


async def import_off_thread(name: str) -> ModuleType:
    """``name`` imported on the import thread while the loop keeps running (for what registers
    no LiveKit plugin: the local server). On the loop's thread such an import also waited
    for every module the engine's import held meanwhile: the demo's window stalled 0.6 s."""
    import asyncio

    return await asyncio.wrap_future(in_import_thread(lambda: importlib.import_module(name)))


async def load_engine() -> ModuleType:
    """``azassist.core.engine``, imported on the worker thread while the loop keeps running."""
    import asyncio

    await asyncio.wrap_future(preload_engine())
    finish_on_main_thread()
    return sys.modules[ENGINE]


def load_engine_blocking() -> ModuleType:
    """The same for a caller without an event loop (waits on this thread)."""
    preload_engine().result()
    finish_on_main_thread()
    return sys.modules[ENGINE]
