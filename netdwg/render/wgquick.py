"""wg-quick renderer: /etc/wireguard/<interface>.conf (0600), also what GUI clients import.

wg-quick routes every AllowedIPs prefix into the interface by itself. Where
that is wrong (a peer's AllowedIPs cover the host's own LAN, or a route needs
a metric or table), the file says `Table = off` and adds exactly the routes
the host needs with PostUp; the kernel removes them
with the interface, so no PostDown is needed.

A host that keeps its own private key gets no PrivateKey line; PostUp loads
it from its key file instead (wg-quick itself has no PrivateKeyFile). With
`--key-files` the same is done for keys netdwg holds: PostUp `wg set %i
peer ... preshared-key FILE` and `wg set %i private-key FILE` load them from
/etc/wireguard/IF.key and IF-PEER.psk (0600, written beside the .conf).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath

from netdwg.rendered import MODE_PRIVATE, RenderedFile
from netdwg.topology.hostconfig import HostConfig, Route, WgInterface
from netdwg.wireguard import WgPeer
from netdwg.wgquick import format_wgquick, wgquick_from_device
from netdwg.wgquick.write import hook_command, wgquick_comment

WG_DIR = PurePosixPath("/etc/wireguard")
HEADER = "# Managed by netdwg: edit the topology and run 'netdwg render', not this file.\n"


def conf_path(iface: WgInterface) -> PurePosixPath:
    return WG_DIR / f"{iface.name}.conf"


def _route_command(route: Route) -> str:
    family = "-6" if route.destination.version == 6 else "-4"
    words = ["ip", family, "route", "add", route.destination, "dev", "%i"]
    if route.metric is not None:
        words += ["metric", route.metric]
    if route.table is not None:
        words += ["table", route.table]
    return hook_command(*words)


def key_path(iface: WgInterface) -> PurePosixPath:
    """With --key-files: the private key beside the .conf, as admins keep it (wg-quick has no
    PrivateKeyFile; PostUp loads it with `wg set`)."""
    return WG_DIR / f"{iface.name}.key"


def psk_path(iface: WgInterface, peer: WgPeer) -> PurePosixPath:
    return WG_DIR / f"{iface.name}-{peer.name}.psk"  # the compiler names every peer after its host


def _settings(iface: WgInterface, key_files: bool = False) -> tuple[str | None, tuple[str, ...]]:
    post_up: list[str] = []
    if key_files:
        # PSKs first, the private key last: without a private key the device cannot start a
        # handshake, so none is attempted before every PSK is in place.
        post_up += [hook_command("wg", "set", "%i", "peer", p.public_key.base64, "preshared-key", psk_path(iface, p))
                    for p in iface.device.peers if p.preshared_key is not None]
        if iface.device.private_key is not None:
            post_up.append(hook_command("wg", "set", "%i", "private-key", key_path(iface)))
    if iface.device.private_key is None:
        post_up.append(hook_command("wg", "set", "%i", "private-key", iface.private_key_file))
    table = None
    if iface.table_off:
        table = "off"
        post_up += [_route_command(r) for r in iface.routes]
    return table, tuple(post_up)


def _written_device(iface: WgInterface, key_files: bool):
    """The device as the .conf holds it: with --key-files no key is inline."""
    device = iface.device
    if not key_files:
        return device
    return replace(device, private_key=None,
                   peers=tuple(replace(p, preshared_key=None) for p in device.peers))


def conf_text(iface: WgInterface, key_files: bool = False) -> str:
    """The .conf text of one interface (also what `netdwg qr` encodes), written by `netdwg.wgquick`'s writer."""
    table, post_up = _settings(iface, key_files)
    config = wgquick_from_device(_written_device(iface, key_files), addresses=iface.addresses, mtu=iface.mtu,
                                 table=table, post_up=post_up)
    return _header(iface) + format_wgquick(config)


def _header(iface: WgInterface) -> str:
    return HEADER + (wgquick_comment(iface.description) + "\n" if iface.description else "")


def render(host: HostConfig, *, key_files: bool = False) -> tuple[RenderedFile, ...]:
    # 0600 root:root, as wg-quick wants (it warns about world-accessible files); key files too.
    out: list[RenderedFile] = []
    for iface in host.interfaces:
        device = iface.device
        out.append(RenderedFile(conf_path(iface), conf_text(iface, key_files), mode=MODE_PRIVATE,
                                secret=not key_files and (device.private_key is not None or bool(host.preshared_keys)),
                                description=f"wg-quick configuration of {iface.name}"))
        if key_files:
            if device.private_key is not None:
                out.append(_key_file(key_path(iface), device.private_key, f"private key of {iface.name}"))
            out += [_key_file(psk_path(iface, p), p.preshared_key, f"PSK {iface.name} <-> {p.name}")
                    for p in device.peers if p.preshared_key is not None]
    return tuple(out)


def _key_file(path: PurePosixPath, secret, what: str) -> RenderedFile:
    return RenderedFile(path, secret.reveal_base64() + "\n", mode=MODE_PRIVATE, secret=True, description=what)
