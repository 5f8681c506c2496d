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

The text is exactly what `netdwg.unitfile`'s builder writes for the same
entries (tests/unit/test_render_text.py); it is formatted directly because a
10,000-client hub is too many lines for the builder's per-line validation.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import PurePosixPath

from netdwg.rendered import MODE_NETWORKD_SECRET, MODE_PUBLIC, RenderedFile
from netdwg.render.text import Shared, comment_lines, text_of, unit_line
from netdwg.topology.hostconfig import HostConfig, WgInterface

NETWORK_DIR = PurePosixPath("/etc/systemd/network")
HEADER = "Managed by netdwg: edit the topology and run 'netdwg render', not this file."
ROUTE_TABLE_SINCE = 250  # [WireGuard] RouteTable=/RouteMetric= appeared in systemd v250

_ROUTE_BLOCKS = Shared()
_ALLOWED_BLOCKS = Shared()


def _allowed_block(nets) -> str:
    return "".join([f"AllowedIPs={text_of(net)}\n" for net in nets])


def unit_paths(iface: WgInterface) -> tuple[PurePosixPath, PurePosixPath]:
    return _unit_paths(iface.name)


@lru_cache(maxsize=64)
def _unit_paths(name: str) -> tuple[PurePosixPath, PurePosixPath]:
    # pathlib joins cost microseconds each; 10,000 hosts share a handful of interface names
    return NETWORK_DIR / f"50-{name}.netdev", NETWORK_DIR / f"50-{name}.network"


def render(host: HostConfig, *, key_files: bool = False) -> tuple[RenderedFile, ...]:
    files: list[RenderedFile] = []
    for iface in host.interfaces:
        files += _netdev(host, iface, key_files)
        files.append(_network(iface))
    return tuple(files)


def _key_file(path: PurePosixPath, secret, what: str) -> RenderedFile:
    return RenderedFile(path, secret.reveal_base64() + "\n", mode=MODE_NETWORKD_SECRET, owner="root",
                        group="systemd-network", secret=True, description=what)


def _section(out: list[str], name: str, comment: str = "") -> None:
    out.append("\n")  # one blank line between sections, as the builder writes
    if comment:
        out += comment_lines(comment)
    out.append(f"[{name}]\n")


# 10,000 laptops get files that differ in a few lines: the lines every host of a
# network shares are formatted once (lru_cache), and values that cannot hold a
# line break by construction (base64 keys, integers) skip unit_line's checks.


@lru_cache(maxsize=64)
def _netdev_device(name: str) -> str:
    out: list[str] = []
    _section(out, "NetDev")
    out += [unit_line("Name", name), unit_line("Kind", "wireguard")]
    _section(out, "WireGuard")
    return "".join(out)


@lru_cache(maxsize=1 << 14)
def _peer_head(name: str) -> str:
    out: list[str] = []
    _section(out, "WireGuardPeer", name)
    return "".join(out)


@lru_cache(maxsize=1024)
def _endpoint_line(endpoint) -> str:
    return unit_line("Endpoint", text_of(endpoint))


def _netdev(host: HostConfig, iface: WgInterface, key_files: bool) -> list[RenderedFile]:
    netdev_path, _ = unit_paths(iface)
    device = iface.device
    extra: list[RenderedFile] = []
    out = comment_lines(HEADER)
    if iface.description:
        out += comment_lines(iface.description)
    # The MTU lives in the .network ([Link] MTUBytes=): it then also applies to a
    # device networkd did not create (wireguard-go).
    out.append(_netdev_device(device.name))
    inline = False
    if device.private_key is not None and not key_files:
        out.append(f"PrivateKey={device.private_key.reveal_base64()}\n")
        inline = True
    else:
        out.append(unit_line("PrivateKeyFile", str(iface.private_key_file)))
        if device.private_key is not None:
            extra.append(_key_file(iface.private_key_file, device.private_key, f"private key of {device.name}"))
    if device.listen_port is not None:
        out.append(f"ListenPort={int(device.listen_port)}\n")
    if host.systemd_version >= ROUTE_TABLE_SINCE:
        out.append("RouteTable=off\n")
    for peer in device.peers:
        out.append(_peer_head(peer.name))
        out.append(f"PublicKey={peer.public_key.base64}\n")
        if peer.preshared_key is not None:
            if key_files:
                psk_path = iface.psk_file(peer)
                out.append(unit_line("PresharedKeyFile", str(psk_path)))
                extra.append(_key_file(psk_path, peer.preshared_key, f"PSK {device.name} <-> {peer.name}"))
            else:
                out.append(f"PresharedKey={peer.preshared_key.reveal_base64()}\n")
                inline = True
        out.append(_ALLOWED_BLOCKS.get(peer.allowed_ips, _allowed_block))
        if peer.endpoint is not None:
            out.append(_endpoint_line(peer.endpoint))
        if peer.persistent_keepalive:
            out.append(f"PersistentKeepalive={int(peer.persistent_keepalive)}\n")
    text = "".join(out)
    if inline:
        netdev = RenderedFile(netdev_path, text, mode=MODE_NETWORKD_SECRET, owner="root", group="systemd-network",
                              secret=True, description=f"WireGuard device {device.name} (holds keys)")
    else:
        netdev = RenderedFile(netdev_path, text, mode=MODE_PUBLIC, description=f"WireGuard device {device.name}")
    return [netdev, *extra]


def _route_block(routes) -> str:
    out: list[str] = []
    for route in routes:
        _section(out, "Route", route.reason)
        out.append(f"Destination={text_of(route.destination)}\n")
        if route.metric is not None:
            out.append(unit_line("Metric", str(route.metric)))
        if route.table is not None:
            out.append(unit_line("Table", str(route.table)))
    return "".join(out)


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
NO_LINK_LOCAL = "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"


@lru_cache(maxsize=256)
def _network_head(name: str, mtu: int) -> str:
    out = comment_lines(HEADER)
    _section(out, "Match")
    out.append(unit_line("Name", name))
    _section(out, "Link")
    out.append(unit_line("MTUBytes", str(mtu)))
    _section(out, "Network")
    out.append(NO_LINK_LOCAL)
    return "".join(out)


def _network(iface: WgInterface) -> RenderedFile:
    _, network_path = unit_paths(iface)
    out = [_network_head(iface.name, iface.mtu)]
    out += [f"Address={text_of(a)}\n" for a in iface.addresses]
    out.append(_ROUTE_BLOCKS.get(iface.routes, _route_block))
    return RenderedFile(network_path, "".join(out), mode=MODE_PUBLIC,
                        description=f"addresses and routes of {iface.name}")
