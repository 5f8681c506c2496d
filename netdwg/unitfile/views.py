"""Typed read views of the sections netdwg cares about, built from an `EffectiveUnit`.

Each view is a frozen value with ipaddress types, `netdwg.keys` values and
`netdwg.wireguard.Endpoint`; each keeps the `Span` of its section so messages
can point at the file. A value networkd would reject raises `ParseError` with
the file and line of the assignment. The views never read the host: key files
are returned as paths, and `to_wg_device` takes a ``read_secret`` callback.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import PurePosixPath
from collections.abc import Callable

from netdwg.errors import ParseError, SecretsError, Span
from netdwg.keys import PresharedKey, PrivateKey, PublicKey
from netdwg.unitfile.effective import EffectiveSection, EffectiveUnit, Value
from netdwg.unitfile.syntax import Comment
from netdwg.wireguard import Endpoint, IPAddress, IPInterface, IPNetwork, WgDevice, WgPeer

ReadSecret = Callable[[PurePosixPath, Span], str]

_TRUE = {"1", "yes", "y", "true", "t", "on"}
_FALSE = {"0", "no", "n", "false", "f", "off"}


# -- value parsers (text, span) -> typed value; shared with netdwg.unitfile.check
def words(text: str) -> list[str]:
    """A list value as networkd splits it (commas and whitespace)."""
    return text.replace(",", " ").split()


def parse_bool(value: Value) -> bool:
    low = value.text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ParseError(f"{value.key}= takes a boolean, not {value.text!r}", value.span, fix="write yes or no")


def parse_uint(value: Value, low: int = 0, high: int = 2**32 - 1, words_ok: dict[str, int] | None = None) -> int:
    text = value.text
    if words_ok and text.lower() in words_ok:
        return words_ok[text.lower()]
    try:
        number = int(text, 0)
    except ValueError:
        number = -1
    if not low <= number <= high:
        raise ParseError(f"{value.key}= takes a number from {low} to {high}, not {text!r}", value.span)
    return number


def parse_network(text: str, value: Value) -> IPNetwork:
    try:
        return (ipaddress.IPv6Network if ":" in text else ipaddress.IPv4Network)(text, strict=False)
    except ValueError:
        raise ParseError(f"{value.key}= has an invalid prefix {text!r}", value.span,
                         fix="write ADDRESS/PREFIXLEN, e.g. 10.99.0.2/32") from None


def parse_interface(text: str, value: Value) -> IPInterface:
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        raise ParseError(f"{value.key}= has an invalid address {text!r}", value.span,
                         fix="write ADDRESS/PREFIXLEN, e.g. 10.99.0.1/16") from None


def parse_address(text: str, value: Value) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ParseError(f"{value.key}= has an invalid address {text!r}", value.span) from None


def parse_public_key(value: Value) -> PublicKey:
    return PublicKey.from_base64(value.text, value.span)


def parse_private_key(value: Value) -> PrivateKey:
    return PrivateKey.from_base64(value.text, value.span)


def parse_psk(value: Value) -> PresharedKey:
    return PresharedKey.from_base64(value.text, value.span)


def parse_endpoint(value: Value) -> Endpoint:
    return Endpoint.parse(value.text, value.span)


def parse_allowed_ips(values: tuple[Value, ...]) -> tuple[IPNetwork, ...]:
    return tuple(parse_network(w, v) for v in values for w in words(v.text))


def parse_keepalive(value: Value) -> int:
    return parse_uint(value, 0, 65535, {"off": 0})


def parse_listen_port(value: Value) -> int | None:
    return parse_uint(value, 1, 65535, {"auto": 0}) or None


def _opt(section: EffectiveSection | None, key: str, parse):
    value = section.get(key) if section else None
    return parse(value) if value is not None else None


def _text(section: EffectiveSection | None, key: str) -> str:
    value = section.get(key) if section else None
    return value.text if value else ""


def _span(section: EffectiveSection | None, eff: EffectiveUnit) -> Span:
    return section.span if section else Span(eff.path)


# -- views
@dataclass(frozen=True, slots=True)
class NetDevView:
    """[NetDev]: the device a .netdev creates."""

    name: str
    kind: str
    description: str = ""
    mtu_bytes: int | None = None
    mac_address: str = ""
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class WireGuardView:
    """[WireGuard]: the device's own key, port, mark and route settings."""

    private_key: PrivateKey | None = None
    private_key_file: PurePosixPath | None = None
    listen_port: int | None = None  # None: unset or "auto"
    firewall_mark: int = 0
    route_table: str = ""
    route_metric: int | None = None
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class WireGuardPeerView:
    """One [WireGuardPeer] section, each value parsed."""

    public_key: PublicKey | None
    preshared_key: PresharedKey | None = None
    preshared_key_file: PurePosixPath | None = None
    allowed_ips: tuple[IPNetwork, ...] = ()
    endpoint: Endpoint | None = None
    persistent_keepalive: int = 0
    route_table: str = ""
    route_metric: int | None = None
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class MatchView:
    """[Match]: which links a .network applies to."""

    names: tuple[str, ...] = ()
    mac_addresses: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    drivers: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class NetworkView:
    """[Network]: addresses, gateways, DNS and the link's behaviour."""

    addresses: tuple[IPInterface, ...] = ()
    gateways: tuple[IPAddress, ...] = ()
    dns: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    dhcp: str = "no"
    ip_forward: str = "no"
    ip_masquerade: str = "no"
    link_local_addressing: str = ""
    configure_without_carrier: bool = False
    description: str = ""
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class AddressView:
    """One [Address] section."""

    address: IPInterface
    peer: IPInterface | None = None
    label: str = ""
    route_metric: int | None = None
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class RouteView:
    """One [Route] section."""

    destination: IPNetwork | None = None
    gateway: IPAddress | None = None
    source: IPNetwork | None = None
    preferred_source: IPAddress | None = None
    metric: int | None = None
    table: str = ""
    scope: str = ""
    type: str = ""
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class RoutingPolicyRuleView:
    """One [RoutingPolicyRule] section."""

    to: IPNetwork | None = None
    from_: IPNetwork | None = None
    table: str = ""
    priority: int | None = None
    firewall_mark: str = ""
    incoming_interface: str = ""
    outgoing_interface: str = ""
    family: str = ""
    invert: bool = False
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class DHCPv4View:
    """[DHCPv4]: how the DHCP client installs its routes."""

    route_metric: int | None = None
    route_table: str = ""
    use_dns: bool = True
    use_domains: str = "no"
    use_routes: bool = True
    use_gateway: bool | None = None
    client_identifier: str = ""
    send_hostname: bool = True
    span: Span | None = None


