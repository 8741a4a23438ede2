"""A stand-in for logind and the desktop's screen savers, run as its own process on a private
bus (``python -m tests.core.hotkey.fake_login1 ADDRESS MODE``).

It owns ``org.freedesktop.login1`` (``GetSessionByPID``, ``GetSession``) and, unless told
not to, ``org.freedesktop.ScreenSaver`` and ``org.gnome.ScreenSaver``. The test makes it send
the real services' signals through the control interface ``org.azassist.FakeLogin1``:
``Sleep(b)``, ``Lock(o)``, ``LockedHint(ob)``, ``ActiveChanged(sb)``, ``Calls()``. Each signal
goes out before the control call's reply, so it is on the bus when the call returns. Modes:

- ``normal``: a session for any PID, both screen savers;
- ``no-session``: ``GetSessionByPID`` and ``GetSession`` fail as logind does for a process
  outside any session; no screen saver names.
"""

from __future__ import annotations

import sys
from typing import Any

from jeepney import DBusAddress, HeaderFields, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

LOGIN1 = "org.freedesktop.login1"
MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"
CONTROL = "org.azassist.FakeLogin1"
OUR_SESSION = "/org/freedesktop/login1/session/_32"
OTHER_SESSION = "/org/freedesktop/login1/session/c7"
SCREENSAVER_PATHS = {"org.freedesktop.ScreenSaver": "/org/freedesktop/ScreenSaver", "org.gnome.ScreenSaver": "/org/gnome/ScreenSaver"}


class FakeLogin1:
    def __init__(self, conn: Any, mode: str) -> None:
        self.conn = conn
        self.mode = mode
        self.calls: list[str] = []

    def emit(self, path: str, interface: str, member: str, signature: str, body: tuple[Any, ...]) -> None:
        self.conn.send(new_signal(DBusAddress(path, interface=interface), member, signature, body))

    def handle(self, msg: Any) -> None:
        fields = msg.header.fields
        interface, member = fields.get(HeaderFields.interface), fields.get(HeaderFields.member)
        if interface == CONTROL:
            if member == "Sleep":
                self.emit("/org/freedesktop/login1", MANAGER, "PrepareForSleep", "b", (msg.body[0],))
            elif member == "Lock":
                self.emit(msg.body[0], SESSION, "Lock", "", ())
            elif member == "LockedHint":
                changed = {"LockedHint": ("b", msg.body[1])}
                self.emit(msg.body[0], "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as", (SESSION, changed, []))
            elif member == "ActiveChanged":
                name = msg.body[0]
                self.emit(SCREENSAVER_PATHS[name], name, "ActiveChanged", "b", (msg.body[1],))
            self.conn.send(new_method_return(msg, "as", (self.calls,)) if member == "Calls" else new_method_return(msg))
            return
        self.calls.append(f"{member} {' '.join(map(str, msg.body))}".strip())
        if interface == MANAGER and member in ("GetSessionByPID", "GetSession"):
            if self.mode == "no-session":
                error = "org.freedesktop.login1.NoSessionForPID" if member == "GetSessionByPID" else "org.freedesktop.login1.NoSuchSession"
                self.conn.send(new_error(msg, error, "s", ("No session",)))
            else:
                self.conn.send(new_method_return(msg, "o", (OUR_SESSION,)))
            return
        self.conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"No such method {member}",)))


def main() -> None:
    address, mode = sys.argv[1], sys.argv[2]
    conn = open_dbus_connection(bus=address)
    names = [LOGIN1] + ([] if mode == "no-session" else list(SCREENSAVER_PATHS))
    for name in names:
        reply = conn.send_and_get_reply(message_bus.RequestName(name, 4))  # 4: do not queue
        assert reply.body[0] == 1, f"could not own {name}: {reply.body}"
    fake = FakeLogin1(conn, mode)
    print("ready", flush=True)
    while True:
        msg = conn.receive()
        if msg.header.message_type is MessageType.method_call:
            fake.handle(msg)


if __name__ == "__main__":
    main()
