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

import base64
import binascii
import grp
import ipaddress
import os
import pwd
import stat
from pathlib import Path, PurePosixPath
from typing import Callable

from netdwg.errors import Diagnostic, NetdwgError, Severity, Span
from netdwg.networkd_versions import has
from netdwg.unitfile import schema
from netdwg.unitfile.check_address import ADDRESS_KEYS, address_key
from netdwg.unitfile.check_kind import kind_warning
from netdwg.unitfile.effective import NETWORK_DIRS, EffectiveUnit, Value, effective_unit
from netdwg.unitfile.io import dropin_paths, read_unit_bytes
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
    ("WireGuardPeer", "Endpoint"): _one(views.parse_endpoint),
    ("WireGuardPeer", "PersistentKeepalive"): _one(views.parse_keepalive),
    # one address per assignment: networkd 252 parses the whole value ("a b" is invalid)
    ("Network", "Address"): _one(lambda v: views.parse_interface(v.text, v)),
    ("Address", "RouteMetric"): _one(views.parse_uint),
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
    ("Network", "Address"): "Invalid address '{value}', ignoring assignment",
    ("Address", "RouteMetric"): "Could not parse RouteMetric=, ignoring assignment: {value}",
    ("WireGuardPeer", "PersistentKeepalive"):
        'Failed to parse "{value}" as keepalive interval (range 0\u201365535), ignoring assignment',
    ("WireGuard", "ListenPort"): "Invalid port specification, ignoring assignment: {value}",
    ("Route", "Destination"): "Invalid {key}='{value}', ignoring assignment",
    ("RoutingPolicyRule", "To"): "RPDB rule prefix is invalid, ignoring assignment: {word}",
    ("RoutingPolicyRule", "From"): "RPDB rule prefix is invalid, ignoring assignment: {word}",
}


# Keys that take an "@name" credential instead of the secret or endpoint itself
# (schema.CREDENTIAL_SINCE); older networkd fails to decode "@name" and ignores the line.
CREDENTIAL_KEYS = frozenset({("WireGuard", "PrivateKey"), ("WireGuardPeer", "PresharedKey"),
                             ("WireGuardPeer", "Endpoint")})


def is_credential(section: str, key: str, value: str, target_version: int) -> bool:
    """Whether networkd ``target_version`` reads ``value`` as a credential name (256+: ``@name``)."""
    return ((section, key) in CREDENTIAL_KEYS and value.startswith("@") and len(value) > 1
            and target_version >= schema.CREDENTIAL_SINCE)


