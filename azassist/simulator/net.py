"""Loopback-only binding (kept free of heavy imports: the command line checks it first)."""

from __future__ import annotations

import ipaddress


class LoopbackOnlyError(ValueError):
    """The simulator refuses to listen anywhere but on this machine."""


def resolve_loopback(host: str) -> str:
    """The loopback address to bind for ``host``; LoopbackOnlyError for anything else.

    The simulator accepts a fixed key and answers as Azure would: reachable from other
    machines it would be a fake endpoint anyone on the network could talk to.
    """
    candidate = "127.0.0.1" if host == "localhost" else host
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise LoopbackOnlyError(
            f"the simulator only binds loopback addresses (127.0.0.1, ::1, localhost), not {host!r}"
        )
    return str(address)
