"""What a host should have, read from a directory of rendered files (`--from DIR`)
or compiled from the topology (`--topology FILE --host NAME`).

A rendered directory is laid out as under / (DIR/etc/systemd/network/50-wg0.netdev).
The desired WireGuard devices are read back from the files the host will use:
a Kind=wireguard .netdev (networkd), a wg-quick .conf, a netplan YAML tunnel or a
NetworkManager profile.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import replace
from pathlib import Path, PurePosixPath

from netdwg.errors import ConfigError, NetdwgError, NotPermittedError, ParseError, SecretsError, Span
from netdwg.keyfiles import CONNECTIONS_DIR, load_nm_wireguard
from netdwg.keys import PresharedKey, PrivateKey
from netdwg.netplan import load_netplan
from netdwg.plan.model import DesiredHost
from netdwg.rendered import MODE_NETWORKD_SECRET, MODE_PRIVATE, MODE_PUBLIC, RenderedFile
from netdwg.sysctl import LineKind, parse_sysctl
from netdwg.unitfile.effective import effective_unit
from netdwg.unitfile.syntax import parse_unit
from netdwg.unitfile.views import match_view, netdev_view, route_views, to_wg_device
from netdwg.wgquick.view import load_wgquick
from netdwg.wireguard import WgDevice

NETWORKD_DIRS = ("etc/systemd/network", "run/systemd/network")


def file_policy(path: PurePosixPath, text: str) -> tuple[int, str, str, bool]:
    """(mode, owner, group, secret) a rendered file must get on the host.

    networkd reads .netdev and key files as systemd-network: 0640
    root:systemd-network (0644 warns "too permissive", 0600 root:root is
    "Permission denied" on 252). wg-quick and netplan run as root: 0600. NetworkManager refuses a
    profile others may read ("File permissions (100644) are insecure"): 0600 root.
    """
    name, suffix = path.name, path.suffix
    has_key = any(k in text for k in ("PrivateKey=", "PresharedKey=", "PrivateKey =", "PresharedKey ="))
    if suffix in (".key", ".psk") or (suffix == ".netdev" and has_key):
        return MODE_NETWORKD_SECRET, "root", "systemd-network", True
    if suffix == ".netdev" or suffix == ".network":
        return MODE_PUBLIC, "root", "root", False
    if str(path).startswith(("/etc/wireguard/", "/etc/netplan/", f"{CONNECTIONS_DIR}/")):
        return MODE_PRIVATE, "root", "root", True
    if name.endswith(".nft"):
        return MODE_PRIVATE if has_key else MODE_PUBLIC, "root", "root", False
    return MODE_PUBLIC, "root", "root", has_key


def check_directory(directory: Path, what: str, fix: str) -> Path:
    """A NetdwgError naming `directory` unless it is one this user may read."""
    try:
        is_dir = directory.is_dir()
        exists = directory.exists()
    except PermissionError:
        is_dir, exists = False, True
    if not exists:
        raise ConfigError(f"no such directory ({what})", span=Span(str(directory)), fix=fix)
    if not is_dir:
        raise ConfigError(f"is a file, not a directory ({what})", span=Span(str(directory)), fix=fix)
    if not os.access(directory, os.R_OK | os.X_OK):
        raise NotPermittedError(f"cannot read the directory ({what}): permission denied", Span(str(directory)),
                                fix="run as root, or as a user who may read it")
    return directory


def read_rendered_dir(directory: Path) -> tuple[RenderedFile, ...]:
    check_directory(directory, "--from", "pass the directory `netdwg render --out` wrote for this host")
    files = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        for filename in sorted(filenames):
            source = Path(dirpath) / filename
            path = PurePosixPath("/") / source.relative_to(directory).as_posix()
            try:
                text = source.read_text()
            except UnicodeDecodeError:
                raise ParseError("not a text file (invalid UTF-8)", Span(str(source)),
                                 fix="remove it from the rendered directory") from None
            except PermissionError:
                raise NotPermittedError("cannot read it: permission denied", Span(str(source)),
                                        fix="run as root (rendered files hold keys)") from None
            mode, owner, group, secret = file_policy(path, text)
            files.append(RenderedFile(path, text, mode, owner, group, secret))
    if not files:
        raise ConfigError("no files in this directory", span=Span(str(directory)),
                          fix="render this host first: netdwg render --out DIR")
    return tuple(files)


def desired_from_files(files: tuple[RenderedFile, ...], read_secret=None, source_dir: Path | None = None) -> DesiredHost:
    """Everything else follows from the files: devices, sysctls, firewall, backend.

    `source_dir`: the --from directory, so errors name the file the admin can open.
    """
    by_path = {f.path: f for f in files}

    def secret(path: PurePosixPath, span: Span | None) -> str:
        if path in by_path:
            return by_path[path].text
        if read_secret is not None:
            return read_secret(path, span)
        raise SecretsError(f"key file {path} is neither rendered nor readable", span,
                           fix="render the key file too, or create it on the host")

    devices: list[WgDevice] = []
    routes: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    sysctls: list[tuple[str, str, bool]] = []
    firewall = None
    backend = "networkd"
    origin: dict[str, str] = {}  # device name -> the file that describes it
    wireguard_netdevs = []
    for f in files:
        where = str(source_dir / f.path.relative_to("/")) if source_dir is not None else str(f.path)
        before = len(devices)
        try:
            backend = _read_one(f, where, secret, devices, routes, sysctls, backend)
        except NetdwgError as err:
            if not err.fix:  # the readers name file and line; say what to do too
                err.fix = f"correct it (netdwg check {where} lists every problem), or render this host again"
            raise
        for device in devices[before:]:
            check_prefixes_on_one_peer(device, where)
            if device.name in origin:
                # Each would be diffed against the one live device, each removing the other's peers
                # on every run; networkd 252 itself reads only the first .netdev for a name.
                raise ConfigError(f"two files describe the WireGuard device {device.name}: "
                                  f"{origin[device.name]} and {where}", span=Span(where),
                                  fix="keep one of them (render this host again: netdwg writes one file per device)")
            origin[device.name] = where
            if f.path.suffix == ".netdev":
                wireguard_netdevs.append((f.path, device.name))
        if f.path.suffix == ".nft" and "table inet netdwg" in f.text:
            firewall = f.text
    return DesiredHost(files, tuple(devices), tuple((key, value) for key, value, _ in sysctls), firewall, backend,
                       tuple(routes), frozenset(key for key, _, optional in sysctls if optional),
                       tuple(wireguard_netdevs))


def check_prefixes_on_one_peer(device: WgDevice, where: str) -> None:
    """A prefix in the AllowedIPs of two peers: WireGuard keeps it on the last one set, so every
    apply would move it again and the plan would never be empty. (The topology linter reports
    overlaps before rendering; this is for hand-written files.)"""
    owner: dict = {}
    for peer in device.peers:
        for net in peer.allowed_ips:
            other = owner.setdefault(net, peer)
            if other is not peer and other.public_key != peer.public_key:
                names = [p.name or p.public_key.short() for p in (other, peer)]
                raise ConfigError(f"{device.name}: AllowedIPs {net} is on two peers, {names[0]} and {names[1]}",
                                  span=Span(where),
                                  fix="WireGuard routes a prefix to one peer only: keep it on one of them")


def _read_one(f: RenderedFile, where: str, secret, devices: list, routes: list, sysctls: list, backend: str) -> str:
    """Add what one file says to devices/routes/sysctls; returns the backend it implies."""
    path, text = f.path, f.text
    in_networkd = any(str(path.parent).endswith(d) for d in NETWORKD_DIRS)
    if path.suffix == ".netdev" and in_networkd:
        device = device_from_netdev(text, where, secret)
        if device is not None:
            devices.append(device)
    elif path.suffix == ".network" and in_networkd:
        routes.extend(routes_from_network(text, where))
    elif str(path.parent) == "/etc/wireguard" and path.suffix == ".conf":
        devices.append(device_from_wgquick(path.stem, text, where))
        return "wg-quick"
    elif str(path.parent) == "/etc/netplan" and path.suffix in (".yaml", ".yml"):
        devices.extend(devices_from_netplan(text, where, secret))
        return "netplan"
    elif str(path.parent) == str(CONNECTIONS_DIR) and path.suffix == ".nmconnection":
        devices.append(load_nm_wireguard(text, where).device)
        return "networkmanager"
    elif str(path.parent) == "/etc/sysctl.d" and path.suffix == ".conf":
        sysctls.extend(sysctls_from_text(text, where))
    return backend


def _unit(text: str, where: str):
    """The effective view networkd 252 has of one file (no drop-ins: netdwg renders none)."""
    return effective_unit(parse_unit(text, where))


def routes_from_network(text: str, where: str):
    """(interface, destination) of every [Route] Destination= in the main table of a .network
    matching exactly one interface name (a glob or a list matches links apply does not manage)."""
    unit = _unit(text, where)
    names = match_view(unit).names
    if len(names) != 1 or any(c in names[0] for c in "*?["):
        return []
    return [(names[0], route.destination) for route in route_views(unit)
            if route.destination is not None and (route.table or "main") in ("main", "254")]


def device_from_netdev(text: str, where: str, secret) -> WgDevice | None:
    """The WireGuard device of a .netdev, peers named from the renderer's comments; None for another Kind.

    Read through `netdwg.unitfile` (effective view + to_wg_device) rather than a
    reader of apply's own.
    """
    unit = _unit(text, where)
    if netdev_view(unit).kind != "wireguard":
        return None
    return to_wg_device(unit, secret, peer_names=True)


def device_from_wgquick(name: str, text: str, where: str) -> WgDevice:
    """The WireGuard part of a wg-quick .conf (`wg-quick strip`): Address/DNS/MTU/Table stay wg-quick's."""
    return load_wgquick(text, where, name).device


