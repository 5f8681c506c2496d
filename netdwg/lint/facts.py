"""What the lint rules derive from a topology: who peers with whom, who reaches what.

Pure functions over `Topology`. The peer list mirrors what the compiler
builds (topologies.md): a hub has one peer per spoke carrying the spoke's
VPN addresses and LANs; a spoke has one peer, the hub, carrying the pool
and the LANs it reaches; a site pair's ends carry each other's LANs and the
transfer network; without a hub, sites form a mesh.
"""

from __future__ import annotations

import difflib
import ipaddress
from dataclasses import dataclass

from netdwg.errors import Diagnostic, Severity, Span
from netdwg.topology.model import Host, Role, SitePair, Topology
from netdwg.wireguard import IPNetwork


@dataclass(frozen=True, slots=True)
class Source:
    """Where a prefix in someone's AllowedIPs was written: host (or pair/network) and key."""

    owner: str  # host name, "network", or "pair NAME"
    key: str


@dataclass(frozen=True, slots=True)
class PeerPrefixes:
    """One peer on one host's WireGuard interface, with its AllowedIPs and their origin."""

    host: str
    interface: str
    peer: str
    prefixes: tuple[tuple[IPNetwork, Source], ...]


def host_prefix(address) -> IPNetwork:
    return ipaddress.ip_network(address)  # /32 or /128


def names(values: tuple[str, ...] | None) -> tuple[str, ...]:
    """A reference list without the empty entries `reach =` leaves behind."""
    return tuple(v for v in (values or ()) if v.strip())


def sites(topology: Topology) -> tuple[Host, ...]:
    return tuple(h for h in topology.hosts if h.role is Role.SITE and h.lans)


def reached_sites(topology: Topology, host: Host) -> tuple[Host, ...]:
    """Sites whose LANs `host` routes into the tunnel (its `reach`, default all)."""
    wanted = None if host.reach is None else set(names(host.reach))
    return tuple(s for s in sites(topology)
                 if s.name != host.name and (wanted is None or s.name in wanted))


def allowed_into(site: Host, host: Host) -> bool:
    return site.allow is None or host.name in names(site.allow)


def mesh_sites(topology: Topology) -> tuple[Host, ...]:
    """Without a hub, sites with VPN addresses peer with each other directly.

    Sites that only take part in site pairs (no pool address) are not in the mesh.
    """
    if topology.hub is not None:
        return ()
    return tuple(h for h in topology.by_role(Role.SITE) if h.addresses)


def derive_peers(topology: Topology) -> tuple[PeerPrefixes, ...]:
    """Every (host, interface, peer) with the prefixes the compiler puts in AllowedIPs."""
    net = topology.network
    pool = tuple((p, Source("network", "pool")) for p in net.pool)
    peers: list[PeerPrefixes] = []
    hub = topology.hub
    if hub is not None:
        for spoke in topology.spokes():
            if spoke.role is Role.HUB:
                continue
            own = tuple((host_prefix(a), Source(spoke.name, "address")) for a in spoke.addresses)
            lans = tuple((p, Source(spoke.name, "lan")) for p in spoke.lan_prefixes) if spoke.role is Role.SITE else ()
            peers.append(PeerPrefixes(hub.name, net.interface, spoke.name, own + lans))
            reached = tuple((p, Source(s.name, "lan")) for s in reached_sites(topology, spoke) for p in s.lan_prefixes)
            peers.append(PeerPrefixes(spoke.name, net.interface, hub.name, pool + reached))
    for a in mesh_sites(topology):
        for b in mesh_sites(topology):
            if a.name != b.name:
                own = tuple((host_prefix(x), Source(b.name, "address")) for x in b.addresses)
                peers.append(PeerPrefixes(a.name, net.interface, b.name,
                                          own + tuple((p, Source(b.name, "lan")) for p in b.lan_prefixes)))
    for pair in topology.pairs:
        peers += _pair_peers(topology, pair)
    return tuple(peers)


def _pair_peers(topology: Topology, pair: SitePair) -> list[PeerPrefixes]:
    out = []
    for me, other in (pair.ends, pair.ends[::-1]):
        if not (topology.has_host(me) and topology.has_host(other)):
            continue
        transfer = ((pair.transfer, Source(f"pair {pair.name}", "transfer")),)
        lans = tuple((p, Source(other, "lan")) for p in topology.host(other).lan_prefixes)
        out.append(PeerPrefixes(me, pair.interface, other, transfer + lans))
    return out


def effective_mtu(topology: Topology, host: Host) -> int:
    return host.mtu if host.mtu is not None else topology.network.mtu


def effective_keepalive(topology: Topology, host: Host) -> int:
    return host.keepalive if host.keepalive is not None else topology.network.keepalive


def span_of(topology: Topology, owner: str, key: str) -> Span | None:
    """The file:line of `key` in a host section, a pair section or [network]."""
    if owner == "network":
        return topology.network.span(key)
    if owner.startswith("pair "):
        name = owner[5:]
        return next((p.span for p in topology.pairs if p.name == name), None)
    if topology.has_host(owner):
        return topology.host(owner).span(key)
    return None


def suggest(name: str, known) -> str:
    guess = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean '{guess[0]}'?" if guess else f"known hosts: {', '.join(sorted(known)) or 'none'}"


def make(code: str, severity: Severity, message: str, span: Span | None, subject: str = "", fix: str = "") -> Diagnostic:
    return Diagnostic(code, severity, message, span, subject, fix)


def subject(host: Host | str) -> str:
    return f"host '{host if isinstance(host, str) else host.name}'"


def listing(items, limit: int = 5) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
