"""Topology file (configobj syntax) -> `Topology` values.

Every problem in the file is collected and reported at once as a
`ConfigError` whose diagnostics name file:line and a fix. Only syntax and
types are checked here; whether the network makes sense is the linter's job.
"""

from __future__ import annotations

import difflib
import io
import ipaddress
import re
from pathlib import Path
from types import MappingProxyType

from configobj import ConfigObj, ConfigObjError

from netdwg.errors import ConfigError, Diagnostic, NetdwgError, ParseError, Severity, Span
from netdwg.keys import PublicKey
from netdwg.topology.model import (
    Backend, GuardAction, GuardTrust, Host, Lan, Network, ReturnPath, Role, SiteFingerprint, SitePair, Topology,
)
from netdwg.values import (MAX_NAME_CHARS, MAX_TOPOLOGY_BYTES, ValueRefused, check_dns_name, check_file, check_host,
                           check_interface, check_name, check_text, control_character, read_limited, shown,
                           value_diagnostic)
from netdwg.topology.spec import KNOWN_KEYS, checker, scan_lines
from netdwg.wireguard import Endpoint

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class _Collector:
    """Collects diagnostics while converting; each value error becomes one."""

    def __init__(self, path: str, lines: dict[tuple[str, ...], int],
                 keys_of: dict[tuple[str, ...], dict[str, int]] | None = None) -> None:
        self.path = path
        self.lines = lines
        self.keys_of = keys_of or {}  # section path -> {key: line}, as written
        self.diagnostics: list[Diagnostic] = []

    def span(self, *where: str) -> Span:
        for n in range(len(where), 0, -1):
            line = self.lines.get(tuple(where[:n]))
            if line:
                return Span(self.path, line)
        return Span(self.path)

    def error(self, code: str, where: tuple[str, ...], message: str, fix: str = "", subject: str = "") -> None:
        self.diagnostics.append(Diagnostic(code, Severity.ERROR, message, self.span(*where), subject, fix))

    def convert(self, where: tuple[str, ...], func, value, subject: str = ""):
        """Run func(value); turn a ValueError/NetdwgError into a diagnostic and return None."""
        try:
            return func(value)
        except NetdwgError as err:
            self.error("NDW002", where, err.message, err.fix, subject)
        except ValueError as err:
            self.error("NDW002", where, f"{where[-1]} = {value!r}: {err}", "", subject)
        return None


def _ip_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as err:
        if "has host bits set" in str(err):
            net = ipaddress.ip_network(text.strip(), strict=False)
            raise ValueError(f"{text!r} has host bits set; did you mean {net}?") from None
        raise ValueError(f"{text!r} is not an IP network (write e.g. 10.99.0.0/16)") from None


def _ip_address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None


def _host_address(text: str):
    """A VPN address; a /32 or /128 suffix is tolerated, any other prefix is not."""
    text = text.strip()
    if "/" in text:
        iface = ipaddress.ip_interface(text)
        if iface.network.prefixlen != iface.max_prefixlen:
            raise ValueError(f"{text!r}: write the host address alone (the pool gives the prefix), e.g. {iface.ip}")
        return iface.ip
    return _ip_address(text)


def _lan_interface_address(text: str, prefix):
    text = text.strip()
    if "/" in text:
        return ipaddress.ip_interface(text)
    address = _ip_address(text)
    length = prefix.prefixlen if prefix is not None and prefix.version == address.version else address.max_prefixlen
    return ipaddress.ip_interface(f"{address}/{length}")


def _inside(inner, outer) -> bool:
    """`inner` is a proper part of `outer`."""
    return inner.version == outer.version and inner.prefixlen > outer.prefixlen and inner.subnet_of(outer)


def _mac(text: str) -> str:
    mac = text.strip().lower().replace("-", ":")
    if not _MAC.match(mac):
        raise ValueError(f"{text!r} is not a MAC address (write aa:bb:cc:dd:ee:ff)")
    return mac


def _ssh_host_key(text: str) -> str:
    """known_hosts form, checked (key type, base64, the blob's own type) and normalised."""
    from netdwg.topology.guard_config import SshHostKey  # noqa: PLC0415 (only sites with a pin need it)
    try:
        return str(SshHostKey.parse(text))
    except ValueError:
        raise ValueError(f"{text!r} is not HOST KEYTYPE BASE64 (paste a line of "
                         f"'ssh-keyscan -t ed25519 HOST', quoted)") from None


def _tls_pin(text: str) -> str:
    from netdwg.topology.guard_config import TlsPin  # noqa: PLC0415
    try:
        return str(TlsPin.parse(text))
    except ValueError:
        raise ValueError(f"{text!r} is not HOST:PORT sha256:HEX (64 hex digits of the DER certificate's "
                         f"SHA-256, e.g. from 'openssl x509 -outform der | sha256sum', quoted)") from None


