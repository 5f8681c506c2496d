"""What the guard sees of the host, as values, and the pure fold of events into it.

Event sources (netlink, lease files, networkd and NetworkManager over D-Bus)
turn what they receive into the small event values below; `fold` applies one
event to an `Observed` snapshot. The policy then decides from the snapshot
alone, so the order in which sources report does not matter.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

from netdwg.wireguard import IPAddress, IPInterface, IPNetwork

RT_TABLE_MAIN = 254
RTPROT_KERNEL = 2
RTPROT_BOOT = 3
RTPROT_STATIC = 4
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253


@dataclass(frozen=True, slots=True)
class Route:
    """A unicast route, identified by (dst, dev, table, metric) as the kernel does."""

    dst: IPNetwork
    dev: str
    metric: int = 0
    table: int = RT_TABLE_MAIN
    proto: int = field(default=RTPROT_STATIC, compare=False)
    scope: int = field(default=RT_SCOPE_LINK, compare=False)
    gateway: IPAddress | None = field(default=None, compare=False)
    prefsrc: IPAddress | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple:
        return (self.dst, self.dev, self.table, self.metric)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Route) and self.key == other.key

    def describe(self) -> str:
        via = f" via {self.gateway}" if self.gateway else ""
        table = "" if self.table == RT_TABLE_MAIN else f" table {self.table}"
        return f"{self.dst}{via} dev {self.dev} metric {self.metric}{table}"

    def to_json(self) -> dict:
        return {"dst": str(self.dst), "dev": self.dev, "metric": self.metric, "table": self.table,
                "proto": self.proto, "scope": self.scope,
                "gateway": str(self.gateway) if self.gateway else None,
                "prefsrc": str(self.prefsrc) if self.prefsrc else None}

    @classmethod
    def from_json(cls, data: dict) -> "Route":
        return cls(dst=ipaddress.ip_network(data["dst"]), dev=data["dev"], metric=int(data["metric"]),
                   table=int(data["table"]), proto=int(data.get("proto", RTPROT_STATIC)),
                   scope=int(data.get("scope", RT_SCOPE_LINK)),
                   gateway=ipaddress.ip_address(data["gateway"]) if data.get("gateway") else None,
                   prefsrc=ipaddress.ip_address(data["prefsrc"]) if data.get("prefsrc") else None)


@dataclass(frozen=True, slots=True)
class Address:
    dev: str
    interface: IPInterface


@dataclass(frozen=True, slots=True)
class Neighbour:
    dev: str
    ip: IPAddress
    mac: str  # lowercase aa:bb:...


@dataclass(frozen=True, slots=True)
class Lease:
    """A DHCPv4 lease as seen by the laptop's client (networkd lease file, networkd D-Bus or NM)."""

    dev: str
    address: IPAddress | None = None
    server_id: IPAddress | None = None
    router: IPAddress | None = None
    domain: str = ""  # lowercase, no trailing dot
    source: str = ""  # "lease-file", "networkd", "networkmanager"


@dataclass(frozen=True, slots=True)
class Proof:
    """The result of an active check of an office host through one link: the SHA-256 of the
    certificate it presented (kind "tls") or of the SSH host key it proved to hold (kind "ssh"),
    or the error (sha256 empty). `at` (monotonic) and `attempt` say when and which check of
    this host on this link it was: the policy's retry schedule reads them (guard/proofs.py)."""

    dev: str
    host: IPAddress
    port: int
    sha256: str = ""
    error: str = ""
    kind: str = "tls"
    at: float = 0.0
    attempt: int = 1
    # The error is an answer, not a failure: the host answered but cannot sign with the
    # pinned key (or is no SSH server). Not retried quickly, like a wrong digest.
    conclusive: bool = False


