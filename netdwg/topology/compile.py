"""The compiler: topology + secrets -> what every host gets (`HostConfig` values).

Pure: no disk, no host facts. Keys come from the `Secrets` value (or, for a
host that keeps its own key, only its public key from the topology).

What each role gets:
- hub: one peer per spoke, AllowedIPs = the spoke's VPN addresses (/32, /128)
  plus its LANs, no Endpoint for spokes behind NAT; a route per spoke LAN;
  forwarding and no ICMP redirects (it forwards wg0 -> wg0); a forward
  allow-list (which spokes may reach which LANs).
- site: one peer, the hub, AllowedIPs = the pool plus the LANs it reaches
  (never its own), Endpoint = the hub, keepalive; forwarding; firewall
  (replies pass, listed VPN sources may open connections into its LAN, the hub
  may not); MASQUERADE or the static return route for its LAN router.
- roaming: one peer, the hub, AllowedIPs = the pool plus the LANs it may
  reach (a LAN's `widen_to` prefix instead when its guard action is widen),
  keepalive, MTU; a guard configuration with guard = yes.
- site pairs: an interface of their own on both ends, the transfer network's
  two addresses, AllowedIPs = the other end's LANs plus the transfer network,
  both Endpoints set.
- no hub: sites with pool addresses form a mesh on the network's interface.

Missing PSKs are left out (the CLI completes the store before compiling; the
linter reports a pair without one); a missing key raises SecretsError.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Iterable, Mapping

from netdwg.keys import PublicKey
from netdwg.topology.guard_config import Action, Fingerprint, GuardConfig, GuardSite, SshHostKey, TlsPin, Trust
from netdwg.topology.hostconfig import (
    KEY_DIR, Firewall, ForwardAllow, HostConfig, Masquerade, ReturnRoute, Route, Sysctl, WgInterface,
)
from netdwg.topology.model import Backend, GuardAction, Host, Lan, ReturnPath, Role, SitePair, Topology
from netdwg.topology.secrets import Secrets, pair_id, public_key
from netdwg.wireguard import Endpoint, IPAddress, IPInterface, IPNetwork, WgDevice, WgPeer

__all__ = ["compile_topology", "compile_host", "CompileContext", "host_prefixes"]


def host_prefixes(addresses: Iterable[IPAddress]) -> tuple[IPNetwork, ...]:
    """A host's addresses as single-address networks (/32, /128): its AllowedIPs on the hub."""
    # The (int, prefixlen) form skips parsing text: a hub with 10,000 clients builds 10,000 of these.
    return tuple(ipaddress.IPv4Network((int(a), 32)) if a.version == 4 else ipaddress.IPv6Network((int(a), 128))
                 for a in addresses)