def _allowed_ips(value: str, path: str, line: int) -> list[Diagnostic]:
    """networkd's warnings for one AllowedIPs= line, each naming its entry, in its order."""
    out = []
    for word in views.words(value):
        try:
            net = ipaddress.ip_interface(word)
        except ValueError:
            out.append(_diag("UNIT007", W, f"Network address is invalid, ignoring assignment: {word}", path, line,
                             f"AllowedIPs= has an invalid prefix {word!r}; write ADDRESS/PREFIXLEN, "
                             "e.g. 10.99.0.2/32"))
            continue
        if net.ip != net.network.network_address:
            out.append(_diag("UNIT007", W, f"Specified address '{word}' is not properly masked, assuming "
                             f"'{net.network}'.", path, line, f"write {net.network}"))
    return out


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
    allowed = schema.sections_for(kind, netdev_kind, target_version)
    out: list[Diagnostic] = []
    secret_lines: list[int] = []
    known_cache: dict[str, frozenset[str]] = {}
    peer_has_key: dict[int, bool] = {}
    line_of_section: dict[int, int] = {}
    peer_keys: dict[str, int] = {}
    families: dict[int, list[int]] = {}  # [Address] section -> its family so far (check_address)
    device_name = ""
    for section in unit.sections_named("NetDev"):
        last_name = section.last("Name")
        device_name = last_name.value if last_name is not None else device_name
    for line, section, node in unit.walk():
        if isinstance(node, Section):
            if node.name not in allowed and not node.name.startswith("X-"):
                out.append(_unknown_section(node.name, kind, netdev_kind, allowed, target_version, path, line))
            if node.name == "WireGuardPeer":
                peer_has_key[line] = any(node.last(k) is not None and bool(node.last(k).value)
                                         for k in ("PublicKey", "PublicKeyFile") if k in schema.known_keys(
                                             "netdev", "WireGuardPeer", target_version))
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
            out.append(_unknown_key(key, sname, kind, known, target_version, path, last_line))
            continue
        if (sname, key) in SECRET_KEYS and node.value:
            secret_lines.append(last_line)
        if (sname, key) == ("WireGuardPeer", "PublicKey") and node.value:
            first = peer_keys.setdefault(node.value, last_line)
            if first != last_line:
                out.append(_diag("UNIT010", W, f"PublicKey={node.value} is already a peer at line {first}: "
                                 "the kernel keeps one peer, with both sections' settings mixed", path, last_line,
                                 "merge the two [WireGuardPeer] sections into one"))
        if (sname, key) == ("NetDev", "Kind") and (warning := kind_warning(node.value, target_version)):
            out.append(_diag("UNIT007", W, warning[0], path, last_line, warning[1]))
        validate = VALIDATORS.get((sname, key))
        if is_credential(sname, key, node.value, target_version):
            continue  # networkd reads it from $CREDENTIALS_DIRECTORY or the encrypted store at start
        if (sname, key) == ("WireGuardPeer", "AllowedIPs"):
            out.extend(_allowed_ips(node.value, path, last_line))
            continue
        if sname == "Address" and key in ADDRESS_KEYS and node.value:
            message = address_key(families.setdefault(id(section), [0]), key, node.value)
            if message is not None:
                out.append(_diag("UNIT007", W, message, path, last_line,
                                 "one [Address] section holds one address family: write ADDRESS/PREFIXLEN, "
                                 "and Peer=/Broadcast= of the same family"))
            continue
        if validate is not None and node.value:
            try:
                validate(Value(key, node.value, Span(path, last_line)))
            except NetdwgError as err:
                if key == "PublicKey":
                    peer_has_key[line_of_section[id(section)]] = False  # networkd drops the peer too
                # networkd 252 logs these at LOG_WARNING and ignores the assignment (a device left
                # without a private key is UNIT009, an error, in check_effective)
                fix = err.message if not err.fix else f"{err.message}; {err.fix}"
                if (sname, key) in CREDENTIAL_KEYS and node.value.startswith("@"):
                    fix = (f"'@name' credentials need systemd {schema.CREDENTIAL_SINCE} (the target is systemd "
                           f"{target_version}); write the value, or raise the target with --systemd-version")
                out.append(_diag("UNIT007", W, _value_message(sname, key, node.value, err), path, last_line, fix))
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


def _unknown_key(key: str, sname: str, kind: str | None, known: frozenset[str], target_version: int,
                 path: str, line: int) -> Diagnostic:
    """networkd's "Unknown key" warning, with the release that added or removed the key."""
    since, until = schema.key_since(kind, sname, key), schema.key_until(kind, sname, key)
    message = f"Unknown key '{key}' in section [{sname}], ignoring."
    if since is not None and since > target_version:
        return _diag("UNIT004", W, message + f" ({key}= needs systemd {since}; the target is systemd "
                     f"{target_version})", path, line, "use another setting, or raise the target with --systemd-version")
    if until is not None and until < target_version:
        return _diag("UNIT004", W, message + f" ({key}= was removed after systemd {until})", path, line,
                     f"see man systemd.{kind or 'network'} of systemd {target_version} for what replaced it")
    guess = schema.suggest(key, known)
    return _diag("UNIT003", W, message + _beyond_tables(target_version), path, line,
                 f"did you mean '{guess}='?" if guess else f"see man systemd.{kind or 'network'} for the keys of [{sname}]")


def _unknown_section(name: str, kind: str | None, netdev_kind: str | None, allowed: frozenset[str],
                     target_version: int, path: str, line: int) -> Diagnostic:
    message = f"Unknown section '{name}'. Ignoring."
    newest = schema.sections_for(kind, netdev_kind, schema.newest_release())
    if name in newest and name not in allowed:
        since = min(schema.key_since(kind, name, k) or 0 for k in schema.known_keys(kind, name, schema.newest_release()))
        if since > target_version:
            return _diag("UNIT004", W, message + f" ([{name}] needs systemd {since}; the target is systemd "
                         f"{target_version})", path, line, "raise the target with --systemd-version")
    guess = schema.suggest(name, allowed)
    return _diag("UNIT002", W, message + _beyond_tables(target_version), path, line,
                 f"did you mean [{guess}]?" if guess else
                 f"a {kind or 'unit'} file has " + ", ".join(f"[{s}]" for s in sorted(allowed)))


