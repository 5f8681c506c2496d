"""What a host should have, read from a directory of rendered files (`--from DIR`)
or compiled from the topology (`--topology FILE --host NAME`).

A rendered directory is laid out as under / (DIR/etc/systemd/network/50-wg0.netdev).
The desired WireGuard devices are read back from the files the host will use:
a Kind=wireguard .netdev (networkd), a wg-quick .conf, or a netplan YAML tunnel.
"""

from __future__ import annotations

import binascii
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from netdwg.errors import ConfigError, NotPermittedError, ParseError, SecretsError, Span
from netdwg.keys import PresharedKey, PrivateKey, PublicKey
from netdwg.plan.model import DesiredHost
from netdwg.plan.netparse import parse_network
from netdwg.rendered import MODE_NETWORKD_SECRET, MODE_PRIVATE, MODE_PUBLIC, RenderedFile
from netdwg.wireguard import Endpoint, WgDevice, WgPeer

NETWORKD_DIRS = ("etc/systemd/network", "run/systemd/network")


def file_policy(path: PurePosixPath, text: str) -> tuple[int, str, str, bool]:
    """(mode, owner, group, secret) a rendered file must get on the host.

    networkd reads .netdev and key files as systemd-network: 0640
    root:systemd-network (0644 warns "too permissive", 0600 root:root is
    "Permission denied" on 252). wg-quick and netplan run as root: 0600.
    """
    name, suffix = path.name, path.suffix
    has_key = any(k in text for k in ("PrivateKey=", "PresharedKey=", "PrivateKey =", "PresharedKey ="))
    if suffix in (".key", ".psk") or (suffix == ".netdev" and has_key):
        return MODE_NETWORKD_SECRET, "root", "systemd-network", True
    if suffix == ".netdev" or suffix == ".network":
        return MODE_PUBLIC, "root", "root", False
    if str(path).startswith("/etc/wireguard/") or str(path).startswith("/etc/netplan/"):
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
    sysctls: list[tuple[str, str]] = []
    firewall = None
    backend = "networkd"
    for f in files:
        text = f.text
        where = str(source_dir / f.path.relative_to("/")) if source_dir is not None else str(f.path)
        if f.path.suffix == ".netdev" and any(str(f.path.parent).endswith(d) for d in NETWORKD_DIRS):
            device = device_from_netdev(text, where, secret)
            if device is not None:
                devices.append(device)
        elif f.path.suffix == ".network" and any(str(f.path.parent).endswith(d) for d in NETWORKD_DIRS):
            routes.extend(routes_from_network(text, where))
        elif str(f.path.parent) == "/etc/wireguard" and f.path.suffix == ".conf":
            devices.append(device_from_wgquick(f.path.stem, text, where))
            backend = "wg-quick"
        elif str(f.path.parent) == "/etc/netplan" and f.path.suffix in (".yaml", ".yml"):
            devices.extend(devices_from_netplan(text, where, secret))
            backend = "netplan"
        elif str(f.path.parent) == "/etc/sysctl.d" and f.path.suffix == ".conf":
            sysctls.extend(sysctls_from_text(text))
        elif f.path.suffix == ".nft" and "table inet netdwg" in text:
            firewall = text
    return DesiredHost(files, tuple(devices), tuple(sysctls), firewall, backend, tuple(routes))


def routes_from_network(text: str, where: str):
    """(interface, destination) of every [Route] Destination= of a .network matching one interface name."""
    sections = _scan_sections(text)
    match = next((s for s in sections if s.name == "Match"), None)
    name = (match.last("Name") or "") if match else ""
    if not name or any(c in name for c in "* ?[") or " " in name.strip():
        return []
    out = []
    for section in sections:
        if section.name != "Route":
            continue
        destination = section.last("Destination")
        if not destination or (section.last("Table") or "main") not in ("main", "254"):
            continue
        try:
            out.append((name, parse_network(destination)))
        except ValueError:
            raise ParseError(f"invalid route Destination {destination!r}", Span(where, section.line)) from None
    return out


