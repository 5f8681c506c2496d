"""Renderers: `HostConfig` -> files (`RenderedFile`: path, text, mode, owner, group).

Pure: they never touch disk. One module per format:

    networkd.render(host, key_files=False)   .netdev (+ key files) and .network per interface
    wgquick.render(host, key_files=False)    /etc/wireguard/IF.conf (0600) (+ key files, loaded by PostUp)
    netplan.render(host, key_files=False)    /etc/netplan/60-netdwg-IF.yaml (0600)
    networkmanager.render(host)              /etc/NetworkManager/system-connections/IF.nmconnection (0600)
    sysctl.render(host)                      /etc/sysctl.d/60-netdwg.conf
    nftables.render(host)                    /etc/netdwg/netdwg.nft (table inet netdwg)
    guard.render(host)                       /etc/netdwg/guard.conf (roaming, guard = yes)
    lanrouter.render(host)                   the static return route instruction
    qr                                       terminal and PNG QR codes of a wg-quick conf

`render_host` puts them together: the host's backend format (or the one asked
for) plus everything every host of its role needs.
"""

from __future__ import annotations

from typing import Callable

from netdwg.errors import NetdwgError
from netdwg.rendered import RenderedFile
from netdwg.render import guard, lanrouter, networkd, networkmanager, netplan, nftables, sysctl, wgquick
from netdwg.topology.hostconfig import HostConfig
from netdwg.topology.model import Backend

FORMATS: dict[str, Callable[..., tuple[RenderedFile, ...]]] = {
    Backend.NETWORKD.value: networkd.render,
    Backend.WG_QUICK.value: wgquick.render,
    Backend.NETPLAN.value: netplan.render,
    Backend.NETWORKMANAGER.value: networkmanager.render,
}


def render_interfaces(host: HostConfig, fmt: str | Backend | None = None, *,
                      key_files: bool = False) -> tuple[RenderedFile, ...]:
    """Only the WireGuard interface files, in `fmt` (default: the host's backend)."""
    name = str(fmt or host.backend)
    try:
        renderer = FORMATS[name]
    except KeyError:
        raise NetdwgError(f"unknown format {name!r}", fix=f"use one of: {', '.join(FORMATS)}") from None
    return renderer(host, key_files=key_files)


def render_host(host: HostConfig, fmt: str | Backend | None = None, *,
                key_files: bool = False) -> tuple[RenderedFile, ...]:
    """Every file the host gets, sorted by path."""
    files = (tuple(render_interfaces(host, fmt, key_files=key_files)) + sysctl.render(host) + nftables.render(host)
             + guard.render(host) + lanrouter.render(host))
    if len({f.path for f in files}) != len(files):
        from netdwg.errors import InternalError

        raise InternalError(f"two rendered files share a path on {host.name}: {sorted(str(f.path) for f in files)}")
    return tuple(sorted(files, key=_path_text))


def _path_text(file: RenderedFile) -> str:
    return str(file.path)
