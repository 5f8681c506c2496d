"""What one host gets from the topology, as frozen values (the compiler's output).

    HostConfig                one host: its WireGuard interfaces, sysctls, firewall
                              intent, the return routes its LAN routers need, and
                              the guard configuration of a roaming laptop
      WgInterface             one WireGuard interface: a `WgDevice` (keys, port,
                              peers with AllowedIPs/endpoint/keepalive/PSK),
                              addresses with the pool prefix, routes, MTU
      Route                   a route the role needs (destination, metric, table)
      Sysctl                  one sysctl.d setting with the reason for it
      Firewall                `table inet netdwg` intent: forward allow-list,
                              MASQUERADE, TCP MSS clamping
      ReturnRoute             "ip route add POOL via LAN_ADDRESS" for the LAN router

Renderers (`netdwg.render`) turn a HostConfig into files; the planner and the
linter read it. Nothing here touches the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from netdwg.keys import PresharedKey
from netdwg.topology.guard_config import GuardConfig
from netdwg.topology.model import Backend, Role
from netdwg.wireguard import IPAddress, IPInterface, IPNetwork, WgDevice, WgPeer

KEY_DIR = PurePosixPath("/etc/netdwg/keys")  # where a host keeps key files (its own key, or rendered ones)


@dataclass(frozen=True, slots=True)
class Route:
    """A route into a WireGuard interface. metric/table None: the backend's default."""

    destination: IPNetwork
    interface: str
    metric: int | None = None
    table: int | None = None
    reason: str = ""  # e.g. "LAN of oslo", shown by `netdwg show`


@dataclass(frozen=True, slots=True)
class WgInterface:
    """One WireGuard interface of a host.

    `device.private_key` is None when the host keeps its own key: the key
    then lives in `private_key_file` on the host and only its public key is
    in the topology.
    """

    device: WgDevice
    addresses: tuple[IPInterface, ...]
    routes: tuple[Route, ...]  # what AllowedIPs need beyond the connected routes of `addresses`
    mtu: int
    private_key_file: PurePosixPath  # used by PrivateKeyFile=/key: paths and when the host keeps its key
    own_lans: tuple[IPNetwork, ...] = ()  # LANs this host sits on: never routed into this interface
    description: str = ""

    @property
    def name(self) -> str:
        return self.device.name

    @property
    def holds_private_key(self) -> bool:
        return self.device.private_key is not None

    @property
    def table_off(self) -> bool:
        """True when routes must not simply follow AllowedIPs (wg-quick's `Table = off`).

        That is when a peer's AllowedIPs cover one of this host's own LANs
        (routing it into the tunnel would cut the host off its LAN), or when a
        route needs a metric or table of its own.
        """
        if self.own_lans:  # (a roaming laptop has none: skip its 50 AllowedIPs)
            for peer in self.device.peers:
                for net in peer.allowed_ips:
                    if any(net.version == lan.version and net.overlaps(lan) for lan in self.own_lans):
                        return True
        return _custom_routes(self.routes)

    def psk_file(self, peer: WgPeer) -> PurePosixPath:
        return KEY_DIR / f"{self.name}-{peer.name}.psk"


_CUSTOM_ROUTES: dict[int, tuple[tuple, bool]] = {}


def _custom_routes(routes: tuple[Route, ...]) -> bool:
    """Does a route need a metric or table of its own?

    Remembered per routes tuple: the compiler hands the very same tuple of 50
    LAN routes to every laptop with the same reach (the tuple is kept, so its
    id is not reused while remembered).
    """
    found = _CUSTOM_ROUTES.get(id(routes))
    if found is not None and found[0] is routes:
        return found[1]
    custom = any(r.metric is not None or r.table is not None for r in routes)
    if len(_CUSTOM_ROUTES) >= 4096:
        _CUSTOM_ROUTES.clear()
    _CUSTOM_ROUTES[id(routes)] = (routes, custom)
    return custom


@dataclass(frozen=True, slots=True)
class Sysctl:
    key: str  # e.g. "net.ipv4.ip_forward"
    value: str
    reason: str = ""
    # Per-interface keys do not exist until the interface does: written with
    # sysctl.d's "-" prefix so a failure to set them is not an error.
    ignore_missing: bool = False


@dataclass(frozen=True, slots=True)
class ForwardAllow:
    """VPN sources that may open new connections to `destination` (a LAN) via `out_interface`."""

    sources: tuple[IPNetwork, ...]
    destination: IPNetwork
    in_interface: str
    out_interface: str | None = None  # None: wherever the route leads
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Masquerade:
    """NAT VPN-sourced traffic into a LAN whose router holds no route back (return_path = masquerade)."""

    sources: tuple[IPNetwork, ...]
    destination: IPNetwork
    out_interface: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Firewall:
    """The intent behind `table inet netdwg`.

    Forwarding out of `tunnel_interfaces` is filtered: replies always pass,
    `allow` entries may open new connections, everything else arriving on a
    tunnel towards a `guarded` destination is dropped (the hub may not open
    connections into a LAN). Traffic not from a tunnel is left alone.
    """

    tunnel_interfaces: tuple[str, ...]
    allow: tuple[ForwardAllow, ...] = ()
    guarded: tuple[IPNetwork, ...] = ()  # destinations closed to new connections unless allowed
    masquerade: tuple[Masquerade, ...] = ()
    mss_clamp: bool = True  # clamp TCP MSS to the path MTU on the tunnel

    @property
    def is_empty(self) -> bool:
        return not (self.allow or self.guarded or self.masquerade or self.mss_clamp)


@dataclass(frozen=True, slots=True)
class ReturnRoute:
    """What a LAN router needs so replies to VPN sources go back through the gateway."""

    destination: IPNetwork
    via: IPAddress
    lan: IPNetwork
    gateway: str  # the gateway host's name

    def instruction(self) -> str:
        return f"ip route add {self.destination} via {self.via}"


@dataclass(frozen=True, slots=True)
class HostConfig:
    name: str
    role: Role
    backend: Backend
    systemd_version: int
    interfaces: tuple[WgInterface, ...]
    sysctls: tuple[Sysctl, ...] = ()
    firewall: Firewall | None = None
    return_routes: tuple[ReturnRoute, ...] = ()
    guard: GuardConfig | None = None  # roaming hosts with guard = yes

    def interface(self, name: str) -> WgInterface:
        for iface in self.interfaces:
            if iface.name == name:
                return iface
        raise KeyError(name)

    @property
    def preshared_keys(self) -> tuple[PresharedKey, ...]:
        return tuple(p.preshared_key for i in self.interfaces for p in i.device.peers if p.preshared_key)
