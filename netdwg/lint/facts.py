"""What the lint rules derive from a topology: who peers with whom, who reaches what.

Pure functions over `Topology`. The peer list mirrors what the compiler
builds (netdwg.topology.compile): a hub has one peer per spoke carrying the spoke's
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
    """/32 or /128, built from the integer: ipaddress turns an address object (or text) into text and
    parses it again, which made this the linter's hottest line on a hub with 10,000 peers."""
    if address.version == 4:
        return ipaddress.IPv4Network((int(address), 32))
    return ipaddress.IPv6Network((int(address), 128))


def names(values: tuple[str, ...] | None) -> tuple[str, ...]:
    """A reference list without the empty entries `reach =` leaves behind."""
    return tuple(v for v in (values or ()) if v.strip())


class Facts:
    """Lookups computed once per topology, so every rule stays O(n) (a hub with 100,000 peers).

    `Topology.host()`, `.hub` and `.spokes()` scan all hosts on every call; rules
    that asked them once per host were O(n²).
    """

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.by_name = {h.name: h for h in topology.hosts}
        hubs = [h for h in topology.hosts if h.role is Role.HUB]
        self.hub = hubs[0] if hubs else None
        self.spokes = tuple(h for h in topology.hosts if h.role is not Role.HUB)
        # hosts with LANs others may reach: sites, and a hub with a LAN of its own (the compiler's LAN owners)
        self.sites = tuple(h for h in topology.hosts if h.role is not Role.ROAMING and h.lans)
        self.mesh = tuple(h for h in topology.hosts if h.role is Role.SITE and h.addresses) if self.hub is None else ()
        self._reached: dict[str, tuple[Host, ...]] = {}
        self._reached_by_reach: dict[tuple[str, ...] | None, tuple[Host, ...]] = {}
        self._peers: tuple | None = None
        self._outside: frozenset | None = None
        self._reachers: dict[str, list[Host]] | None = None
        self._site_reachers: dict[str, list[Host]] | None = None

    @property
    def outside_pool(self) -> frozenset:
        """VPN addresses no pool prefix holds (NDW014), computed once."""
        if self._outside is None:
            pool = self.topology.network.pool
            self._outside = frozenset(a for h in self.topology.hosts for a in h.addresses
                                      if not any(a.version == p.version and a in p for p in pool))
        return self._outside

    def reached_sites(self, host: Host) -> tuple[Host, ...]:
        found = self._reached.get(host.name)
        if found is None:
            if host.role is Role.ROAMING:
                # A roaming host is never a site, so what it reaches depends on its reach value
                # alone: 10,000 laptops with a few distinct reach values resolve each value once
                # and share its tuple (reach None: all sites).
                found = self._reached_by_reach.get(host.reach)
                if found is None:
                    found = self._reached_by_reach[host.reach] = self._resolve_reach(host)
            else:
                found = self._resolve_reach(host)
            self._reached[host.name] = found
        return found

    def _resolve_reach(self, host: Host) -> tuple[Host, ...]:
        if host.reach is None and host.role is Role.ROAMING:
            return self.sites
        wanted = None if host.reach is None else set(names(host.reach))
        return tuple(s for s in self.sites if s.name != host.name and (wanted is None or s.name in wanted))

    def reachers(self, site: Host) -> list[Host]:
        """The spokes that route `site`'s LANs into their tunnel."""
        if self._reachers is None:
            table: dict[str, list[Host]] = {s.name: [] for s in self.sites}
            for spoke in self.spokes:
                for reached in self.reached_sites(spoke):
                    table[reached.name].append(spoke)
            self._reachers = table
        return self._reachers.get(site.name, [])

    def site_reachers(self, site: Host) -> list[Host]:
        """`reachers(site)` that are sites: a few, where reachers() may hold 10,000 laptops."""
        if self._site_reachers is None:
            table: dict[str, list[Host]] = {s.name: [] for s in self.sites}
            for spoke in self.spokes:  # in spokes order, as reachers()
                if spoke.role is Role.SITE:
                    for reached in self.reached_sites(spoke):
                        table[reached.name].append(spoke)
            self._site_reachers = table
        return self._site_reachers.get(site.name, [])


