"""Diagnostics for unit files, in networkd 252's own words where it has them.

`check_unit_file` is what ``netdwg check`` calls. It never raises for a bad
file: a file systemd would reject becomes an UNIT001 error diagnostic.

Codes: UNIT001 parse error, UNIT002 unknown section, UNIT003 unknown key, UNIT004 key
newer than the target systemd, UNIT005 a line systemd ignores, UNIT006 file mode or
owner, UNIT007 bad value, UNIT008 file ends inside a continuation, UNIT009 a device
networkd will ignore (missing Name=, Kind=, private key), UNIT010 the same peer twice.

Line numbers follow networkd: a continued assignment is reported at its last
physical line (conf-parser.c hands parse_line() the line counter after the
whole logical line was read).
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path
from typing import Callable

from netdwg.errors import Diagnostic, NetdwgError, Severity, Span
from netdwg.unitfile import schema
from netdwg.unitfile.effective import EffectiveUnit, Value, effective_unit
from netdwg.unitfile.io import load_unit, read_unit_bytes
from netdwg.unitfile.syntax import Assignment, Invalid, Section, UnitFile, ends_inside_continuation, parse_unit
from netdwg.unitfile import views
from netdwg.values import ValueRefused, check_interface, value_diagnostic

W, E = Severity.WARNING, Severity.ERROR

# Keys whose value is a secret: networkd warns when such a file is readable by others
# (warn_file_is_world_accessible() in config_parse_wireguard_{private,preshared}_key).
SECRET_KEYS = {("WireGuard", "PrivateKey"), ("WireGuardPeer", "PresharedKey")}


def _one(parse: Callable[[Value], object]) -> Callable[[Value], None]:
    def check(value: Value) -> None:
        parse(value)
    return check


def _each(parse: Callable[[str, Value], object], split=views.words) -> Callable[[Value], None]:
    def check(value: Value) -> None:
        for word in split(value.text):
            try:
                parse(word, value)
            except NetdwgError as err:
                err.word = word  # type: ignore[attr-defined]  # for networkd's message, which names it
                raise
    return check


def _each_space(parse: Callable[[str, Value], object]) -> Callable[[Value], None]:
    return _each(parse, str.split)


def _port(value: Value) -> None:
    views.parse_listen_port(value)


VALIDATORS: dict[tuple[str, str], Callable[[Value], None]] = {
    ("WireGuard", "PrivateKey"): _one(views.parse_private_key),
    ("WireGuard", "ListenPort"): _port,
    ("WireGuard", "FirewallMark"): _one(views.parse_uint),
    ("WireGuard", "FwMark"): _one(views.parse_uint),
    ("WireGuardPeer", "PublicKey"): _one(views.parse_public_key),
    ("WireGuardPeer", "PresharedKey"): _one(views.parse_psk),
    ("WireGuardPeer", "AllowedIPs"): _each(views.parse_network),
    ("WireGuardPeer", "Endpoint"): _one(views.parse_endpoint),
    ("WireGuardPeer", "PersistentKeepalive"): _one(views.parse_keepalive),
    ("Network", "Address"): _each_space(views.parse_interface),
    ("Address", "Address"): _each_space(views.parse_interface),
    ("Route", "Destination"): _each_space(views.parse_network),
    ("RoutingPolicyRule", "To"): _each_space(views.parse_network),
    ("RoutingPolicyRule", "From"): _each_space(views.parse_network),
    ("NetDev", "MTUBytes"): _one(lambda v: views.parse_uint(v, 1)),
}

# networkd 252's own words for a value it ignores (it appends ": <errno text>" to some; never a secret).
_KEY_WORDS = "Failed to decode wireguard key provided by {key}=, ignoring assignment"
NETWORKD_WORDS: dict[tuple[str, str], str] = {
    ("WireGuard", "PrivateKey"): _KEY_WORDS,
    ("WireGuardPeer", "PublicKey"): _KEY_WORDS,
    ("WireGuardPeer", "PresharedKey"): _KEY_WORDS,
    ("WireGuardPeer", "AllowedIPs"): "Network address is invalid, ignoring assignment: {word}",
    ("WireGuardPeer", "PersistentKeepalive"):
        'Failed to parse "{value}" as keepalive interval (range 0\u201365535), ignoring assignment',
    ("WireGuard", "ListenPort"): "Invalid port specification, ignoring assignment: {value}",
    ("Route", "Destination"): "Invalid {key}='{value}', ignoring assignment",
    ("RoutingPolicyRule", "To"): "RPDB rule prefix is invalid, ignoring assignment: {word}",
    ("RoutingPolicyRule", "From"): "RPDB rule prefix is invalid, ignoring assignment: {word}",
}


def _value_message(section: str, key: str, value: str, err: NetdwgError) -> str:
    words = NETWORKD_WORDS.get((section, key))
    if (section, key) == ("WireGuardPeer", "Endpoint") and ":" not in value:
        words = "Unable to find port of endpoint, ignoring assignment: {value}"
    if words is None:
        return err.message
    return words.format(key=key, value=value, word=getattr(err, "word", value))


def _diag(code: str, severity: Severity, message: str, path: str, line: int, fix: str = "") -> Diagnostic:
    return Diagnostic(code, severity, message, Span(path, line), fix=fix)


def check_unit(unit: UnitFile, kind: str | None = None, target_version: int = schema.BASE_VERSION,
               mode: int | None = None, uid: int | None = None, gid: int | None = None) -> list[Diagnostic]:
    """Every finding in one parsed file (pure: ``mode``/``uid``/``gid`` describe the file, if known)."""
    path = unit.path or "<input>"
    kind = kind or schema.unit_kind(path)
    netdev_kind = None
    if kind == "netdev":
        for section in unit.sections_named("NetDev"):
            last = section.last("Kind")
            if last is not None:
                netdev_kind = last.value
    allowed = schema.sections_for(kind, netdev_kind)
    out: list[Diagnostic] = []
    secret_lines: list[int] = []
    known_cache: dict[str, frozenset[str]] = {}
    peer_has_key: dict[int, bool] = {}
    line_of_section: dict[int, int] = {}
    peer_keys: dict[str, int] = {}
    device_name = ""
    for section in unit.sections_named("NetDev"):
        last_name = section.last("Name")
        device_name = last_name.value if last_name is not None else device_name
    for line, section, node in unit.walk():
        if isinstance(node, Section):
            if node.name not in allowed and not node.name.startswith("X-"):
                guess = schema.suggest(node.name, allowed)
                out.append(_diag("UNIT002", W, f"Unknown section '{node.name}'. Ignoring.", path, line,
                                 f"did you mean [{guess}]?" if guess else
                                 f"a {kind or 'unit'} file has " + ", ".join(f"[{s}]" for s in sorted(allowed))))
            if node.name == "WireGuardPeer":
                last_key = node.last("PublicKey")
                peer_has_key[line] = last_key is not None and bool(last_key.value)
                line_of_section[id(node)] = line
            continue
        last_line = line + node.nlines - 1
        if type(node) is Invalid:
            out.append(_diag("UNIT005", W, node.reason, path, last_line,
                             "write Key=value inside a [Section], or comment the line out with #"))
            continue
        if type(node) is not Assignment or section is None or section.name not in allowed:
            continue
        sname, key = section.name, node.key
        if key.startswith("X-"):
            continue
        known = known_cache.get(sname)
        if known is None:
            known = known_cache[sname] = schema.known_keys(kind, sname, target_version)
        if key not in known:
            since = schema.key_since(kind, sname, key)
            message = f"Unknown key '{key}' in section [{sname}], ignoring."
            if since is not None and since > target_version:
                out.append(_diag("UNIT004", W, message + f" ({key}= needs systemd {since}; the target is "
                                 f"systemd {target_version})", path, last_line,
                                 f"use another setting, or raise the target with --systemd-version"))
            else:
                guess = schema.suggest(key, known)
                out.append(_diag("UNIT003", W, message, path, last_line,
                                 f"did you mean '{guess}='?" if guess else
                                 f"see man systemd.{kind or 'network'} for the keys of [{sname}]"))
            continue
        if (sname, key) in SECRET_KEYS and node.value:
            secret_lines.append(last_line)
        if (sname, key) == ("WireGuardPeer", "PublicKey") and node.value:
            first = peer_keys.setdefault(node.value, last_line)
            if first != last_line:
                out.append(_diag("UNIT010", W, f"PublicKey={node.value} is already a peer at line {first}: "
                                 "the kernel keeps one peer, with both sections' settings mixed", path, last_line,
                                 "merge the two [WireGuardPeer] sections into one"))
        validate = VALIDATORS.get((sname, key))
        if validate is not None and node.value:
            try:
                validate(Value(key, node.value, Span(path, last_line)))
            except NetdwgError as err:
                if key == "PublicKey":
                    peer_has_key[line_of_section[id(section)]] = False  # networkd drops the peer too
                out.append(_diag("UNIT007", E, _value_message(sname, key, node.value, err), path, last_line,
                                 err.message if not err.fix else f"{err.message}; {err.fix}"))
    for line, has_key in peer_has_key.items():
        if not has_key:
            who = f"{device_name}: " if device_name else ""
            out.append(_diag("UNIT007", W, f"{who}{path}: WireGuardPeer section without PublicKey= configured. "
                             f"Ignoring [WireGuardPeer] section from line {line}.", path, line,
                             "add PublicKey= (the peer's public key, from 'wg pubkey')"))
    if ends_inside_continuation(unit):
        out.append(Diagnostic("UNIT008", W, "file ends inside a backslash continuation (truncated?); "
                              "systemd parses the text that is there", Span(path, _last_line(unit)),
                              fix="finish the continued value or remove the trailing backslash"))
    if mode is not None:
        out.extend(_mode_diagnostics(path, mode, secret_lines))
        if uid is not None and gid is not None and not _networkd_can_read(mode, uid, gid):
            out.append(Diagnostic("UNIT006", W, f"Failed to open configuration file '{path}': Permission denied "
                                  "(networkd runs as systemd-network and ignores the file)", Span(path),
                                  fix=f"chown root:systemd-network {path} && chmod 0640 {path}"))
    out.sort(key=lambda d: (d.span.line if d.span else 0))
    return out


def _last_line(unit: UnitFile) -> int:
    last = 0
    for line, _section, node in unit.walk():
        last = line + (node.header_nlines if isinstance(node, Section) else node.nlines) - 1
    return last


def _networkd_can_read(mode: int, uid: int, gid: int) -> bool:
    """Whether user systemd-network (networkd drops privileges to it) may read the file."""
    try:
        user = pwd.getpwnam("systemd-network")
    except KeyError:
        return True  # no networkd on this machine: nothing to say
    if uid == 0 and user.pw_uid == 0:
        return True
    if mode & 0o004:
        return True
    if uid == user.pw_uid:
        return bool(mode & 0o400)
    groups = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem}
    return gid in groups and bool(mode & 0o040)


def _mode_diagnostics(path: str, mode: int, secret_lines: list[int]) -> list[Diagnostic]:
    out = []
    if mode & 0o111:
        out.append(Diagnostic("UNIT006", W, f"Configuration file {path} is marked executable. Please remove "
                              "executable permission bits. Proceeding anyway.", Span(path), fix=f"chmod a-x {path}"))
    if mode & 0o002:
        out.append(Diagnostic("UNIT006", W, f"Configuration file {path} is marked world-writable. Please remove "
                              "world writability permission bits. Proceeding anyway.", Span(path),
                              fix=f"chmod o-w {path}"))
    if mode & 0o007:
        # networkd 252 warns once per inline key (any "other" bit, checked here: 0641, 0642, 0644 all warn).
        for line in secret_lines:
            out.append(Diagnostic("UNIT006", W, f"{path} has {mode & 0o7777:04o} mode that is too permissive, "
                                  "please adjust the ownership and access mode.", Span(path, line),
                                  fix=f"chown root:systemd-network {path} && chmod 0640 {path}"))
    return out


def check_effective(eff: EffectiveUnit) -> list[Diagnostic]:
    """What networkd 252 says about a whole .netdev (main file and drop-ins together)."""
    out: list[Diagnostic] = []
    netdev = eff.section("NetDev")
    if netdev is None:
        return out
    name = netdev.get("Name")
    kind = netdev.get("Kind")
    if name is None:
        out.append(Diagnostic("UNIT009", E, f'NetDev without Name= configured in "{eff.path}", ignoring.',
                              netdev.span, fix="add Name=IFNAME to [NetDev]"))
    if name is not None:
        try:
            check_interface(name.text, "Name")
        except ValueRefused as err:
            out.append(value_diagnostic(err, name.span, "[NetDev]"))
    if kind is None:
        out.append(Diagnostic("UNIT009", E, f'NetDev has no Kind= configured in "{eff.path}", ignoring.',
                              netdev.span, fix="add Kind=wireguard (or the device's kind) to [NetDev]"))
    if kind is not None and kind.text == "wireguard":
        wg = eff.section("WireGuard")
        if wg is None or (wg.get("PrivateKey") is None and wg.get("PrivateKeyFile") is None):
            out.append(Diagnostic("UNIT009", E, f"{name.text if name else '?'}: {eff.path}: Missing PrivateKey= or "
                                  "PrivateKeyFile=, Ignoring network device.", wg.span if wg else netdev.span,
                                  fix="add PrivateKeyFile=/etc/systemd/network/NAME.key (mode 0640 "
                                      "root:systemd-network) to [WireGuard]"))
    return out


def _key_file_diagnostics(unit: UnitFile) -> list[Diagnostic]:
    """Key files named by PrivateKeyFile=/PresharedKeyFile=: networkd warns when others may read them."""
    out = []
    path = unit.path or "<input>"
    for line, section, node in unit.walk():
        if type(node) is not Assignment or section is None or not node.value.startswith("/"):
            continue
        if (section.name, node.key) not in {("WireGuard", "PrivateKeyFile"), ("WireGuardPeer", "PresharedKeyFile")}:
            continue
        try:
            st = os.stat(node.value)
        except OSError:
            continue  # a missing key file is reported by apply/networkd; maybe it is not written yet
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o007:
            out.append(Diagnostic("UNIT006", W, f"{node.value} has {st.st_mode & 0o7777:04o} mode that is too "
                                  "permissive, please adjust the ownership and access mode.",
                                  Span(path, line + node.nlines - 1),
                                  fix=f"chown root:systemd-network {node.value} && chmod 0640 {node.value}"))
    return out


def check_unit_file(path: str | Path, text: str | bytes | None = None, target_version: int = schema.BASE_VERSION,
                    mode: int | None = None) -> list[Diagnostic]:
    """Check one .netdev/.network/.link file or drop-in; read it (and its mode) unless ``text`` is given.

    Read from disk, a main .netdev is also checked together with the drop-ins
    in its own directory's ``NAME.d/``, and key files it names are checked
    for their mode.
    """
    shown = str(path)
    uid = gid = None
    from_disk = text is None
    try:
        if text is None:
            text, file_mode = read_unit_bytes(path, shown)
            mode = file_mode if mode is None else mode
            st = os.stat(path)
            uid, gid = st.st_uid, st.st_gid
        unit = parse_unit(text, shown)
    except NetdwgError as err:
        return [Diagnostic("UNIT001", E, err.message, err.span or Span(shown), fix=err.fix)]
    kind = schema.unit_kind(shown)
    out = check_unit(unit, kind, target_version, mode, uid, gid)
    if from_disk:
        out.extend(_key_file_diagnostics(unit))
    if kind == "netdev" and shown.endswith(".netdev"):
        dropins = []
        if from_disk:
            directory = Path(f"{path}.d")
            try:
                names = sorted(n for n in os.listdir(directory) if n.endswith(".conf"))
            except OSError:
                names = []
            for name in names:
                try:
                    dropins.append(load_unit(directory / name))
                except NetdwgError:
                    pass  # reported when the drop-in itself is checked
        out.extend(check_effective(effective_unit(unit, dropins)))
    return out


__all__ = ["check_effective", "check_unit", "check_unit_file", "NETWORKD_WORDS", "VALIDATORS", "SECRET_KEYS"]