def netdev_view(eff: EffectiveUnit) -> NetDevView:
    sec = eff.section("NetDev")
    return NetDevView(name=_text(sec, "Name"), kind=_text(sec, "Kind"), description=_text(sec, "Description"),
                      mtu_bytes=_opt(sec, "MTUBytes", lambda v: parse_uint(v, 1)),
                      mac_address=_text(sec, "MACAddress"), span=_span(sec, eff))


def wireguard_view(eff: EffectiveUnit) -> WireGuardView:
    sec = eff.section("WireGuard")
    mark = sec.get("FirewallMark") or sec.get("FwMark") if sec else None
    key_file = _text(sec, "PrivateKeyFile")
    return WireGuardView(
        private_key=_opt(sec, "PrivateKey", parse_private_key),
        private_key_file=PurePosixPath(key_file) if key_file else None,
        listen_port=_opt(sec, "ListenPort", parse_listen_port),
        firewall_mark=parse_uint(mark) if mark else 0,
        route_table=_text(sec, "RouteTable"),
        route_metric=_opt(sec, "RouteMetric", parse_uint),
        span=_span(sec, eff))


def peer_view(sec: EffectiveSection) -> WireGuardPeerView:
    won = sec.winners()  # one pass over the section (a hub reads 10,000 of them), not one per key

    def opt(key: str, parse):
        value = won.get(key)
        return parse(value) if value is not None else None

    psk_file = won.get("PresharedKeyFile")
    route_table = won.get("RouteTable")
    return WireGuardPeerView(
        public_key=opt("PublicKey", parse_public_key),
        preshared_key=opt("PresharedKey", parse_psk),
        preshared_key_file=PurePosixPath(psk_file.text) if psk_file else None,
        allowed_ips=parse_allowed_ips(sec.values("AllowedIPs")),
        endpoint=opt("Endpoint", parse_endpoint),
        persistent_keepalive=opt("PersistentKeepalive", parse_keepalive) or 0,
        route_table=route_table.text if route_table else "",
        route_metric=opt("RouteMetric", parse_uint),
        span=sec.span)


