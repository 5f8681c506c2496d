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

import yaml

from netdwg.rendered import MODE_PRIVATE, RenderedFile
from netdwg.topology.hostconfig import HostConfig, WgInterface

NETPLAN_DIR = PurePosixPath("/etc/netplan")
HEADER = "# Managed by netdwg: edit the topology and run 'netdwg render', not this file.\n"


def yaml_path(iface: WgInterface) -> PurePosixPath:
    return NETPLAN_DIR / f"60-netdwg-{iface.name}.yaml"


def _tunnel(iface: WgInterface, key_files: bool) -> dict:
    device = iface.device
    tunnel: dict = {"mode": "wireguard"}
    if iface.addresses:
        tunnel["addresses"] = [str(a) for a in iface.addresses]
    tunnel["mtu"] = iface.mtu
    if device.listen_port is not None:
        tunnel["port"] = device.listen_port
    if device.private_key is not None and not key_files:
        tunnel["key"] = device.private_key.reveal_base64()
    else:
        tunnel["key"] = str(iface.private_key_file)
    if iface.routes:
        routes = []
        for r in iface.routes:
            entry: dict = {"to": str(r.destination)}
            if r.metric is not None:
                entry["metric"] = r.metric
            if r.table is not None:
                entry["table"] = r.table
            routes.append(entry)
        tunnel["routes"] = routes
    peers = []
    for peer in device.peers:
        keys: dict = {"public": peer.public_key.base64}
        if peer.preshared_key is not None:
            keys["shared"] = str(iface.psk_file(peer)) if key_files else peer.preshared_key.reveal_base64()
        entry = {"keys": keys, "allowed-ips": [str(n) for n in peer.allowed_ips]}
        if peer.endpoint is not None:
            entry["endpoint"] = str(peer.endpoint)
        if peer.persistent_keepalive:
            entry["keepalive"] = peer.persistent_keepalive
        peers.append(entry)
    tunnel["peers"] = peers
    return tunnel


def yaml_text(iface: WgInterface, key_files: bool = False) -> str:
    doc = {"network": {"version": 2, "renderer": "networkd", "tunnels": {iface.name: _tunnel(iface, key_files)}}}
    names = "".join(f"#   peer {p.name}: {p.public_key.base64}\n" for p in iface.device.peers if p.name)
    header = HEADER + (f"# {iface.description}\n" if iface.description else "") + names
    return header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1000)


def render(host: HostConfig, *, key_files: bool = False) -> tuple[RenderedFile, ...]:
    from netdwg.render.networkd import _key_file  # same key files, same mode as networkd reads them

    out: list[RenderedFile] = []
    for iface in host.interfaces:
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
