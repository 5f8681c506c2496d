"""The simulated world around a topology, as pure values: namespaces, wires, addresses, NAT, DHCP.

`plan_world(topology)` decides, without touching the machine, what `netdwg lab
up` builds:

- ``inet``: the internet, a router namespace with one point-to-point veth per
  attached box (hub endpoints, NAT routers, site routers); addresses only from
  the documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24.
- a host with a public endpoint is attached to ``inet`` directly with that address;
- a roaming host without one sits behind its own NAT router (``H-nat``,
  masquerade on its internet side) so keepalive really matters;
- every LAN of a site gets a switch (``S-sw``, a bridge with a fixed MAC), the
  office router (``S-rtr``: the LAN's default router, NAT to the internet,
  dnsmasq DHCP, the static return route when ``return_path = static-route``)
  and a test device (``S-dev``).  A site gateway without a public endpoint is
  one-armed on its LAN and reaches the internet through the office router's NAT.

IPv6 underlay: when any host has an IPv6 endpoint the internet is dual-stack.
Every internet port then also carries IPv6 from 2001:db8:ffff::/48 (the lab's
own carve-out of the documentation prefix): the internet router's side is
2001:db8:ffff:1::K, a box without an IPv6 endpoint gets 2001:db8:ffff:2::K
(a host with an IPv6 endpoint gets that address; with no IPv4 endpoint it
also gets a lab IPv4 address, unused by the topology).  Boxes behind a NAT
router (roaming hosts' homes 2001:db8:ffff:100+N::/64, office LANs) reach it
through NAT66 (masquerade, one table inet for both families) rather than
with public IPv6 of their own: the lab exists to exercise NAT traversal and
keepalive, and NAT66 is the stricter case — a tunnel that comes up behind it
also comes up behind the stateful IPv6 firewall of a real home router.  An
IPv6 LAN prefix that shares its interface with an IPv4 LAN (lan = V4, V6) is
simulated on the same switch (router, gateway and test device get addresses
in it, and `lab check` pings them); an IPv4-only LAN whose gateway sits
behind the office router gets an underlay-only IPv6 prefix
2001:db8:ffff:200+N::/64 (the gateway must reach an IPv6 hub; nothing in the
topology routes it); an IPv6-only LAN is not simulated.  Addresses are added without DAD
(nothing else claims them) so nothing waits for it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network

from typing import Mapping

from netdwg.errors import ConfigError, Diagnostic, Severity
from netdwg.topology.hostconfig import ReturnRoute
from netdwg.topology.model import Host, Lan, ReturnPath, Role, Topology

PUBLIC_RANGES = tuple(IPv4Network(n) for n in ("203.0.113.0/24", "192.0.2.0/24", "198.51.100.0/24"))
PRIVATE_UPLINKS = IPv4Network("100.64.0.0/10")  # behind-NAT "home" networks of roaming hosts (RFC 6598)
INET = "inet"
DHCP_FIRST, DHCP_LAST = 100, 199  # host numbers of each LAN's DHCP range
DEVICE_HOST = 10  # the test device's host number on each LAN
DOC6 = IPv6Network("2001:db8::/32")
LAB6 = IPv6Network("2001:db8:ffff::/48")  # the lab's own IPv6 (internet links, homes behind NAT)
INET6_SIDE = 0x1  # 2001:db8:ffff:1::K  the internet router's end of port K
WAN6 = 0x2  # 2001:db8:ffff:2::K  a box's public IPv6 on port K (no IPv6 endpoint of its own)
HOME6 = 0x100  # 2001:db8:ffff:100+N::/64  the home network behind NAT router N
OFFICE6 = 0x200  # 2001:db8:ffff:200+N::/64  an IPv4-only LAN's IPv6 underlay (a gateway behind its office router)


def lab6(subnet: int, host: int = 0) -> IPv6Address:
    return IPv6Address(int(LAB6.network_address) | subnet << 64 | host)


@dataclass(frozen=True, slots=True)
class Uplink:
    """One interface of a box: its address, the peer address (point-to-point) or prefix, its gateway."""

    ns: str
    ifname: str
    address: IPv4Interface
    peer: IPv4Address | None = None  # point-to-point peer (the internet router), None on a LAN
    gateway: IPv4Address | None = None  # the default route, None when not the default path
    mac: str | None = None
    # IPv6 on the same interface (dual-stack internet): the same shape as the IPv4 fields.
    address6: IPv6Interface | None = None
    peer6: IPv6Address | None = None
    gateway6: IPv6Address | None = None


@dataclass(frozen=True, slots=True)
class Wire:
    """A veth pair: a_ns/a_if <-> b_ns/b_if."""

    a_ns: str
    a_if: str
    b_ns: str
    b_if: str


@dataclass(frozen=True, slots=True)
class Bridge:
    ns: str
    name: str
    mac: str
    ports: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StaticRoute:
    ns: str
    prefix: IPv4Network | IPv6Network
    via: IPv4Address | IPv6Address


@dataclass(frozen=True, slots=True)
class Dhcp:
    ns: str
    ifname: str
    first: IPv4Address
    last: IPv4Address
    netmask: IPv4Address
    router: IPv4Address
    domain: str | None
    ra: bool = False  # router advertisements for the LAN's IPv6 prefix (SLAAC for laptops roaming in)


@dataclass(frozen=True, slots=True)
class SiteLan:
    """One simulated LAN of a site."""

    site: str
    index: int
    prefix: IPv4Network
    switch: str  # namespace holding the bridge
    router: str  # namespace of the office router
    router_address: IPv4Interface
    router_mac: str
    device: str  # namespace of the test device
    device_address: IPv4Interface
    gateway_address: IPv4Interface  # the site gateway's own LAN address
    gateway_if: str
    return_path: ReturnPath
    # The LAN's IPv6 prefix (lan = V4, V6 on one interface) when the internet is dual-stack.
    prefix6: IPv6Network | None = None
    router_address6: IPv6Interface | None = None
    device_address6: IPv6Interface | None = None
    gateway_address6: IPv6Interface | None = None

    @property
    def gateway_is_router(self) -> bool:
        """The gateway itself is the LAN's default router: replies find the tunnel without a return route."""
        return self.router_address.ip == self.gateway_address.ip


