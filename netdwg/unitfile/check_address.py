"""networkd 252's [Address] section: Address=, Peer= and Broadcast= of one section share one
address family (config_parse_address() and config_parse_broadcast() in
src/network/networkd-address.c of v252); a value of the other family is ignored, with a warning."""

from __future__ import annotations

import ipaddress

ADDRESS_KEYS = frozenset({"Address", "Peer", "Broadcast"})
_BOOLEANS = frozenset({"1", "yes", "y", "true", "t", "on", "0", "no", "n", "false", "f", "off"})


def address_key(family: list[int], key: str, value: str) -> str | None:
    """networkd's warning for one of ADDRESS_KEYS (None: taken). ``family`` is the section's
    [0 | 4 | 6], updated as networkd updates it."""
    if key == "Broadcast":
        if value.lower() in _BOOLEANS:
            return None  # computed from Address=
        if family[0] == 6:
            return f"Broadcast is not valid for IPv6 addresses, ignoring assignment: {value}"
        try:
            broadcast = ipaddress.IPv4Address(value)
        except ValueError:
            return f"Broadcast is invalid, ignoring assignment: {value}"
        if broadcast == ipaddress.IPv4Address(0):
            return f"Broadcast cannot be ANY address, ignoring assignment: {value}"
        family[0] = 4
        return None
    try:
        version = ipaddress.ip_interface(value).version
    except ValueError:
        return f"Invalid address '{value}', ignoring assignment"
    if family[0] and family[0] != version:
        return f"Address is incompatible, ignoring assignment: {value}"
    family[0] = version
    return None
