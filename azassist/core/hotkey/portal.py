"""Wayland: the desktop portal's GlobalShortcuts interface over D-Bus (jeepney).

Wayland gives no program the keys typed into another one, so the compositor does the
listening: we ask the portal (``org.freedesktop.portal.Desktop``) for a session, bind one
shortcut with the user's key as the *preferred* trigger (the desktop shows a dialog and the
user may pick another), and get ``Activated``/``Deactivated`` signals for press and release.
Some desktops never send ``Deactivated``; the backend says its releases are unverified and
the controller switches to toggle mode the first time a second press comes without one.

jeepney's connection here is blocking, so everything D-Bus runs on one thread of ours; the
listener we are given moves its calls onto the event loop (``ThreadSafeListener``).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import deque
from typing import Any

from azassist.core.hotkey.base import HotkeyListener, ReleaseReport, x_keysym_name

log = logging.getLogger(__name__)

PORTAL_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS = "org.freedesktop.portal.GlobalShortcuts"
REQUEST = "org.freedesktop.portal.Request"
SESSION = "org.freedesktop.portal.Session"
SHORTCUT_ID = "push-to-talk"

IN_WINDOW = "The in-window key (Space) and the tray menu's Talk still work."

# Errors that mean "nothing answers for the portal" vs. "the portal has no such interface".
_NO_SERVICE = {
    "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.Spawn.ServiceNotFound", "org.freedesktop.DBus.Error.Spawn.ExecFailed",
}
_NO_INTERFACE = {
    "org.freedesktop.DBus.Error.UnknownInterface", "org.freedesktop.DBus.Error.UnknownMethod",
    "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownProperty",
    "org.freedesktop.DBus.Error.InvalidArgs",
}

_MODIFIERS = {"ctrl": "CTRL", "control": "CTRL", "alt": "ALT", "shift": "SHIFT", "meta": "LOGO", "super": "LOGO"}


def preferred_trigger(key: str) -> str:
    """The XDG shortcuts-spec trigger for a Qt key name or sequence ("Ctrl+Alt+T" -> "CTRL+ALT+t")."""
    parts = key.split("+") if len(key) > 1 else [key]
    if parts[-1] == "" and len(parts) > 1:  # "Ctrl++": the key is "+"
        parts = [*parts[:-2], "+"]
    *mods, last = parts
    names = [_MODIFIERS.get(mod.strip().lower(), mod.strip().upper()) for mod in mods]
    return "+".join([*names, x_keysym_name(last.strip())])


def request_path(unique_name: str, token: str) -> str:
    """Where the portal puts the Request object for ``token`` (the spec's fixed pattern)."""
    sender = unique_name.lstrip(":").replace(".", "_")
    return f"{PORTAL_PATH}/request/{sender}/{token}"


class PortalError(Exception):
    """A step failed in a way the user should read (the message is the pane's sentence)."""


class _Stopped(Exception):
    pass


class PortalShortcutsBackend:
    """One GlobalShortcuts session with one shortcut; see the module docstring."""

    name = "the desktop portal (GlobalShortcuts)"
    release = ReleaseReport.UNVERIFIED
    filters_autorepeat = False

    def __init__(self, bus: str = "SESSION", description: str = "Hold to talk to azassist") -> None:
        self.bus = bus  # "SESSION" or a D-Bus address (tests: a private bus)
        self.description = description
        self.limits = (
            "Your desktop asks once to confirm the shortcut and may let you pick another key there. "
            "If it never reports the key's release, the key toggles: press to talk, press again to send."
        )
        self.trigger_description = ""  # what the desktop says the trigger is, once bound
        self.session_handle: str | None = None
        self._conn: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._backlog: deque[Any] = deque()

    # --- the interface ---------------------------------------------------------------------
    def start(self, key: str, listener: HotkeyListener) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(key, listener), name="azassist-portal-hotkey", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        conn, session = self._conn, self.session_handle
        if conn is not None:
            if session:
                try:  # closing the session unbinds nothing the user chose, it just ends ours
                    from jeepney import DBusAddress, new_method_call

                    conn.send(new_method_call(DBusAddress(session, PORTAL_NAME, SESSION), "Close"))
                except Exception:
                    log.debug("could not close the portal session", exc_info=True)
            try:
                conn.interrupt()
            except Exception:
                log.debug("could not interrupt the D-Bus connection", exc_info=True)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
            if self._thread.is_alive():
                log.warning("portal key listener did not stop in time")
            self._thread = None
        self._close()

    # --- the thread ------------------------------------------------------------------------
    def _run(self, key: str, listener: HotkeyListener) -> None:
        try:
            self._connect()
            self._bind(key)
            if self._stopping.is_set():
                return
            self._listen(listener)
        except _Stopped:
            return
        except PortalError as exc:
            if not self._stopping.is_set():
                listener.unavailable(str(exc))
        except Exception as exc:
            if not self._stopping.is_set():
                log.warning("portal key listener failed: %r", exc)
                listener.unavailable(
                    f"The global key stopped listening: the connection to the desktop portal failed "
                    f"({type(exc).__name__}). {IN_WINDOW}"
                )
        finally:
            self._close()

    def _connect(self) -> None:
        from jeepney import MatchRule
        from jeepney.bus_messages import message_bus
        from jeepney.io.threading import open_dbus_connection

        try:
            self._conn = open_dbus_connection(bus=self.bus)
        except Exception as exc:
            raise PortalError(
                f"No D-Bus session bus to reach the desktop portal ({type(exc).__name__}). {IN_WINDOW}"
            ) from exc
        if self._stopping.is_set():  # stop() ran before the connection existed
            raise _Stopped
        for rule in (
            MatchRule(type="signal", interface=REQUEST, member="Response"),
            MatchRule(type="signal", sender=PORTAL_NAME, interface=SHORTCUTS),
            MatchRule(type="signal", sender=PORTAL_NAME, interface=SESSION, member="Closed"),
            _owner_rule(),
        ):
            self._call(message_bus.AddMatch(rule))

    def _bind(self, key: str) -> None:
        from jeepney import DBusAddress, DBusErrorResponse, Properties, new_method_call

        portal = DBusAddress(PORTAL_PATH, PORTAL_NAME, SHORTCUTS)
        try:
            self._call(Properties(portal).get("version"))
        except DBusErrorResponse as exc:
            if exc.name in _NO_SERVICE:
                raise PortalError(
                    f"No desktop portal is running, so no global key on Wayland here. {IN_WINDOW}"
                ) from exc
            if exc.name in _NO_INTERFACE:
                raise PortalError(
                    "This desktop's portal has no global shortcuts (it needs KDE Plasma 6, GNOME 48 or "
                    f"Hyprland). {IN_WINDOW}"
                ) from exc
            raise PortalError(f"The desktop portal refused: {exc.name}. {IN_WINDOW}") from exc

        token, session_token = _token(), _token()
        results = self._request(
            token,
            new_method_call(portal, "CreateSession", "a{sv}", (
                {"handle_token": ("s", token), "session_handle_token": ("s", session_token)},
            )),
            what="open a global shortcut session",
        )
        handle = results.get("session_handle")
        if handle is None:
            raise PortalError(f"The desktop portal opened no shortcut session. {IN_WINDOW}")
        self.session_handle = str(handle[1])

        token = _token()
        trigger = preferred_trigger(key)
        results = self._request(
            token,
            new_method_call(portal, "BindShortcuts", "oa(sa{sv})sa{sv}", (
                self.session_handle,
                [(SHORTCUT_ID, {"description": ("s", self.description), "preferred_trigger": ("s", trigger)})],
                "",
                {"handle_token": ("s", token)},
            )),
            what="bind the global key",
            refused=(
                "You did not allow the global shortcut, so the global key is off. To be asked again, switch "
                f"the setting off and on. {IN_WINDOW}"
            ),
        )
        bound = results.get("shortcuts")
        if bound is not None:
            ours = [options for shortcut_id, options in bound[1] if shortcut_id == SHORTCUT_ID]
            if not ours:
                raise PortalError(f"The desktop did not bind the global key. {IN_WINDOW}")
            described = ours[0].get("trigger_description")
            self.trigger_description = str(described[1]) if described else ""
        if self.trigger_description:
            self.limits = f"The desktop's trigger: {self.trigger_description}. {self.limits}"
        log.info("portal shortcut bound (preferred %s, desktop says %r)", trigger, self.trigger_description)

    def _listen(self, listener: HotkeyListener) -> None:
        from jeepney import MessageType

        while True:
            msg = self._next()
            header = msg.header
            if header.message_type is not MessageType.signal:
                continue
            interface, member = _field(msg, "interface"), _field(msg, "member")
            if interface == SHORTCUTS and member in ("Activated", "Deactivated"):
                session, shortcut_id = msg.body[0], msg.body[1]
                if session != self.session_handle or shortcut_id != SHORTCUT_ID:
                    continue
                if member == "Activated":
                    listener.pressed()
                else:
                    listener.released()
            elif interface == SHORTCUTS and member == "ShortcutsChanged":
                log.info("the desktop changed the global shortcut: %r", msg.body)
            elif interface == SESSION and member == "Closed" and _field(msg, "path") == self.session_handle:
                self.session_handle = None
                raise PortalError(f"The desktop ended the global shortcut session. {IN_WINDOW}")
            elif member == "NameOwnerChanged" and msg.body[0] == PORTAL_NAME and not msg.body[2]:
                self.session_handle = None
                raise PortalError(f"The desktop portal went away, so the global key stopped. {IN_WINDOW}")

    # --- D-Bus plumbing (all on this thread) --------------------------------------------------
    def _request(self, token: str, msg: Any, *, what: str, refused: str = "") -> dict[str, Any]:
        """A portal call in the Request pattern: the answer comes as the Request's Response signal."""
        from jeepney import DBusErrorResponse, MessageType

        expected = request_path(self._conn.unique_name, token)
        try:
            reply = self._call(msg)
        except DBusErrorResponse as exc:  # e.g. a desktop that wants an app id we do not have
            raise PortalError(f"The desktop portal refused to {what} ({exc.name}: {_text(exc)}). {IN_WINDOW}") from exc
        path = str(reply[0]) if reply else expected  # old portals chose their own path
        held: list[Any] = []
        try:
            while True:
                signal = self._next()
                if (
                    signal.header.message_type is MessageType.signal
                    and _field(signal, "interface") == REQUEST
                    and _field(signal, "member") == "Response"
                    and _field(signal, "path") in (path, expected)
                ):
                    code, results = signal.body
                    break
                held.append(signal)
        finally:
            self._backlog.extendleft(reversed(held))
        if code == 0:
            return dict(results)
        if code == 1:
            raise PortalError(refused or f"You cancelled the desktop's request to {what}. {IN_WINDOW}")
        raise PortalError(f"The desktop portal could not {what}. {IN_WINDOW}")

    def _call(self, msg: Any) -> tuple[Any, ...]:
        """Send a method call and wait for its reply; other messages wait in the backlog."""
        from jeepney import DBusErrorResponse, HeaderFields, MessageType

        conn = self._conn
        serial = next(conn.outgoing_serial)
        conn.send(msg, serial=serial)
        held: list[Any] = []
        try:
            while True:
                incoming = self._receive()
                if incoming.header.fields.get(HeaderFields.reply_serial) == serial:
                    if incoming.header.message_type is MessageType.error:
                        raise DBusErrorResponse(incoming)
                    return tuple(incoming.body)
                held.append(incoming)
        finally:
            self._backlog.extend(held)

    def _next(self) -> Any:
        return self._backlog.popleft() if self._backlog else self._receive()

    def _receive(self) -> Any:
        from jeepney.io.threading import ReceiveStopped

        try:
            return self._conn.receive()
        except ReceiveStopped as exc:
            raise _Stopped from exc

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        self._backlog.clear()
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("closing the D-Bus connection failed", exc_info=True)


def _text(exc: Any) -> str:
    """The error's own message, if it sent one."""
    data = getattr(exc, "data", ())
    return str(data[0]) if data and isinstance(data[0], str) else "no details"


def _token() -> str:
    return f"azassist_{secrets.token_hex(6)}"


def _owner_rule() -> Any:
    """Tells us when the portal's bus name loses its owner (the portal stopped or crashed)."""
    from jeepney import MatchRule

    rule = MatchRule(
        type="signal", sender="org.freedesktop.DBus", interface="org.freedesktop.DBus", member="NameOwnerChanged"
    )
    rule.add_arg_condition(0, PORTAL_NAME)
    return rule


def _field(msg: Any, name: str) -> Any:
    from jeepney import HeaderFields

    return msg.header.fields.get(getattr(HeaderFields, name))