@dataclass(slots=True)
class CompileContext:
    """What is computed once per topology and shared by every host's compile.

    Keeps compiling n hosts O(n) rather than O(n^2) (a hub with 10,000 clients):
    public keys, LAN owners and who reaches whom are looked up, never rescanned.
    """

    topology: Topology
    secrets: Secrets
    _keys: dict[str, PublicKey] = field(default_factory=dict)
    _by_name: dict[str, Host] = field(default_factory=dict)
    _nets: dict[str, tuple[IPNetwork, ...]] = field(default_factory=dict)
    _lan_owners: tuple[Host, ...] = ()
    _table: dict[str, list[Host]] | None = None  # owner -> spokes naming it in reach, and sites reaching all
    _universal: tuple[IPNetwork, ...] = ()  # collapsed addresses of roaming hosts that reach every LAN
    _sources: dict[str, tuple[IPNetwork, ...]] = field(default_factory=dict)
    _reached: dict[tuple, tuple] = field(default_factory=dict)
    _pairs: dict[str, tuple[SitePair, ...]] = field(default_factory=dict)
    hub: Host | None = None

    def __post_init__(self) -> None:
        self._by_name = {h.name: h for h in self.topology.hosts}
        self._lan_owners = tuple(h for h in self.topology.hosts if h.lans and h.role is not Role.ROAMING)
        self.hub = self.topology.hub  # (a property that scans every host)
        pairs: dict[str, list[SitePair]] = {}
        for pair in self.topology.pairs:
            for end in dict.fromkeys(pair.ends):
                pairs.setdefault(end, []).append(pair)
        self._pairs = {name: tuple(found) for name, found in pairs.items()}

    def pairs_of(self, name: str) -> tuple[SitePair, ...]:
        """Topology.pairs_of without scanning every pair for each of 10,000 hosts."""
        return self._pairs.get(name, ())

    def host(self, name: str) -> Host:
        return self._by_name[name]

    def public_key(self, name: str) -> PublicKey:
        key = self._keys.get(name)
        if key is None:
            declared = self._by_name[name].public_key  # (Topology.host() scans: O(n) per call)
            private = self.secrets.private_key(name)
            if declared is None and private is not None:
                key = self.secrets.public_key_of(name)  # recorded in the store (digest checked), else derived
            else:
                key = public_key(self.topology, self.secrets, name)  # declared, or the SecretsError
            self._keys[name] = key
        return key

    @property
    def lan_owners(self) -> tuple[Host, ...]:
        return self._lan_owners

    def host_nets(self, host: Host) -> tuple[IPNetwork, ...]:
        """The host's VPN addresses as /32 and /128 networks (cached: a hub names 10,000 of them)."""
        nets = self._nets.get(host.name)
        if nets is None:
            nets = self._nets[host.name] = host_prefixes(host.addresses)
        return nets

    def reaches(self, spoke: Host, owner: Host) -> bool:
        """Does `spoke` route `owner`'s LANs through the hub? (reach unset: every LAN)."""
        if spoke.name == owner.name or spoke.role is Role.HUB:
            return False
        return spoke.reach is None or owner.name in spoke.reach

    def reached(self, host: Host) -> tuple[tuple[IPNetwork, str], ...]:
        """(prefix, owner) of every LAN `host` routes through the hub; shared by hosts with the same reach."""
        key = (host.reach, host.role) if host.role is Role.ROAMING else (host.name,)
        found = self._reached.get(key)
        if found is None:
            found = self._reached[key] = tuple(
                (_lan_route_prefix(lan, host), owner.name)
                for owner in self._lan_owners if self.reaches(host, owner) for lan in owner.lans)
        return found

    def _source_nets(self, host: Host) -> tuple[IPNetwork, ...]:
        if host.role is Role.ROAMING:
            return self.host_nets(host)
        return self.host_nets(host) + host.lan_prefixes

    def allowed_sources(self, owner: Host) -> tuple[IPNetwork, ...]:
        """Who may open connections into `owner`'s LANs, as collapsed prefixes.

        Its `allow` list (of hosts that reach it), else every spoke that reaches
        it: their VPN addresses and, for sites, their LANs. Never the hub.
        """
        found = self._sources.get(owner.name)
        if found is not None:
            return found
        nets: list[IPNetwork] = []
        if owner.allow is not None:
            for name in owner.allow:
                other = self._by_name.get(name)
                if other is not None and self.reaches(other, owner):
                    nets.extend(self._source_nets(other))
        else:
            if self._table is None:
                self._build_table()
            nets.extend(self._universal)
            for other in self._table.get(owner.name, ()):
                nets.extend(self._source_nets(other))
        found = self._sources[owner.name] = _collapse(nets)
        return found

    def _build_table(self) -> None:
        # Roaming hosts that reach everything are the bulk (10,000 laptops): their
        # addresses are collapsed once and shared by every LAN, keeping this O(n log n).
        table: dict[str, list[Host]] = {o.name: [] for o in self._lan_owners}
        universal: list[IPNetwork] = []
        for spoke in self.topology.hosts:
            if spoke.role is Role.HUB:
                continue
            if spoke.reach is None and spoke.role is Role.ROAMING:
                universal.extend(self.host_nets(spoke))
                continue
            names = table if spoke.reach is None else spoke.reach
            for name in names:
                if name in table and name != spoke.name:
                    table[name].append(spoke)
        self._table = table
        self._universal = _collapse(universal)