@dataclass(frozen=True, slots=True)
class HostBox:
    """A topology host: its namespace, backend and underlay interfaces."""

    name: str
    ns: str
    role: Role
    backend: str
    uplinks: tuple[Uplink, ...]
    nat: str | None  # the NAT router namespace in front of it, if any
    public_address: IPv4Address  # what the internet sees (its own or its NAT's)


@dataclass(frozen=True, slots=True)
class World:
    topology_name: str
    namespaces: tuple[tuple[str, str], ...]  # (short name, kind) in creation order
    hosts: tuple[HostBox, ...]
    lans: tuple[SiteLan, ...]
    wires: tuple[Wire, ...]
    bridges: tuple[Bridge, ...]
    uplinks: tuple[Uplink, ...]  # every underlay address outside the host nodes (inet, NATs, routers, devices)
    masquerade: tuple[tuple[str, str], ...]  # (ns, out interface)
    routers: tuple[str, ...]  # namespaces with forwarding on
    routes: tuple[StaticRoute, ...]
    dhcp: tuple[Dhcp, ...]
    ipv6: bool = False  # the internet is dual-stack (some host has an IPv6 endpoint)

    def host(self, name: str) -> HostBox:
        for box in self.hosts:
            if box.name == name:
                return box
        raise KeyError(name)

    def lans_of(self, site: str) -> tuple[SiteLan, ...]:
        return tuple(lan for lan in self.lans if lan.site == site)


def _mac(kind: int, a: int, b: int) -> str:
    return f"02:4e:{kind:02x}:{a >> 8 & 0xff:02x}:{a & 0xff:02x}:{b:02x}"


