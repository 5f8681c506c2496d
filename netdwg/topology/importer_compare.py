"""`netdwg import`: what re-rendering an imported topology would change on each host.

    compare_hosts(hosts, compiled) -> differences     one line per difference, () when none

It compares meaning, not spelling: keys, PSKs, AllowedIPs, endpoints, keepalive, MTU, the
addresses, and whether each prefix a peer holds is routed into the interface (an address written
/32 plus a route to its /24 is the /24's connected route; a wg-quick `Table = off` with PostUp
routes routes exactly those).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from netdwg.topology.importer_files import HostFiles, ReadInterface
from netdwg.topology.model import Backend
from netdwg.wireguard import IPNetwork


def compare_hosts(hosts: Sequence[HostFiles], compiled: Mapping) -> tuple[str, ...]:
    """What differs between each host's files and what netdwg would render for it."""
    out = []
    for host in hosts:
        config = compiled.get(host.name)
        if config is None:
            out.append(f"{host.name}: not in the compiled topology")
            continue
        for iface in host.interfaces:
            try:
                want = config.interface(iface.name)
            except KeyError:
                if len(config.interfaces) >= 1 and len(host.interfaces) == 1:
                    want = config.interfaces[0]  # a wg-quick file named after the host, not the interface
                    out += [f"{host.name} {iface.name}: {d}" for d in _diff_interface(iface, want)]
                    continue
                out.append(f"{host.name}: interface {iface.name} would not be rendered")
                continue
            out += [f"{host.name} {iface.name}: {d}" for d in _diff_interface(iface, want)]
    return tuple(out)


def _diff_interface(have: ReadInterface, want) -> list[str]:
    diffs = []
    dev, new = have.device, want.device
    if dev.private_key is not None and dev.private_key != new.private_key:
        diffs.append("private key differs")
    if dev.listen_port != new.listen_port:
        diffs.append(f"ListenPort {dev.listen_port} -> {new.listen_port}")
    if {a.ip for a in have.addresses} != {a.ip for a in want.addresses}:
        diffs.append(f"addresses {sorted(map(str, have.addresses))} -> {sorted(map(str, want.addresses))}")
    # An address's prefix length only decides its connected route: 10.1.1.11/32 plus a route to
    # 10.1.1.0/24 means what 10.1.1.11/24 does. What counts is whether the prefixes the peers
    # hold are routed into the interface (a route to where no peer is only decides where a packet
    # for an unused address dies).
    have_routed, want_routed = _routed(have), _routed_intent(want)
    asked = dict.fromkeys([*(p for peer in dev.peers for p in peer.allowed_ips),
                           *(p for peer in new.peers for p in peer.allowed_ips)])
    for prefix in asked:
        before, after = _covers(have_routed, prefix), _covers(want_routed, prefix)
        if before != after:
            diffs.append(f"{prefix}: {'routed' if before else 'not routed'} into {have.name} -> "
                         f"{'routed' if after else 'not routed'}")
    if have.mtu is not None and have.mtu != want.mtu:
        diffs.append(f"MTU {have.mtu} -> {want.mtu}")
    mine = {p.public_key: p for p in dev.peers}
    theirs = {p.public_key: p for p in new.peers}
    for key in mine.keys() - theirs.keys():
        diffs.append(f"peer {key.short()} would be dropped")
    for key in theirs.keys() - mine.keys():
        diffs.append(f"peer {key.short()} would be added")
    for key in mine.keys() & theirs.keys():
        a, b = mine[key], theirs[key]
        # The host's own LAN in a peer's AllowedIPs but not routed (wg-quick Table = off): the
        # hand-written way to keep it out of the tunnel; netdwg leaves it out of AllowedIPs instead.
        unrouted_own = {p for p in a.allowed_ips if p not in b.allowed_ips and not _covers(have_routed, p)
                        and any(_overlap(p, lan) for lan in want.own_lans)}
        if set(a.allowed_ips) - unrouted_own != set(b.allowed_ips):
            diffs.append(f"peer {b.name or key.short()}: AllowedIPs {sorted(map(str, a.allowed_ips))} -> "
                         f"{sorted(map(str, b.allowed_ips))}")
        if a.preshared_key != b.preshared_key and key not in have.unknown_psks:
            diffs.append(f"peer {b.name or key.short()}: preshared key differs")
        if a.endpoint != b.endpoint:
            diffs.append(f"peer {b.name or key.short()}: Endpoint {a.endpoint} -> {b.endpoint}")
        if a.persistent_keepalive != b.persistent_keepalive:
            diffs.append(f"peer {b.name or key.short()}: PersistentKeepalive {a.persistent_keepalive} -> "
                         f"{b.persistent_keepalive}")
    return diffs


def _overlap(a: IPNetwork, b: IPNetwork) -> bool:
    return a.version == b.version and a.overlaps(b)


def _covers(routed, prefix: IPNetwork) -> bool:
    return any(r.version == prefix.version and prefix.subnet_of(r) for r in routed)


def _routed(have: ReadInterface) -> tuple[IPNetwork, ...]:
    """What a host's files route into the interface: connected routes of its addresses, explicit
    routes, and every AllowedIPs prefix where the backend routes them (wg-quick unless Table = off,
    networkd with RouteTable=, NetworkManager unless peer-routes=false)."""
    out = [a.network for a in have.addresses] + list(have.routes)
    if have.backend in (Backend.WG_QUICK, Backend.NETWORKMANAGER):  # NetworkManager: peer-routes=true
        follows = have.route_table != "off"
    else:
        follows = have.backend is Backend.NETWORKD and have.route_table not in ("", "off")
    if follows:
        out += [p for peer in have.device.peers for p in peer.allowed_ips]
    return tuple(out)


def _routed_intent(want) -> tuple[IPNetwork, ...]:
    """What netdwg routes into a compiled interface, whatever the backend: connected plus its routes."""
    return tuple(a.network for a in want.addresses) + tuple(r.destination for r in want.routes)
