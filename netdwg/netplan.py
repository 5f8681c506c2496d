"""netplan YAML wireguard tunnels (``network.tunnels.NAME`` with ``mode: wireguard``):
read them into `WgDevice` plus addresses and routes, write them back, and check
them with netplan's own messages and file:line:col positions.

What netplan.io 0.106 (Debian 12) accepts, checked with ``netplan generate
--root-dir`` (tests/unit/test_netplan_generate.py runs it):

- the private key is ``key: <base64 | /abs/path>`` or ``keys: {private: ...}``;
  a peer's ``keys: {public: <base64>, shared: <base64 | /abs/path>}``;
  a value that is a valid base64 key is a key (even starting with "/"),
  any other value starting with "/" is a key file;
- ``mark`` must be a decimal number ("invalid unsigned int value '0x51'");
- an unknown key anywhere is an error ("unknown key 'bogus'").

Lossless, comment-preserving YAML editing is out of scope: we read values and
write whole files.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

import yaml

from netdwg.errors import ConfigError, Diagnostic, NetdwgError, Severity, Span
from netdwg.keys import PresharedKey, PrivateKey, PublicKey
from netdwg.rendered import MODE_PRIVATE, RenderedFile
from netdwg.values import ValueRefused, check_interface
from netdwg.wireguard import Endpoint, IPAddress, IPInterface, IPNetwork, WgDevice, WgPeer

PEER_KEYS = ("keys", "allowed-ips", "keepalive", "endpoint")
# Tunnel keys of netplan 0.106 (tunnel-specific plus the common netdef keys);
# anything else is reported as netplan reports it.
TUNNEL_KEYS = (
    "mode", "key", "keys", "port", "mark", "peers", "local", "remote", "ttl",
    "addresses", "routes", "routing-policy", "mtu", "ipv6-mtu", "dhcp4", "dhcp6", "dhcp4-overrides",
    "dhcp6-overrides", "dhcp-identifier", "nameservers", "link-local", "optional", "optional-addresses",
    "critical", "renderer", "gateway4", "gateway6", "accept-ra", "ipv6-privacy", "ipv6-address-generation",
    "ipv6-address-token", "macaddress", "activation-mode", "ignore-carrier", "emit-lldp", "networkmanager",
)
ROUTE_KEYS = ("to", "via", "from", "metric", "table", "on-link", "scope", "type", "mtu",
              "congestion-window", "advertised-receive-window")


@dataclass(frozen=True, slots=True)
class NetplanRoute:
    to: IPNetwork
    via: IPAddress | None = None
    metric: int | None = None
    table: int | None = None
    on_link: bool = False


@dataclass(frozen=True, slots=True)
class NetplanTunnel:
    """One wireguard tunnel: the `wg` device plus what netplan adds around it."""

    device: WgDevice
    addresses: tuple[IPInterface, ...] = ()
    routes: tuple[NetplanRoute, ...] = ()
    mtu: int | None = None
    # Key files instead of inline keys (the device then has private_key=None,
    # and the peer preshared_key=None).
    private_key_file: PurePosixPath | None = None
    psk_files: tuple[tuple[PublicKey, PurePosixPath], ...] = ()


# ---- reading ----------------------------------------------------------------


def load_netplan(text: str, path: str = "<input>") -> tuple[NetplanTunnel, ...]:
    """Every wireguard tunnel in one netplan file; ConfigError with every error otherwise."""
    tunnels, found = _read(text, path)
    errors = tuple(d for d in found if d.severity is Severity.ERROR)
    if errors:
        raise ConfigError(f"{path}: {len(errors)} error(s)", errors)
    return tunnels


def check_netplan(text: str, path: str = "<input>", mode: int | None = None) -> list[Diagnostic]:
    """Problems netplan generate would report for the wireguard tunnels of one file."""
    _, found = _read(text, path)
    if mode is not None and mode & 0o066:
        # netplan 0.106 (`netplan get`/`apply`, not `generate`) warns "Permissions for
        # ... are too open. Netplan configuration should NOT be accessible by others."
        # when group or others may read or write (measured: 0640 and 0602 warn, 0601 not).
        found.insert(0, Diagnostic("NPL010", Severity.WARNING,
                                   f"permissions {mode:04o} are too open; netplan configuration should not be "
                                   "accessible by others", Span(path), fix=f"chmod 600 {path}"))
    return found


class _Problems:
    def __init__(self, path: str) -> None:
        self.path = path
        self.found: list[Diagnostic] = []

    def span(self, node: yaml.Node) -> Span:
        return Span(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def error(self, node: yaml.Node, message: str, fix: str = "", code: str = "NPL001") -> None:
        self.found.append(Diagnostic(code, Severity.ERROR, message, self.span(node), fix=fix))

    def warning(self, node: yaml.Node, message: str, fix: str = "", code: str = "NPL002") -> None:
        self.found.append(Diagnostic(code, Severity.WARNING, message, self.span(node), fix=fix))


def _read(text: str, path: str) -> tuple[tuple[NetplanTunnel, ...], list[Diagnostic]]:
    problems = _Problems(path)
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        root = yaml.compose(text, Loader=loader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        span = Span(path, mark.line + 1, mark.column + 1) if mark else Span(path)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        return (), [Diagnostic("NPL000", Severity.ERROR, f"not valid YAML: {problem}", span,
                               fix="fix the YAML syntax (netplan files are YAML mappings)")]
    if root is None:
        return (), []
    network = _get(_mapping(root, problems, "the file"), "network")
    if network is None:
        return (), problems.found
    tunnels_node = _get(_mapping(network, problems, "network"), "tunnels")
    if tunnels_node is None:
        return (), problems.found
    tunnels = []
    for name_node, node in _items(_mapping(tunnels_node, problems, "tunnels")):
        mode = _get(_mapping(node, problems, f"tunnel {name_node.value}"), "mode")
        if mode is None or getattr(mode, "value", None) != "wireguard":
            continue
        tunnel = _tunnel(str(name_node.value), node, problems)
        if tunnel is not None:
            tunnels.append(tunnel)
    return _name_peers(tuple(tunnels), text), problems.found


_PEER_NAME = re.compile(r"^#\s+peer (.+): ([A-Za-z0-9+/]{43}=)\s*$", re.MULTILINE)


def _name_peers(tunnels: tuple[NetplanTunnel, ...], text: str) -> tuple[NetplanTunnel, ...]:
    # format_netplan() names peers in comments ("#   peer oslo: <key>"); read them back.
    names = {key: name for name, key in _PEER_NAME.findall(text)}
    if not names:
        return tunnels
    return tuple(replace(t, device=replace(t.device, peers=tuple(
        replace(p, name=names.get(p.public_key.base64, p.name)) for p in t.device.peers))) for t in tunnels)


def _mapping(node: yaml.Node, problems: _Problems, what: str) -> yaml.MappingNode:
    if isinstance(node, yaml.MappingNode):
        return node
    problems.error(node, f"{what} must be a mapping", "write key: value pairs, indented under it")
    return yaml.MappingNode("tag:yaml.org,2002:map", [], node.start_mark, node.end_mark)


def _items(node: yaml.MappingNode):
    return [(k, v) for k, v in node.value]


def _get(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    found = None
    for k, v in node.value:
        if getattr(k, "value", None) == key:
            found = v
    return found


def _scalar(node: yaml.Node, problems: _Problems, what: str) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    problems.error(node, f"{what} must be a single value")
    return None


def _sequence(node: yaml.Node, problems: _Problems, what: str) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    problems.error(node, f"{what} must be a list", f"write {what}: [a, b]")
    return []


def _unknown_keys(node: yaml.MappingNode, known: tuple[str, ...], problems: _Problems, fatal: bool) -> None:
    import difflib

    for key, _ in node.value:
        name = str(getattr(key, "value", ""))
        if name not in known:
            guess = difflib.get_close_matches(name, known, n=1) if len(name) < 64 else []
            fix = f"did you mean '{guess[0]}'?" if guess else f"known keys: {', '.join(known)}"
            (problems.error if fatal else problems.warning)(key, f"unknown key '{_shorten(name)}'", fix, "NPL003")


def _tunnel(name: str, node: yaml.MappingNode, problems: _Problems) -> NetplanTunnel | None:
    _unknown_keys(node, TUNNEL_KEYS, problems, fatal=False)
    before = len(problems.found)
    try:
        check_interface(name, "tunnel")  # the rule of netdwg.values, as for the topology's interface names
    except ValueRefused as err:
        problems.error(node, err.message, err.fix, err.code)
    private_key = private_key_file = None
    key_node = _get(node, "key")
    keys_node = _get(node, "keys")
    if keys_node is not None and key_node is None:
        keys_map = _mapping(keys_node, problems, "keys")
        _unknown_keys(keys_map, ("private",), problems, fatal=True)
        key_node = _get(keys_map, "private")
    if key_node is None:
        problems.error(node, f"{name}: missing 'key' property (private key) for wireguard",
                       "add key: <base64 private key or /path/to/key>", "NPL004")
    else:
        value = _scalar(key_node, problems, "key")
        if value is not None and _is_key_file(value):
            private_key_file = PurePosixPath(value)
        elif value is not None:
            private_key = _value(lambda: PrivateKey.from_base64(value, problems.span(key_node)), problems)
    listen_port = _int(_get(node, "port"), problems, "port", 0, 65535)
    fwmark = _int(_get(node, "mark"), problems, "mark", 0, 2**32 - 1) or 0
    mtu = _int(_get(node, "mtu"), problems, "mtu", 68, 65535)
    addresses = []
    if (addr_node := _get(node, "addresses")) is not None:
        for item in _sequence(addr_node, problems, "addresses"):
            text = _scalar(item, problems, "an address")
            if text is not None:
                addresses.append(_ip(item, text, _ip_interface, "address", problems))
    routes = []
    if (routes_node := _get(node, "routes")) is not None:
        for item in _sequence(routes_node, problems, "routes"):
            routes.append(_route(_mapping(item, problems, "a route"), problems))
    peers: list[WgPeer] = []
    psk_files: list[tuple[PublicKey, PurePosixPath]] = []
    if (peers_node := _get(node, "peers")) is not None:
        for item in _sequence(peers_node, problems, "peers"):
            peer = _peer(name, node, _mapping(item, problems, "a peer"), problems, psk_files)
            if peer is not None:
                peers.append(peer)
    if _get(node, "peers") is None:
        problems.error(node, f"{name}: at least one peer is required", "add peers: [{keys: {public: ...}, ...}]",
                       "NPL006")
    if any(d.severity is Severity.ERROR for d in problems.found[before:]):
        return None
    device = WgDevice(name, private_key, listen_port, fwmark, tuple(peers))
    return NetplanTunnel(device, tuple(a for a in addresses if a), tuple(r for r in routes if r), mtu,
                         private_key_file, tuple(psk_files))


def _peer(name: str, tunnel: yaml.MappingNode, node: yaml.MappingNode, problems: _Problems,
          psk_files: list[tuple[PublicKey, PurePosixPath]]) -> WgPeer | None:
    _unknown_keys(node, PEER_KEYS, problems, fatal=True)
    public = psk = psk_file = endpoint = None
    keys_node = _get(node, "keys")
    if keys_node is None:
        problems.error(node, f"{name}: keys.public is required for a wireguard peer",
                       "add keys: {public: <the peer's public key>}", "NPL005")
        return None
    keys_map = _mapping(keys_node, problems, "keys")
    _unknown_keys(keys_map, ("public", "shared"), problems, fatal=True)
    pub_node = _get(keys_map, "public")
    if pub_node is None:
        problems.error(keys_node, f"{name}: keys.public is required for a wireguard peer",
                       "add public: <the peer's public key>", "NPL005")
    elif (text := _scalar(pub_node, problems, "keys.public")) is not None:
        public = _value(lambda: PublicKey.from_base64(text, problems.span(pub_node)), problems,
                        f"{name}: invalid wireguard public key")
    if (shared := _get(keys_map, "shared")) is not None and (text := _scalar(shared, problems, "keys.shared")):
        if _is_key_file(text):
            psk_file = PurePosixPath(text)
        else:
            psk = _value(lambda: PresharedKey.from_base64(text, problems.span(shared)), problems,
                         f"{name}: invalid wireguard shared key")
    allowed: list[IPNetwork] = []
    if (ips := _get(node, "allowed-ips")) is not None:
        for item in _sequence(ips, problems, "allowed-ips"):
            text = _scalar(item, problems, "an allowed-ips entry")
            if text is not None:
                allowed.append(_ip(item, text, _network, "allowed-ips entry", problems))
    keepalive = _int(_get(node, "keepalive"), problems, "keepalive", 0, 65535) or 0
    if (ep := _get(node, "endpoint")) is not None and (text := _scalar(ep, problems, "endpoint")) is not None:
        endpoint = _value(lambda: Endpoint.parse(text, problems.span(ep)), problems)
    if ips is None or not allowed:
        # netplan 0.106 reports this against the tunnel: "'to' is required to define the allowed IPs."
        problems.error(tunnel, f"{name}: 'to' is required to define the allowed IPs (every peer needs allowed-ips)",
                       "add allowed-ips: [<prefix>, ...] to the peer", "NPL007")
    if public is None:
        return None
    if psk_file is not None:
        psk_files.append((public, psk_file))
    return WgPeer(public, tuple(a for a in allowed if a), psk, endpoint, keepalive)


def _route(node: yaml.MappingNode, problems: _Problems) -> NetplanRoute | None:
    _unknown_keys(node, ROUTE_KEYS, problems, fatal=True)
    via = None
    if (via_node := _get(node, "via")) is not None and (text := _scalar(via_node, problems, "via")) is not None:
        via = _ip(via_node, text, _ip_address, "gateway", problems)
    to_node = _get(node, "to")
    if to_node is None:
        problems.error(node, "a route needs 'to'", "add to: <destination>/<prefix> (or default)")
        return None
    text = _scalar(to_node, problems, "to")
    if text is None:
        return None
    if text == "default":
        to = ipaddress.ip_network("::/0" if via is not None and via.version == 6 else "0.0.0.0/0")
    else:
        to = _ip(to_node, text, _network, "route destination", problems)
    on_link_node = _get(node, "on-link")
    on_link = on_link_node is not None and str(getattr(on_link_node, "value", "")).lower() in ("true", "yes", "on")
    metric = _int(_get(node, "metric"), problems, "metric", 0, 2**32 - 1)
    table = _int(_get(node, "table"), problems, "table", 0, 2**32 - 1)
    return NetplanRoute(to, via, metric, table, on_link) if to else None


def _is_key_file(value: str) -> bool:
    # netplan 0.106 takes a value that is a valid base64 key as the key, even when
    # it starts with "/" (1 key in 64 does); only other "/..." values are files.
    return value.startswith("/") and not (len(value) == 44 and _KEY_TEXT.fullmatch(value))


_KEY_TEXT = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")


def _network(text: str) -> IPNetwork:
    return (ipaddress.IPv6Network if ":" in text else ipaddress.IPv4Network)(text, strict=False)


def _ip(node: yaml.Node, text: str, parse, what: str, problems: _Problems):
    try:
        return parse(text)
    except ValueError:
        problems.error(node, f"invalid {what} '{_shorten(text)}'", "write an IP address with a /prefix")
        return None


def _int(node: yaml.Node | None, problems: _Problems, what: str, low: int, high: int) -> int | None:
    if node is None:
        return None
    text = _scalar(node, problems, what)
    if text is None:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        # netplan parses these with strtoul in base 10: "invalid unsigned int value '0x51'"
        problems.error(node, f"invalid unsigned int value '{_shorten(text)}' for {what}",
                       f"write a decimal number from {low} to {high}")
        return None
    return int(text)


def _value(make, problems: _Problems, message: str | None = None):
    try:
        return make()
    except NetdwgError as err:
        problems.found.append(Diagnostic("NPL001", Severity.ERROR, message or err.message, err.span, fix=err.fix))
        return None


# ipaddress.ip_*() try IPv4 first and pay for an exception on every IPv6 text.
def _ip_interface(text: str) -> IPInterface:
    return (ipaddress.IPv6Interface if ":" in text else ipaddress.IPv4Interface)(text)


def _ip_address(text: str) -> IPAddress:
    return (ipaddress.IPv6Address if ":" in text else ipaddress.IPv4Address)(text)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# ---- writing ----------------------------------------------------------------


def netplan_document(tunnels: tuple[NetplanTunnel, ...] | list[NetplanTunnel], renderer: str = "networkd") -> dict:
    """The YAML document (plain dicts and lists) for `tunnels`, keys in netplan's usual order."""
    out: dict = {}
    for tunnel in tunnels:
        device = tunnel.device
        entry: dict = {"mode": "wireguard"}
        if tunnel.private_key_file is not None:
            entry["key"] = str(tunnel.private_key_file)
        elif device.private_key is not None:
            entry["key"] = device.private_key.reveal_base64()
        else:
            raise ConfigError(f"tunnel {device.name} has neither a private key nor a key file; netplan needs one",
                              fix="give the device a private key or set private_key_file")
        if device.listen_port is not None:
            entry["port"] = device.listen_port
        if device.fwmark:
            entry["mark"] = device.fwmark
        if tunnel.mtu is not None:
            entry["mtu"] = tunnel.mtu
        if tunnel.addresses:
            entry["addresses"] = [str(a) for a in tunnel.addresses]
        if tunnel.routes:
            entry["routes"] = [_route_dict(r) for r in tunnel.routes]
        psk_files = dict(tunnel.psk_files)
        peers = []
        for peer in device.peers:
            keys = {"public": peer.public_key.base64}
            if peer.public_key in psk_files:
                keys["shared"] = str(psk_files[peer.public_key])
            elif peer.preshared_key is not None:
                keys["shared"] = peer.preshared_key.reveal_base64()
            if not peer.allowed_ips:
                raise ConfigError(f"peer {peer.name or peer.public_key} of {device.name} has no AllowedIPs; "
                                  "netplan requires at least one", fix="give the peer an AllowedIPs prefix")
            item: dict = {"keys": keys, "allowed-ips": [str(n) for n in peer.allowed_ips]}
            if peer.persistent_keepalive:
                item["keepalive"] = peer.persistent_keepalive
            if peer.endpoint is not None:
                item["endpoint"] = str(peer.endpoint)
            peers.append(item)
        if peers:
            entry["peers"] = peers
        out[device.name] = entry
    return {"network": {"version": 2, "renderer": renderer, "tunnels": out}}


