"""Which sections and keys exist in .netdev/.network/.link files, and since which systemd.

The 252 key set is complete and exact: it is the gperf table of the Debian 12
binaries (`schema_data`). Versions are recorded where they were checked
(platform-facts section 6 for [WireGuard]/[WireGuardPeer]; the man pages'
history for the newer keys below); a key without a recorded version is
treated as present in every target up to 252.
"""

from __future__ import annotations

import difflib
from pathlib import PurePosixPath

from netdwg.unitfile.schema_data import NETWORKD_252, UDEV_LINK_252

BASE_VERSION = 252

# PrivateKey=, PresharedKey= and Endpoint= take "@name" (a systemd credential) from 256 on
# (systemd.netdev(5) of v256; systemd NEWS for 256).
CREDENTIAL_SINCE = 256

# .netdev [Match] only takes the host conditions (netdev-gperf.gperf), not the link matches.
_NETDEV_MATCH = frozenset({"Host", "Virtualization", "KernelCommandLine", "KernelVersion",
                           "Credential", "Architecture", "Firmware"})

NETDEV_KIND_SECTIONS: dict[str, tuple[str, ...]] = {
    "wireguard": ("WireGuard", "WireGuardPeer"),
    "vlan": ("VLAN",), "macvlan": ("MACVLAN",), "macvtap": ("MACVTAP",), "ipvlan": ("IPVLAN",),
    "ipvtap": ("IPVTAP",), "vxlan": ("VXLAN",), "fou": ("FooOverUDP",), "veth": ("Peer",),
    "vxcan": ("VXCAN",), "tap": ("Tap",), "tun": ("Tun",), "bond": ("Bond",), "bridge": ("Bridge",),
    "vrf": ("VRF",), "l2tp": ("L2TP", "L2TPSession"),
    "macsec": ("MACsec", "MACsecReceiveChannel", "MACsecTransmitAssociation", "MACsecReceiveAssociation"),
    "xfrm": ("Xfrm",), "bareudp": ("BareUDP",), "batadv": ("BatmanAdvanced",), "ipoib": ("IPoIB",),
    "geneve": ("GENEVE",), "wlan": ("WLAN",),
    **{k: ("Tunnel",) for k in ("ipip", "gre", "gretap", "ip6gre", "ip6gretap", "sit", "vti", "vti6",
                                "ip6tnl", "erspan")},
    **{k: () for k in ("dummy", "nlmon", "ifb", "netdevsim", "vcan")},
}
_NETDEV_ONLY = frozenset(s for secs in NETDEV_KIND_SECTIONS.values() for s in secs) | {"NetDev"}
_BOTH = frozenset({"Match", "Bridge", "IPoIB"})  # names used by .network and .netdev alike

# (kind, section, key) -> the systemd version that added it. Checked facts only.
KEY_SINCE: dict[tuple[str, str, str], int] = {
    ("netdev", "WireGuard", "PrivateKey"): 237,
    ("netdev", "WireGuard", "PrivateKeyFile"): 242,
    ("netdev", "WireGuard", "ListenPort"): 237,
    ("netdev", "WireGuard", "FwMark"): 237,
    ("netdev", "WireGuard", "FirewallMark"): 243,
    ("netdev", "WireGuard", "RouteTable"): 250,
    ("netdev", "WireGuard", "RouteMetric"): 250,
    ("netdev", "WireGuardPeer", "PublicKey"): 237,
    ("netdev", "WireGuardPeer", "PresharedKey"): 237,
    ("netdev", "WireGuardPeer", "PresharedKeyFile"): 242,
    ("netdev", "WireGuardPeer", "AllowedIPs"): 237,
    ("netdev", "WireGuardPeer", "Endpoint"): 237,
    ("netdev", "WireGuardPeer", "PersistentKeepalive"): 237,
    ("netdev", "WireGuardPeer", "RouteTable"): 250,
    ("netdev", "WireGuardPeer", "RouteMetric"): 250,
    # Newer than 252 (not in the 252 binary): systemd.network(5) history.
    ("network", "Network", "IPv4Forwarding"): 256,
    ("network", "Network", "IPv6Forwarding"): 256,
    ("network", "Network", "UseDomains"): 256,
    ("network", "DHCPv4", "UseCaptivePortal"): 254,
    ("network", "IPv6AcceptRA", "UseCaptivePortal"): 254,
    ("network", "DHCPv4", "RequestAddress"): 255,
}


def unit_kind(path: str | PurePosixPath) -> str | None:
    """"netdev", "network" or "link" from the file name (drop-ins: from their ``.d`` directory)."""
    p = PurePosixPath(path)
    for candidate in (p.name, p.parent.name.removesuffix(".d") if p.suffix == ".conf" else ""):
        for kind in ("netdev", "network", "link"):
            if candidate.endswith("." + kind):
                return kind
    return None


def _table(kind: str | None) -> dict[str, frozenset[str]]:
    if kind == "link":
        return UDEV_LINK_252
    if kind == "netdev":
        table = {s: keys for s, keys in NETWORKD_252.items() if s in _NETDEV_ONLY or s in _BOTH}
        table["Match"] = _NETDEV_MATCH
        return table
    if kind == "network":
        return {s: keys for s, keys in NETWORKD_252.items() if s not in _NETDEV_ONLY or s in _BOTH}
    merged = dict(NETWORKD_252)
    for s, keys in UDEV_LINK_252.items():
        merged[s] = merged.get(s, frozenset()) | keys
    return merged


def sections_for(kind: str | None, netdev_kind: str | None = None) -> frozenset[str]:
    """The sections systemd 252 reads in a file of this kind (.netdev: of this Kind=)."""
    if kind == "netdev" and netdev_kind in NETDEV_KIND_SECTIONS:
        return frozenset({"Match", "NetDev", *NETDEV_KIND_SECTIONS[netdev_kind]})
    return frozenset(_table(kind))


def known_keys(kind: str | None, section: str, target_version: int = BASE_VERSION) -> frozenset[str]:
    """Keys of ``[section]`` that systemd ``target_version`` knows."""
    keys = set(_table(kind).get(section, frozenset()))
    for (k, s, key), since in KEY_SINCE.items():
        if s == section and (kind is None or k == kind):
            if since <= target_version:
                keys.add(key)
            else:
                keys.discard(key)
    return frozenset(keys)


def key_since(kind: str | None, section: str, key: str) -> int | None:
    """The version that added the key, when recorded (None: unknown or not a key)."""
    for k in ((kind,) if kind else ("netdev", "network", "link")):
        if (k, section, key) in KEY_SINCE:
            return KEY_SINCE[(k, section, key)]
    return None


def suggest(word: str, choices) -> str | None:
    """The closest known name, for "did you mean" (difflib, like git's suggestions)."""
    found = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    if found:
        return found[0]
    lowered = {c.lower(): c for c in choices}
    return lowered.get(word.lower())