_CACHE: list = [None, None]  # (topology, Facts): run_lint calls every rule on one topology


def facts(topology: Topology) -> Facts:
    if _CACHE[0] is not topology:
        _CACHE[:] = [topology, Facts(topology)]
    return _CACHE[1]


def sites(topology: Topology) -> tuple[Host, ...]:
    return facts(topology).sites


def reached_sites(topology: Topology, host: Host) -> tuple[Host, ...]:
    """Sites whose LANs `host` routes into the tunnel (its `reach`, default all)."""
    return facts(topology).reached_sites(host)


def allowed_into(site: Host, host: Host) -> bool:
    return site.allow is None or host.name in names(site.allow)


def mesh_sites(topology: Topology) -> tuple[Host, ...]:
    """Without a hub, sites with VPN addresses peer with each other directly.

    Sites that only take part in site pairs (no pool address) are not in the mesh.
    """
    return facts(topology).mesh


def derive_peers(topology: Topology) -> tuple[PeerPrefixes, ...]:
    """Every (host, interface, peer) with the prefixes the compiler puts in AllowedIPs (computed once)."""
    known = facts(topology)
    if known._peers is None:
        known._peers = _derive_peers(topology)
    return known._peers


def _derive_peers(topology: Topology) -> tuple[PeerPrefixes, ...]:
    net = topology.network
    pool = tuple((p, Source("network", "pool")) for p in net.pool)
    peers: list[PeerPrefixes] = []
    known = facts(topology)
    hub = known.hub
    if hub is not None:
        # Spokes with the same reach share one AllowedIPs tuple towards the hub (10,000 laptops
        # reaching 50 sites would otherwise build 500,000 entries). The cache is keyed by the
        # `reach` value itself, not by the names it resolves to (that built a 50-name tuple per
        # laptop). A roaming host's reached sites depend on its reach only; a site's also on its
        # own name (it does not reach itself), so sites key by (reach, name).
        towards_hub: dict[object, tuple] = {}
        for spoke in known.spokes:
            own = tuple((host_prefix(a), Source(spoke.name, "address")) for a in spoke.addresses)
            lans = tuple((p, Source(spoke.name, "lan")) for p in spoke.lan_prefixes) if spoke.role is Role.SITE else ()
            peers.append(PeerPrefixes(hub.name, net.interface, spoke.name, own + lans))
            key = spoke.reach if spoke.role is Role.ROAMING else (spoke.reach, spoke.name)
            shared = towards_hub.get(key)
            if shared is None:
                shared = towards_hub[key] = pool + tuple(
                    (p, Source(s.name, "lan")) for s in reached_sites(topology, spoke) for p in s.lan_prefixes)
            peers.append(PeerPrefixes(spoke.name, net.interface, hub.name, shared))
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
        by_name = facts(topology).by_name
        if me not in by_name or other not in by_name:
            continue
        transfer = ((pair.transfer, Source(f"pair {pair.name}", "transfer")),)
        lans = tuple((p, Source(other, "lan")) for p in by_name[other].lan_prefixes)
        out.append(PeerPrefixes(me, pair.interface_of(me), other, transfer + lans))
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
    host = facts(topology).by_name.get(owner)
    return host.span(key) if host is not None else None


def suggest(name: str, known) -> str:
    guess = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean '{guess[0]}'?" if guess else f"known hosts: {', '.join(sorted(known)) or 'none'}"


def make(code: str, severity: Severity, message: str, span: Span | None, subject: str = "", fix: str = "") -> Diagnostic:
    return Diagnostic(code, severity, message, span, subject, fix)


def subject(host: Host | str) -> str:
    return f"host '{host if isinstance(host, str) else host.name}'"


def listing(items, limit: int = 5) -> str:
    items = items if isinstance(items, list) else list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