def _collapse(nets: Iterable[IPNetwork]) -> tuple[IPNetwork, ...]:
    """What `ipaddress.collapse_addresses` gives (IPv4 first, then IPv6), computed on integer ranges.

    collapse_addresses merges network objects pairwise; on the 10,000 /32s of a
    big hub's clients that is a tenth of the compile. The minimal set of CIDR
    blocks covering a union of ranges is unique, so both give the same networks
    (tests/property/test_compile_collapse.py).
    """
    v4: list[tuple[int, int]] = []
    v6: list[tuple[int, int]] = []
    for net in nets:
        first = int(net.network_address)
        if net.version == 4:
            v4.append((first, first | ((1 << (32 - net.prefixlen)) - 1)))
        else:
            v6.append((first, first | ((1 << (128 - net.prefixlen)) - 1)))
    return _cidr_blocks(v4, ipaddress.IPv4Network, 32) + _cidr_blocks(v6, ipaddress.IPv6Network, 128)


def _cidr_blocks(ranges: list[tuple[int, int]], cls, bits: int) -> tuple[IPNetwork, ...]:
    if not ranges:
        return ()
    ranges.sort()
    merged: list[list[int]] = []
    for first, last in ranges:
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1][1] = last
        else:
            merged.append([first, last])
    out: list[IPNetwork] = []
    for first, last in merged:
        while first <= last:
            # the largest block that starts at `first` (alignment) and ends by `last`
            size = min((first & -first).bit_length() - 1 if first else bits, (last - first + 1).bit_length() - 1)
            out.append(cls((first, bits - size)))
            first += 1 << size
    return tuple(out)


def compile_topology(topology: Topology, secrets: Secrets) -> Mapping[str, HostConfig]:
    """Every host's configuration, in topology order."""
    ctx = CompileContext(topology, secrets)
    return MappingProxyType({h.name: compile_host(topology, secrets, h.name, ctx) for h in topology.hosts})


def compile_host(topology: Topology, secrets: Secrets, name: str, ctx: CompileContext | None = None) -> HostConfig:
    """One host's configuration. Pass a shared `ctx` when compiling many hosts."""
    ctx = ctx or CompileContext(topology, secrets)
    host = ctx.host(name)
    interfaces: list[WgInterface] = []
    network_iface = _network_interface(ctx, host)
    if network_iface is not None:
        interfaces.append(network_iface)
    interfaces += [_pair_interface(ctx, host, pair) for pair in ctx.pairs_of(name)]
    firewall = _firewall(ctx, host, interfaces)
    return HostConfig(
        name=host.name, role=host.role, backend=host.backend, systemd_version=topology.network.systemd_version,
        interfaces=tuple(interfaces), sysctls=_sysctls(host, interfaces), firewall=firewall,
        return_routes=_return_routes(host, interfaces), guard=_guard(ctx, host, network_iface),
    )


# --- interfaces ------------------------------------------------------------------------------


def _pool_address(topology: Topology, address: IPAddress) -> IPInterface:
    """The address with its pool's prefix length (a /32 when no pool holds it; the linter says so)."""
    value = int(address)
    for pool in topology.network.pool:
        if pool.version == address.version and int(pool.network_address) <= value <= int(pool.broadcast_address):
            cls = ipaddress.IPv4Interface if address.version == 4 else ipaddress.IPv6Interface
            return cls((int(address), pool.prefixlen))
    return ipaddress.ip_interface(address)


def _peer(ctx: CompileContext, me: Host, other: Host, allowed: Iterable[IPNetwork],
          endpoint: Endpoint | None, keepalive: int) -> WgPeer:
    # Callers pass AllowedIPs without duplicates (a spoke's shared plan is de-duplicated
    # once, not for each of 10,000 laptops); duplicates from a bad topology are the linter's.
    allowed = tuple(allowed)
    return WgPeer(public_key=ctx.public_key(other.name), allowed_ips=allowed,
                  preshared_key=ctx.secrets.preshared_keys.get(pair_id(me.name, other.name)), endpoint=endpoint,
                  persistent_keepalive=keepalive, name=other.name)


