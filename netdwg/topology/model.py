"""The topology as frozen values: one network, its hosts, their LANs, site pairs.

Built by `netdwg.topology.load` from the topology file; read by the linter,
the compiler and the lab. Never reads the host: keys come from the secrets
store (`netdwg.topology.secrets`), facts about a host as explicit arguments.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from netdwg.errors import Span
from netdwg.keys import PublicKey
from netdwg.wireguard import Endpoint, IPAddress, IPNetwork

DEFAULT_TOPOLOGY = "/etc/netdwg/netdwg.conf"
DEFAULT_PORT = 51820
DEFAULT_MTU = 1420  # wg-quick's default on 1500-byte links
DEFAULT_KEEPALIVE = 25
DEFAULT_SYSTEMD_VERSION = 252  # Debian 12


class Role(enum.StrEnum):
    HUB = "hub"
    SITE = "site"
    ROAMING = "roaming"


class Backend(enum.StrEnum):
    NETWORKD = "networkd"
    WG_QUICK = "wg-quick"
    NETPLAN = "netplan"
    NETWORKMANAGER = "networkmanager"


class ReturnPath(enum.StrEnum):
    STATIC_ROUTE = "static-route"  # the LAN router holds "pool via gateway"
    MASQUERADE = "masquerade"  # the gateway NATs VPN sources into the LAN
    NONE = "none"  # deliberately none (e.g. the gateway is the LAN's default router)


class GuardAction(enum.StrEnum):
    REMOVE = "remove"  # delete the overlapping wg route while on the LAN
    METRIC = "metric"  # move the wg route above the LAN route's metric
    WIDEN = "widen"  # route a covering prefix instead (static, no daemon needed)


class GuardTrust(enum.StrEnum):
    PROOF = "proof"  # a roaming guard trusts the LAN only when a declared proof answers
    PASSIVE = "passive"  # opt-in for a site without a proof: its passive facts alone suffice


@dataclass(frozen=True, slots=True)
class SiteFingerprint:
    """What identifies a site's LAN beyond its prefix (a café may hand out the same prefix)."""

    dhcp_server: IPAddress | None = None
    router: IPAddress | None = None
    router_mac: str | None = None  # lowercase aa:bb:cc:dd:ee:ff
    domain: str | None = None
    ssh_host_key: str | None = None  # "HOST KEYTYPE BASE64": an office host's pinned key (checked form)
    tls_pin: str | None = None  # "HOST:PORT sha256:HEX": an office host's pinned certificate (checked form)

    def is_empty(self) -> bool:
        return not any((self.dhcp_server, self.router, self.router_mac, self.domain, self.ssh_host_key,
                        self.tls_pin))

    def has_proof(self) -> bool:
        return bool(self.ssh_host_key or self.tls_pin)


@dataclass(frozen=True, slots=True)
class Lan:
    """A LAN behind a site gateway."""

    prefix: IPNetwork
    gateway_address: ipaddress.IPv4Interface | ipaddress.IPv6Interface | None = None  # the gateway's own LAN address
    interface: str | None = None  # the gateway's LAN interface
    return_path: ReturnPath = ReturnPath.STATIC_ROUTE
    router: IPAddress | None = None  # the LAN's own router (holds the static return route)
    fingerprint: SiteFingerprint = SiteFingerprint()
    guard_action: GuardAction = GuardAction.REMOVE
    widen_to: IPNetwork | None = None
    within: IPNetwork | None = None  # a larger network the LAN is part of: a laptop there gets its connected route
    keep_hosts: tuple[IPAddress, ...] = ()  # office hosts kept reachable through the tunnel on a foreign LAN
    trust: GuardTrust = GuardTrust.PROOF  # what lets a roaming guard trust this LAN


@dataclass(frozen=True, slots=True)
class Host:
    name: str
    role: Role
    addresses: tuple[IPAddress, ...] = ()  # VPN addresses inside the pool
    endpoint: Endpoint | None = None  # public endpoint, if the host has one
    backend: Backend = Backend.NETWORKD
    lans: tuple[Lan, ...] = ()
    allow: tuple[str, ...] | None = None  # who may open connections into this site's LANs (None: every spoke that reaches it)
    reach: tuple[str, ...] | None = None  # which sites' LANs a spoke may reach (None: all)
    guard: bool = False
    public_key: PublicKey | None = None  # set when the host keeps its own private key
    keepalive: int | None = None  # overrides the network's
    mtu: int | None = None  # overrides the network's
    listen_port: int | None = None  # overrides the network's port
    uplink_interface: str | None = None  # the interface towards the internet (MASQUERADE, nft)
    spans: Mapping[str, Span] = field(default_factory=lambda: MappingProxyType({}), compare=False, hash=False)

    def span(self, key: str = "") -> Span | None:
        return self.spans.get(key) or self.spans.get("")

    @property
    def is_router(self) -> bool:
        return self.role in (Role.HUB, Role.SITE)

    @property
    def lan_prefixes(self) -> tuple[IPNetwork, ...]:
        return tuple(lan.prefix for lan in self.lans)


@dataclass(frozen=True, slots=True)
class SitePair:
    """Two gateways with public endpoints joined directly, over a small transfer network."""

    name: str
    ends: tuple[str, str]
    transfer: IPNetwork  # a /31 (RFC 3021) or /30; IPv6 /127 likewise
    interface: str  # the first end's interface, and the second's unless `interfaces` names another
    port: int
    keepalive: int = 0
    span: Span | None = None
    interfaces: tuple[str, ...] = ()  # (first end's, second end's) when the ends name it differently (wgA, wgB)

    def interface_of(self, end: str) -> str:
        """The pair's interface on `end`."""
        return self.interfaces[1] if self.interfaces and end == self.ends[1] != self.ends[0] else self.interface

    def addresses(self) -> tuple[IPAddress, IPAddress]:
        """The two ends' addresses: both of a /31 or /127, the two usable ones of a /30."""
        if self.transfer.num_addresses == 2:
            return self.transfer[0], self.transfer[1]
        hosts = list(self.transfer.hosts())
        return hosts[0], hosts[1]


@dataclass(frozen=True, slots=True)
class Network:
    name: str
    interface: str = "wg0"
    pool: tuple[IPNetwork, ...] = ()
    port: int = DEFAULT_PORT
    mtu: int = DEFAULT_MTU
    keepalive: int = DEFAULT_KEEPALIVE  # what spokes behind NAT send to the hub
    hub_keepalive: int = 0  # what the hub sends to each spoke (0: none)
    systemd_version: int = DEFAULT_SYSTEMD_VERSION
    secrets: str | None = None  # path of the secrets store, relative to the topology file
    spans: Mapping[str, Span] = field(default_factory=lambda: MappingProxyType({}), compare=False, hash=False)

    def span(self, key: str = "") -> Span | None:
        return self.spans.get(key) or self.spans.get("")


@dataclass(frozen=True, slots=True)
class Topology:
    network: Network
    hosts: tuple[Host, ...]
    pairs: tuple[SitePair, ...] = ()
    path: str = "<topology>"

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    def has_host(self, name: str) -> bool:
        return any(h.name == name for h in self.hosts)

    def by_role(self, role: Role) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role is role)

    @property
    def hub(self) -> Host | None:
        """The hub, if the network has one (a pure site-to-site network has none)."""
        hubs = self.by_role(Role.HUB)
        return hubs[0] if hubs else None

    def spokes(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role is not Role.HUB)

    def pairs_of(self, name: str) -> tuple[SitePair, ...]:
        return tuple(p for p in self.pairs if name in p.ends)
