"""Reading hand-written WireGuard host files into values, for `netdwg import` and cross-file checks.

    read_hosts(specs) -> tuple[HostFiles, ...]     specs: "DIR", "FILE" or "HOST=DIR|FILE"

Understands systemd-networkd `.netdev` (with `NAME.netdev.d/*.conf` drop-ins)
and `.network`, wg-quick `.conf`, netplan YAML, and netdwg's own
`netdwg.nft`, `lan-router-routes.txt` and `guard.conf`. Key files named by
`PrivateKeyFile=`, `PresharedKeyFile=` or netplan's `key:` are read under the
host's root when the input is a tree (`HOST/etc/...`); a key file that
cannot be read leaves that key unknown (the host then keeps its own key).

This machine's state is not read here: the caller passes its host name (for
files under this machine's own /etc) and, to look for key files at their
absolute paths on this machine, a reader (`read_local`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from netdwg.errors import ConfigError, NetdwgError, ParseError, Span
from netdwg.keys import PresharedKey, PrivateKey
from netdwg.topology.guard_config import GuardSite, parse_guard_config
from netdwg.topology.model import Backend
from netdwg.values import MAX_FILE_BYTES, check_file, control_diagnostics, read_limited
from netdwg.wireguard import IPInterface, IPNetwork, WgDevice, WgPeer

LocalReader = Callable[[PurePosixPath], "str | None"]  # a key file on this machine, by absolute path

_NUMBERED = re.compile(r"^\d+-")
_SECRET_LINE = re.compile(r"^\s*(PrivateKey|PresharedKey|private-key|preshared-key)\s*=\s*\S|^\s*(key|shared)\s*:\s*[A-Za-z0-9+/]{42,43}=",
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
    # peers whose PSK is in a file we could not read: unknown, not "none" (the other end's file tells)
    unknown_psks: frozenset = frozenset()

    @property
    def name(self) -> str:
        return self.device.name


@dataclass(frozen=True, slots=True)
class HostFiles:
    name: str
    interfaces: tuple[ReadInterface, ...] = ()
    guard: bool = False
    # (oif, sources, LAN): netdwg.nft rules; from hand-written files (wg-quick PostUp, networkd
    # IPMasquerade=) sources and LAN may be unknown: () and None mean "any"
    masquerade: tuple[tuple[str | None, tuple[IPNetwork, ...], IPNetwork | None], ...] = ()
    allow: tuple[tuple[tuple[IPNetwork, ...], IPNetwork, str | None], ...] = ()  # (sources, LAN, oif)
    guard_sites: tuple[GuardSite, ...] = ()  # the sites of this laptop's guard.conf
    lan_routes: tuple[tuple[IPNetwork, ipaddress.IPv4Address | ipaddress.IPv6Address], ...] = ()  # (dest, via)
    # static addresses of the host's other links (a gateway's LAN side): (link name, address), from
    # .network files of non-WireGuard links, netplan ethernets/vlans/bridges/bonds, wg-quick 'ip addr add'
    link_addresses: tuple[tuple[str, IPInterface], ...] = ()
    dhcp_server_links: tuple[str, ...] = ()  # links with networkd's DHCPServer=yes: this host is their router
    exposed: tuple[str, ...] = ()  # files holding a private key or PSK that others may read
    ignored: tuple[str, ...] = ()  # files not understood (listed, never silently dropped)
    files: tuple[str, ...] = field(default=())


def parse_spec(spec: str) -> tuple[str | None, Path]:
    name, sep, path = spec.partition("=")
    if sep and name and "/" not in name:
        return name, Path(path)
    return None, Path(spec)


def host_name_for(path: Path, this_host: str | None = None) -> str:
    """A host's name from a file's place: the directory above `etc/` (`this_host` for this
    machine's own /etc), else the file's stem."""
    parts = path.resolve().parts if path.exists() else path.parts
    if "etc" in parts[1:]:
        index = len(parts) - 1 - list(reversed(parts)).index("etc")
        if index > 1:
            return parts[index - 1]
        if not this_host:
            raise NetdwgError(f"{path}: a file of this machine's /etc, and no host name for it",
                              fix=f"name the host: HOST={path}")
        return this_host
    if path.parent.name.endswith(".netdev.d"):  # a drop-in belongs to its .netdev's host
        path = path.parent.with_name(path.parent.name[: -len(".d")])
    return _NUMBERED.sub("", path.name.split(".")[0]) or path.name


def _host_root(path: Path) -> Path | None:
    parts = path.resolve().parts
    if "etc" in parts[1:]:
        index = len(parts) - 1 - list(reversed(parts)).index("etc")
        return Path(*parts[:index])
    return None


def read_hosts(specs, this_host: str | None = None, read_local: LocalReader | None = None) -> tuple[HostFiles, ...]:
    """Group the given files and trees by host and read each host's files.

    `this_host`: the name of the machine whose own /etc files are given; `read_local(path)`:
    a key file's text at its absolute path on this machine, or None (not read without it).
    """
    groups: dict[str, list[Path]] = {}
    for spec in specs:
        name, path = parse_spec(str(spec))
        if not path.exists():
            raise NetdwgError(f"{path}: no such file or directory", fix="pass host files or trees (HOST=DIR works too)")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            groups.setdefault(name or path.resolve().name, []).extend(files)
        else:
            groups.setdefault(name or host_name_for(path, this_host), []).append(path)
    return tuple(read_host(name, files, read_local) for name, files in groups.items())


def read_host(name: str, files: list[Path], read_local: LocalReader | None = None) -> HostFiles:
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
            iface, commands = _read_wgquick(path, text, read_local)
            interfaces.append(iface)
            host = replace(host, masquerade=host.masquerade + _command_masquerades(commands),
                           link_addresses=host.link_addresses + _command_addresses(commands))
        elif suffix == ".nmconnection":
            interfaces.append(_read_nmconnection(path, text))
        elif suffix in (".yaml", ".yml"):
            interfaces += _read_netplan(path, text, read_local)
            host = replace(host, link_addresses=host.link_addresses + _netplan_link_addresses(text))
        elif path.name.endswith(".nft"):
            host = replace(host, masquerade=host.masquerade + _masquerades(text), allow=host.allow + _allows(text))
        elif path.name == "lan-router-routes.txt":
            host = replace(host, lan_routes=host.lan_routes + _lan_routes(text))
        elif path.name == "guard.conf":
            host = replace(host, guard=True, guard_sites=_guard_sites(path, text))
        elif "sysctl" not in str(path) and suffix not in (".key", ".psk"):  # key files are read when named
            ignored.append(str(path))
    network_by_name: dict[str, _NetworkFacts] = {}
    for path in networks:
        for match_name, view in _read_network(path):
            network_by_name.setdefault(match_name, view)
    for path in netdevs:
        interfaces.append(_read_netdev(path, network_by_name, read_local))
    wireguard = {i.name for i in interfaces}
    for link, facts in network_by_name.items():
        if link in wireguard:
            if facts.masquerade:  # IPMasquerade= on the tunnel: its sources NATed wherever they leave
                host = replace(host, masquerade=host.masquerade + ((None, (), None),))
        elif not any(c in link for c in "*?["):  # a glob matches links we cannot name
            host = replace(host, link_addresses=host.link_addresses + tuple((link, a) for a in facts.addresses),
                           dhcp_server_links=host.dhcp_server_links + ((link,) if facts.dhcp_server else ()))
    return replace(host, interfaces=tuple(interfaces), exposed=tuple(exposed), ignored=tuple(ignored),
                   files=tuple(str(p) for p in files))


def _read_text(path: Path) -> str:
    """A host file's text, within netdwg.values' limits (size, line length, no control characters)."""
    try:
        text = read_limited(path, MAX_FILE_BYTES, "an imported file").decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError("not a text file (invalid UTF-8)", Span(str(path))) from None
    except PermissionError:
        raise NetdwgError(f"{path}: permission denied", fix="run as root") from None
    check_file(str(path), text, MAX_FILE_BYTES, "an imported file")
    found = control_diagnostics(str(path), text)
    if found:
        raise ConfigError(f"{path}: control characters", tuple(found))
    return text


def _world_readable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IROTH)


def _key_reader(source: Path, read_local: LocalReader | None):
    """read_secret(path, span) for key files: under the host's root when the input is a tree,
    then at the absolute path on this machine when the caller gave `read_local`."""
    root = _host_root(source)

    def read(path: PurePosixPath, span: Span | None = None) -> str | None:
        if root is not None:
            try:
                return read_limited(root / str(path).lstrip("/"), MAX_FILE_BYTES, "a key file").decode("ascii").strip()
            except (OSError, UnicodeDecodeError):
                pass
        return read_local(path) if read_local is not None else None

    return read


def _read_netdev(path: Path, networks: dict, read_local: LocalReader | None) -> ReadInterface:
    from netdwg.unitfile import effective_unit, parse_unit
    from netdwg.unitfile.views import netdev_view, peer_views, wireguard_view

    dropin_dir = path.with_name(path.name + ".d")
    dropins = [parse_unit(_read_text(p), str(p)) for p in sorted(dropin_dir.glob("*.conf"))] \
        if dropin_dir.is_dir() else []
    eff = effective_unit(parse_unit(_read_text(path), str(path)), dropins)
    netdev, wg = netdev_view(eff), wireguard_view(eff)
    read = _key_reader(path, read_local)
    private = wg.private_key
    if private is None and wg.private_key_file is not None:
        private = _parse_key(PrivateKey, read(wg.private_key_file))
    peers, unknown = [], set()
    for view in peer_views(eff):
        if view.public_key is None:
            continue
        psk = view.preshared_key
        if psk is None and view.preshared_key_file is not None:
            psk = _parse_key(PresharedKey, read(view.preshared_key_file))
            if psk is None:
                unknown.add(view.public_key)
        peers.append(WgPeer(view.public_key, view.allowed_ips, psk, view.endpoint, view.persistent_keepalive))
    device = WgDevice(netdev.name, private, wg.listen_port, wg.firewall_mark, tuple(peers))
    facts = networks.get(netdev.name) or _NetworkFacts()
    return ReadInterface(device, facts.addresses, netdev.mtu_bytes or facts.mtu, facts.routes, Backend.NETWORKD, str(path),
                         str(wg.private_key_file) if wg.private_key_file else None, wg.route_table,
                         frozenset(unknown))


def _read_nmconnection(path: Path, text: str) -> ReadInterface:
    """A NetworkManager WireGuard profile (keys inline: NetworkManager reads no key file)."""
    from netdwg.keyfiles import load_nm_wireguard

    profile = load_nm_wireguard(text, str(path))
    routes = tuple(r.destination for ip in (profile.ipv4, profile.ipv6) for r in ip.routes)
    return ReadInterface(profile.device, profile.ipv4.addresses + profile.ipv6.addresses, profile.mtu or None, routes,
                         Backend.NETWORKMANAGER, str(path), route_table="" if profile.peer_routes else "off")


@dataclass(frozen=True, slots=True)
class _NetworkFacts:
    """What a .network file says about the link it matches."""

    addresses: tuple[IPInterface, ...] = ()
    mtu: int | None = None
    routes: tuple[IPNetwork, ...] = ()
    masquerade: bool = False  # IPMasquerade= (ipv4, ipv6, both; "yes" before systemd 247)
    dhcp_server: bool = False


def _read_network(path: Path):
    from netdwg.unitfile import effective_unit, parse_unit
    from netdwg.unitfile.views import address_views, match_view, network_view, route_views

    eff = effective_unit(parse_unit(_read_text(path), str(path)))
    view = network_view(eff)
    addresses = tuple(view.addresses) + tuple(a.address for a in address_views(eff))
    link = eff.section("Link")
    mtu_value = link.get("MTUBytes") if link else None
    mtu = int(mtu_value.text) if mtu_value and mtu_value.text.isdigit() else None
    routes = tuple(r.destination for r in route_views(eff) if r.destination is not None)
    network = eff.section("Network")
    dhcp_server = network.get("DHCPServer") if network else None
    facts = _NetworkFacts(addresses, mtu, routes,
                          view.ip_masquerade.lower() in ("ipv4", "ipv6", "both", "yes", "true", "on", "1"),
                          bool(dhcp_server) and dhcp_server.text.lower() in ("yes", "true", "on", "1"))
    for name in match_view(eff).names:
        yield name, facts


def _read_wgquick(path: Path, text: str, read_local: LocalReader | None) -> tuple[ReadInterface, tuple[str, ...]]:
    """The interface, and its PreUp/PostUp commands (they may add a MASQUERADE or a LAN address)."""
    from netdwg.wgquick import load_wgquick

    config = load_wgquick(text, str(path), name=path.stem)
    device = config.device if config.device.name else replace(config.device, name=path.stem)
    settings = config.settings
    key_file, psk_files = _command_key_files(settings.pre_up + settings.post_up, device.name)
    read = _key_reader(path, read_local)
    if device.private_key is None and key_file is not None:
        device = replace(device, private_key=_parse_key(PrivateKey, read(key_file)))
    unknown = set()
    if psk_files:
        peers = []
        for peer in device.peers:
            if peer.preshared_key is None and peer.public_key.base64 in psk_files:
                psk = _parse_key(PresharedKey, read(psk_files[peer.public_key.base64]))
                if psk is None:
                    unknown.add(peer.public_key)
                peer = replace(peer, preshared_key=psk)
            peers.append(peer)
        device = replace(device, peers=tuple(peers))
    # Table = off: wg-quick adds no route for AllowedIPs; the PostUp `ip route add ... dev %i` are the routes
    routes = _command_routes(settings.pre_up + settings.post_up, device.name) if settings.table == "off" else ()
    iface = ReadInterface(device, settings.addresses, settings.mtu, routes, Backend.WG_QUICK, str(path),
                          str(key_file) if key_file is not None else None, settings.table or "", frozenset(unknown))
    return iface, settings.pre_up + settings.post_up


_SHELL_SPLIT = re.compile(r"\s*(?:;|&&|\|\|)\s*")
_IPT_OPTION = re.compile(r"(?:^|\s)(!\s+)?(-o|--out-interface|-s|--source|-d|--destination)\s+(\S+)")
_NFT_OIF = re.compile(r'\boifname\s+"?([\w.@%-]+)')
_IP_ADDR = re.compile(r"\bip\s+(?:-[46]\s+)?a(?:ddr(?:ess)?)?\s+(?:add|replace)\s+(\S+)\s+.*?\bdev\s+(\S+)")


_IP_ROUTE = re.compile(r"^ip\s+(?:-[46]\s+)?r(?:o(?:ute?)?)?\s+(?:add|replace)\s+(\S+)(?:\s+\S+)*?\s+dev\s+(\S+)")


def _on_tunnel(link: str, name: str) -> bool:
    return link in ("%i", name)


def _command_routes(lines, name: str) -> tuple[IPNetwork, ...]:
    """`ip route add PREFIX dev %i` in PreUp/PostUp: the routes of a `Table = off` interface."""
    out = []
    for command in _commands(lines):
        m = _IP_ROUTE.search(command)
        if m and _on_tunnel(m.group(2), name):
            net = _net_or_none(m.group(1))
            if net is not None and net not in out:
                out.append(net)
    return tuple(out)


def _command_key_files(lines, name: str) -> tuple[PurePosixPath | None, dict[str, PurePosixPath]]:
    """Keys kept in files and loaded by `wg set %i private-key FILE` and `wg set %i peer PUB
    preshared-key FILE` in PreUp/PostUp (wg-quick has no PrivateKeyFile): the private key's file,
    and each peer's PSK file by its public key."""
    private, psks = None, {}
    for command in _commands(lines):
        try:
            words = shlex.split(command)
        except ValueError:
            continue
        if words[:2] != ["wg", "set"] or len(words) < 3 or not _on_tunnel(words[2], name):
            continue
        peer = None
        for word, value in zip(words[3:], words[4:]):
            if word == "peer":
                peer = value
            elif word == "private-key" and peer is None:
                private = PurePosixPath(value.replace("%i", name))
            elif word == "preshared-key" and peer is not None:
                psks[peer] = PurePosixPath(value.replace("%i", name))
    return private, psks


def _commands(lines) -> list[str]:
    return [c for line in lines for c in _SHELL_SPLIT.split(line) if c]


def _command_masquerades(lines):
    """MASQUERADE added by wg-quick PreUp/PostUp (iptables/ip6tables -t nat ... POSTROUTING, or nft)."""
    out = []
    for command in _commands(lines):
        if re.search(r"\bip6?tables(-nft|-legacy)?\b", command) and "MASQUERADE" in command \
                and "POSTROUTING" in command and re.search(r"\s-(A|I|-append|-insert)\s", f" {command} "):
            options = {}
            for negated, flag, value in _IPT_OPTION.findall(command):
                if not negated:  # "! -o wg0" excludes; it names no LAN
                    options[flag.lstrip("-")[0]] = value
            oif = options.get("o")
            out.append((None if oif in (None, "%i") else oif, _nets(options["s"]) if "s" in options else (),
                        _net_or_none(options.get("d"))))
        elif re.search(r"\bnft\b", command) and re.search(r"\bmasquerade\b", command):
            m = _NFT_OIF.search(command)
            out.append((m.group(1) if m and m.group(1) != "%i" else None, (), None))
    return tuple(out)


def _net_or_none(text: str | None) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(text, strict=False) if text else None
    except ValueError:
        return None


def _command_addresses(lines):
    """`ip addr add A/LEN dev LINK` in PreUp/PostUp, for links other than the tunnel itself."""
    out = []
    for command in _commands(lines):
        m = _IP_ADDR.search(command)
        if m and m.group(2) != "%i" and "/" in m.group(1):
            try:
                out.append((m.group(2), ipaddress.ip_interface(m.group(1))))
            except ValueError:
                continue
    return tuple(out)


def _netplan_link_addresses(text: str):
    """Static addresses of netplan's ethernets, vlans, bridges and bonds (a gateway's LAN side)."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return ()  # load_netplan reports the file's problems
    network = doc.get("network") if isinstance(doc, dict) else None
    out = []
    for kind in ("ethernets", "vlans", "bridges", "bonds"):
        links = network.get(kind) if isinstance(network, dict) else None
        for link, settings in (links.items() if isinstance(links, dict) else ()):
            for address in (settings or {}).get("addresses") or () if isinstance(settings, dict) else ():
                try:
                    out.append((str(link), ipaddress.ip_interface(str(address))))
                except ValueError:
                    continue  # e.g. netplan's {address: {lifetime: ...}} mapping form
    return tuple(out)


def _read_netplan(path: Path, text: str, read_local: LocalReader | None) -> list[ReadInterface]:
    from netdwg.netplan import load_netplan

    read = _key_reader(path, read_local)
    out = []
    for tunnel in load_netplan(text, str(path)):
        device = tunnel.device
        if device.private_key is None and tunnel.private_key_file is not None:
            device = replace(device, private_key=_parse_key(PrivateKey, read(tunnel.private_key_file)))
        files = dict(tunnel.psk_files)
        peers = tuple(replace(p, preshared_key=_parse_key(PresharedKey, read(files[p.public_key])))
                      if p.preshared_key is None and p.public_key in files else p for p in device.peers)
        unknown = frozenset(p.public_key for p in peers if p.preshared_key is None and p.public_key in files)
        out.append(ReadInterface(replace(device, peers=peers), tunnel.addresses, tunnel.mtu,
                                 tuple(r.to for r in tunnel.routes), Backend.NETPLAN, str(path),
                                 str(tunnel.private_key_file) if tunnel.private_key_file else None,
                                 unknown_psks=unknown))
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
        return parse_guard_config(text, str(path)).sites
    except (NetdwgError, ValueError):
        return ()


def _lan_routes(text: str):
    return tuple((ipaddress.ip_network(m.group(1), strict=False), ipaddress.ip_address(m.group(2)))
                 for m in _ROUTE.finditer(text))


def file_mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)