@dataclass(frozen=True, slots=True)
class Observed:
    addresses: frozenset[Address] = frozenset()
    routes: frozenset[Route] = frozenset()
    neighbours: frozenset[Neighbour] = frozenset()
    leases: tuple[Lease, ...] = ()  # at most one per (dev, source)
    # When each address was first seen (monotonic seconds): starts the
    # identification timeout for a LAN that gives no lease.
    first_seen: tuple[tuple[Address, float], ...] = ()
    # Links without carrier: on carrier loss networkd keeps the DHCP address for
    # a while (about 2 s on 252), but the LAN is gone at once.
    down_links: frozenset[str] = frozenset()
    proofs: tuple[Proof, ...] = ()  # cleared when the link loses carrier or its address

    def proof_for(self, dev: str, host: IPAddress, port: int, kind: str = "tls") -> Proof | None:
        return next((p for p in self.proofs if (p.dev, p.host, p.port, p.kind) == (dev, host, port, kind)), None)

    def routes_on(self, dev: str) -> list[Route]:
        return [r for r in self.routes if r.dev == dev]

    def lease_for(self, dev: str) -> Lease | None:
        """The best lease facts for a link: merge sources, richer ones first."""
        found = [l for l in self.leases if l.dev == dev]
        if not found:
            return None
        merged = Lease(dev=dev)
        for lease in sorted(found, key=lambda l: _SOURCE_RANK.get(l.source, 9)):
            merged = Lease(dev=dev,
                           address=merged.address or lease.address,
                           server_id=merged.server_id or lease.server_id,
                           router=merged.router or lease.router,
                           domain=merged.domain or lease.domain,
                           source=merged.source or lease.source)
        return merged

    def mac_of(self, dev: str, ip: IPAddress) -> str | None:
        return next((n.mac for n in self.neighbours if n.dev == dev and n.ip == ip), None)

    def seen_since(self, address: Address) -> float | None:
        return next((t for a, t in self.first_seen if a == address), None)


_SOURCE_RANK = {"lease-file": 0, "networkmanager": 1, "networkd": 2}


def _another_lease(before: Lease, after: Lease) -> bool:
    """A known address or server id changed to another known one. A fact only filled in or
    left out (networkd's DescribeLink may lack the server id for a moment) is the same lease."""
    return any(a is not None and b is not None and a != b
               for a, b in ((before.address, after.address), (before.server_id, after.server_id)))


# --- events -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AddressAdded:
    address: Address
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class AddressRemoved:
    address: Address


@dataclass(frozen=True, slots=True)
class RouteAdded:
    route: Route


@dataclass(frozen=True, slots=True)
class RouteRemoved:
    route: Route


@dataclass(frozen=True, slots=True)
class NeighbourSeen:
    neighbour: Neighbour


@dataclass(frozen=True, slots=True)
class NeighbourGone:
    dev: str
    ip: IPAddress


@dataclass(frozen=True, slots=True)
class LinkGone:
    dev: str


@dataclass(frozen=True, slots=True)
class LinkState:
    dev: str
    carrier: bool
    admin_up: bool = True  # admin down: the kernel flushes the link's IPv4 routes without telling


@dataclass(frozen=True, slots=True)
class LeaseSeen:
    lease: Lease


@dataclass(frozen=True, slots=True)
class LeaseGone:
    dev: str
    source: str