def _beyond_tables(target_version: int) -> str:
    newest = schema.newest_release()
    return f" (netdwg knows systemd up to {newest}; the target is {target_version})" if target_version > newest else ""


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


def check_effective(eff: EffectiveUnit, target_version: int = schema.BASE_VERSION) -> list[Diagnostic]:
    """What networkd says about a whole .netdev (main file and drop-ins together)."""
    out: list[Diagnostic] = []
    netdev = eff.section("NetDev")
    if netdev is None:
        return out
    name = netdev.get("Name")
    # networkd keeps the first Kind= it can parse (config_parse_netdev_kind(); check_kind)
    kind = next((v for v in netdev.values("Kind") if v.text in schema.netdev_kinds(target_version)), None)
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
    # networkd drops a .netdev without Name= before it verifies the kind's settings
    if name is not None and kind is not None and kind.text == "wireguard":
        wg = eff.section("WireGuard")
        if (wg is None or (not _usable_private_key(wg.values("PrivateKey"), target_version)
                           and wg.get("PrivateKeyFile") is None)) \
                and has("wireguard_default_key_credential", target_version):
            # then networkd reads the credential network.wireguard.private.CONFIG (netdwg.networkd_versions)
            config = PurePosixPath(eff.path).name.removesuffix(".netdev")
            out.append(Diagnostic("UNIT009", Severity.INFO, f"{eff.path}: no PrivateKey= or PrivateKeyFile=: networkd "
                                  f"{target_version} reads the credential network.wireguard.private.{config} at start "
                                  "and ignores the device without it", wg.span if wg else netdev.span,
                                  fix=f"pass that credential to systemd-networkd.service (LoadCredential=), "
                                      "or add PrivateKeyFile= to [WireGuard]"))
        elif wg is None or (not _usable_private_key(wg.values("PrivateKey"), target_version)
                            and wg.get("PrivateKeyFile") is None):
            out.append(Diagnostic("UNIT009", E, f"{name.text if name else '?'}: {eff.path}: Missing PrivateKey= or "
                                  "PrivateKeyFile=, Ignoring network device.", wg.span if wg else netdev.span,
                                  fix="add PrivateKeyFile=/etc/systemd/network/NAME.key (mode 0640 "
                                      "root:systemd-network) to [WireGuard]"))
    return out


def _usable_private_key(values: tuple[Value, ...], target_version: int) -> bool:
    """Whether one PrivateKey= line sets a key (networkd ignores a line it cannot decode)."""
    for value in values:
        if is_credential("WireGuard", "PrivateKey", value.text, target_version):
            return True
        try:
            views.parse_private_key(value)
            return True
        except NetdwgError:
            continue
    return False