def _route_dict(route: NetplanRoute) -> dict:
    item: dict = {"to": str(route.to)}
    if route.via is not None:
        item["via"] = str(route.via)
    if route.on_link:
        item["on-link"] = True
    if route.metric is not None:
        item["metric"] = route.metric
    if route.table is not None:
        item["table"] = route.table
    return item


# YAML (1.1, libyaml) ends a line at LF, CR, NEL, LS and PS; a comment holds no other control character.
_UNSAFE_COMMENT = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def netplan_comment(text: str, lines: bool = False) -> str:
    """``# text\\n``: the one way netdwg writes a comment into a netplan file (values go through yaml.dump).

    `lines`: each line of `text` its own comment line; otherwise `text` must be one line.
    ConfigError (a ValueError) for a line break or control character a YAML reader would act on.
    """
    if _UNSAFE_COMMENT.search(text) is not None or (not lines and "\n" in text):
        raise ConfigError(f"cannot write the comment {text[:60]!r} into a netplan file: a line break or "
                          f"control character", fix="remove it")
    return "".join(f"# {line}\n" if line else "#\n" for line in text.splitlines())


def format_netplan(tunnels, renderer: str = "networkd", header: str = "") -> str:
    """A netplan YAML file for `tunnels`; `header` lines become comments."""
    comments = netplan_comment(header, lines=True)
    names = "".join(netplan_comment(f"  peer {p.name}: {p.public_key.base64}")
                    for t in tunnels for p in t.device.peers if p.name)
    # libyaml's emitter when present (20x faster on 10,000 peers); same output as safe_dump.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    body = yaml.dump(netplan_document(tunnels, renderer), Dumper=dumper, sort_keys=False,
                     default_flow_style=False, width=1000)
    return comments + names + body


def render_netplan(tunnels, path: str = "/etc/netplan/60-netdwg.yaml", renderer: str = "networkd",
                   header: str = "") -> RenderedFile:
    """The file for apply: 0600, because netplan warns about anything more open and it may hold keys."""
    secret = any(t.device.private_key is not None or any(p.preshared_key for p in t.device.peers) for t in tunnels)
    return RenderedFile(PurePosixPath(path), format_netplan(tunnels, renderer, header), mode=MODE_PRIVATE,
                        secret=secret, description="netplan wireguard tunnels")


__all__ = ["NetplanRoute", "NetplanTunnel", "load_netplan", "check_netplan", "netplan_document", "format_netplan",
           "render_netplan"]