def parse_topology(text: str, path: str = "<topology>") -> Topology:
    """Parse and type-check a topology file's text. Raises ConfigError with every problem."""
    # A 10,000-host file makes ~500,000 small acyclic objects: the cyclic garbage
    # collector's passes over them would add a third to the time. Paused, then restored.
    check_file(path, text, MAX_TOPOLOGY_BYTES, "a topology file")
    if not any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
        # The packaged /etc/netdwg/netdwg.conf is an all-comment template.
        raise ConfigError("describes no network yet (only comments)", span=Span(path),
                          fix="describe your network (netdwg.conf(5); example: /usr/share/doc/netdwg/examples/harbor.conf), "
                              "or give rendered files with --from DIR")
    return _parse(text, path)


def _parse(text: str, path: str) -> Topology:
    """configobj parses the file, `spec.checker` converts and checks every value against the
    configspec; `scan_lines` finds the line of each key for the diagnostics."""
    out = _Collector(path, *scan_lines(text))
    conf = _read_conf(text, path)
    _check_written(conf, out)
    (network_values, host_values, pair_values), errors, unknown = checker().check(conf)
    _report_problems(conf, errors, unknown, out)
    _check_strings(network_values, host_values, pair_values, out)

    network = _network(network_values, out)
    hosts = tuple(_host(name, values, network, out) for name, values in host_values.items())
    pairs = tuple(_pair(name, values, out) for name, values in pair_values.items())
    if out.diagnostics:
        raise ConfigError(f"{path}: invalid topology", tuple(out.diagnostics))
    return Topology(network=network, hosts=hosts, pairs=pairs, path=path)


def _check_written(tree, out: _Collector) -> None:
    """Every value and section name as written: no control character, none too long (netdwg.values).

    Before configobj's Validator, whose messages quote the value: a 10 MB value
    or an escape sequence is refused here, and nothing else is reported with it.
    """
    stack = [((), tree)]
    for base, section in stack:
        for key, value in dict.items(section):
            where = (*base, key)
            is_section = isinstance(value, dict)
            items = [] if is_section else value if isinstance(value, list) else [value]
            named = key if control_character(key) < 0 and len(key) <= MAX_NAME_CHARS else shown(key)
            for item, what in [(key, "section name" if is_section else "key name"), *((v, named) for v in items)]:
                if isinstance(item, str):
                    try:
                        check_text(item, what)
                    except ValueRefused as err:
                        out.diagnostics.append(value_diagnostic(err, out.span(*where), _subject(base)))
                        break  # one finding per key: a bad name is not quoted again with its value
            if is_section:
                stack.append((where, value))
    if out.diagnostics:
        raise ConfigError(f"{out.path}: invalid topology", tuple(out.diagnostics))


def _subject(base: tuple[str, ...]) -> str:
    if len(base) == 2:
        return f"{'host' if base[0] == 'hosts' else 'pair'} '{base[1]}'"
    return ""


def _endpoint_host(text: str, what: str) -> None:
    try:
        endpoint = Endpoint.parse(text)
    except NetdwgError:
        return  # not HOST:PORT: the conversion reports it (NDW002)
    check_host(endpoint.host, what)


# The rule of netdwg.values each string the model keeps meets, by (section kind, key); a list's items each.
# Every other value is converted to a typed one (address, prefix, key, MAC, number, option) or a path.
_RULES = {
    ("network", "name"): (check_name, "network name"), ("network", "interface"): (check_interface, "interface"),
    ("host", "uplink_interface"): (check_interface, "uplink_interface"),
    ("host", "lan_interface"): (check_interface, "lan_interface"),
    ("host", "domain"): (check_dns_name, "domain"), ("host", "endpoint"): (_endpoint_host, "endpoint"),
    ("host", "allow"): (check_name, "host name"), ("host", "reach"): (check_name, "host name"),
    ("pair", "ends"): (check_name, "host name"), ("pair", "interface"): (check_interface, "interface"),
}


def _check_strings(network, hosts, pairs, out: _Collector) -> None:
    """Names, interface names, DNS names and endpoint hosts against what their consumers take (NDW002)."""
    sections = [("network", ("network",), network, "")]
    for group, kind, values in (("hosts", "host", hosts), ("pairs", "pair", pairs)):
        for name, section in values.items():
            subject = f"{kind} '{name}'"
            try:
                check_name(name, f"{kind} name")
            except ValueRefused as err:
                out.diagnostics.append(value_diagnostic(err, out.span(group, name), subject))
            sections.append((kind, (group, name), section, subject))
    for kind, where, section, subject in sections:
        for key, value in section.items():
            rule = _RULES.get((kind, key))
            if rule is None or value is None:
                continue
            check, what = rule
            for item in value if isinstance(value, list) else (value,):
                try:
                    check(item, what)
                except ValueRefused as err:
                    out.diagnostics.append(value_diagnostic(err, out.span(*where, key), subject))