def _keepalive(ctx: CompileContext, host: Host) -> int:
    return host.keepalive if host.keepalive is not None else ctx.topology.network.keepalive


def _listen_port(ctx: CompileContext, host: Host) -> int | None:
    """Hosts others dial need a fixed port; hosts behind NAT take a random one."""
    if host.listen_port is not None:
        return host.listen_port
    if host.role is Role.HUB:
        return host.endpoint.port if host.endpoint else ctx.topology.network.port
    if host.endpoint is not None:
        return host.endpoint.port
    return None


def _lan_route_prefix(lan: Lan, viewer: Host) -> IPNetwork:
    """What a spoke routes for a LAN: the LAN, or the covering prefix when the LAN says widen.

    Widening lets a roaming laptop sitting on that very LAN prefer the LAN's more specific connected route.
    """
    if viewer.role is Role.ROAMING and lan.guard_action is GuardAction.WIDEN and lan.widen_to is not None:
        return lan.widen_to
    return lan.prefix


def _network_interface(ctx: CompileContext, host: Host) -> WgInterface | None:
    topology = ctx.topology
    net = topology.network
    hub = ctx.hub
    if not host.addresses:
        return None
    peers: list[WgPeer] = []
    routes: list[Route] = []
    if hub is None:  # sites form a mesh
        for other in topology.hosts:
            if other.name == host.name or not other.addresses or other.role is Role.ROAMING:
                continue
            lans = other.lan_prefixes
            keepalive = _keepalive(ctx, host) if host.endpoint is None else 0
            peers.append(_peer(ctx, host, other, ctx.host_nets(other) + lans, other.endpoint, keepalive))
            routes += [Route(p, net.interface, reason=f"LAN of {other.name}") for p in lans]
    elif host.role is Role.HUB:
        for spoke in topology.spokes():
            lans = spoke.lan_prefixes if spoke.role is not Role.ROAMING else ()
            peers.append(_peer(ctx, host, spoke, ctx.host_nets(spoke) + lans, spoke.endpoint, net.hub_keepalive))
            routes += [Route(p, net.interface, reason=f"LAN of {spoke.name}") for p in lans]
    else:
        addresses = tuple(_pool_address(topology, a) for a in host.addresses)
        allowed, spoke_routes = _spoke_plan(ctx, host, addresses)
        peers.append(_peer(ctx, host, hub, allowed, hub.endpoint, _keepalive(ctx, host)))
        return _wg_interface(ctx, host, peers, addresses, spoke_routes)
    addresses = tuple(_pool_address(topology, a) for a in host.addresses)
    return _wg_interface(ctx, host, peers, addresses, _uncovered(routes, addresses))


def _uncovered(routes: Iterable[Route], addresses: tuple[IPInterface, ...]) -> tuple[Route, ...]:
    """Routes the connected routes of our own addresses do not already cover."""
    return tuple(dict.fromkeys(r for r in routes if not any(_covered(r.destination, a.network) for a in addresses)))


def _spoke_plan(ctx: CompileContext, host: Host, addresses: tuple[IPInterface, ...]):
    """A spoke's AllowedIPs for the hub and its routes; shared by spokes that reach the same LANs."""
    key = ("plan", host.reach, host.role, tuple(a.network for a in addresses)) if host.role is Role.ROAMING else None
    found = ctx._reached.get(key) if key else None
    if found is None:
        net = ctx.topology.network
        reached = ctx.reached(host)
        # Only the pool families the host has an address in: a v4-only phone has no
        # source address for fd99::/64, and a route to it would only black-hole.
        versions = {a.version for a in host.addresses}
        allowed = tuple(dict.fromkeys(tuple(p for p in net.pool if p.version in versions) + tuple(p for p, _ in reached)))
        routes = _uncovered((Route(p, net.interface, reason=f"LAN of {owner}") for p, owner in dict(reached).items()),
                            addresses)
        found = (allowed, routes)
        if key:
            ctx._reached[key] = found
    return found