@dataclass(frozen=True, slots=True)
class _Section:
    """One [Section] of a .netdev or wg-quick .conf: every value of every key, in order; comments."""

    name: str
    values_of: dict  # key -> [values in file order]
    comments: tuple[str, ...]
    line: int
    lead: tuple[str, ...] = ()  # the comment block right above the header (`# oslo` then [WireGuardPeer])

    def last(self, key: str) -> str | None:
        found = self.values_of.get(key)
        return found[-1] if found else None

    def values(self, key: str) -> list[str]:
        return self.values_of.get(key, [])


def _scan_sections(text: str) -> list[_Section]:
    """systemd's INI syntax, just enough for WireGuard settings and fast on 5,000 peers.

    Comments (# ;), backslash continuations and repeated sections as systemd
    reads them; `netdwg.unitfile` keeps every byte when a file must be edited.
    """
    sections: list[_Section] = []
    values: dict = {}
    comments: list[str] = []
    name, start, pending = "", 0, ""
    lead: list[str] = []
    block: list[str] = []  # comments since the last blank line or setting
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if pending:
            line, pending = pending + " " + line, ""
        if not line:
            block = []
            continue
        if line[-1] == "\\":
            pending = line[:-1].rstrip()
            continue
        first = line[0]
        if first == "#" or first == ";":
            comments.append(line[1:].strip())
            block.append(line[1:].strip())
        elif first == "[" and line[-1] == "]":
            if name:
                sections.append(_Section(name, values, tuple(comments), start, tuple(lead)))
            lead, block = block, []
            name, values, comments, start = line[1:-1].strip(), {}, [], number
        elif name:
            block = []
            key, sep, value = line.partition("=")
            if sep:
                values.setdefault(key.rstrip(), []).append(value.lstrip())
    if name:
        sections.append(_Section(name, values, tuple(comments), start, tuple(lead)))
    return sections


def _value(section: _Section, key: str) -> str | None:
    return section.last(key) or None


def _name_comment(section: _Section) -> str:
    # Renderers name the peer in a comment right above its section (or first inside it).
    for text in (*section.lead, *section.comments):
        if text:
            return text.split()[0].strip(":,")
    return ""


def _key(cls, text: str, where: str, line: int):
    """A key from base64, fast (C, strict) for the well-formed common case; the
    keys module's own parser (with its error message) for anything else."""
    if len(text) == 44:
        try:
            return cls(binascii.a2b_base64(text, strict_mode=True))
        except (binascii.Error, ValueError):
            pass
    return cls.from_base64(text, Span(where, line))


def _peer(section: _Section, where: str, names: dict[str, str], secret) -> WgPeer | None:
    values = section.values_of
    public = _value(section, names["public"])
    if public is None:
        return None  # networkd ignores such a section; so do we
    nets = []
    for value in values.get(names["allowed"], ()):
        for item in value.replace(",", " ").split():
            try:
                nets.append(parse_network(item))
            except ValueError:
                raise ParseError(f"invalid AllowedIPs entry {item!r}", Span(where, section.line)) from None
        if not value:
            nets = []  # an empty assignment resets the list (systemd semantics)
    psk = _value(section, names["psk"])
    if psk is None and "psk_file" in names:
        psk_file = _value(section, names["psk_file"])
        if psk_file:
            psk = secret(PurePosixPath(psk_file), Span(where, section.line)).strip()
    endpoint = _value(section, "Endpoint")
    keepalive = _value(section, "PersistentKeepalive")
    if keepalive not in (None, "off") and not (keepalive.isdigit() and int(keepalive) < 65536):
        raise ParseError(f"invalid PersistentKeepalive {keepalive!r}", Span(where, section.line),
                         fix="write seconds (1-65535), 0 or off")
    return WgPeer(
        _key(PublicKey, public, where, section.line),
        tuple(dict.fromkeys(nets)) if len(nets) > 1 else tuple(nets),
        _key(PresharedKey, psk, where, section.line) if psk else None,
        Endpoint.parse(endpoint, Span(where, section.line)) if endpoint else None,
        0 if keepalive in (None, "off") else int(keepalive),
        _name_comment(section),
    )


def _number(text: str, what: str, where: str, maximum: int) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        value = -1
    if not 0 <= value <= maximum:
        raise ParseError(f"invalid {what} {text!r}", Span(where), fix=f"write a number from 0 to {maximum}")
    return value


