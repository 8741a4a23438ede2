"""Screen lock and suspend on Linux: a held global key is let go (``assume_release``).

A key held when the screen locks or the machine sleeps has its key-up eaten by the locker
or never sent at all, which would leave the microphone open behind a locked screen. So we
listen over D-Bus (jeepney) for what the desktop says before that happens:

- system bus, logind: ``org.freedesktop.login1.Manager.PrepareForSleep(true)``, and for
  this process's session (``GetSessionByPID``, else ``GetSession("auto")``) its ``Lock``
  signal and ``LockedHint`` turning true;
- session bus: ``ActiveChanged(true)`` of ``org.freedesktop.ScreenSaver`` (KDE and most
  others) and ``org.gnome.ScreenSaver``.

Each bus has its own thread with a blocking connection; what they hear is handed to the
event loop through ``post`` (``call_soon_threadsafe``), as the portal backend does. A
missing bus or service is no error: the watcher then says what it is not watching.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

LOGIN1 = "org.freedesktop.login1"
LOGIN1_PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"
PROPERTIES = "org.freedesktop.DBus.Properties"
SCREENSAVERS = ("org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver")  # bus name = interface

SLEEP = "Sent because the computer is going to sleep."
LOCK = "Sent because the screen was locked."

_NO_SERVICE = {
    "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.Spawn.ServiceNotFound", "org.freedesktop.DBus.Error.Spawn.ExecFailed",
}


class _Stopped(Exception):
    pass


class SessionWatch:
    """Calls ``on_lock(why)`` on the loop when the screen locks or the machine is about to sleep.

    ``system_bus`` and ``session_bus`` are jeepney bus names ("SYSTEM", "SESSION") or D-Bus
    addresses (tests point both at one private bus)."""

    def __init__(
        self,
        on_lock: Callable[[str], object],
        post: Callable[[Callable[[], object]], object],
        *,
        system_bus: str = "SYSTEM",
        session_bus: str = "SESSION",
        pid: int | None = None,
    ) -> None:
        self.on_lock = on_lock
        self.post = post
        self.buses = {"system": system_bus, "session": session_bus}
        self.pid = os.getpid() if pid is None else pid
        self.session_path: str | None = None
        # What is watched ("suspend", "session lock", "screen saver") and what is not, and why.
        self.watching: set[str] = set()
        self.not_watching: dict[str, str] = {}
        self.heard: list[str] = []  # every reason acted on, for the log and tests
        self._stopping = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._conns: dict[str, Any] = {}
        self._listening: set[str] = set()

    @property
    def ready(self) -> bool:
        """Both buses are set up (listening, or given up): signals sent from now on are heard."""
        threads = self._threads.items()
        return bool(threads) and all(kind in self._listening or not thread.is_alive() for kind, thread in threads)

    # --- life ------------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping.clear()
        self._listening.clear()
        self.watching.clear()
        self.not_watching.clear()
        for kind in self.buses:
            thread = threading.Thread(target=self._run, args=(kind,), name=f"azassist-{kind}-watch", daemon=True)
            self._threads[kind] = thread
            thread.start()

    def stop(self) -> None:
        """Stop listening and join the threads; safe to call twice."""
        self._stopping.set()
        for conn in list(self._conns.values()):
            try:
                conn.interrupt()
            except Exception:
                log.debug("could not interrupt a D-Bus connection", exc_info=True)
        for thread in self._threads.values():
            if thread is not threading.current_thread():
                thread.join(timeout=5)
                if thread.is_alive():
                    log.warning("%s did not stop in time", thread.name)
        self._threads.clear()

    def describe(self) -> str:
        """One line for the settings pane: what lets a held key go, and what cannot here ("" until known)."""
        if not self.ready:
            return ""
        lock = self.watching & {"session lock", "screen saver"}
        sleep = "suspend" in self.watching
        unwatched = [name for name in ("session lock", "screen saver") if not lock] + ([] if sleep else ["suspend"])
        why = "; ".join(dict.fromkeys(self.not_watching[name] for name in unwatched if name in self.not_watching))
        if not lock and not sleep:
            return f"Screen lock and suspend are not watched here ({why}): let go of the key before them."
        heard = " or ".join([*(["the screen locks"] if lock else []), *(["the computer sleeps"] if sleep else [])])
        text = f"A held turn is sent when {heard}."
        return f"{text} Not watched: {'screen lock' if not lock else 'suspend'} ({why})." if unwatched else text

    # --- the threads ---------------------------------------------------------------------------
    def _run(self, kind: str) -> None:
        try:
            from jeepney.io.threading import open_dbus_connection
        except ImportError:
            self._give_up(kind, "jeepney is not installed")
            return
        try:
            try:
                conn = open_dbus_connection(bus=self.buses[kind])
            except Exception as exc:  # no address set, no socket there, or it refused us
                log.debug("no %s bus: %r", kind, exc)
                self._give_up(kind, f"no {kind} D-Bus")
                return
            self._conns[kind] = conn  # before the check: stop() sets the flag, then interrupts
            if self._stopping.is_set():
                raise _Stopped
            if kind == "system":
                self._watch_login1(conn)
            else:
                self._watch_screensavers(conn)
            self._listening.add(kind)
            while True:
                self._handle(self._receive(conn))
        except _Stopped:
            pass
        except Exception as exc:
            if not self._stopping.is_set():
                log.warning("the %s bus watch failed: %r", kind, exc)
                self._give_up(kind, f"the {kind} D-Bus connection failed ({type(exc).__name__})")
        finally:
            conn = self._conns.pop(kind, None)
            if conn is not None:
                try:
                    conn.close()
                except Exception:
                    log.debug("closing the D-Bus connection failed", exc_info=True)

    def _watch_login1(self, conn: Any) -> None:
        from jeepney import DBusAddress, DBusErrorResponse, MatchRule, new_method_call
        from jeepney.bus_messages import message_bus

        manager = DBusAddress(LOGIN1_PATH, LOGIN1, MANAGER)
        try:
            self.session_path = str(self._call(conn, new_method_call(manager, "GetSessionByPID", "u", (self.pid,)))[0])
        except DBusErrorResponse as exc:
            if exc.name in _NO_SERVICE:
                self._give_up("system", "logind is not running")
                raise _Stopped from exc
            try:  # e.g. started by a user service, outside any session: logind picks the user's display
                self.session_path = str(self._call(conn, new_method_call(manager, "GetSession", "s", ("auto",)))[0])
            except DBusErrorResponse as again:
                self.not_watching["session lock"] = f"no login session for this process ({again.name})"
        self._call(conn, message_bus.AddMatch(
            MatchRule(type="signal", sender=LOGIN1, interface=MANAGER, member="PrepareForSleep", path=LOGIN1_PATH)
        ))
        self.watching.add("suspend")
        if self.session_path:
            self._call(conn, message_bus.AddMatch(
                MatchRule(type="signal", sender=LOGIN1, interface=SESSION, member="Lock", path=self.session_path)
            ))
            changed = MatchRule(
                type="signal", sender=LOGIN1, interface=PROPERTIES, member="PropertiesChanged", path=self.session_path
            )
            changed.add_arg_condition(0, SESSION)
            self._call(conn, message_bus.AddMatch(changed))
            self.watching.add("session lock")
        log.info("watching logind for suspend and the lock of session %s", self.session_path)

    def _watch_screensavers(self, conn: Any) -> None:
        from jeepney import MatchRule
        from jeepney.bus_messages import message_bus

        for name in SCREENSAVERS:  # no sender: whichever program owns the name now or later
            self._call(conn, message_bus.AddMatch(MatchRule(type="signal", interface=name, member="ActiveChanged")))
        owned = [name for name in SCREENSAVERS if self._call(conn, message_bus.NameHasOwner(name))[0]]
        if owned:
            self.watching.add("screen saver")
            log.info("watching %s for screen lock", " and ".join(owned))
        else:  # still listening: a locker started later is heard too
            self.not_watching["screen saver"] = "no screen saver service on the session bus"

    def _handle(self, msg: Any) -> None:
        """Acts on the signals the match rules let through (and ignores everything else)."""
        from jeepney import MessageType

        if msg.header.message_type is not MessageType.signal:
            return
        interface, member, path = _field(msg, "interface"), _field(msg, "member"), _field(msg, "path")
        ours = path is not None and path == self.session_path
        sleeping = interface == MANAGER and member == "PrepareForSleep" and msg.body[0] is True  # not the wake-up
        locked = (
            (interface == SESSION and member == "Lock" and ours)
            or (
                interface == PROPERTIES and member == "PropertiesChanged" and ours and msg.body[0] == SESSION
                and msg.body[1].get("LockedHint", (None, False))[1] is True
            )
            or (interface in SCREENSAVERS and member == "ActiveChanged" and msg.body[0] is True)
        )
        why = SLEEP if sleeping else LOCK if locked else ""
        if why:
            log.info("%s.%s: a held global key is let go", interface, member)
            self._tell(why)

    def _tell(self, why: str) -> None:
        self.heard.append(why)
        try:
            self.post(lambda: self.on_lock(why))
        except RuntimeError:  # the loop is closed: the app is quitting and the turn goes with it
            log.debug("no loop to tell: %s", why)

    def _give_up(self, kind: str, why: str) -> None:
        log.info("not watching the %s bus for lock/suspend: %s", kind, why)
        names = ("suspend", "session lock") if kind == "system" else ("screen saver",)
        for name in names:
            self.watching.discard(name)
            self.not_watching[name] = why

    # --- D-Bus plumbing (on the bus's own thread) -----------------------------------------------
    def _call(self, conn: Any, msg: Any) -> tuple[Any, ...]:
        """Send a method call and wait for its reply; signals meanwhile are handled, not lost."""
        from jeepney import DBusErrorResponse, HeaderFields, MessageType

        serial = next(conn.outgoing_serial)
        conn.send(msg, serial=serial)
        while True:
            incoming = self._receive(conn)
            if incoming.header.fields.get(HeaderFields.reply_serial) == serial:
                if incoming.header.message_type is MessageType.error:
                    raise DBusErrorResponse(incoming)
                return tuple(incoming.body)
            self._handle(incoming)

    def _receive(self, conn: Any) -> Any:
        from jeepney.io.threading import ReceiveStopped

        try:
            return conn.receive()
        except ReceiveStopped as exc:
            raise _Stopped from exc


def _field(msg: Any, name: str) -> Any:
    from jeepney import HeaderFields

    return msg.header.fields.get(getattr(HeaderFields, name))
