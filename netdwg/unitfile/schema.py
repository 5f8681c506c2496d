"""Which sections and keys exist in .netdev/.network/.link files, and since which systemd.

The tables are generated from systemd's own gperf tables of each release
(`schema_data`, written by tools/gen_systemd_tables.py; never typed by hand).
A target version picks the newest release read that is not newer than it; a
target newer than every release read uses the newest one (`newest_release`).
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import PurePosixPath

from netdwg.networkd_versions import since
from netdwg.unitfile.schema_data import KEYS, NETDEV_KINDS, RELEASES

BASE_VERSION = 252

# PrivateKey=, PresharedKey= and Endpoint= take "@name" (a systemd credential): the release and
# its source are in the one table of version differences.
CREDENTIAL_SINCE = since("wireguard_credentials")

# Which sections a .netdev of each Kind= reads (netdev.c's vtables; not in the gperf tables).
NETDEV_KIND_SECTIONS: dict[str, tuple[str, ...]] = {
    "wireguard": ("WireGuard", "WireGuardPeer"),
    "vlan": ("VLAN",), "macvlan": ("MACVLAN",), "macvtap": ("MACVTAP",), "ipvlan": ("IPVLAN",),
    "ipvtap": ("IPVTAP",), "vxlan": ("VXLAN",), "fou": ("FooOverUDP",), "veth": ("Peer",),
    "vxcan": ("VXCAN",), "tap": ("Tap",), "tun": ("Tun",), "bond": ("Bond",), "bridge": ("Bridge",),
    "vrf": ("VRF",), "l2tp": ("L2TP", "L2TPSession"),
    "macsec": ("MACsec", "MACsecReceiveChannel", "MACsecTransmitAssociation", "MACsecReceiveAssociation"),
    "xfrm": ("Xfrm",), "bareudp": ("BareUDP",), "batadv": ("BatmanAdvanced",), "ipoib": ("IPoIB",),
    "geneve": ("GENEVE",), "wlan": ("WLAN",), "hsr": ("HSR",),
    **{k: ("Tunnel",) for k in ("ipip", "gre", "gretap", "ip6gre", "ip6gretap", "sit", "vti", "vti6",
                                "ip6tnl", "erspan")},
    **{k: () for k in ("dummy", "nlmon", "ifb", "netdevsim", "vcan")},
}


def table_release(target_version: int) -> int:
    """The release whose tables stand for ``target_version``."""
    older = [r for r in RELEASES if r <= target_version]
    return older[-1] if older else RELEASES[0]


def newest_release() -> int:
    return RELEASES[-1]


def _has(span: tuple[int, int], release: int) -> bool:
    first, last = span
    return (first <= release or first == RELEASES[0]) and (last == 0 or release <= last)


@lru_cache(maxsize=None)
def _table(kind: str | None, target_version: int) -> dict[str, frozenset[str]]:
    release = table_release(target_version)
    if target_version < RELEASES[0]:
        release = target_version  # keys first read in RELEASES[0] may be older: kept
    out: dict[str, set[str]] = {}
    for k in ((kind,) if kind in KEYS else tuple(KEYS)):
        for section, keys in KEYS[k].items():
            present = {key for key, span in keys.items() if _has(span, release)}
            if present:
                out.setdefault(section, set()).update(present)
    return {s: frozenset(keys) for s, keys in out.items()}


@lru_cache(maxsize=None)
def netdev_kinds(target_version: int) -> frozenset[str]:
    """The Kind= values of .netdev files that systemd ``target_version`` makes devices of."""
    release = table_release(target_version) if target_version >= RELEASES[0] else target_version
    return frozenset(k for k, span in NETDEV_KINDS.items() if _has(span, release))


def netdev_kind_span(value: str) -> tuple[int | None, int | None]:
    """(first release read with this Kind=, last one; None: still there), or (None, None)."""
    if value not in NETDEV_KINDS:
        return None, None
    first, last = NETDEV_KINDS[value]
    return first, last or None


def unit_kind(path: str | PurePosixPath) -> str | None:
    """"netdev", "network" or "link" from the file name (drop-ins: from their ``.d`` directory)."""
    p = PurePosixPath(path)
    for candidate in (p.name, p.parent.name.removesuffix(".d") if p.suffix == ".conf" else ""):
        for kind in ("netdev", "network", "link"):
            if candidate.endswith("." + kind):
                return kind
    return None


def sections_for(kind: str | None, netdev_kind: str | None = None,
                 target_version: int = BASE_VERSION) -> frozenset[str]:
    """The sections systemd ``target_version`` reads in a file of this kind (.netdev: of this Kind=)."""
    sections = frozenset(_table(kind, target_version))
    if kind == "netdev" and netdev_kind in NETDEV_KIND_SECTIONS:
        return sections & frozenset({"Match", "NetDev", *NETDEV_KIND_SECTIONS[netdev_kind]})
    return sections


def known_keys(kind: str | None, section: str, target_version: int = BASE_VERSION) -> frozenset[str]:
    """Keys of ``[section]`` that systemd ``target_version`` knows."""
    return _table(kind, target_version).get(section, frozenset())


def key_since(kind: str | None, section: str, key: str) -> int | None:
    """The first release read that has the key (None: not a key of any release read)."""
    spans = [KEYS[k][section][key] for k in ((kind,) if kind in KEYS else tuple(KEYS))
             if key in KEYS[k].get(section, {})]
    return min(first for first, _last in spans) if spans else None


def key_until(kind: str | None, section: str, key: str) -> int | None:
    """The last release read that has a key later removed (None: still there, or never a key)."""
    spans = [KEYS[k][section][key] for k in ((kind,) if kind in KEYS else tuple(KEYS))
             if key in KEYS[k].get(section, {})]
    if not spans or any(last == 0 for _first, last in spans):
        return None
    return max(last for _first, last in spans)


def suggest(word: str, choices) -> str | None:
    """The closest known name, for "did you mean" (difflib, like git's suggestions)."""
    found = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    if found:
        return found[0]
    lowered = {c.lower(): c for c in choices}
    return lowered.get(word.lower())