def devices_from_netplan(text: str, where: str, secret) -> list[WgDevice]:
    """The wireguard tunnels of a netplan YAML (read by `netdwg.netplan`), key files read through `secret`."""
    def key(cls, path: PurePosixPath):
        return cls.from_base64(secret(path, Span(where)).strip(), Span(where))

    out = []
    for tunnel in load_netplan(text, where):
        device = tunnel.device
        if tunnel.private_key_file is not None:
            device = replace(device, private_key=key(PrivateKey, tunnel.private_key_file))
        if tunnel.psk_files:
            files = dict(tunnel.psk_files)
            device = replace(device, peers=tuple(
                replace(p, preshared_key=key(PresharedKey, files[p.public_key])) if p.public_key in files else p
                for p in device.peers))
        out.append(device)
    return out


def sysctls_from_text(text: str, where: str = "<input>") -> list[tuple[str, str, bool]]:
    """(key, value, ignore failure) of every assignment, read by `netdwg.sysctl` as systemd-sysctl reads it."""
    return [(line.key, line.value, line.ignore_failure) for _, line in parse_sysctl(text, where).settings()
            if line.kind is LineKind.ASSIGNMENT]


def desired_from_topology(topology: Path, host: str) -> tuple[RenderedFile, ...]:
    """Render one host's files from the topology (load, compile, render).

    Secrets are not generated here: a host applies what the topology's secrets
    store holds (`netdwg render` or `netdwg keys` completes it).
    """
    from netdwg.topology.inputs import load_prepared, unknown_host
    from netdwg.render import render_host

    from netdwg.topology.secrets import check_holds

    prepared = load_prepared(topology)
    configs = prepared.compile()
    if host not in configs:
        raise unknown_host(host, sorted(configs), topology)
    check_holds(prepared.secrets, host, prepared.secrets_path)  # a store exported for another host
    return tuple(render_host(configs[host]))
