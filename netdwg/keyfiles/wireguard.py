"""The typed view of a NetworkManager WireGuard profile (`type=wireguard` keyfile), both ways.

    load_nm_wireguard(text, path) -> NmWireGuard     ConfigError with every error found
    check_nm_wireguard(text, path, mode)             every problem as a diagnostic, in NetworkManager's words
    format_nm_wireguard(profile, header="") -> str   the keyfile, every value through keyfile_value

Property names and spellings are those NetworkManager 1.42 writes itself (`nmcli connection import type
wireguard`, tests/data/networkmanager/): `[wireguard]` keys sorted by name, one `[wireguard-peer.<public
key>]` group per peer, `allowed-ips` a `;`-terminated list, `addressN=`, `routeN=DEST,GATEWAY,METRIC` with
`routeN_options=table=N`, booleans `true`/`false`, the ternary `ipN-auto-default-route` as `0`/`1`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from netdwg.errors import ConfigError, Diagnostic, Severity, Span
from netdwg.keyfiles.syntax import (Keyfile, check_keyfile_syntax, keyfile_comment, keyfile_group, keyfile_line, keyfile_list,
                                    parse_keyfile)
from netdwg.keys import PresharedKey, PrivateKey, PublicKey
from netdwg.wireguard import Endpoint, IPInterface, IPNetwork, WgDevice, WgPeer

CODE = "NMK003"  # a WireGuard profile NetworkManager refuses or reads otherwise
PEER_PREFIX = "wireguard-peer."
# NetworkManager refuses a keyfile any group or other user may read or write (nms-keyfile-reader.c:
# "File permissions (%03o) are insecure"), and one not owned by root.
INSECURE_BITS = 0o077


@dataclass(frozen=True, slots=True)
class NmRoute:
    destination: IPNetwork
    metric: int | None = None  # None: the profile's route-metric
    table: int | None = None  # None: the profile's route-table


@dataclass(frozen=True, slots=True)
class NmIpConfig:
    """`[ipv4]` or `[ipv6]`: method manual with addresses, or disabled."""

    addresses: tuple[IPInterface, ...] = ()
    routes: tuple[NmRoute, ...] = ()
    route_metric: int | None = None
    route_table: int | None = None
    never_default: bool = False  # NetworkManager's default; netdwg writes true

    @property
    def method(self) -> str:
        return "manual" if self.addresses else "disabled"


@dataclass(frozen=True, slots=True)
class NmWireGuard:
    """A WireGuard connection profile: the device (keys, port, fwmark, peers) and its IP settings."""

    id: str
    uuid: str | None
    device: WgDevice  # device.name is the profile's interface-name
    mtu: int = 0
    peer_routes: bool = True
    ip4_auto_default_route: bool | None = None  # None: NetworkManager's default (-1)
    ip6_auto_default_route: bool | None = None
    ipv4: NmIpConfig = field(default_factory=NmIpConfig)
    ipv6: NmIpConfig = field(default_factory=NmIpConfig)

    @property
    def interface_name(self) -> str:
        return self.device.name


# ---- writing -------------------------------------------------------------------------------------


def _ternary(value: bool | None) -> int | None:
    return None if value is None else int(value)


def format_nm_wireguard(profile: NmWireGuard, header: str = "") -> str:
    device = profile.device
    out = [header, keyfile_group("connection"), keyfile_line("id", profile.id)]
    if profile.uuid:
        out.append(keyfile_line("uuid", profile.uuid))
    out += [keyfile_line("type", "wireguard"), keyfile_line("interface-name", device.name), "\n",
            keyfile_group("wireguard")]
    settings = {"fwmark": device.fwmark or None,
                "ip4-auto-default-route": _ternary(profile.ip4_auto_default_route),
                "ip6-auto-default-route": _ternary(profile.ip6_auto_default_route),
                "listen-port": device.listen_port, "mtu": profile.mtu or None,
                "peer-routes": None if profile.peer_routes else "false",  # written only off its default
                "private-key": device.private_key.reveal_base64() if device.private_key else None}
    out += [keyfile_line(k, v) for k, v in settings.items() if v is not None]
    for peer in device.peers:
        out += ["\n", keyfile_comment(peer.name) if peer.name else "",
                keyfile_group(PEER_PREFIX + peer.public_key.base64)]
        if peer.endpoint is not None:
            out.append(keyfile_line("endpoint", str(peer.endpoint)))
        if peer.preshared_key is not None:
            # flags 0: NetworkManager keeps the PSK itself (in this file), no secret agent asked.
            out += [keyfile_line("preshared-key", peer.preshared_key.reveal_base64()),
                    keyfile_line("preshared-key-flags", 0)]
        if peer.persistent_keepalive:
            out.append(keyfile_line("persistent-keepalive", peer.persistent_keepalive))
        out.append(keyfile_list("allowed-ips", peer.allowed_ips))
    for name, ip in (("ipv4", profile.ipv4), ("ipv6", profile.ipv6)):
        out += ["\n", *_ip_lines(name, ip)]
    return "".join(out)


def _ip_lines(name: str, ip: NmIpConfig) -> list[str]:
    out = [keyfile_group(name)]
    out += [keyfile_line(f"address{n}", a) for n, a in enumerate(ip.addresses, start=1)]
    out.append(keyfile_line("method", ip.method))
    if ip.method == "disabled":
        return out
    if ip.never_default:  # NetworkManager writes it only when true, its default being false
        out.append(keyfile_line("never-default", "true"))
    if ip.route_metric is not None:
        out.append(keyfile_line("route-metric", ip.route_metric))
    if ip.route_table is not None:
        out.append(keyfile_line("route-table", ip.route_table))
    unspecified = "0.0.0.0" if name == "ipv4" else "::"
    for n, route in enumerate(ip.routes, start=1):
        value = str(route.destination) if route.metric is None else \
            f"{route.destination},{unspecified},{route.metric}"
        out.append(keyfile_line(f"route{n}", value))
        if route.table is not None:
            out.append(keyfile_line(f"route{n}_options", f"table={route.table}"))
    return out


# ---- reading -------------------------------------------------------------------------------------


class _Problems:
    def __init__(self, file: Keyfile) -> None:
        self.file = file
        self.found: list[Diagnostic] = []

    def add(self, group: str, key: str, message: str, fix: str, severity: Severity = Severity.ERROR) -> None:
        span = Span(self.file.path, self.file.line_number(group, key))
        self.found.append(Diagnostic(CODE, severity, message, span, fix=fix))


def _value(problems: _Problems, group: str, key: str, parse, what: str, fix: str):
    text = problems.file.get(group, key)
    if text is None:
        return None
    try:
        return parse(text.strip())
    except (ValueError, ConfigError) as err:
        problems.add(group, key, f"{group}.{key}: invalid {what} {text[:60]!r} ({err})", fix)
        return None


def _int(low: int, high: int):
    def parse(text: str) -> int:
        number = int(text, 0) if text.lower().startswith("0x") else int(text)
        if not low <= number <= high:
            raise ValueError(f"not in {low}..{high}")
        return number
    return parse


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise ValueError("not true or false")


def _ternary_read(text: str) -> bool | None:
    return None if text.strip() == "-1" else _bool(text)


def _route(text: str, options: str | None, version: int) -> NmRoute:
    parts = [p.strip() for p in text.split(",")]
    destination = ipaddress.ip_network(parts[0], strict=True)
    if destination.version != version:
        raise ValueError(f"an IPv{destination.version} route in [ipv{version}]")
    metric = int(parts[2]) if len(parts) > 2 and parts[2] else None
    if len(parts) > 1 and parts[1] and not ipaddress.ip_address(parts[1]).is_unspecified:
        raise ValueError("a route with a gateway (netdwg routes into the tunnel device only)")
    table = None
    for option in (options or "").split(","):
        name, _, value = option.strip().partition("=")
        if name == "table":
            table = int(value)
    return NmRoute(destination, metric, table)


def _ip_config(problems: _Problems, name: str, version: int) -> NmIpConfig:
    file = problems.file
    entries = file.entries(name)
    addresses, routes = [], []
    for key in sorted(entries, key=_numbered):
        stem = key.rstrip("0123456789")
        if stem in ("address", "addresses") and key != stem or key in ("address", "addresses"):
            for item in file.get_list(name, key) or []:
                try:
                    address = ipaddress.ip_interface(item.split(",")[0].strip())
                    if address.version != version:
                        raise ValueError(f"an IPv{address.version} address")
                    addresses.append(address)
                except ValueError as err:
                    problems.add(name, key, f"{name}.{key}: invalid address {item[:60]!r} ({err})",
                                 "write ADDRESS/PREFIX, e.g. 10.99.0.4/16")
        elif stem in ("route", "routes") and not key.endswith("_options"):
            try:
                routes.append(_route(file.get(name, key) or "", file.get(name, f"{key}_options"), version))
            except ValueError as err:
                problems.add(name, key, f"{name}.{key}: invalid route {(file.get(name, key) or '')[:60]!r} ({err})",
                             "write DESTINATION/PREFIX[,GATEWAY,METRIC]")
    method = file.get(name, "method")
    if method is not None and method not in ("manual", "disabled", "ignore"):
        problems.add(name, "method", f"{name}.method={method}: a WireGuard profile needs manual addresses "
                                     f"(NetworkManager offers no DHCP or SLAAC on WireGuard)",
                     "write method=manual with addressN= keys, or method=disabled")
    never = _value(problems, name, "never-default", _bool, "boolean", "write true or false")
    return NmIpConfig(tuple(addresses), tuple(routes),
                      _value(problems, name, "route-metric", _int(-1, 2**32 - 1), "metric", "write a number"),
                      _value(problems, name, "route-table", _int(0, 2**32 - 1), "table", "write a table number"),
                      bool(never))


def _numbered(key: str) -> tuple[str, int]:
    digits = key[len(key.rstrip("0123456789")):]
    return key.rstrip("0123456789"), int(digits) if digits else 0


def _peer(problems: _Problems, group: str) -> WgPeer | None:
    file = problems.file
    try:
        public = PublicKey.from_base64(group[len(PEER_PREFIX):])
    except ConfigError as err:
        problems.add(group, "", f"[{group}]: invalid public key ({err})",
                     "name the group wireguard-peer.<the peer's base64 public key>")
        return None
    allowed = []
    for item in file.get_list(group, "allowed-ips") or []:
        try:
            allowed.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError as err:
            problems.add(group, "allowed-ips", f"{group}.allowed-ips: invalid prefix {item[:60]!r} ({err})",
                         "write ADDRESS/PREFIX items separated by ';'")
    psk = _value(problems, group, "preshared-key", PresharedKey.from_base64, "key", "write a base64 WireGuard key")
    flags = _value(problems, group, "preshared-key-flags", _int(0, 15), "flags", "write 0")
    if flags and psk is not None:
        problems.add(group, "preshared-key-flags", f"{group}.preshared-key-flags={flags}: NetworkManager asks a "
                     f"secret agent for this PSK instead of using the one in the file",
                     "write preshared-key-flags=0", Severity.WARNING)
    return WgPeer(public, tuple(allowed), psk,
                  _value(problems, group, "endpoint", Endpoint.parse, "endpoint", "write HOST:PORT"),
                  _value(problems, group, "persistent-keepalive", _int(0, 65535), "keepalive", "write 0-65535") or 0)


def _interpret(file: Keyfile) -> tuple[NmWireGuard | None, list[Diagnostic]]:
    problems = _Problems(file)
    problems.found += check_keyfile_syntax(file)
    kind = file.get("connection", "type")
    if kind != "wireguard":
        problems.add("connection", "type", f"connection.type={kind}: not a WireGuard profile",
                     "netdwg reads type=wireguard profiles only")
        return None, problems.found
    name = file.get("connection", "interface-name")
    if not name:
        problems.add("connection", "", "connection.interface-name is missing: NetworkManager refuses a "
                     "WireGuard profile without one", "add interface-name=wg0 to [connection]")
        name = ""
    key = _value(problems, "wireguard", "private-key", PrivateKey.from_base64, "key", "write a base64 key")
    peers = tuple(p for g in file.groups() if g.startswith(PEER_PREFIX) if (p := _peer(problems, g)))
    device = WgDevice(name, key, _value(problems, "wireguard", "listen-port", _int(0, 65535), "port", "write 0-65535"),
                      _value(problems, "wireguard", "fwmark", _int(0, 2**32 - 1), "fwmark", "write a number") or 0,
                      peers)
    peer_routes = _value(problems, "wireguard", "peer-routes", _bool, "boolean", "write true or false")
    profile = NmWireGuard(
        file.get("connection", "id") or name, file.get("connection", "uuid"), device,
        _value(problems, "wireguard", "mtu", _int(0, 2**32 - 1), "MTU", "write a number") or 0,
        True if peer_routes is None else peer_routes,
        _value(problems, "wireguard", "ip4-auto-default-route", _ternary_read, "ternary", "write 0, 1 or -1"),
        _value(problems, "wireguard", "ip6-auto-default-route", _ternary_read, "ternary", "write 0, 1 or -1"),
        _ip_config(problems, "ipv4", 4), _ip_config(problems, "ipv6", 6))
    return profile, problems.found


def check_nm_wireguard(text: str, path: str = "<input>", mode: int | None = None,
                       owner_uid: int | None = None) -> list[Diagnostic]:
    """Every problem NetworkManager would report (or act on differently than written)."""
    found = _interpret(parse_keyfile(text, path))[1]
    if mode is not None and mode & INSECURE_BITS:
        found.append(Diagnostic(CODE, Severity.ERROR, f"File permissions ({0o100000 | mode:06o}) are insecure "
                                "(NetworkManager's words: it does not load this profile)", Span(path),
                                fix=f"chmod 600 {path}"))
    if owner_uid not in (None, 0):
        found.append(Diagnostic(CODE, Severity.ERROR, f"File owner ({owner_uid}) is insecure (NetworkManager's "
                                "words: it loads only profiles owned by root)", Span(path), fix=f"chown root {path}"))
    return found


def load_nm_wireguard(text: str, path: str = "<input>") -> NmWireGuard:
    profile, found = _interpret(parse_keyfile(text, path))
    errors = tuple(d for d in found if d.severity is Severity.ERROR)
    if errors or profile is None:
        raise ConfigError(f"{path}: {len(errors)} error(s)", errors)
    return profile