def _read_conf(text: str, path: str) -> ConfigObj:
    try:
        # interpolation=False: values are literal ('%(name)s' was configobj's undocumented
        # ConfigParser-style substitution, and a traceback when the name was unknown).
        return ConfigObj(io.StringIO(text), list_values=True, interpolation=False,
                         raise_errors=False, file_error=True, encoding="utf-8")
    except ConfigObjError as err:
        found = getattr(err, "errors", None) or [err]
        diags = tuple(
            Diagnostic("NDW001", Severity.ERROR, _syntax_message(e), Span(path, getattr(e, "line_number", 0) or 0),
                       fix="see netdwg.conf(5) for the syntax: [section], [[host]], key = value")
            for e in found)
        raise ConfigError(f"{path}: syntax error", diags) from None


def _report_problems(conf: ConfigObj, errors, unknown, out: _Collector) -> None:
    """Bad values, missing and unknown keys as diagnostics. Raises ConfigError on errors."""
    for sections, key, error in errors:
        where = (*sections, key) if key else tuple(sections)
        if error is False:
            if key is None:
                out.error("NDW001", where, f"missing section [{'/'.join(sections)}]")
            else:
                out.error("NDW001", where, f"missing required key '{key}' in [{'/'.join(sections)}]",
                          fix=f"add '{key} = ...' (see netdwg.conf(5))")
        else:
            out.error("NDW001", where, f"{key} = {_value_at(conf, sections, key)!r}: {error}")
    for sections, name in unknown:
        kind = {0: "top", 1: "network" if sections[:1] == ("network",) else "section"}.get(len(sections), "")
        if len(sections) == 2:
            kind = "host" if sections[0] == "hosts" else "pair"
        known = KNOWN_KEYS.get(kind, ())
        guess = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else f"known keys: {', '.join(known)}" if known else ""
        out.diagnostics.append(Diagnostic(
            "NDW003", Severity.ERROR, f"unknown key or section '{name}'", out.span(*sections, name),
            subject=f"[{'/'.join(sections)}]" if sections else "", fix=hint))
    if any(d.severity is Severity.ERROR for d in out.diagnostics):
        raise ConfigError(f"{out.path}: invalid topology", tuple(out.diagnostics))


def load_topology(path: str | Path) -> Topology:
    path = Path(path)
    try:
        data = read_limited(path, MAX_TOPOLOGY_BYTES, "a topology file")  # a larger file is refused unread
    except FileNotFoundError:
        raise NetdwgError(f"{path}: no such topology file",
                          fix="pass --topology FILE, or create /etc/netdwg/netdwg.conf (see netdwg.conf(5))") from None
    except PermissionError:
        raise NetdwgError(f"{path}: permission denied", fix="run as root or fix the file's permissions") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ParseError("not a text file (invalid UTF-8)", Span(str(path), line)) from None
    if "\0" in text:
        raise ParseError("not a text file (NUL byte)", Span(str(path), text[: text.index("\0")].count("\n") + 1))
    return parse_topology(text, str(path))


def _syntax_message(err) -> str:
    message = getattr(err, "msg", None) or str(err)
    return re.sub(r'\s*at line "?\d+"?\.?$', "", message).rstrip(".")


def _value_at(conf, sections, key):
    node = conf
    for name in sections:
        node = node.get(name, {})
    return node.get(key) if key else None


def _spans(out: _Collector, base: tuple[str, ...], values) -> MappingProxyType:
    """"" -> the section's line, key -> the line it was written on.

    Keys left to their defaults are not listed: `Host.span(key)` falls back to
    the section's line for them (10,000 hosts times 25 keys add up).
    """
    path = out.path
    spans = {"": out.span(*base)}
    for key, line in out.keys_of.get(base, {}).items():
        if key in values:
            spans[key] = Span(path, line)
    return MappingProxyType(spans)


def _network(section, out: _Collector) -> Network:
    where = ("network",)
    pool = tuple(p for p in (out.convert((*where, "pool"), _ip_network, v) for v in section["pool"]) if p)
    return Network(
        name=section["name"], interface=section["interface"], pool=pool, port=section["port"],
        mtu=section["mtu"], keepalive=section["keepalive"], hub_keepalive=section["hub_keepalive"],
        systemd_version=section["systemd_version"],
        secrets=section["secrets"], spans=_spans(out, where, section),
    )