def peer_views(eff: EffectiveUnit) -> tuple[WireGuardPeerView, ...]:
    return tuple(peer_view(s) for s in eff.instances("WireGuardPeer"))


def _list(sec: EffectiveSection | None, key: str) -> tuple[str, ...]:
    return tuple(w for v in (sec.values(key) if sec else ()) for w in v.text.split())


def match_view(eff: EffectiveUnit) -> MatchView:
    sec = eff.section("Match")
    return MatchView(names=_list(sec, "Name"), mac_addresses=_list(sec, "MACAddress"), types=_list(sec, "Type"),
                     drivers=_list(sec, "Driver"), paths=_list(sec, "Path"), kinds=_list(sec, "Kind"),
                     span=_span(sec, eff))


def network_view(eff: EffectiveUnit) -> NetworkView:
    sec = eff.section("Network")
    values = sec.values if sec else (lambda key: ())
    return NetworkView(
        addresses=tuple(parse_interface(w, v) for v in values("Address") for w in v.text.split()),
        gateways=tuple(parse_address(w, v) for v in values("Gateway") for w in v.text.split()),
        dns=_list(sec, "DNS"), domains=_list(sec, "Domains"),
        dhcp=_text(sec, "DHCP") or "no", ip_forward=_text(sec, "IPForward") or "no",
        ip_masquerade=_text(sec, "IPMasquerade") or "no",
        link_local_addressing=_text(sec, "LinkLocalAddressing"),
        configure_without_carrier=_opt(sec, "ConfigureWithoutCarrier", parse_bool) or False,
        description=_text(sec, "Description"), span=_span(sec, eff))


def address_views(eff: EffectiveUnit) -> tuple[AddressView, ...]:
    out = []
    for sec in eff.instances("Address"):
        value = sec.get("Address")
        if value is None:
            raise ParseError("[Address] section without Address= (networkd ignores it)", sec.span,
                             fix="add Address=ADDRESS/PREFIXLEN or remove the section")
        peer = sec.get("Peer")
        out.append(AddressView(parse_interface(value.text, value),
                               parse_interface(peer.text, peer) if peer else None,
                               _text(sec, "Label"), _opt(sec, "RouteMetric", parse_uint), sec.span))
    return tuple(out)


def _net_or_none(sec: EffectiveSection, key: str) -> IPNetwork | None:
    value = sec.get(key)
    return parse_network(value.text, value) if value else None


def _addr_or_none(sec: EffectiveSection, key: str) -> IPAddress | None:
    value = sec.get(key)
    if value is None or value.text in ("_dhcp4", "_ipv6ra", "_dhcp"):
        return None
    return parse_address(value.text, value)


def route_views(eff: EffectiveUnit) -> tuple[RouteView, ...]:
    return tuple(RouteView(destination=_net_or_none(sec, "Destination"), gateway=_addr_or_none(sec, "Gateway"),
                           source=_net_or_none(sec, "Source"),
                           preferred_source=_addr_or_none(sec, "PreferredSource"),
                           metric=_opt(sec, "Metric", parse_uint), table=_text(sec, "Table"),
                           scope=_text(sec, "Scope"), type=_text(sec, "Type"), span=sec.span)
                 for sec in eff.instances("Route"))


