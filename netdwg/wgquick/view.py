"""The typed view of a wg-quick file (the `wg` device plus wg-quick's own keys),
with every problem wg-quick or wg would report as a diagnostic."""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, field

from netdwg.errors import ConfigError, Diagnostic, NetdwgError, ParseError, Severity, Span
from netdwg.keys import PresharedKey, PrivateKey, PublicKey
from netdwg.wgquick.syntax import (_C_SPACE, INTERFACE_NAME, WG_INTERFACE_KEYS, WG_PEER_KEYS, WGQUICK_KEYS, ConfLine,
                                   LineKind, WgQuickFile, _drop_space, _lower, _shorten, parse_wgquick_file)
from netdwg.wireguard import Endpoint, IPAddress, IPInterface, IPNetwork, WgDevice, WgPeer


@dataclass(frozen=True, slots=True)
class WgQuickSettings:
    """The wg-quick-only keys of [Interface]; everything `wg` never sees."""

    addresses: tuple[IPInterface, ...] = ()
    dns: tuple[IPAddress, ...] = ()
    dns_search: tuple[str, ...] = ()
    mtu: int | None = None
    table: str | None = None  # "off", "auto", a number or a table name
    pre_up: tuple[str, ...] = ()
    post_up: tuple[str, ...] = ()
    pre_down: tuple[str, ...] = ()
    post_down: tuple[str, ...] = ()
    save_config: bool = False


@dataclass(frozen=True, slots=True)
class WgQuickConfig:
    """A wg-quick file as values: the `wg` device plus wg-quick's own settings."""

    device: WgDevice
    settings: WgQuickSettings = field(default_factory=WgQuickSettings)


# ---- the typed view, with every problem as a diagnostic --------------------


def load_wgquick(text: str, path: str = "<input>", name: str | None = None) -> WgQuickConfig:
    """The typed view; raises ConfigError carrying every error found."""
    config, found = _interpret(parse_wgquick_file(text, path), name)
    errors = tuple(d for d in found if d.severity is Severity.ERROR)
    if errors:
        raise ConfigError(f"{path}: {len(errors)} error(s)", errors)
    return config


def check_wgquick(text: str, path: str = "<input>", mode: int | None = None) -> list[Diagnostic]:
    """Every problem wg-quick or wg would report, plus wg-quick's permission warning.

    `mode` is the file's permission bits already and-ed with its directory's,
    as wg-quick computes it (``stat -c %a`` of both, ``& 0007``).
    """
    file = parse_wgquick_file(text, path)
    _, found = _interpret(file, None)
    basename = path.rsplit("/", 1)[-1]
    if not (basename.endswith(".conf") and INTERFACE_NAME.fullmatch(basename.removesuffix(".conf"))):
        found.insert(0, Diagnostic("WGQ010", Severity.WARNING,
                                   "wg-quick only accepts files named INTERFACE.conf, INTERFACE being 1-15 of "
                                   "a-z A-Z 0-9 _ = + . -", Span(path), fix="rename the file, e.g. wg0.conf"))
    if mode is not None and mode & 0o007:
        has_key = any(line.key == "PrivateKey" and line.section == "interface" for line in file.lines)
        what = "holds a PrivateKey and is" if has_key else "is"
        found.insert(0, Diagnostic("WGQ011", Severity.WARNING, f"{what} world accessible (mode {mode:04o})",
                                   Span(path), fix=f"chmod 600 {path}"))
    return found