def _opt(out, where, func, value):
    return None if value is None else out.convert(where, func, value)


def _host(name: str, s, network: Network, out: _Collector) -> Host:
    where = ("hosts", name)
    subject = f"host '{name}'"
    addresses = tuple(a for a in (out.convert((*where, "address"), _host_address, v, subject) for v in s["address"]) if a)
    lans = tuple(p for p in (out.convert((*where, "lan"), _ip_network, v, subject) for v in s["lan"]) if p)
    lan_addresses = s["lan_address"]
    if lan_addresses and len(lan_addresses) not in (1, len(lans)):
        out.error("NDW002", (*where, "lan_address"), "give one lan_address, or one per LAN in the same order",
                  subject=subject)
        lan_addresses = []
    fingerprint = SiteFingerprint(
        dhcp_server=_opt(out, (*where, "dhcp_server"), _ip_address, s["dhcp_server"]),
        router=_opt(out, (*where, "lan_router"), _ip_address, s["lan_router"]),
        router_mac=_opt(out, (*where, "router_mac"), _mac, s["router_mac"]),
        domain=s["domain"],
        ssh_host_key=_opt(out, (*where, "ssh_host_key"), _ssh_host_key, s["ssh_host_key"]),
        tls_pin=_opt(out, (*where, "tls_pin"), _tls_pin, s["tls_pin"]),
    )
    keep = tuple(a for a in (out.convert((*where, "keep_hosts"), _ip_address, v, subject) for v in s["keep_hosts"]) if a)
    widen_to = _opt(out, (*where, "widen_to"), _ip_network, s["widen_to"])
    within = tuple(p for p in (out.convert((*where, "lan_within"), _ip_network, v, subject)
                               for v in s["lan_within"]) if p)
    for outer in within:
        if not any(_inside(lan, outer) for lan in lans):
            out.error("NDW002", (*where, "lan_within"), f"lan_within {outer} contains none of this site's LANs "
                      f"({', '.join(map(str, lans)) or 'none'})", subject=subject,
                      fix="name the larger network a LAN is part of (a camera /24 inside a home 10.0.0.0/8), "
                          "or remove it")
    lan_values = []
    for index, prefix in enumerate(lans):
        text = lan_addresses[index if len(lan_addresses) > 1 else 0] if lan_addresses else None
        gateway = _opt(out, (*where, "lan_address"), lambda t, p=prefix: _lan_interface_address(t, p), text)
        lan_values.append(Lan(
            prefix=prefix, gateway_address=gateway, interface=s["lan_interface"],
            return_path=ReturnPath(s["return_path"]), router=fingerprint.router, fingerprint=fingerprint,
            guard_action=GuardAction(s["guard_action"]), widen_to=widen_to, keep_hosts=keep,
            trust=GuardTrust(s["trust"]),
            within=max((o for o in within if _inside(prefix, o)), key=lambda o: o.prefixlen, default=None),
        ))
    return Host(
        name=name, role=Role(s["role"]), addresses=addresses,
        endpoint=_opt(out, (*where, "endpoint"), Endpoint.parse, s["endpoint"]),
        backend=Backend(s["backend"]), lans=tuple(lan_values),
        allow=tuple(s["allow"]) if s["allow"] is not None else None,
        reach=tuple(s["reach"]) if s["reach"] is not None else None,
        guard=bool(s["guard"]),
        public_key=_opt(out, (*where, "public_key"), PublicKey.from_base64, s["public_key"]),
        keepalive=s["keepalive"], mtu=s["mtu"], listen_port=s["port"], uplink_interface=s["uplink_interface"],
        spans=_spans(out, where, s),
    )


def _pair(name: str, s, out: _Collector) -> SitePair:
    where = ("pairs", name)
    transfer = out.convert((*where, "transfer"), _ip_network, s["transfer"], f"pair '{name}'")
    if transfer is not None and transfer.num_addresses not in (2, 4):
        out.error("NDW002", (*where, "transfer"), f"transfer network {transfer} must be a /31 or /30 (/127 or /126)",
                  subject=f"pair '{name}'", fix="a point-to-point link needs two addresses")
    ends = tuple(s["ends"])
    names = tuple(s["interface"])  # one name for both ends, or the first end's and the second's
    return SitePair(name=name, ends=(ends[0], ends[1]), transfer=transfer or ipaddress.ip_network("0.0.0.0/31"),
                    interface=names[0], port=s["port"], keepalive=s["keepalive"], span=out.span(*where),
                    interfaces=names if len(names) == 2 and names[0] != names[1] else ())