@dataclass(frozen=True, slots=True)
class ProofSeen:
    proof: Proof


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A full re-read (start, networkd restart, netlink overflow): replaces netlink facts."""

    addresses: frozenset[Address]
    routes: frozenset[Route]
    neighbours: frozenset[Neighbour]
    at: float = 0.0
    down_links: frozenset[str] = frozenset()


Event = (AddressAdded | AddressRemoved | RouteAdded | RouteRemoved | NeighbourSeen | NeighbourGone
         | LinkGone | LinkState | LeaseSeen | LeaseGone | ProofSeen | Snapshot)


def fold(observed: Observed, event: Event) -> Observed:
    """The snapshot after one event. Pure; unknown removals are no-ops."""
    match event:
        case AddressAdded(address, at):
            seen = observed.first_seen
            if observed.seen_since(address) is None:
                seen = seen + ((address, at),)
            return replace(observed, addresses=observed.addresses | {address}, first_seen=seen)
        case AddressRemoved(address):
            return replace(observed, addresses=observed.addresses - {address},
                           first_seen=tuple(p for p in observed.first_seen if p[0] != address),
                           proofs=tuple(p for p in observed.proofs if p.dev != address.dev))
        case ProofSeen(proof):
            rest = tuple(p for p in observed.proofs
                         if (p.dev, p.host, p.port, p.kind) != (proof.dev, proof.host, proof.port, proof.kind))
            return replace(observed, proofs=rest + (proof,))
        case RouteAdded(route):
            # replace: same identity, maybe new attributes
            return replace(observed, routes=(observed.routes - {route}) | {route})
        case RouteRemoved(route):
            return replace(observed, routes=observed.routes - {route})
        case NeighbourSeen(neighbour):
            rest = {n for n in observed.neighbours if not (n.dev == neighbour.dev and n.ip == neighbour.ip)}
            return replace(observed, neighbours=frozenset(rest | {neighbour}))
        case NeighbourGone(dev, ip):
            # Remembered on purpose: the kernel garbage-collects an idle router's entry after
            # a minute or so, and forgetting its MAC would turn a trusted office foreign.
            # Carrier loss (leaving) forgets it; a new MAC for the same address replaces it.
            return observed
        case LinkGone(dev):
            return replace(observed,
                           addresses=frozenset(a for a in observed.addresses if a.dev != dev),
                           routes=frozenset(r for r in observed.routes if r.dev != dev),
                           neighbours=frozenset(n for n in observed.neighbours if n.dev != dev),
                           leases=tuple(l for l in observed.leases if l.dev != dev),
                           first_seen=tuple(p for p in observed.first_seen if p[0].dev != dev),
                           down_links=observed.down_links - {dev},
                           proofs=tuple(p for p in observed.proofs if p.dev != dev))
        case LinkState(dev, carrier, admin_up):
            down = observed.down_links - {dev} if carrier else observed.down_links | {dev}
            routes = observed.routes if admin_up else frozenset(r for r in observed.routes if r.dev != dev)
            neighbours, proofs = observed.neighbours, observed.proofs
            if not carrier:
                neighbours = frozenset(n for n in neighbours if n.dev != dev)
                proofs = tuple(p for p in proofs if p.dev != dev)
            if (down == observed.down_links and routes is observed.routes and neighbours == observed.neighbours
                    and proofs == observed.proofs):
                return observed
            return replace(observed, down_links=down, routes=routes, neighbours=neighbours, proofs=proofs)
        case LeaseSeen(lease):
            rest = tuple(l for l in observed.leases if (l.dev, l.source) != (lease.dev, lease.source))
            before = next((l for l in observed.leases if (l.dev, l.source) == (lease.dev, lease.source)), None)
            proofs = observed.proofs
            if before is not None and _another_lease(before, lease):
                # a new lease (another address or DHCP server) is a new network until proven again:
                # forget the link's proofs, which also restarts the retry backoff (a renewal of the
                # same lease keeps them)
                proofs = tuple(p for p in proofs if p.dev != lease.dev)
            return replace(observed, leases=rest + (lease,), proofs=proofs)
        case LeaseGone(dev, source):
            return replace(observed, leases=tuple(l for l in observed.leases if (l.dev, l.source) != (dev, source)))
        case Snapshot(addresses, routes, neighbours, at, down_links):
            seen = tuple(p for p in observed.first_seen if p[0] in addresses)
            known = {p[0] for p in seen}
            seen += tuple((a, at) for a in sorted(addresses - known, key=str))
            fresh = {(n.dev, n.ip) for n in neighbours}
            kept = frozenset(n for n in observed.neighbours  # remembered MACs (see NeighbourGone)
                             if (n.dev, n.ip) not in fresh and n.dev not in down_links)
            return replace(observed, addresses=addresses, routes=routes, neighbours=neighbours | kept,
                           first_seen=seen, down_links=down_links)
    raise TypeError(f"not a guard event: {event!r}")
