"""Reading hand-written WireGuard host files into values, for `netdwg import` and cross-file checks.

    read_hosts(specs) -> tuple[HostFiles, ...]     specs: "DIR", "FILE" or "HOST=DIR|FILE"

Understands systemd-networkd `.netdev` (with `NAME.netdev.d/*.conf` drop-ins)
and `.network`, wg-quick `.conf`, netplan YAML, and netdwg's own
`netdwg.nft`, `lan-router-routes.txt` and `guard.conf`. Key files named by
`PrivateKeyFile=`, `PresharedKeyFile=` or netplan's `key:` are read under the
host's root when the input is a tree (`HOST/etc/...`); a key file that
cannot be read leaves that key unknown (the host then keeps its own key).
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from netdwg.errors import NetdwgError, ParseError, Span
from netdwg.keys import PresharedKey, PrivateKey
from netdwg.topology.model import Backend
from netdwg.wireguard import IPInterface, IPNetwork, WgDevice, WgPeer

_NUMBERED = re.compile(r"^\d+-")
_SECRET_LINE = re.compile(r"^\s*(PrivateKey|PresharedKey)\s*=\s*\S|^\s*(key|shared)\s*:\s*[A-Za-z0-9+/]{42,43}=",
                          re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ReadInterface:
    """One WireGuard interface as a host's files describe it."""

    device: WgDevice  # private_key None when it is kept in a file we could not read
    addresses: tuple[IPInterface, ...] = ()
    mtu: int | None = None
    routes: tuple[IPNetwork, ...] = ()
    backend: Backend = Backend.NETWORKD
    source: str = ""  # the file that defines the device
    key_file: str | None = None  # PrivateKeyFile= / key: path, when the key lives in a file
    route_table: str = ""  # networkd [WireGuard] RouteTable= (systemd 250+), "" when not written

    @property
    def name(self) -> str:
        return self.device.name


@dataclass(frozen=True, slots=True)
class HostFiles:
    name: str
    interfaces: tuple[ReadInterface, ...] = ()
    guard: bool = False
    masquerade: tuple[tuple[str | None, tuple[IPNetwork, ...], IPNetwork], ...] = ()  # (oif, sources, LAN)
    allow: tuple[tuple[tuple[IPNetwork, ...], IPNetwork, str | None], ...] = ()  # (sources, LAN, oif)
    guard_sites: tuple = ()  # netdwg.guard.config.GuardSite values from this laptop's guard.conf
    lan_routes: tuple[tuple[IPNetwork, ipaddress.IPv4Address | ipaddress.IPv6Address], ...] = ()  # (dest, via)
    exposed: tuple[str, ...] = ()  # files holding a private key or PSK that others may read
    ignored: tuple[str, ...] = ()  # files not understood (listed, never silently dropped)
    files: tuple[str, ...] = field(default=())


def parse_spec(spec: str) -> tuple[str | None, Path]:
    name, sep, path = spec.partition("=")
    if sep and name and "/" not in name:
        return name, Path(path)
    return None, Path(spec)


def host_name_for(path: Path) -> str:
    """A host's name from a file's place: the directory above `etc/`, else the file's stem."""
    parts = path.resolve().parts if path.exists() else path.parts
    if "etc" in parts[1:]:
        index = len(parts) - 1 - list(reversed(parts)).index("etc")
        if index > 1:
            return parts[index - 1]
        return socket.gethostname().split(".")[0]  # this machine's own /etc
    return _NUMBERED.sub("", path.name.split(".")[0]) or path.name


def _host_root(path: Path) -> Path | None:
    parts = path.resolve().parts
    if "etc" in parts[1:]:
        index = len(parts) - 1 - list(reversed(parts)).index("etc")
        return Path(*parts[:index])
    return None


def read_hosts(specs) -> tuple[HostFiles, ...]:
    """Group the given files and trees by host and read each host's files."""
    groups: dict[str, list[Path]] = {}
    for spec in specs:
        name, path = parse_spec(str(spec))
        if not path.exists():
            raise NetdwgError(f"{path}: no such file or directory", fix="pass host files or trees (HOST=DIR works too)")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            groups.setdefault(name or path.resolve().name, []).extend(files)
        else:
            groups.setdefault(name or host_name_for(path), []).append(path)
    return tuple(read_host(name, files) for name, files in groups.items())