def _interpret(file: WgQuickFile, name: str | None) -> tuple[WgQuickConfig, list[Diagnostic]]:
    found: list[Diagnostic] = []
    if name is None:
        base = file.path.rsplit("/", 1)[-1].removesuffix(".conf")
        name = base if INTERFACE_NAME.fullmatch(base) else "wg0"
    device: dict = {"name": name}
    quick: dict = {k: [] for k in ("addresses", "dns", "dns_search", "pre_up", "post_up", "pre_down", "post_down")}
    peers: list[dict] = []
    peer_start: list[int] = []
    pending_comment: str | None = None
    blind = False  # inside an "[ Interface ]" that wg reads and wg-quick does not

    def err(number: int, message: str, fix: str = "", code: str = "WGQ001") -> None:
        found.append(Diagnostic(code, Severity.ERROR, message, Span(file.path, number), fix=fix))

    for number, line in enumerate(file.lines, 1):
        if line.kind is LineKind.SECTION:
            if line.section == "peer":
                peers.append({"allowed_ips": []})
                peer_start.append(number)
                pending_comment = ""
            elif line.section != "interface":
                err(number, f"unknown section {_shorten(line.section)}; wg accepts [Interface] and [Peer]",
                    "fix the section name", "WGQ002")
            blind = line.section == "interface" and _lower(
                line.text.replace("\0", "").strip(" \t").split("#", 1)[0].split("=", 1)[0].strip(_C_SPACE)
            ) != "[interface]"
            if blind:
                # wg ignores the spaces in "[ Interface ]", wg-quick does not: it hands
                # Address, DNS, ... to wg, which rejects them.
                found.append(Diagnostic("WGQ002", Severity.WARNING, f"{_shorten(line.text.strip())} is not "
                                        "[Interface] to wg-quick", Span(file.path, number), fix="write [Interface]"))
            continue
        if line.kind is LineKind.COMMENT:
            if pending_comment == "" and line.text.lstrip(" \t").startswith("#"):
                pending_comment = line.text.lstrip(" \t")[1:].strip()
                if peers and "name" not in peers[-1]:
                    peers[-1]["name"] = pending_comment
            continue
        if line.kind is LineKind.BLANK:
            continue
        pending_comment = None
        if line.kind is LineKind.INVALID:
            err(number, f"line is not KEY = VALUE: {_shorten(line.value)!r}", "write Key = Value or a [Section]")
            continue
        if line.section not in ("interface", "peer"):
            err(number, f"{_shorten(line.key)} outside a section", "put it under [Interface] or [Peer]", "WGQ003")
            continue
        known = (WG_INTERFACE_KEYS + WGQUICK_KEYS) if line.section == "interface" else WG_PEER_KEYS
        if line.key not in known:
            guess = difflib.get_close_matches(line.key, known, n=1, cutoff=0.6) if len(line.key) < 64 else []
            other = (WG_PEER_KEYS if line.section == "interface" else WG_INTERFACE_KEYS + WGQUICK_KEYS)
            hint = (f"did you mean {guess[0]}?" if guess else
                    f"{line.key} belongs in [{'Peer' if line.section == 'interface' else 'Interface'}]"
                    if line.key in other else f"known keys: {', '.join(known)}")
            err(number, f"unknown key {_shorten(line.key)!r} in [{line.section.title()}]", hint, "WGQ004")
            continue
        if blind and line.key in WGQUICK_KEYS:
            err(number, f"{line.key} goes to wg, which rejects it: wg-quick did not see [Interface] above",
                "write the section header as [Interface]", "WGQ004")
            continue
        if line.key in WG_INTERFACE_KEYS + WG_PEER_KEYS and not line.value:
            # wg's get_value() returns NULL for an empty value: "Line unrecognized".
            err(number, f"{line.key} has no value (wg rejects the line)", f"give {line.key} a value or remove the line")
            continue
        try:
            if line.section == "interface":
                _interface_key(line, number, file.path, device, quick)
            else:
                for entry, network in _peer_key(line, number, file.path, peers[-1]):
                    found.append(Diagnostic("WGQ007", Severity.WARNING,
                                            f"AllowedIPs entry {_shorten(entry)!r} has a nonzero host part; "
                                            f"wg masks it to {network}", Span(file.path, number),
                                            fix=f"write {network}"))
        except NetdwgError as error:
            err(number, error.message, error.fix)
    wg_peers: dict[PublicKey, WgPeer] = {}
    for start, peer in zip(peer_start, peers):
        if "public_key" not in peer:
            err(start, "[Peer] without PublicKey (wg: \"A peer is missing a public key\")",
                "add PublicKey = <the peer's public key>", "WGQ005")
            continue
        value = WgPeer(peer["public_key"], tuple(peer["allowed_ips"]), peer.get("preshared_key"),
                       peer.get("endpoint"), peer.get("persistent_keepalive", 0), peer.get("name", ""))
        if value.public_key in wg_peers:
            found.append(Diagnostic("WGQ006", Severity.WARNING, f"peer {value.public_key} appears twice; wg merges "
                                    "the two sections", Span(file.path, start), fix="merge them into one [Peer]"))
            old = wg_peers[value.public_key]
            value = WgPeer(old.public_key, old.allowed_ips + value.allowed_ips,
                           value.preshared_key or old.preshared_key, value.endpoint or old.endpoint,
                           value.persistent_keepalive or old.persistent_keepalive, old.name)
        wg_peers[value.public_key] = value
    settings = WgQuickSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in quick.items()})
    owner: dict[IPNetwork, PublicKey] = {}
    for start, peer in zip(peer_start, peers):
        for net in peer.get("allowed_ips", ()):
            if net in owner and "public_key" in peer and owner[net] != peer["public_key"]:
                # The kernel keeps one peer per prefix: the later peer silently takes it.
                found.append(Diagnostic("WGQ009", Severity.WARNING, f"AllowedIPs {net} is also given to peer "
                                        f"{owner[net]}; wg routes it to this later peer only",
                                        Span(file.path, start), fix="give each prefix to one peer"))
            if "public_key" in peer:
                owner[net] = peer["public_key"]
    if settings.save_config:
        line = next(n for n, li in enumerate(file.lines, 1) if li.key == "SaveConfig" and li.section == "interface")
        found.append(Diagnostic("WGQ008", Severity.WARNING, "SaveConfig = true: `wg-quick down` rewrites this file "
                                "from the live device, dropping comments and any change made meanwhile",
                                Span(file.path, line), fix="set SaveConfig = false and edit the file instead"))
    return WgQuickConfig(WgDevice(peers=tuple(wg_peers.values()), **device), settings), found


