"""NetworkManager renderer: /etc/NetworkManager/system-connections/<interface>.nmconnection per WireGuard
interface (0600 root:root: NetworkManager refuses a keyfile anyone else may read, "File permissions
(100644) are insecure", and one owned by another user).

The profile holds the keys inline: NetworkManager (1.42) reads a WireGuard private key and PSKs only from
the profile or a secret agent, never from a file, so a host that keeps its own key cannot have this
backend (lint NDW029) and `--key-files` changes nothing here.

Routes are the ones netdwg computed, written as `[ipv4]`/`[ipv6]` routeN= with their metric and table,
with `peer-routes=false`: NetworkManager would otherwise add a route per AllowedIPs prefix (the pool,
already the connected route of the address, twice; and a laptop's LANs where the roaming guard could not
move a single one), as the networkd renderer writes `RouteTable=off`. The ternary
`ipN-auto-default-route` is written 0 so a peer with 0.0.0.0/0 gets no policy routing behind netdwg's
back, and `never-default=true` (no gateway on a tunnel). The uuid is derived from the host and interface
names (uuid5), so `plan`/`apply` find the connection over D-Bus by it.

Every value goes through `netdwg.keyfiles`' one quoting function (`keyfile_value`).
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from netdwg.keyfiles import CONNECTIONS_DIR, NmIpConfig, NmRoute, NmWireGuard, format_nm_wireguard, keyfile_comment
from netdwg.rendered import MODE_PRIVATE, RenderedFile
from netdwg.topology.hostconfig import HostConfig, WgInterface

HEADER = "Managed by netdwg: edit the topology and run 'netdwg render', not this file."
_UUID_NAMESPACE = uuid.UUID("5a6e2f0c-3a53-4c1e-9d4e-6e657464776b")  # netdwg's own, fixed forever


def profile_path(iface: WgInterface) -> PurePosixPath:
    return CONNECTIONS_DIR / f"{iface.name}.nmconnection"


def profile_uuid(host: str, interface: str) -> str:
    return str(uuid.uuid5(_UUID_NAMESPACE, f"{host}/{interface}"))


def nm_profile(host: HostConfig, iface: WgInterface) -> NmWireGuard:
    """The connection profile of one interface, as values (what GetSettings must report back)."""
    def ip(version: int) -> NmIpConfig:
        addresses = tuple(a for a in iface.addresses if a.version == version)
        routes = tuple(NmRoute(r.destination, r.metric, r.table) for r in iface.routes
                       if r.destination.version == version)
        return NmIpConfig(addresses, routes, never_default=bool(addresses))

    return NmWireGuard(iface.name, profile_uuid(host.name, iface.name), iface.device, mtu=iface.mtu,
                       peer_routes=False, ip4_auto_default_route=False, ip6_auto_default_route=False,
                       ipv4=ip(4), ipv6=ip(6))


def render(host: HostConfig, *, key_files: bool = False) -> tuple[RenderedFile, ...]:
    out = []
    for iface in host.interfaces:
        header = keyfile_comment(HEADER) + (keyfile_comment(iface.description) if iface.description else "")
        text = format_nm_wireguard(nm_profile(host, iface), header=header)
        out.append(RenderedFile(profile_path(iface), text, mode=MODE_PRIVATE, owner="root", group="root",
                                secret=iface.holds_private_key or bool(host.preshared_keys),
                                description=f"NetworkManager profile of {iface.name} (holds keys)"))
    return tuple(out)
