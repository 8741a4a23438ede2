"""A private D-Bus and fake services on it, in processes of their own: the portal and the
logind/screen-saver tests stand on these."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

REPO = Path(__file__).resolve().parents[3]
S = TypeVar("S", bound="FakeService")


@dataclass
class Bus:
    address: str
    proc: subprocess.Popen[bytes]


@contextlib.contextmanager
def private_bus() -> Iterator[Bus]:
    """A dbus-daemon of the test's own: nothing on it but what the test starts."""
    if not shutil.which("dbus-daemon"):
        pytest.fail("dbus-daemon is not installed: run 'make test' (it installs it)")
    proc = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1", "--nopidfile"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().decode().strip()
    assert address, "dbus-daemon printed no address"
    try:
        yield Bus(address, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class FakeService:
    """A fake service's process (``python -m MODULE ADDRESS MODE``, which prints "ready") and a
    control connection to its ``control`` calls at ``PATH``/``INTERFACE`` on ``NAME``."""

    MODULE = ""
    PATH = ""
    INTERFACE = ""
    NAME = ""

    def __init__(self, address: str, mode: str) -> None:
        from jeepney.io.blocking import open_dbus_connection

        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.MODULE, address, mode],
            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready", f"{self.MODULE} did not start"
        self.conn = open_dbus_connection(bus=address)

    def call(self, member: str, signature: str = "", *args: Any) -> Any:
        from jeepney import DBusAddress, new_method_call

        address = DBusAddress(self.PATH, self.NAME, self.INTERFACE)
        return self.conn.send_and_get_reply(new_method_call(address, member, signature, args), timeout=10).body

    def close(self) -> None:
        self.conn.close()
        self.proc.kill()
        self.proc.wait(timeout=10)


@contextlib.contextmanager
def service_factory(kind: type[S], address: str) -> Iterator[Callable[..., S]]:
    """``start(mode)`` starts one more fake of ``kind``; all are closed at the end."""
    started: list[S] = []

    def start(mode: str = "normal") -> S:
        started.append(kind(address, mode))
        return started[-1]

    try:
        yield start
    finally:
        for fake in started:
            fake.close()
