"""systemd-networkd renderer: a `.netdev` and a `.network` per WireGuard interface.

Keys go inline into the .netdev (then 0640 root:systemd-network: networkd runs
as systemd-network, 0644 makes it warn "too permissive", 0600 root:root gives
"Permission denied" on 252), or, with ``key_files=True``, into key files
referenced by PrivateKeyFile=/PresharedKeyFile= (v242+), which are rendered
files of their own with the same mode. A host that keeps its own private key
always gets PrivateKeyFile= pointing at it.

Routes are written as [Route] sections in the .network, for every systemd
version: networkd v250+ could derive them from AllowedIPs ([WireGuard]
RouteTable=/RouteMetric=), but then the pool (already the connected route of
Address=) would be routed twice and the roaming guard could not move a single
LAN route. On v250+ the .netdev says `RouteTable=off` explicitly (the default)
so nobody "fixes" it by adding RouteTable=main; before v250 the key does not
exist and networkd would log "Unknown key", so it is left out.

The files are built with `netdwg.unitfile`'s builder, the one writer of unit files
(values formatted by its `render_value`, refused when systemd would read them differently).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from netdwg.networkd_versions import since
from netdwg.rendered import MODE_NETWORKD_SECRET, MODE_PUBLIC, RenderedFile
from netdwg.topology.hostconfig import HostConfig, WgInterface
from netdwg.unitfile.builder import UnitBuilder
from netdwg.unitfile.syntax import UnitFile

NETWORK_DIR = PurePosixPath("/etc/systemd/network")
HEADER = "Managed by netdwg: edit the topology and run 'netdwg render', not this file."
ROUTE_TABLE_SINCE = since("wireguard_route_table")  # netdwg.networkd_versions


def unit_paths(iface: WgInterface) -> tuple[PurePosixPath, PurePosixPath]:
    return NETWORK_DIR / f"50-{iface.name}.netdev", NETWORK_DIR / f"50-{iface.name}.network"


def render(host: HostConfig, *, key_files: bool = False) -> tuple[RenderedFile, ...]:
    files: list[RenderedFile] = []
    for iface in host.interfaces:
        files += _netdev(host, iface, key_files)
        files.append(_network(iface))
    return tuple(files)


def _key_file(path: PurePosixPath, secret, what: str) -> RenderedFile:
    return RenderedFile(path, secret.reveal_base64() + "\n", mode=MODE_NETWORKD_SECRET, owner="root",
                        group="systemd-network", secret=True, description=what)


def _netdev(host: HostConfig, iface: WgInterface, key_files: bool) -> list[RenderedFile]:
    netdev_path, _ = unit_paths(iface)
    device = iface.device
    extra: list[RenderedFile] = []
    unit = UnitBuilder(str(netdev_path)).comment(HEADER)
    if iface.description:
        unit.comment(iface.description)
    # The MTU lives in the .network ([Link] MTUBytes=): it then also applies to a
    # device networkd did not create (wireguard-go).
    unit.add_section("NetDev").append("Name", device.name).append("Kind", "wireguard")
    unit.add_section("WireGuard")
    inline = False
    if device.private_key is not None and not key_files:
        unit.append("PrivateKey", device.private_key)
        inline = True
    else:
        unit.append("PrivateKeyFile", iface.private_key_file)
        if device.private_key is not None:
            extra.append(_key_file(iface.private_key_file, device.private_key, f"private key of {device.name}"))
    if device.listen_port is not None:
        unit.append("ListenPort", device.listen_port)
    if host.systemd_version >= ROUTE_TABLE_SINCE:
        unit.append("RouteTable", "off")
    for peer in device.peers:
        unit.add_section("WireGuardPeer", comment=peer.name)
        unit.append("PublicKey", peer.public_key)
        if peer.preshared_key is not None:
            if key_files:
                psk_path = iface.psk_file(peer)
                unit.append("PresharedKeyFile", psk_path)
                extra.append(_key_file(psk_path, peer.preshared_key, f"PSK {device.name} <-> {peer.name}"))
            else:
                unit.append("PresharedKey", peer.preshared_key)
                inline = True
        unit.append_each("AllowedIPs", peer.allowed_ips)
        if peer.endpoint is not None:
            unit.append("Endpoint", peer.endpoint)
        if peer.persistent_keepalive:
            unit.append("PersistentKeepalive", peer.persistent_keepalive)
    text = unit.format()
    if inline:
        netdev = RenderedFile(netdev_path, text, mode=MODE_NETWORKD_SECRET, owner="root", group="systemd-network",
                              secret=True, description=f"WireGuard device {device.name} (holds keys)")
    else:
        netdev = RenderedFile(netdev_path, text, mode=MODE_PUBLIC, description=f"WireGuard device {device.name}")
    return [netdev, *extra]


# WireGuard carries IP packets only (no link layer, no neighbour discovery, no
# router advertisements), so an IPv6 link-local address on it serves nothing.
# Left at its default (LinkLocalAddressing=ipv6, IPv6AcceptRA=yes on a host that
# does not forward), networkd 252 gives the link a fe80:: address, solicits a
# router that can never answer and reports the link "configuring" until NDisc
# times out: 3 solicitations 4 s apart, ~12 s on every start and reload (on a
# wireguard-go tun device; networkd skips IPv6LL itself only for kind "wireguard").
# Static IPv6 addresses and routes still work without it: networkd enables IPv6 on
# a link that has static IPv6 configuration. IPv6AcceptRA=no is implied by
# LinkLocalAddressing=no but is written so a drop-in re-enabling link-local
# addressing brings the wait back only if it also asks for RAs. Both keys exist in
# every networkd that can run WireGuard (v237+: LinkLocalAddressing= v219,
# IPv6AcceptRA= v231). netplan 0.106 writes LinkLocalAddressing=ipv6 with
# ConfigureWithoutCarrier=yes for a tunnel, which skips the NDisc wait instead.
def _network(iface: WgInterface) -> RenderedFile:
    _, network_path = unit_paths(iface)
    unit = UnitBuilder(str(network_path)).comment(HEADER)
    unit.add_section("Match").append("Name", iface.name)
    unit.add_section("Link").append("MTUBytes", iface.mtu)
    unit.add_section("Network").append("LinkLocalAddressing", "no").append("IPv6AcceptRA", "no")
    for address in iface.addresses:
        unit.append("Address", address)
    unit.include(_route_sections(iface.routes))
    return RenderedFile(network_path, unit.format(), mode=MODE_PUBLIC,
                        description=f"addresses and routes of {iface.name}")


# The compiler hands every host with the same reach the very same routes tuple (10,000
# laptops, a few distinct tuples): its [Route] sections are built once per tuple.
_ROUTE_SECTIONS: dict[int, tuple[tuple, UnitFile]] = {}


def _route_sections(routes: tuple) -> UnitFile:
    found = _ROUTE_SECTIONS.get(id(routes))
    if found is not None and found[0] is routes:
        return found[1]
    unit = UnitBuilder()
    for route in routes:
        unit.add_section("Route", comment=route.reason)
        unit.append("Destination", route.destination)
        if route.metric is not None:
            unit.append("Metric", route.metric)
        if route.table is not None:
            unit.append("Table", route.table)
    built = unit.build()
    if len(_ROUTE_SECTIONS) >= 4096:
        _ROUTE_SECTIONS.clear()
    _ROUTE_SECTIONS[id(routes)] = (routes, built)  # the tuple is kept: its id is not reused meanwhile
    return built
