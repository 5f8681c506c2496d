"""netplan renderer: /etc/netplan/60-netdwg-<interface>.yaml (0600; netplan warns
"Permissions ... are too open" otherwise, and the file may hold keys).

`netplan generate` (0.106 on Debian 12) turns a `tunnels:` entry of mode
wireguard into a .netdev/.network pair; the integration tests check that the
result carries the same peers, AllowedIPs and addresses as our networkd
renderer's files. netplan reads `key:`/`shared:` as a file path when the value
starts with "/", so key files need no other syntax.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from netdwg.errors import ConfigError
from netdwg.netplan import NetplanRoute, NetplanTunnel, format_netplan
from netdwg.rendered import MODE_PRIVATE, RenderedFile
from netdwg.topology.hostconfig import HostConfig, WgInterface

NETPLAN_DIR = PurePosixPath("/etc/netplan")
HEADER = "Managed by netdwg: edit the topology and run 'netdwg render', not this file."


def yaml_path(iface: WgInterface) -> PurePosixPath:
    return NETPLAN_DIR / f"60-netdwg-{iface.name}.yaml"


def tunnel(iface: WgInterface, key_files: bool = False) -> NetplanTunnel:
    """The interface as the netplan writer's value (teammate module `netdwg.netplan`)."""
    device = iface.device
    own_key_file = key_files or device.private_key is None
    psk_files = tuple((p.public_key, iface.psk_file(p)) for p in device.peers
                      if key_files and p.preshared_key is not None)
    return NetplanTunnel(
        device=device, addresses=iface.addresses,
        routes=tuple(NetplanRoute(to=r.destination, metric=r.metric, table=r.table) for r in iface.routes),
        mtu=iface.mtu, private_key_file=iface.private_key_file if own_key_file else None, psk_files=psk_files)


def yaml_text(iface: WgInterface, key_files: bool = False) -> str:
    header = HEADER + (f"\n{iface.description}" if iface.description else "")
    return format_netplan((tunnel(iface, key_files),), header=header)


def render(host: HostConfig, *, key_files: bool = False) -> tuple[RenderedFile, ...]:
    from netdwg.render.networkd import _key_file  # same key files, same mode as networkd reads them

    out: list[RenderedFile] = []
    for iface in host.interfaces:
        if not iface.device.peers:  # netplan generate: "at least one peer is required"
            raise ConfigError(f"host '{host.name}': netplan cannot write tunnel {iface.name} without peers",
                              fix="add a host it connects to, or use backend = networkd")
        out.append(RenderedFile(yaml_path(iface), yaml_text(iface, key_files), mode=MODE_PRIVATE,
                                secret=iface.device.private_key is not None or bool(host.preshared_keys),
                                description=f"netplan tunnel {iface.name}"))
        if key_files:
            if iface.device.private_key is not None:
                out.append(_key_file(iface.private_key_file, iface.device.private_key,
                                     f"private key of {iface.name}"))
            out += [_key_file(iface.psk_file(p), p.preshared_key, f"PSK {iface.name} <-> {p.name}")
                    for p in iface.device.peers if p.preshared_key is not None]
    return tuple(out)