def _wg_interface(ctx: CompileContext, host: Host, peers: list[WgPeer], addresses, routes) -> WgInterface:
    net = ctx.topology.network
    return WgInterface(
        device=WgDevice(name=net.interface, private_key=ctx.secrets.private_key(host.name),
                        listen_port=_listen_port(ctx, host), peers=tuple(peers)),
        addresses=addresses, routes=routes, mtu=host.mtu or net.mtu,
        private_key_file=_key_path(net.interface), own_lans=host.lan_prefixes,
        description=f"{net.name}: {host.role} {host.name}",
    )


@lru_cache(maxsize=64)
def _key_path(interface: str) -> PurePosixPath:
    """Where a host keeps the interface's private key (one path object, shared by 10,000 hosts)."""
    return KEY_DIR / f"{interface}.key"


def _covered(inner: IPNetwork, outer: IPNetwork) -> bool:
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _pair_interface(ctx: CompileContext, host: Host, pair: SitePair) -> WgInterface:
    mine, theirs = pair.addresses()
    other_name = pair.ends[1] if pair.ends[0] == host.name else pair.ends[0]
    if pair.ends[0] != host.name:
        mine, theirs = theirs, mine
    other = ctx.host(other_name)
    endpoint = Endpoint(other.endpoint.host, pair.port) if other.endpoint else None
    allowed = other.lan_prefixes + (pair.transfer,)
    peer = _peer(ctx, host, other, allowed, endpoint, pair.keepalive)
    name = pair.interface_of(host.name)
    return WgInterface(
        device=WgDevice(name=name, private_key=ctx.secrets.private_key(host.name),
                        listen_port=pair.port, peers=(peer,)),
        addresses=(ipaddress.ip_interface(f"{mine}/{pair.transfer.prefixlen}"),),
        routes=tuple(Route(p, name, reason=f"LAN of {other.name}") for p in other.lan_prefixes),
        mtu=host.mtu or ctx.topology.network.mtu, private_key_file=_key_path(name),
        own_lans=host.lan_prefixes, description=f"site pair {pair.name}: {host.name} <-> {other.name}",
    )


# --- sysctls ---------------------------------------------------------------------------------


def _sysctls(host: Host, interfaces: list[WgInterface]) -> tuple[Sysctl, ...]:
    if host.role is Role.ROAMING or not interfaces:
        return ()
    versions = {a.version for i in interfaces for a in i.addresses} | {p.version for p in host.lan_prefixes}
    out: list[Sysctl] = []
    if 4 in versions:
        out.append(Sysctl("net.ipv4.ip_forward", "1", f"the {host.role} routes between its tunnel and LANs"))
    if 6 in versions:
        out.append(Sysctl("net.ipv6.conf.all.forwarding", "1", f"the {host.role} routes IPv6 too"))
    if host.role is Role.HUB:
        # A hub forwards wg0 -> wg0: the kernel would send an ICMP redirect for each
        # such packet (useless in a tunnel) and spend its ICMP rate limit on them.
        # send_redirects is OR-ed between "all" and the device, so "all" must be 0.
        why = "the hub routes its tunnel back into itself: no ICMP redirects"
        out.append(Sysctl("net.ipv4.conf.all.send_redirects", "0", why))
        out.append(Sysctl("net.ipv4.conf.default.send_redirects", "0", why))
        for iface in interfaces:
            out.append(Sysctl(f"net.ipv4.conf.{iface.name.replace('.', '/')}.send_redirects", "0", why,
                              ignore_missing=True))
    return tuple(out)


# --- firewall --------------------------------------------------------------------------------


