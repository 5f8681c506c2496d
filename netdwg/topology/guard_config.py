"""The guard's input: which site LANs the laptop routes into WireGuard, how to
recognise each site, and what to do on it. Also the on-disk format,
``/etc/netdwg/guard.conf``, written by ``netdwg render`` for roaming hosts
with ``guard = yes`` and read by ``netdwg-guard``.

The format is a small INI file: a ``[guard]`` section, then one
``[site NAME]`` section per site. Repeated keys and comma lists both work::

    [guard]
    interface = wg-harbor
    hub_peer = 7a3f...=
    hub_endpoint = relay.example.net:51820

    [site oslo]
    lan = 172.20.10.0/24
    action = metric            # remove | metric | widen
    peer = 7a3f...=            # the peer whose AllowedIPs carry the LAN (the hub)
    dhcp_server = 172.20.10.1  # fingerprint: every key given must match
    router = 172.20.10.1
    router_mac = 02:00:00:00:10:01
    dns_domain = oslo.harbor.test
    keep_hosts = 172.20.10.5   # kept in the tunnel on a foreign LAN with this prefix
    tls_pin = 172.20.10.5:443 sha256:9f86d081...  # optional: an office host's certificate
    ssh_host_key = 172.20.10.5 ssh-ed25519 AAAAC3Nza...  # an office host's SSH key: the proof
    # trust = passive          # only without a proof: let the passive facts above trust the LAN

Parsing keeps file:line for every value, so a mistake reads
``guard.conf:9: invalid action 'metrik'`` with a fix.

Part of the model: the compiler builds a GuardConfig for a host with guard = yes
(HostConfig.guard), the renderer writes it, the importer reads one back, and the
daemon (netdwg.guard) reads the file with netdwg.guard.configfile. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import ipaddress
import struct
import re
from dataclasses import dataclass, field

from netdwg.errors import ConfigError, ParseError, Span
from netdwg.keys import PublicKey
from netdwg.wireguard import Endpoint, IPAddress, IPNetwork

DEFAULT_IDENTIFY_TIMEOUT = 3.0  # seconds
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class Action(enum.Enum):
    REMOVE = "remove"  # delete the overlapping wg route, keep AllowedIPs
    METRIC = "metric"  # re-add the wg route with a metric above the LAN route's
    WIDEN = "widen"  # swap the LAN for a covering prefix in AllowedIPs and routes

    def __str__(self) -> str:
        return self.value


class Trust(enum.Enum):
    """What may make a LAN this site. A proof (ssh_host_key, tls_pin) takes a private key that
    stays in the office; every passive fact (DHCP server id, router address and MAC, DNS domain,
    prefix) is on the wire for any LAN to copy."""

    PROOF = "proof"  # only a declared proof answering; a site without one stays unverified
    PASSIVE = "passive"  # opt-in, for a site without a proof: the passive facts alone suffice

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class TlsPin:
    """An active proof: the office host at host:port presents a certificate with this SHA-256.
    A café can copy a prefix, a server id, a domain and even a MAC; not a private key."""

    host: IPAddress
    port: int
    sha256: str  # lowercase hex of the DER certificate's SHA-256

    @classmethod
    def parse(cls, text: str) -> "TlsPin":
        where, _, digest = text.strip().partition(" ")
        host, _, port = where.rpartition(":")
        digest = digest.strip().lower().removeprefix("sha256:").replace(":", "")
        if not re.fullmatch(r"[0-9a-f]{64}", digest) or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(text)
        return cls(ipaddress.ip_address(host.strip("[]")), int(port), digest)

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.host.version == 6 else str(self.host)
        return f"{host}:{self.port} sha256:{self.sha256}"


SSH_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")


@dataclass(frozen=True, slots=True)
class SshHostKey:
    """An active proof: the office host at host:port proves, in an SSH key exchange, that it
    holds the private half of this host key (a known_hosts line: HOST KEYTYPE BASE64)."""

    host: IPAddress
    port: int
    key_type: str  # ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521
    key: bytes  # the public key blob (what BASE64 decodes to)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the key blob: what a Proof of it carries."""
        return hashlib.sha256(self.key).hexdigest()

    @classmethod
    def parse(cls, text: str) -> "SshHostKey":
        """`HOST KEYTYPE BASE64` or `[HOST]:PORT KEYTYPE BASE64` (known_hosts forms; a comment may follow)."""
        parts = text.split()
        if len(parts) < 3 or parts[1] not in SSH_KEY_TYPES:
            raise ValueError(text)
        where, port = parts[0], 22
        if where.startswith("[") and "]:" in where:
            where, _, port_text = where[1:].partition("]:")
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise ValueError(text)
            port = int(port_text)
        host = ipaddress.ip_address(where.strip("[]"))
        try:
            blob = base64.b64decode(parts[2], validate=True)
            (length,) = struct.unpack(">I", blob[:4])
            inner = blob[4:4 + length].decode("ascii")
        except (binascii.Error, struct.error, UnicodeDecodeError):
            raise ValueError(text) from None
        if inner != parts[1]:  # the blob names its own type: catches a key pasted under the wrong type
            raise ValueError(text)
        return cls(host, port, parts[1], blob)

    def __str__(self) -> str:
        where = str(self.host) if self.port == 22 else f"[{self.host}]:{self.port}"
        return f"{where} {self.key_type} {base64.b64encode(self.key).decode()}"

    def __repr__(self) -> str:  # the blob is long and public; its fingerprint is enough
        return f"SshHostKey({self.host}:{self.port} {self.key_type} sha256:{self.sha256[:16]}…)"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What makes a LAN *this* site. Every non-empty component must match."""

    dhcp_servers: tuple[IPAddress, ...] = ()
    routers: tuple[IPAddress, ...] = ()
    router_macs: tuple[str, ...] = ()  # lowercase aa:bb:cc:dd:ee:ff
    dns_domains: tuple[str, ...] = ()  # lowercase, no trailing dot
    tls_pins: tuple[TlsPin, ...] = ()  # optional active proof; all must match
    ssh_host_keys: tuple[SshHostKey, ...] = ()  # optional active proof; all must match

    def is_empty(self) -> bool:
        return not (self.dhcp_servers or self.routers or self.router_macs or self.dns_domains or self.tls_pins
                    or self.ssh_host_keys)

    def has_proof(self) -> bool:
        return bool(self.tls_pins or self.ssh_host_keys)

    def describe(self) -> str:
        parts = []
        if self.dhcp_servers:
            parts.append("dhcp_server=" + ",".join(map(str, self.dhcp_servers)))
        if self.routers:
            parts.append("router=" + ",".join(map(str, self.routers)))
        if self.router_macs:
            parts.append("router_mac=" + ",".join(self.router_macs))
        if self.dns_domains:
            parts.append("dns_domain=" + ",".join(self.dns_domains))
        if self.tls_pins:
            parts.append("tls_pin=" + ",".join(f"{p.host}:{p.port}" for p in self.tls_pins))
        if self.ssh_host_keys:
            parts.append("ssh_host_key=" + ",".join(f"{p.host}:{p.port}/{p.key_type}" for p in self.ssh_host_keys))
        return " ".join(parts) or "(none)"


@dataclass(frozen=True, slots=True)
class GuardSite:
    name: str
    lan: IPNetwork
    action: Action
    peer: PublicKey  # the peer whose AllowedIPs carry this LAN (on a laptop: the hub)
    widen_to: IPNetwork | None = None
    fingerprint: Fingerprint = field(default_factory=Fingerprint)
    keep_hosts: tuple[IPAddress, ...] = ()
    span: Span | None = field(default=None, compare=False)
    # PASSIVE counts only while the fingerprint declares no proof: a declared proof is always required.
    trust: Trust = Trust.PROOF


@dataclass(frozen=True, slots=True)
class GuardConfig:
    interface: str  # the WireGuard interface, e.g. wg-harbor
    hub_peer: PublicKey
    hub_endpoint: Endpoint | None = None  # re-set on every uplink change
    sites: tuple[GuardSite, ...] = ()
    # How long a LAN may stay unidentified (no lease yet, router MAC unknown)
    # before it is judged foreign. Until then the tunnel route stays: safe.
    identify_timeout: float = DEFAULT_IDENTIFY_TIMEOUT
    # "networkmanager" when NetworkManager owns the WireGuard profile (backend = networkmanager): it puts
    # its routes back on reapply and reconnect, so the guard acts through a policy rule (netdwg-guard(8)).
    managed_by: str = ""

    def site(self, name: str) -> GuardSite | None:
        return next((s for s in self.sites if s.name == name), None)


# --- rendering -------------------------------------------------------------

# guard.conf is read line by line (str.splitlines: CR, NEL and the Unicode separators end lines
# too); a value ends at the first '#' or ';' and is trimmed. A value holding none of these reads back.
_UNSAFE_VALUE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029#;]|^\\s|\\s$")


def guard_line(key: str, value: object) -> str:
    """``key = value``: the one way netdwg writes a value into guard.conf (ValueError: it refuses)."""
    text = str(value)
    if _UNSAFE_VALUE.search(text) is not None or not text:
        raise ValueError(f"cannot write {key} = {text[:60]!r} into guard.conf: '#', ';', a line break or "
                         f"another control character, or surrounding whitespace would change it")
    return f"{key} = {text}"


def guard_section(name: str) -> str:
    """``[site NAME]``: the one way a site name enters guard.conf."""
    if not _SITE_NAME.fullmatch(name):
        raise ValueError(f"cannot write the site name {name[:60]!r} into guard.conf")
    return f"[site {name}]"


def render_guard_config(config: GuardConfig) -> str:
    """The text of /etc/netdwg/guard.conf; `load_guard_config` reads it back equal."""
    lines = ["# netdwg-guard configuration, written by 'netdwg render'.",
             "# See netdwg-guard(8). Every site below is routed into the tunnel while away.",
             "[guard]",
             guard_line("interface", config.interface),
             guard_line("hub_peer", config.hub_peer.base64)]
    if config.hub_endpoint:
        lines.append(guard_line("hub_endpoint", config.hub_endpoint))
    if config.identify_timeout != DEFAULT_IDENTIFY_TIMEOUT:
        lines.append(guard_line("identify_timeout", f"{config.identify_timeout:g}"))
    if config.managed_by:
        lines.append(guard_line("managed_by", config.managed_by))
    for site in config.sites:
        fp = site.fingerprint
        lines += ["", guard_section(site.name),
                  guard_line("lan", site.lan),
                  guard_line("action", site.action)]
        if site.widen_to:
            lines.append(guard_line("widen_to", site.widen_to))
        lines.append(guard_line("peer", site.peer.base64))
        for key, values in (("dhcp_server", fp.dhcp_servers), ("router", fp.routers),
                            ("router_mac", fp.router_macs), ("dns_domain", fp.dns_domains),
                            ("keep_hosts", site.keep_hosts)):
            if values:
                lines.append(guard_line(key, ", ".join(map(str, values))))
        for pin in fp.tls_pins:  # one per line: a pin has a space in it
            lines.append(guard_line("tls_pin", pin))
        for key in fp.ssh_host_keys:
            lines.append(guard_line("ssh_host_key", key))
        if site.trust is not Trust.PROOF:
            lines.append(guard_line("trust", site.trust))
    return "\n".join(lines) + "\n"


# --- parsing ---------------------------------------------------------------

_GUARD_KEYS = {"interface", "hub_peer", "hub_endpoint", "identify_timeout", "managed_by"}
MANAGERS = ("networkmanager",)  # who may own the WireGuard interface besides netdwg's own files
_SITE_KEYS = {"lan", "action", "widen_to", "peer", "dhcp_server", "router", "router_mac",
              "dns_domain", "keep_hosts", "tls_pin", "ssh_host_key", "trust"}
_SITE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(slots=True)
class _Section:
    title: str
    span: Span
    values: dict[str, list[tuple[str, Span]]] = field(default_factory=dict)


def _split_sections(text: str, path: str) -> list[_Section]:
    sections: list[_Section] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip() if not raw.lstrip().startswith(("#", ";")) else ""
        if not line:
            continue
        span = Span(path, number)
        if line.startswith("["):
            if not line.endswith("]"):
                raise ParseError(f"unterminated section header {raw.strip()!r}", span,
                                 fix="write [guard] or [site NAME]")
            sections.append(_Section(" ".join(line[1:-1].split()), span))
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ParseError(f"expected KEY = VALUE, got {raw.strip()!r}", span)
        if not sections:
            raise ParseError(f"key {key.strip()!r} outside a section", span,
                             fix="put it under [guard] or [site NAME]")
        sections[-1].values.setdefault(key.strip().lower(), []).append((value.strip(), span))
    return sections


def _items(section: _Section, key: str) -> list[tuple[str, Span]]:
    out = []
    for value, span in section.values.get(key, []):
        out += [(part.strip(), span) for part in value.split(",") if part.strip()]
    return out


def _one(section: _Section, key: str, required: bool = True) -> tuple[str, Span] | None:
    items = section.values.get(key, [])
    if len(items) > 1:
        raise ParseError(f"{key} given {len(items)} times in [{section.title}]", items[1][1],
                         fix=f"keep one {key} line")
    if not items:
        if required:
            raise ConfigError(f"[{section.title}] has no {key}", span=section.span,
                              fix=f"add '{key} = ...' to [{section.title}]")
        return None
    return items[0]


def _parse_with(kind: str, value: str, span: Span, parse, fix: str):
    try:
        return parse(value)
    except ValueError:
        raise ParseError(f"invalid {kind} {value!r}", span, fix=fix) from None


def _check_keys(section: _Section, allowed: set[str]) -> None:
    for key, items in section.values.items():
        if key not in allowed:
            raise ParseError(f"unknown key {key!r} in [{section.title}]", items[0][1],
                             fix="known keys: " + ", ".join(sorted(allowed)))


def _parse_site(section: _Section, name: str) -> GuardSite:
    _check_keys(section, _SITE_KEYS)
    lan_text, lan_span = _one(section, "lan")
    lan = _parse_with("LAN prefix", lan_text, lan_span, lambda v: ipaddress.ip_network(v, strict=True),
                      "write the network address with its length, e.g. 172.20.10.0/24")
    action_text, action_span = _one(section, "action")
    action = _parse_with("action", action_text, action_span, lambda v: Action(v.lower()),
                         "use remove, metric or widen")
    widen_to = None
    widen = _one(section, "widen_to", required=False)
    if widen:
        widen_to = _parse_with("widen_to prefix", widen[0], widen[1],
                               lambda v: ipaddress.ip_network(v, strict=True),
                               "write a prefix that covers the LAN, e.g. 172.20.0.0/16")
        if widen_to.version != lan.version or not lan.subnet_of(widen_to) or widen_to == lan:
            raise ConfigError(f"widen_to {widen_to} does not strictly cover lan {lan}", span=widen[1],
                              fix="choose a shorter prefix containing the LAN, e.g. "
                                  f"{lan.supernet(new_prefix=max(lan.prefixlen - 8, 0))}")
    if action is Action.WIDEN and widen_to is None:
        raise ConfigError(f"site {name!r}: action = widen needs widen_to", span=action_span,
                          fix=f"add 'widen_to = {lan.supernet(new_prefix=max(lan.prefixlen - 8, 0))}'")
    peer_text, peer_span = _one(section, "peer")
    peer = PublicKey.from_base64(peer_text, peer_span)
    ip = ipaddress.ip_address
    ip_fix = "write an IP address, e.g. 172.20.10.1"
    fingerprint = Fingerprint(
        dhcp_servers=tuple(_parse_with("dhcp_server", v, s, ip, ip_fix) for v, s in _items(section, "dhcp_server")),
        routers=tuple(_parse_with("router", v, s, ip, ip_fix) for v, s in _items(section, "router")),
        router_macs=tuple(_parse_with("router_mac", v, s, _parse_mac, "write six hex pairs, e.g. 02:00:00:00:10:01")
                          for v, s in _items(section, "router_mac")),
        dns_domains=tuple(v.lower().rstrip(".") for v, _ in _items(section, "dns_domain")),
        tls_pins=tuple(_parse_with("tls_pin", v, sp, TlsPin.parse,
                                   "write HOST:PORT sha256:HEX, e.g. 172.20.10.5:443 sha256:9f86d0...")
                       for v, sp in section.values.get("tls_pin", [])),
        ssh_host_keys=tuple(_parse_with("ssh_host_key", v, sp, SshHostKey.parse,
                                        "write HOST KEYTYPE BASE64 as in known_hosts, e.g. the output of "
                                        "'ssh-keyscan -t ed25519 172.20.10.5'")
                            for v, sp in section.values.get("ssh_host_key", [])),
    )
    keep_hosts = tuple(_parse_with("keep_hosts address", v, s, ip, ip_fix) for v, s in _items(section, "keep_hosts"))
    for host, (_, span) in zip(keep_hosts, _items(section, "keep_hosts")):
        if host not in lan:
            raise ConfigError(f"keep_hosts {host} is not in lan {lan}", span=span,
                              fix="list only office hosts on this site's LAN")
    trust = Trust.PROOF
    trust_item = _one(section, "trust", required=False)
    if trust_item:
        trust = _parse_with("trust", trust_item[0], trust_item[1], lambda v: Trust(v.lower()),
                            "use proof (the default) or passive")
    return GuardSite(name=name, lan=lan, action=action, peer=peer, widen_to=widen_to,
                     fingerprint=fingerprint, keep_hosts=keep_hosts, span=section.span, trust=trust)


def _parse_mac(text: str) -> str:
    mac = text.lower().replace("-", ":")
    if not _MAC.match(mac):
        raise ValueError(text)
    return mac


def parse_guard_config(text: str, path: str = "guard.conf") -> GuardConfig:
    sections = _split_sections(text, path)
    guard = [s for s in sections if s.title.lower() == "guard"]
    if len(guard) != 1:
        where = guard[1].span if len(guard) > 1 else Span(path)
        raise ConfigError(f"expected exactly one [guard] section, found {len(guard)}", span=where,
                          fix="start the file with [guard] and interface = / hub_peer =")
    head = guard[0]
    _check_keys(head, _GUARD_KEYS)
    interface, _ = _one(head, "interface")
    hub_text, hub_span = _one(head, "hub_peer")
    hub_peer = PublicKey.from_base64(hub_text, hub_span)
    endpoint = None
    ep = _one(head, "hub_endpoint", required=False)
    if ep:
        endpoint = Endpoint.parse(ep[0], ep[1])
    timeout = DEFAULT_IDENTIFY_TIMEOUT
    it = _one(head, "identify_timeout", required=False)
    if it:
        timeout = _parse_with("identify_timeout", it[0], it[1], float, "write seconds, e.g. 3")
    managed = _one(head, "managed_by", required=False)
    managed_by = managed[0].lower() if managed else ""
    if managed and managed_by not in MANAGERS:
        raise ParseError(f"invalid managed_by {managed[0]!r}", managed[1],
                         fix="write managed_by = networkmanager, or leave it out (netdwg's own files)")
    sites: list[GuardSite] = []
    for section in sections:
        if section is head:
            continue
        kind, _, name = section.title.partition(" ")
        if kind.lower() != "site" or not _SITE_NAME.match(name.strip()):
            raise ParseError(f"unknown section [{section.title}]", section.span,
                             fix="sections are [guard] and [site NAME]")
        name = name.strip()
        if any(s.name == name for s in sites):
            raise ConfigError(f"site {name!r} declared twice", span=section.span,
                              fix="merge the two [site] sections")
        sites.append(_parse_site(section, name))
    for i, a in enumerate(sites):
        for b in sites[i + 1:]:
            if a.lan.version == b.lan.version and a.lan.overlaps(b.lan):
                raise ConfigError(f"sites {a.name!r} and {b.name!r} have overlapping LANs {a.lan} and {b.lan}",
                                  span=b.span, fix="site LANs must be disjoint")
    return GuardConfig(interface=interface, hub_peer=hub_peer, hub_endpoint=endpoint,
                       sites=tuple(sites), identify_timeout=timeout, managed_by=managed_by)