def _key_file_diagnostics(eff: EffectiveUnit, target_version: int) -> list[Diagnostic]:
    """The key files networkd reads for this device (the winning PrivateKeyFile=/PresharedKeyFile=)."""
    from netdwg.unitfile.io import read_key_file

    out = []
    name = (eff.get("NetDev", "Name").text + ": ") if eff.get("NetDev", "Name") is not None else ""
    wg = eff.section("WireGuard")
    wanted = []
    if wg is not None and wg.get("PrivateKeyFile") is not None:
        value = wg.get("PrivateKeyFile")
        wanted.append((value, f"Failed to read private key from {value.text}. Ignoring network device."))
    peer_files = [("PresharedKeyFile", "preshared")]
    if "PublicKeyFile" in schema.known_keys("netdev", "WireGuardPeer", target_version):
        peer_files.insert(0, ("PublicKeyFile", "public"))
    for peer in eff.instances("WireGuardPeer"):
        for key, what in peer_files:
            value = peer.get(key)
            if value is not None:
                wanted.append((value, f"{peer.span.path}: Failed to read {what} key from '{value.text}'. "
                                      f"Ignoring [WireGuardPeer] section from line {peer.span.line}."))
    for value, failure in wanted:
        key_path, span = value.text, value.span
        if not key_path.startswith("/"):
            out.append(Diagnostic("UNIT007", W, f"{value.key}= path is not absolute, ignoring assignment: {key_path}",
                                  span, fix=f"write the full path, e.g. /etc/systemd/network/{key_path}"))
            continue
        data, mode, why = read_key_file(key_path)
        if data is None:
            # Checked in place (a networkd directory) networkd would fail just so; a copy checked
            # elsewhere (a rendered tree, another machine's files) may name a key not written here.
            if str(PurePosixPath(eff.path).parent) in NETWORK_DIRS:
                out.append(Diagnostic("UNIT007", E, name + failure, span,
                                      fix=f"cannot read {key_path}: {why}; create it with 'wg genkey' "
                                          "(0640 root:systemd-network), or fix the path"))
            continue
        if not _is_key(data):
            out.append(Diagnostic("UNIT007", E, name + failure, span,
                                  fix=f"{key_path} must hold one base64 key of 32 bytes ('wg genkey' / 'wg genpsk')"))
        if mode & 0o007:
            out.append(Diagnostic("UNIT006", W, f"{key_path} has {mode:04o} mode that is too "
                                  "permissive, please adjust the ownership and access mode.", span,
                                  fix=f"chown root:systemd-network {key_path} && chmod 0640 {key_path}"))
    return out


def _is_key(data: bytes) -> bool:
    """networkd's READ_FULL_FILE_UNBASE64: base64 with any whitespace, 32 bytes once decoded."""
    try:
        return len(base64.b64decode(b"".join(data.split()), validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def _read_error(err: NetdwgError, shown: str) -> list[Diagnostic]:
    """A file that could not be read: UNIT001, or the diagnostic of a limit it is over (netdwg.values: NDW005)."""
    found = getattr(err, "diagnostics", ())
    return list(found) or [Diagnostic("UNIT001", E, err.message, err.span or Span(shown), fix=err.fix)]


def check_unit_file(path: str | Path, text: str | bytes | None = None, target_version: int = schema.BASE_VERSION,
                    mode: int | None = None, *, dropins: bool | None = None) -> list[Diagnostic]:
    """Check one .netdev/.network/.link file or drop-in; read it (and its mode) unless ``text`` is given.

    With ``dropins`` (default: when the file is read here) the file is checked
    as networkd reads it: a main file together with the drop-ins in its own
    directory's ``NAME.d/*.conf`` (each checked too), and the key files the
    result names (readable, a 32-byte key, not readable by others).
    """
    shown = str(path)
    from_disk = text is None if dropins is None else dropins
    try:
        unit, mode, uid, gid = _read_unit(path, text, mode, owner=text is None)
    except NetdwgError as err:
        return _read_error(err, shown)
    kind = schema.unit_kind(shown)
    out = check_unit(unit, kind, target_version, mode, uid, gid)
    units = [unit]
    is_main = shown.endswith(tuple("." + k for k in ("netdev", "network", "link")))
    if from_disk and is_main:
        for dropin in dropin_paths(path):
            try:
                units.append(_read_unit(dropin, None, None, owner=uid is not None))
            except NetdwgError as err:
                out += _read_error(err, str(dropin))
                continue
            out.extend(check_unit(units[-1][0], kind, target_version, *units[-1][1:]))
        units = [unit] + [u[0] for u in units[1:]]
    if kind == "netdev":
        eff = effective_unit(units[0], units[1:])
        if from_disk:
            out.extend(_key_file_diagnostics(eff, target_version))
        if is_main:
            out.extend(check_effective(eff, target_version))
    return out


def _read_unit(path: str | Path, text: str | bytes | None, mode: int | None, owner: bool):
    """The parsed file, its mode and (with ``owner``) its owner; read from disk unless ``text`` is given."""
    uid = gid = None
    if text is None:
        text, file_mode = read_unit_bytes(path, str(path))
        mode = file_mode if mode is None else mode
    if owner:
        st = os.stat(path)
        uid, gid = st.st_uid, st.st_gid
    return parse_unit(text, str(path)), mode, uid, gid


__all__ = ["check_effective", "check_unit", "check_unit_file", "is_credential", "NETWORKD_WORDS", "VALIDATORS",
           "SECRET_KEYS", "CREDENTIAL_KEYS"]