def device_from_netdev(text: str, where: str, secret) -> WgDevice | None:
    sections = _scan_sections(text)
    netdev = next((s for s in sections if s.name == "NetDev"), None)
    if netdev is None or _value(netdev, "Kind") != "wireguard":
        return None
    name = _value(netdev, "Name") or ""
    wg = next((s for s in sections if s.name == "WireGuard"), None)
    private, port, mark = None, None, 0
    if wg is not None:
        key = _value(wg, "PrivateKey")
        key_file = _value(wg, "PrivateKeyFile")
        if key is None and key_file:
            key = secret(PurePosixPath(key_file), Span(where)).strip()
        private = PrivateKey.from_base64(key, Span(where)) if key else None
        listen = _value(wg, "ListenPort")
        port = _number(listen, "ListenPort", where, 65535) if listen and listen != "auto" else None
        mark_text = _value(wg, "FirewallMark") or _value(wg, "FwMark")
        mark = _number(mark_text, "FirewallMark", where, 0xFFFFFFFF) if mark_text else 0
    names = {"public": "PublicKey", "allowed": "AllowedIPs", "psk": "PresharedKey", "psk_file": "PresharedKeyFile"}
    peers = [p for s in sections if s.name == "WireGuardPeer" and (p := _peer(s, where, names, secret))]
    return WgDevice(name, private, port, mark, tuple(peers))


def device_from_wgquick(name: str, text: str, where: str) -> WgDevice:
    """The WireGuard part of a wg-quick .conf (`wg-quick strip`): Address/DNS/MTU/Table stay wg-quick's."""
    sections = _scan_sections(text)
    iface = next((s for s in sections if s.name == "Interface"), None)
    if iface is None:
        raise ParseError("no [Interface] section", Span(where))
    key = _value(iface, "PrivateKey")
    listen = _value(iface, "ListenPort")
    mark = _value(iface, "FwMark")
    names = {"public": "PublicKey", "allowed": "AllowedIPs", "psk": "PresharedKey"}
    peers = [p for s in sections if s.name == "Peer" and (p := _peer(s, where, names, None))]
    return WgDevice(name, PrivateKey.from_base64(key, Span(where)) if key else None,
                    _number(listen, "ListenPort", where, 65535) if listen else None,
                    0 if mark in (None, "off") else _number(mark, "FwMark", where, 0xFFFFFFFF), tuple(peers))


def devices_from_netplan(text: str, where: str, secret) -> list[WgDevice]:
    import yaml

    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ParseError(f"invalid YAML: {err}", Span(where)) from None
    tunnels = ((doc.get("network") or {}).get("tunnels") or {})
    out = []
    for name, spec in tunnels.items():
        if (spec or {}).get("mode") != "wireguard":
            continue
        key = spec.get("key")
        if isinstance(key, str) and key.startswith("/"):
            key = secret(PurePosixPath(key), Span(where)).strip()
        peers = []
        for p in spec.get("peers") or ():
            keys = p.get("keys") or {}
            shared = keys.get("shared")
            if isinstance(shared, str) and shared.startswith("/"):
                shared = secret(PurePosixPath(shared), Span(where)).strip()
            peers.append(WgPeer(
                PublicKey.from_base64(keys.get("public", ""), Span(where)),
                tuple(ipaddress.ip_network(n, strict=False) for n in p.get("allowed-ips") or ()),
                PresharedKey.from_base64(shared, Span(where)) if shared else None,
                Endpoint.parse(str(p["endpoint"]), Span(where)) if p.get("endpoint") else None,
                int(p.get("keepalive") or 0)))
        out.append(WgDevice(name, PrivateKey.from_base64(key, Span(where)) if key else None,
                            spec.get("port"), int(spec.get("mark") or 0), tuple(peers)))
    return out


def sysctls_from_text(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out.append((key.strip().lstrip("-"), value.strip()))
    return out


def desired_from_topology(topology: Path, host: str) -> tuple[RenderedFile, ...]:
    """Render one host's files from the topology (load, compile, render: the topology engineer's pipeline).

    Secrets are not generated here: a host applies what the topology's secrets
    store holds (`netdwg render` or `netdwg keys` completes it).
    """
    from netdwg.cli._common import prepare_topology, unknown_host
    from netdwg.render import render_host

    configs = prepare_topology(topology, complete=False).compile()
    if host not in configs:
        raise unknown_host(host, sorted(configs), topology)
    return tuple(render_host(configs[host]))