def routing_policy_rule_views(eff: EffectiveUnit) -> tuple[RoutingPolicyRuleView, ...]:
    return tuple(RoutingPolicyRuleView(
        to=_net_or_none(sec, "To"), from_=_net_or_none(sec, "From"), table=_text(sec, "Table"),
        priority=_opt(sec, "Priority", parse_uint), firewall_mark=_text(sec, "FirewallMark"),
        incoming_interface=_text(sec, "IncomingInterface"), outgoing_interface=_text(sec, "OutgoingInterface"),
        family=_text(sec, "Family"), invert=_opt(sec, "InvertRule", parse_bool) or False, span=sec.span)
        for sec in eff.instances("RoutingPolicyRule"))


def dhcpv4_view(eff: EffectiveUnit) -> DHCPv4View:
    sec = eff.section("DHCPv4")

    def flag(key: str, default: bool | None):
        result = _opt(sec, key, parse_bool)
        return default if result is None else result

    return DHCPv4View(route_metric=_opt(sec, "RouteMetric", parse_uint), route_table=_text(sec, "RouteTable"),
                      use_dns=flag("UseDNS", True), use_domains=_text(sec, "UseDomains") or "no",
                      use_routes=flag("UseRoutes", True), use_gateway=flag("UseGateway", None),
                      client_identifier=_text(sec, "ClientIdentifier"), send_hostname=flag("SendHostname", True),
                      span=_span(sec, eff))


def _read_key(read_secret: ReadSecret | None, path: PurePosixPath, span: Span, parse):
    if read_secret is None:
        raise SecretsError(f"{path} holds a key, and no reader was given", span,
                           fix="pass read_secret= to read key files (the view itself never reads the host)")
    text = read_secret(path, span)
    return parse(Value("key file " + str(path), text.strip(), span))


def to_wg_device(eff: EffectiveUnit, read_secret: ReadSecret | None = None, *,
                 peer_names: bool = False) -> WgDevice:
    """The WireGuard device a .netdev describes, as netdwg.wireguard values.

    Peers without PublicKey= are skipped, as networkd skips them (the checker
    warns). Key files are read through ``read_secret(path, span) -> text``.
    ``peer_names``: fill `WgPeer.name` from the first word of the first
    comment inside each ``[WireGuardPeer]`` (where netdwg's renderers write
    the peer's host name), for messages such as "remove peer spoke-3".
    """
    return _to_wg_device(eff, read_secret, peer_names)


def _to_wg_device(eff: EffectiveUnit, read_secret: ReadSecret | None, peer_names: bool) -> WgDevice:
    netdev = netdev_view(eff)
    if netdev.kind and netdev.kind != "wireguard":
        raise ParseError(f"{eff.path} is a Kind={netdev.kind} device, not wireguard", netdev.span)
    wg = wireguard_view(eff)
    private = wg.private_key
    if private is None and wg.private_key_file is not None:
        private = _read_key(read_secret, wg.private_key_file, wg.span or Span(eff.path), parse_private_key)
    peers = []
    for sec in eff.instances("WireGuardPeer"):
        view = peer_view(sec)
        if view.public_key is None:
            continue
        psk = view.preshared_key
        if psk is None and view.preshared_key_file is not None:
            psk = _read_key(read_secret, view.preshared_key_file, view.span or Span(eff.path), parse_psk)
        peers.append(WgPeer(public_key=view.public_key, allowed_ips=view.allowed_ips, preshared_key=psk,
                            endpoint=view.endpoint, persistent_keepalive=view.persistent_keepalive,
                            name=section_name_comment(sec) if peer_names else ""))
    return WgDevice(name=netdev.name, private_key=private, listen_port=wg.listen_port,
                    fwmark=wg.firewall_mark, peers=tuple(peers))


def section_name_comment(sec: EffectiveSection) -> str:
    """The peer's name: first word of the comment run directly above its header ("# spoke-3: office").

    That run belongs to the section (netdwg.unitfile.edit moves and removes it
    with the peer); the renderers write the peer's host name there.
    """
    if sec._source is None:
        return ""
    above = sec._source[3]
    texts = []
    for entry in reversed(above if type(above) is tuple else above.entries):
        if type(entry) is not Comment:
            break
        texts.append(entry.text)
    for text in reversed(texts):
        if text:
            return text.split()[0].strip(":,")
    return ""
