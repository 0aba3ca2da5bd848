"""Addresses a server listens on: whether one is reachable from this machine only."""

from __future__ import annotations

import ipaddress
from typing import Final

__all__ = ["is_loopback"]

_LOCAL_NAMES: Final = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and the addresses of 127.0.0.0/8 and ``::1`` (brackets allowed);
    False for anything else, wildcard addresses (``0.0.0.0``, ``::``) and other names included."""
    name = host.strip("[]").lower()
    if name in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
