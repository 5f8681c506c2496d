"""wg-quick renderer: /etc/wireguard/<interface>.conf (0600), also what GUI clients import.

wg-quick routes every AllowedIPs prefix into the interface by itself. Where
that is wrong (a peer's AllowedIPs cover the host's own LAN, or a route needs
a metric or table), the file says `Table = off` and adds exactly the routes
the host needs with PostUp (topologies.md, section 3); the kernel removes them
with the interface, so no PostDown is needed.

A host that keeps its own private key gets no PrivateKey line; PostUp loads
it from its key file instead (wg-quick itself has no PrivateKeyFile).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from netdwg.rendered import RenderedFile
from netdwg.topology.hostconfig import HostConfig, Route, WgInterface
from netdwg.wgquick import format_wgquick, render_wgquick, wgquick_from_device

WG_DIR = PurePosixPath("/etc/wireguard")
HEADER = "# Managed by netdwg: edit the topology and run 'netdwg render', not this file.\n"


def conf_path(iface: WgInterface) -> PurePosixPath:
    return WG_DIR / f"{iface.name}.conf"


def _route_command(route: Route) -> str:
    family = "-6" if route.destination.version == 6 else "-4"
    words = ["ip", family, "route", "add", str(route.destination), "dev", "%i"]
    if route.metric is not None:
        words += ["metric", str(route.metric)]
    if route.table is not None:
        words += ["table", str(route.table)]
    return " ".join(words)


def conf_text(iface: WgInterface) -> str:
    """The .conf text of one interface (also what `netdwg qr` encodes)."""
    post_up: list[str] = []
    if iface.device.private_key is None:
        post_up.append(f"wg set %i private-key {iface.private_key_file}")
    table = None
    if iface.table_off:
        table = "off"
        post_up += [_route_command(r) for r in iface.routes]
    config = wgquick_from_device(iface.device, addresses=iface.addresses, mtu=iface.mtu, table=table,
                                 post_up=tuple(post_up))
    header = HEADER + (f"# {iface.description}\n" if iface.description else "")
    return header + format_wgquick(config)


def render(host: HostConfig) -> tuple[RenderedFile, ...]:
    out = []
    for iface in host.interfaces:
        base = render_wgquick(wgquick_from_device(iface.device), str(conf_path(iface)))
        out.append(RenderedFile(base.path, conf_text(iface), mode=base.mode, owner=base.owner, group=base.group,
                                secret=iface.device.private_key is not None or bool(host.preshared_keys),
                                description=base.description))
    return tuple(out)