def read_host(name: str, files: list[Path]) -> HostFiles:
    netdevs, networks, ignored, exposed = [], [], [], []
    interfaces: list[ReadInterface] = []
    host = HostFiles(name)
    for path in files:
        text = _read_text(path)
        if _SECRET_LINE.search(text) and _world_readable(path):
            exposed.append(str(path))
        suffix = path.suffix
        if suffix == ".netdev":
            netdevs.append(path)
        elif suffix == ".network":
            networks.append(path)
        elif suffix == ".conf" and path.parent.name.endswith(".netdev.d"):
            continue  # read with its .netdev
        elif suffix == ".conf" and re.search(r"^\s*\[Interface\]", text, re.MULTILINE | re.IGNORECASE):
            interfaces.append(_read_wgquick(path, text))
        elif suffix in (".yaml", ".yml"):
            interfaces += _read_netplan(path, text)
        elif path.name.endswith(".nft"):
            host = replace(host, masquerade=host.masquerade + _masquerades(text), allow=host.allow + _allows(text))
        elif path.name == "lan-router-routes.txt":
            host = replace(host, lan_routes=host.lan_routes + _lan_routes(text))
        elif path.name == "guard.conf":
            host = replace(host, guard=True, guard_sites=_guard_sites(path, text))
        elif "sysctl" not in str(path):
            ignored.append(str(path))
    network_by_name = {}
    for path in networks:
        for match_name, view in _read_network(path):
            network_by_name.setdefault(match_name, view)
    for path in netdevs:
        interfaces.append(_read_netdev(path, network_by_name))
    return replace(host, interfaces=tuple(interfaces), exposed=tuple(exposed), ignored=tuple(ignored),
                   files=tuple(str(p) for p in files))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ParseError("not a text file (invalid UTF-8)", Span(str(path))) from None
    except PermissionError:
        raise NetdwgError(f"{path}: permission denied", fix="run as root") from None


def _world_readable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IROTH)


def _key_reader(source: Path):
    """read_secret(path, span) for key files: under the host's root when the input is a tree."""
    root = _host_root(source)

    def read(path: PurePosixPath, span: Span | None = None) -> str | None:
        candidates = [root / str(path).lstrip("/")] if root else []
        candidates.append(Path(path))
        for candidate in candidates:
            try:
                return candidate.read_text(encoding="ascii").strip()
            except (OSError, UnicodeDecodeError):
                continue
        return None

    return read


def _read_netdev(path: Path, networks: dict) -> ReadInterface:
    from netdwg.unitfile import effective_unit, parse_unit
    from netdwg.unitfile.views import netdev_view, peer_views, wireguard_view

    dropin_dir = path.with_name(path.name + ".d")
    dropins = [parse_unit(p.read_text(encoding="utf-8"), str(p)) for p in sorted(dropin_dir.glob("*.conf"))] \
        if dropin_dir.is_dir() else []
    eff = effective_unit(parse_unit(path.read_text(encoding="utf-8"), str(path)), dropins)
    netdev, wg = netdev_view(eff), wireguard_view(eff)
    read = _key_reader(path)
    private = wg.private_key
    if private is None and wg.private_key_file is not None:
        private = _parse_key(PrivateKey, read(wg.private_key_file))
    peers = []
    for view in peer_views(eff):
        if view.public_key is None:
            continue
        psk = view.preshared_key
        if psk is None and view.preshared_key_file is not None:
            psk = _parse_key(PresharedKey, read(view.preshared_key_file))
        peers.append(WgPeer(view.public_key, view.allowed_ips, psk, view.endpoint, view.persistent_keepalive))
    device = WgDevice(netdev.name, private, wg.listen_port, wg.firewall_mark, tuple(peers))
    addresses, mtu, routes = networks.get(netdev.name, ((), None, ()))
    return ReadInterface(device, addresses, netdev.mtu_bytes or mtu, routes, Backend.NETWORKD, str(path),
                         str(wg.private_key_file) if wg.private_key_file else None, wg.route_table)