def _firewall(ctx: CompileContext, host: Host, interfaces: list[WgInterface]) -> Firewall | None:
    if host.role is Role.ROAMING or not interfaces:
        return None
    tunnels = tuple(i.name for i in interfaces)
    allow: list[ForwardAllow] = []
    guarded: list[IPNetwork] = []
    masq: list[Masquerade] = []
    hub = ctx.hub
    main = ctx.topology.network.interface
    if host.role is Role.HUB:
        # The hub routes spokes to other hosts' LANs: only those that reach them.
        for owner in ctx.lan_owners:
            if owner.name == host.name:
                continue
            sources = ctx.allowed_sources(owner)
            for lan in owner.lans:
                guarded.append(lan.prefix)
                if sources:
                    allow.append(ForwardAllow(sources, lan.prefix, main, main, f"who may reach {owner.name}"))
    # The host's own LANs: listed VPN sources (and paired sites) may open connections, the hub may not.
    for lan in host.lans:
        guarded.append(lan.prefix)
        through_hub = ctx.allowed_sources(host)
        if any(i.name == main for i in interfaces) and through_hub:
            allow.append(ForwardAllow(through_hub, lan.prefix, main, lan.interface,
                                      f"who may open connections into {lan.prefix}"))
        for pair in ctx.pairs_of(host.name):
            other = ctx.host(pair.ends[1] if pair.ends[0] == host.name else pair.ends[0])
            if host.allow is None or other.name in host.allow:
                allow.append(ForwardAllow(_collapse(other.lan_prefixes + (pair.transfer,)), lan.prefix,
                                          pair.interface_of(host.name), lan.interface, f"site pair {pair.name}"))
        if lan.return_path is ReturnPath.MASQUERADE:
            arriving = _collapse(p for i in interfaces for peer in i.device.peers for p in peer.allowed_ips
                                 if p.version == lan.prefix.version)
            masq.append(Masquerade(arriving, lan.prefix, lan.interface,
                                   f"the router of {lan.prefix} has no route back to the VPN"))
    return Firewall(tunnel_interfaces=tunnels, allow=tuple(allow), guarded=tuple(dict.fromkeys(guarded)),
                    masquerade=tuple(masq), mss_clamp=True)


# --- return routes and guard -----------------------------------------------------------------


def _return_routes(host: Host, interfaces: list[WgInterface]) -> tuple[ReturnRoute, ...]:
    """For LANs with return_path = static-route: what the LAN router must route via this gateway."""
    out: list[ReturnRoute] = []
    for lan in host.lans:
        if lan.return_path is not ReturnPath.STATIC_ROUTE or lan.gateway_address is None:
            continue
        via = lan.gateway_address.ip
        wanted = _collapse(p for i in interfaces for peer in i.device.peers for p in peer.allowed_ips
                           if p.version == via.version and not p.overlaps(lan.prefix))
        out += [ReturnRoute(dest, via, lan.prefix, host.name) for dest in wanted]
    return tuple(dict.fromkeys(out))


def _guard(ctx: CompileContext, host: Host, iface: WgInterface | None) -> GuardConfig | None:
    """The roaming guard's configuration (guard = yes on a Linux laptop): one site per reached LAN."""
    hub = ctx.hub
    if host.role is not Role.ROAMING or not host.guard or iface is None or hub is None:
        return None
    hub_key = ctx.public_key(hub.name)
    sites: list[GuardSite] = []
    for owner in ctx.lan_owners:
        if not ctx.reaches(host, owner):
            continue
        for index, lan in enumerate(owner.lans):
            fp = lan.fingerprint
            sites.append(GuardSite(
                name=owner.name if len(owner.lans) == 1 else f"{owner.name}-{index + 1}",
                lan=lan.prefix, action=Action(lan.guard_action.value), peer=hub_key,
                widen_to=lan.widen_to,
                fingerprint=Fingerprint(
                    dhcp_servers=(fp.dhcp_server,) if fp.dhcp_server else (),
                    routers=(fp.router,) if fp.router else (),
                    router_macs=(fp.router_mac,) if fp.router_mac else (),
                    dns_domains=(fp.domain.lower().rstrip("."),) if fp.domain else (),
                    # load checked both: parse cannot fail here
                    ssh_host_keys=(SshHostKey.parse(fp.ssh_host_key),) if fp.ssh_host_key else (),
                    tls_pins=(TlsPin.parse(fp.tls_pin),) if fp.tls_pin else ()),
                keep_hosts=lan.keep_hosts, trust=Trust(lan.trust.value)))
    return GuardConfig(interface=iface.name, hub_peer=hub_key, hub_endpoint=hub.endpoint, sites=tuple(sites),
                       managed_by="networkmanager" if host.backend is Backend.NETWORKMANAGER else "")