class _Planner:
    def __init__(self, topology: Topology, return_routes: Mapping[str, tuple[ReturnRoute, ...]]) -> None:
        self.t = topology
        self.return_routes = return_routes
        self.namespaces: list[tuple[str, str]] = [(INET, "internet")]
        self.wires: list[Wire] = []
        self.bridges: list[Bridge] = []
        self.uplinks: list[Uplink] = []
        self.masq: list[tuple[str, str]] = []
        self.routers: list[str] = [INET]
        self.routes: list[StaticRoute] = []
        self.dhcp: list[Dhcp] = []
        self.lans: list[SiteLan] = []
        self.hosts: list[HostBox] = []
        self.inet_ports = 0
        self.problems: list[Diagnostic] = []
        self.ipv6 = any(h.endpoint and h.endpoint.address and h.endpoint.address.version == 6
                        for h in topology.hosts)
        self.homes = 0
        taken = {h.endpoint.address for h in topology.hosts if h.endpoint and h.endpoint.address}
        self.free_public = (a for net in PUBLIC_RANGES for a in net.hosts()
                            if a not in taken and int(a) & 0xff < 250)
        used = [*topology.network.pool, *(lan.prefix for h in topology.hosts for lan in h.lans)]
        self.free_private = (n for n in PRIVATE_UPLINKS.subnets(new_prefix=24)
                             if not any(n.overlaps(u) for u in used if u.version == 4))

    def error(self, host: Host, message: str, fix: str) -> None:
        self.problems.append(Diagnostic("LAB001", Severity.ERROR, message, host.span(), f"host '{host.name}'", fix))

    @staticmethod
    def inet_gateway(address: IPv4Address) -> IPv4Address:
        """The internet router's address towards a box: .254 of the box's /24."""
        return IPv4Address(int(address) & ~0xff | 254)

    def attach_inet(self, ns: str, ifname: str, address: IPv4Address, address6: IPv6Address | None = None) -> Uplink:
        """A point-to-point internet link for a box; dual-stack when the world is (address6: its own
        IPv6 endpoint, else one from 2001:db8:ffff:2::/64)."""
        self.inet_ports += 1
        k = self.inet_ports
        port = f"p{k}"
        gw = self.inet_gateway(address)
        self.wires.append(Wire(ns, ifname, INET, port))
        v6: dict = {}
        if self.ipv6:
            gw6, mine = lab6(INET6_SIDE, k), address6 or lab6(WAN6, k)
            self.uplinks.append(Uplink(INET, port, IPv4Interface(f"{gw}/32"), peer=address,
                                       address6=IPv6Interface(f"{gw6}/128"), peer6=mine))
            v6 = {"address6": IPv6Interface(f"{mine}/128"), "peer6": gw6, "gateway6": gw6}
        else:
            self.uplinks.append(Uplink(INET, port, IPv4Interface(f"{gw}/32"), peer=address))
        return Uplink(ns, ifname, IPv4Interface(f"{address}/32"), peer=gw, gateway=gw, **v6)

    def public_address6(self, host: Host) -> IPv6Address | None:
        if host.endpoint is None or host.endpoint.address is None or host.endpoint.address.version != 6:
            return None
        addr = host.endpoint.address
        if addr not in DOC6 or addr in LAB6:
            self.error(host, f"endpoint {host.endpoint} is not an IPv6 address of 2001:db8::/32 outside "
                       f"{LAB6}", f"the lab simulates the IPv6 internet with 2001:db8::/32 and uses {LAB6} itself")
            return None
        return addr

    def public_address(self, host: Host) -> IPv4Address | None:
        if host.endpoint is None:
            return None
        addr = host.endpoint.address
        if addr is not None and addr.version == 6:
            # An IPv6 endpoint: the host also gets a lab IPv4 address (unused by the topology).
            return next(self.free_public) if self.public_address6(host) else None
        if addr is None or addr.version != 4 or not any(addr in r for r in PUBLIC_RANGES):
            self.error(host, f"endpoint {host.endpoint} is not an IPv4 address of the documentation ranges",
                       "the lab simulates the internet with 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 only")
            return None
        if int(addr) & 0xff >= 250:
            self.error(host, f"endpoint {host.endpoint}: host numbers .250-.255 are the lab's internet routers",
                       "use an endpoint address below .250 for the lab")
            return None
        return addr

    def plan_host(self, host: Host) -> None:
        ns = host.name
        self.namespaces.append((ns, "host"))
        uplinks: list[Uplink] = []
        nat = None
        public = self.public_address(host)
        if public is not None:
            uplinks.append(self.attach_inet(ns, "eth0", public, self.public_address6(host)))
        if host.role is Role.SITE and not host.lans:
            self.error(host, "a site without a LAN cannot be simulated", "give the site lan = PREFIX")
        if host.role is not Role.ROAMING and host.lans:
            behind_nat = public is None
            v4_lans = [lan for lan in host.lans if lan.prefix.version == 4]
            if not v4_lans:
                self.error(host, "a site with only IPv6 LANs cannot be simulated (the lab's LANs are IPv4 "
                           "or dual-stack)", "give the site an IPv4 LAN too: lan = 172.16.1.0/24, 2001:db8:1::/64")
            for index, lan in enumerate(v4_lans):
                # An IPv6 LAN is simulated with the IPv4 LAN on its interface (same wire, same
                # switch); an IPv6-only LAN stays in the topology (and the tunnel) but gets no switch.
                lan6 = next((x for x in host.lans if x.prefix.version == 6 and self.ipv6
                             and (x.interface == lan.interface or len(v4_lans) == 1)), None)
                if lan6 is not None and lan6.prefix.overlaps(LAB6):
                    self.error(host, f"LAN {lan6.prefix} overlaps the lab's own {LAB6}",
                               "use another IPv6 LAN prefix for the lab (e.g. 2001:db8:60::/64)")
                    lan6 = None
                underlay6 = False
                if lan6 is None and self.ipv6 and behind_nat and index == 0:
                    # The gateway reaches the internet through its office router: the office has IPv6
                    # from its provider even when the topology routes none of it through the tunnel.
                    lan6 = dataclasses.replace(lan, prefix=IPv6Network(f"{lab6(OFFICE6 + len(self.lans) + 1)}/64"),
                                               gateway_address=None, router=None)
                    underlay6 = True
                uplink, router_public = self.plan_lan(host, index, lan, lan6, underlay6,
                                                      default=behind_nat and index == 0)
                uplinks.append(uplink)
                if behind_nat and index == 0:
                    public = router_public  # a one-armed gateway is seen through its office router's NAT
                    if public is None:
                        self.error(host, "a gateway that is its LAN's router needs a public endpoint",
                                   "set endpoint = ... or lan_router = another address of the LAN")
        elif public is None:
            if host.role is Role.HUB:
                self.error(host, "the hub has no public endpoint", "set endpoint = 198.51.100.10:51820 (or similar)")
            nat = f"{ns}-nat"
            public = next(self.free_public)
            self.namespaces.append((nat, "nat"))
            self.uplinks.append(self.attach_inet(nat, "wan0", public))
            self.masq.append((nat, "wan0"))
            self.routers.append(nat)
            home = next(self.free_private)
            self.wires.append(Wire(ns, "eth0", nat, "lan0"))
            nat6: dict = {}
            host6: dict = {}
            if self.ipv6:  # the home's IPv6, NAT66 on the way out like IPv4
                self.homes += 1
                net6 = HOME6 + self.homes
                nat6 = {"address6": IPv6Interface(f"{lab6(net6, 1)}/64")}
                host6 = {"address6": IPv6Interface(f"{lab6(net6, 2)}/64"), "gateway6": lab6(net6, 1)}
            self.uplinks.append(Uplink(nat, "lan0", IPv4Interface(f"{home[1]}/{home.prefixlen}"), **nat6))
            uplinks.append(Uplink(ns, "eth0", IPv4Interface(f"{home[2]}/{home.prefixlen}"), gateway=home[1],
                                  **host6))
        self.hosts.append(HostBox(host.name, ns, host.role, str(host.backend), tuple(uplinks), nat,
                                  public or IPv4Address("0.0.0.0")))

    def plan_lan(self, host: Host, index: int, lan: Lan, lan6: Lan | None, underlay6: bool,
                 default: bool) -> tuple[Uplink, IPv4Address | None]:
        """A LAN of `host`: switch, test device, and an office router unless the gateway is the router."""
        suffix = "" if index == 0 else str(index + 1)
        prefix = lan.prefix
        hosts = list(prefix.hosts())
        n = len(self.lans) + 1
        gateway = lan.gateway_address.ip if lan.gateway_address else hosts[1]
        # The office router: as declared, else the first address that is not the gateway's.
        router = (lan.router or lan.fingerprint.router or lan.fingerprint.dhcp_server
                  or next(a for a in hosts if a != gateway))
        own_router = router != gateway  # lan_router = lan_address: the gateway is the LAN's default router
        device = next(a for a in hosts[DEVICE_HOST - 1:] + hosts if a not in (router, gateway))
        sw, dev = f"{host.name}-sw{suffix}", f"{host.name}-dev{suffix}"
        rtr = f"{host.name}-rtr{suffix}" if own_router else host.name
        gw_if = lan.interface or ("eth1" if host.endpoint else "lan0")
        if index and not lan.interface:
            gw_if = f"lan{index}"
        self.namespaces += [(sw, "switch"), *([(rtr, "router")] if own_router else []), (dev, "device")]
        self.wires += [Wire(sw, "port-gw", host.name, gw_if), Wire(sw, "port-dev", dev, "eth0")]
        ports = ["port-gw", "port-dev"]
        router_mac = lan.fingerprint.router_mac or _mac(2, n, 1)
        rtr_addr = IPv4Interface(f"{router}/{prefix.prefixlen}")
        gw6 = rtr6 = dev6 = None
        if lan6 is not None:
            hosts6 = lan6.prefix.hosts()
            first6 = [next(hosts6) for _ in range(DEVICE_HOST + 2)]
            g6 = lan6.gateway_address.ip if lan6.gateway_address else first6[1]
            r6 = g6 if not own_router else (lan6.router or next(a for a in first6 if a != g6))
            d6 = next(a for a in first6[DEVICE_HOST - 1:] + first6 if a not in (r6, g6))
            gw6, rtr6, dev6 = (IPv6Interface(f"{a}/{lan6.prefix.prefixlen}") for a in (g6, r6, d6))
        self.uplinks.append(Uplink(dev, "eth0", IPv4Interface(f"{device}/{prefix.prefixlen}"), gateway=router,
                                   address6=dev6, gateway6=rtr6.ip if rtr6 else None))
        public = None
        if own_router:
            self.wires.append(Wire(sw, "port-rtr", rtr, "lan0"))
            ports.insert(0, "port-rtr")
            self.uplinks.append(Uplink(rtr, "lan0", rtr_addr, mac=router_mac, address6=rtr6))
            public = next(self.free_public)
            self.uplinks.append(self.attach_inet(rtr, "wan0", public))
            self.masq.append((rtr, "wan0"))
            self.routers.append(rtr)
        self.bridges.append(Bridge(sw, "br0", _mac(1, n, 0), tuple(ports)))
        if own_router and lan.return_path is ReturnPath.STATIC_ROUTE:
            # The office router holds what netdwg tells its admin to add (the compiler's return routes).
            for rr in self.return_routes.get(host.name, ()):
                if rr.lan == prefix or (lan6 is not None and rr.lan == lan6.prefix):
                    self.routes.append(StaticRoute(rtr, rr.destination, rr.via))
        free = [a for a in hosts if DHCP_FIRST <= int(a) - int(prefix.network_address) <= DHCP_LAST
                and a not in (router, gateway, device)]
        if free and own_router:  # DHCP is the office router's job (a gateway-router serves none here)
            self.dhcp.append(Dhcp(rtr, "lan0", free[0], free[-1], prefix.netmask, router,
                                  lan.fingerprint.domain, ra=lan6 is not None))
        site_lan = SiteLan(host.name, index, prefix, sw, rtr, rtr_addr, router_mac, dev,
                           IPv4Interface(f"{device}/{prefix.prefixlen}"),
                           IPv4Interface(f"{gateway}/{prefix.prefixlen}"), gw_if, lan.return_path,
                           *((None, None, None, None) if underlay6 or lan6 is None
                             else (lan6.prefix, rtr6, dev6, gw6)))
        self.lans.append(site_lan)
        return Uplink(host.name, gw_if, site_lan.gateway_address, gateway=router if default else None,
                      address6=gw6, gateway6=rtr6.ip if (rtr6 and default) else None), public