def _read_network(path: Path):
    from netdwg.unitfile import effective_unit, parse_unit
    from netdwg.unitfile.views import address_views, match_view, network_view, route_views

    eff = effective_unit(parse_unit(path.read_text(encoding="utf-8"), str(path)))
    addresses = tuple(network_view(eff).addresses) + tuple(a.address for a in address_views(eff))
    link = eff.section("Link")
    mtu_value = link.get("MTUBytes") if link else None
    mtu = int(mtu_value.text) if mtu_value and mtu_value.text.isdigit() else None
    routes = tuple(r.destination for r in route_views(eff) if r.destination is not None)
    for name in match_view(eff).names:
        yield name, (addresses, mtu, routes)


def _read_wgquick(path: Path, text: str) -> ReadInterface:
    from netdwg.wgquick import load_wgquick

    config = load_wgquick(text, str(path), name=path.stem)
    device = config.device if config.device.name else replace(config.device, name=path.stem)
    return ReadInterface(device, config.settings.addresses, config.settings.mtu, (), Backend.WG_QUICK, str(path))


def _read_netplan(path: Path, text: str) -> list[ReadInterface]:
    from netdwg.netplan import load_netplan

    read = _key_reader(path)
    out = []
    for tunnel in load_netplan(text, str(path)):
        device = tunnel.device
        if device.private_key is None and tunnel.private_key_file is not None:
            device = replace(device, private_key=_parse_key(PrivateKey, read(tunnel.private_key_file)))
        files = dict(tunnel.psk_files)
        peers = tuple(replace(p, preshared_key=_parse_key(PresharedKey, read(files[p.public_key])))
                      if p.preshared_key is None and p.public_key in files else p for p in device.peers)
        out.append(ReadInterface(replace(device, peers=peers), tunnel.addresses, tunnel.mtu,
                                 tuple(r.to for r in tunnel.routes), Backend.NETPLAN, str(path),
                                 str(tunnel.private_key_file) if tunnel.private_key_file else None))
    return out


def _parse_key(cls, text: str | None):
    if not text:
        return None
    try:
        return cls.from_base64(text)
    except NetdwgError:
        return None


_NETS = r"(?:\{\s*([^}]*)\}|(\S+))"
_MASQ = re.compile(r'(?:oifname\s+"([^"]+)"\s+)?ip6?\s+saddr\s+' + _NETS + r'\s+ip6?\s+daddr\s+(\S+)\s+masquerade')
_ALLOW = re.compile(r'(?:oifname\s+"([^"]+)"\s+)?ip6?\s+saddr\s+' + _NETS
                    + r'\s+ip6?\s+daddr\s+(\S+)\s+ct\s+state\s+new\s+accept')
_ROUTE = re.compile(r"^\s*ip\s+(?:-6\s+)?route\s+add\s+(\S+)\s+via\s+(\S+)", re.MULTILINE)


def _nets(group: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(x.strip(), strict=False) for x in group.split(",") if x.strip())


def _masquerades(text: str):
    return tuple((m.group(1), _nets(m.group(2) or m.group(3)), ipaddress.ip_network(m.group(4), strict=False))
                 for m in _MASQ.finditer(text))


def _allows(text: str):
    return tuple((_nets(m.group(2) or m.group(3)), ipaddress.ip_network(m.group(4), strict=False), m.group(1))
                 for m in _ALLOW.finditer(text))


def _guard_sites(path: Path, text: str) -> tuple:
    """The sites of a guard.conf, for their fingerprints; an unreadable one only loses those."""
    try:
        from netdwg.guard.config import parse_guard_config

        return parse_guard_config(text, str(path)).sites
    except (NetdwgError, ImportError, ValueError):
        return ()


def _lan_routes(text: str):
    return tuple((ipaddress.ip_network(m.group(1), strict=False), ipaddress.ip_address(m.group(2)))
                 for m in _ROUTE.finditer(text))


def file_mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)