def _interface_key(line: ConfLine, number: int, path: str, device: dict, quick: dict) -> None:
    span = Span(path, number)
    value, key = line.value, line.key
    wg_value = _drop_space(value)
    if key == "PrivateKey":
        device["private_key"] = PrivateKey.from_base64(wg_value, span)
    elif key == "ListenPort":
        # wg resolves it with getaddrinfo(), so a service name works there; netdwg
        # wants a number so the file means the same on every host.
        device["listen_port"] = _port(wg_value, "ListenPort", span)
    elif key == "FwMark":
        device["fwmark"] = _fwmark(wg_value, span)
    elif key == "Address":
        quick["addresses"] += [_parse_ip(v, _ip_interface, "address", span) for v in _words(value)]
    elif key == "DNS":
        for word in _words(value):
            # wg-quick: [[ $v =~ (^[0-9.]+$)|(^.*:.*$) ]] is a server, anything else a search domain
            if re.fullmatch(r"[0-9.]+|.*:.*", word):
                quick["dns"].append(_parse_ip(word, _ip_address, "DNS server", span))
            else:
                quick["dns_search"].append(word)
    elif key == "MTU":
        if not value.isdigit() or not 68 <= int(value) <= 65535:
            raise ParseError(f"invalid MTU {_shorten(value)!r}", span, fix="write a number from 68 to 65535, e.g. 1420")
        quick["mtu"] = int(value)
    elif key == "Table":
        quick["table"] = value
    elif key == "SaveConfig":
        if _lower(value) not in ("true", "false"):
            raise ParseError(f"`{_shorten(value)}' is neither true nor false", span,
                             fix="write SaveConfig = true or SaveConfig = false")
        quick["save_config"] = _lower(value) == "true"
    else:  # PreUp, PostUp, PreDown, PostDown: kept as written, run by bash in order
        quick[re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()].append(value)


def _peer_key(line: ConfLine, number: int, path: str, peer: dict) -> list[tuple[str, object]]:
    """Store one [Peer] value; the AllowedIPs entries with host bits set, as written and as wg masks them."""
    span = Span(path, number)
    value = _drop_space(line.value)
    if line.key == "PublicKey":
        peer["public_key"] = PublicKey.from_base64(value, span)
    elif line.key == "PresharedKey":
        peer["preshared_key"] = PresharedKey.from_base64(value, span)
    elif line.key == "Endpoint":
        peer["endpoint"] = Endpoint.parse(value, span)
    elif line.key == "PersistentKeepalive":
        peer["persistent_keepalive"] = 0 if _lower(value) == "off" else _port(value, "PersistentKeepalive", span)
    elif line.key == "AllowedIPs":
        # wg reads a bare address as /32 or /128, and masks host bits (10.0.0.1/24 is 10.0.0.0/24)
        entries = value.split(",")
        interfaces = [_parse_ip(v, _ip_interface, "AllowedIPs entry", span) for v in entries]
        peer["allowed_ips"] += [i.network for i in interfaces]
        return [(e, i.network) for e, i in zip(entries, interfaces) if i.ip != i.network.network_address]
    return []


def _parse_ip(text: str, parse, what: str, span: Span):
    try:
        return parse(text)
    except ValueError:
        raise ParseError(f"invalid {what} {_shorten(text)!r}", span,
                         fix="write an IP address, with /prefix where a network is meant") from None


def _port(text: str, what: str, span: Span) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise ParseError(f"invalid {what} {_shorten(text)!r}", span, fix="write a number from 0 to 65535")
    return int(text)


def _fwmark(text: str, span: Span) -> int:
    if _lower(text) == "off":
        return 0
    try:
        mark = int(text, 16) if _lower(text).startswith("0x") else int(text, 10)
    except ValueError:
        mark = -1
    if not 0 <= mark < 2**32 or not text[:1].isdigit():
        raise ParseError(f"invalid FwMark {_shorten(text)!r}", span, fix="write off, a number or 0x-hex, e.g. 0x51820")
    return mark


def _words(value: str) -> list[str]:
    # wg-quick: ${value//,/ } then word splitting on spaces and tabs
    return value.replace(",", " ").split()


# ipaddress.ip_*() try IPv4 first and pay for an exception on every IPv6 text.
def _ip_interface(text: str) -> IPInterface:
    return (ipaddress.IPv6Interface if ":" in text else ipaddress.IPv4Interface)(text)


def _ip_address(text: str) -> IPAddress:
    return (ipaddress.IPv6Address if ":" in text else ipaddress.IPv4Address)(text)