def plan_world(topology: Topology, return_routes: Mapping[str, tuple[ReturnRoute, ...]] | None = None) -> World:
    """The lab's world for `topology`; raises ConfigError (with every problem) when it cannot be simulated.

    `return_routes` (site name -> the compiler's ReturnRoutes) are put on the
    office routers of LANs with ``return_path = static-route``, as their admin would.
    """
    p = _Planner(topology, return_routes or {})
    for host in topology.hosts:
        p.plan_host(host)
    if p.problems:
        raise ConfigError("the topology cannot be simulated by the lab", tuple(p.problems))
    return World(topology.network.name, tuple(p.namespaces), tuple(p.hosts), tuple(p.lans), tuple(p.wires),
                 tuple(p.bridges), tuple(p.uplinks), tuple(p.masq), tuple(p.routers), tuple(p.routes),
                 tuple(p.dhcp), p.ipv6)


def public_address6(world: World, box: HostBox) -> IPv6Address | None:
    """The IPv6 address the internet sees for `box`: its own, its NAT router's, or its office router's."""
    own = next((u.address6.ip for u in box.uplinks if u.peer6 is not None), None)
    if own is not None or not world.ipv6:
        return own
    lans = world.lans_of(box.name)
    front = box.nat or (lans[0].router if lans and not lans[0].gateway_is_router else None)
    return next((u.address6.ip for u in world.uplinks if u.ns == front and u.peer6 is not None), None)
