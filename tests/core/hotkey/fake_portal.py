"""A stand-in for ``org.freedesktop.portal.Desktop``'s GlobalShortcuts, run as its own process
on a private session bus (``python -m tests.core.hotkey.fake_portal ADDRESS MODE``).

It follows the portal's Request pattern (the reply names a Request object, the answer comes
as that object's ``Response`` signal, sent to the caller only) and sends ``Activated`` /
``Deactivated`` when the test calls the control interface ``org.azassist.FakePortal``
(``Press``, ``Release``, ``CloseSession``, ``Calls``). Modes:

- ``normal``: binds and reports press and release;
- ``no-release``: never sends ``Deactivated`` (as some desktops do);
- ``refuse``: the user declines the binding (``Response`` code 1);
- ``no-interface``: a portal without GlobalShortcuts (errors as xdg-desktop-portal gives them);
- ``pending``: the binding dialog is never answered;
- ``no-app-id``: CreateSession fails with an error (as a desktop may for an app it cannot name).
"""

from __future__ import annotations

import sys
from typing import Any

from jeepney import DBusAddress, HeaderFields, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

PORTAL_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS = "org.freedesktop.portal.GlobalShortcuts"
CONTROL = "org.azassist.FakePortal"


class FakePortal:
    def __init__(self, conn: Any, mode: str) -> None:
        self.conn = conn
        self.mode = mode
        self.calls: list[str] = []
        self.session: str | None = None
        self.owner: str | None = None  # the client's unique name
        self.shortcut_ids: list[str] = []

    def send_to_owner(self, msg: Any) -> None:
        msg.header.fields[HeaderFields.destination] = self.owner
        self.conn.send(msg)

    def respond(self, request: str, code: int, results: dict[str, tuple[str, Any]]) -> None:
        emitter = DBusAddress(request, interface="org.freedesktop.portal.Request")
        self.send_to_owner(new_signal(emitter, "Response", "ua{sv}", (code, results)))

    def shortcut_signal(self, member: str) -> None:
        if self.session is None:
            return
        emitter = DBusAddress(PORTAL_PATH, interface=SHORTCUTS)
        for shortcut_id in self.shortcut_ids:
            self.send_to_owner(new_signal(emitter, member, "osta{sv}", (self.session, shortcut_id, 1234, {})))

    def handle(self, msg: Any) -> None:
        fields = msg.header.fields
        interface, member = fields.get(HeaderFields.interface), fields.get(HeaderFields.member)
        sender, path = fields.get(HeaderFields.sender), fields.get(HeaderFields.path)
        if interface == CONTROL:
            self.calls.append(f"control.{member}")
            if member == "Press":
                self.shortcut_signal("Activated")
            elif member == "Release" and self.mode != "no-release":
                self.shortcut_signal("Deactivated")
            elif member == "CloseSession" and self.session is not None:
                closed = DBusAddress(self.session, interface="org.freedesktop.portal.Session")
                self.send_to_owner(new_signal(closed, "Closed", "a{sv}", ({},)))
                self.session = None
            self.conn.send(new_method_return(msg, "as", (self.calls,)) if member == "Calls" else new_method_return(msg))
            return
        self.calls.append(f"{member}")
        no_interface = self.mode == "no-interface"
        if interface == "org.freedesktop.DBus.Properties" and member == "Get":
            if no_interface or msg.body[0] != SHORTCUTS:
                self.conn.send(new_error(msg, "org.freedesktop.DBus.Error.InvalidArgs", "s", ("No such interface",)))
            else:
                self.conn.send(new_method_return(msg, "v", (("u", 2),)))
            return
        if interface == SHORTCUTS and self.mode == "no-app-id" and member == "CreateSession":
            error = "org.freedesktop.portal.Error.NotAllowed"
            self.conn.send(new_error(msg, error, "s", ("An app id is required",)))
            return
        if interface == SHORTCUTS and not no_interface and member in ("CreateSession", "BindShortcuts"):
            self.owner = sender
            options = msg.body[0] if member == "CreateSession" else msg.body[3]
            token = options["handle_token"][1]
            request = f"{PORTAL_PATH}/request/{sender.lstrip(':').replace('.', '_')}/{token}"
            self.conn.send(new_method_return(msg, "o", (request,)))
            if member == "CreateSession":
                self.session = f"{PORTAL_PATH}/session/{sender.lstrip(':').replace('.', '_')}/" + (
                    options["session_handle_token"][1]
                )
                self.respond(request, 0, {"session_handle": ("s", self.session)})
                return
            session, shortcuts = msg.body[0], msg.body[1]
            for shortcut_id, props in shortcuts:
                self.calls.append(f"bind {shortcut_id} {props['preferred_trigger'][1]} {session == self.session}")
            if self.mode == "pending":
                return
            if self.mode == "refuse":
                self.respond(request, 1, {})
                return
            self.shortcut_ids = [shortcut_id for shortcut_id, _ in shortcuts]
            bound = [(shortcut_id, {"description": props["description"], "trigger_description": ("s", "Pause")})
                     for shortcut_id, props in shortcuts]
            self.respond(request, 0, {"shortcuts": ("a(sa{sv})", bound)})
            return
        if interface == "org.freedesktop.portal.Session" and member == "Close" and path == self.session:
            self.session = None
            self.conn.send(new_method_return(msg))
            return
        self.conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"No such method {member}",)))


def main() -> None:
    address, mode = sys.argv[1], sys.argv[2]
    conn = open_dbus_connection(bus=address)
    reply = conn.send_and_get_reply(message_bus.RequestName(PORTAL_NAME, 4))  # 4: do not queue
    assert reply.body[0] == 1, f"could not own {PORTAL_NAME}: {reply.body}"
    portal = FakePortal(conn, mode)
    print("ready", flush=True)
    while True:
        msg = conn.receive()
        if msg.header.message_type is MessageType.method_call:
            portal.handle(msg)


if __name__ == "__main__":
    main()
