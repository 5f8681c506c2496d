"""Lossless systemd unit files (.netdev, .network, .link and their drop-ins).

Public API (import from ``netdwg.unitfile``):

Reading and writing, byte for byte
    parse_unit(text: str | bytes, path="") -> UnitFile      ParseError on binary / truncated / 10 MB lines
    load_unit(path, shown=None) -> UnitFile                 reads the file (the only I/O besides locate/load_effective)
    format_unit(unit) -> str  (== unit.format())            format_unit(parse_unit(t)) == t, always
    UnitFile(path, preamble, sections)                      frozen; .sections_named(n), .walk() -> (line, section, node)
    Section(name, header, body) / Section.of(name, header, entries)   .entries, .assignments(key=None), .last(key)
    Assignment(key, value, raw, nlines) | Comment | Blank | Invalid     the nodes; `raw` is the exact source text

Building new files (renderers): same nodes, same formatter
    UnitBuilder(path="")   (netdwg.unitfile.builder; it builds the syntax tree's nodes)
        .comment(text) .blank() .add_section(name, comment="") .append(key, value, sep=",") .extend(pairs)
        .build() -> UnitFile   .format() -> str
    Values: bool -> yes/no, int, str, ipaddress objects, PublicKey, PrivateKey/PresharedKey (revealed:
    the file is where the secret lives; mark the RenderedFile secret), Endpoint, lists -> "a,b".

Effective view (what networkd 252 sees)
    effective_unit(main: UnitFile, dropins: Sequence[UnitFile] = ()) -> EffectiveUnit    pure
    locate_unit(name, root="/", dirs=NETWORK_DIRS) -> UnitLocation(main, dropins, masked)
    load_effective(name, root="/", dirs=NETWORK_DIRS) -> EffectiveUnit
    EffectiveUnit.section(name) / .instances(name) / .get(section, key)
    EffectiveSection.get(key) -> Value | None   .values(key) -> tuple[Value, ...] (after list resets)
    Value(key, text, span: netdwg.errors.Span)            span: the assignment's first line (checks
                                                          report a continued line at its last, as networkd)

Minimal edits (pure, return a new UnitFile; untouched lines stay byte-identical)
    add_peer(unit, peer: WgPeer, comment="", psk_file=None) -> UnitFile
    remove_peer(unit, public_key) -> UnitFile                     comments directly above go with it
    set_peer_allowed_ips(unit, public_key, networks) -> UnitFile
    set_value(unit, section, key, value) -> UnitFile              replaces the winning line, or adds one
    remove_key(unit, section, key) -> UnitFile
    set_peer_value(unit, public_key, key, value) / remove_peer_key(unit, public_key, key)
    sync_peers(unit, peers: Sequence[WgPeer], psk_files=None) -> UnitFile    make the peers exactly these,
                                                                  changing only differing lines
    find_peer(unit, public_key) -> int | None                     index into unit.sections

Typed read views (ipaddress types, netdwg.keys values, netdwg.wireguard.Endpoint)
    netdev_view, wireguard_view, peer_views, match_view, network_view, address_views,
    route_views, routing_policy_rule_views, dhcpv4_view  (each takes an EffectiveUnit)
    to_wg_device(eff, read_secret=None, *, peer_names=False) -> WgDevice
        read_secret(path: PurePosixPath, span: Span) -> str   reads PrivateKeyFile=/PresharedKeyFile=
        peer_names: WgPeer.name from the comment directly above each [WireGuardPeer] (renderers write
        the host name there).

Checks (what `netdwg check` prints)
    check_unit_file(path, text=None, target_version=252, mode=None) -> list[Diagnostic]
    check_unit(unit, kind=None, target_version=252, mode=None, uid=None, gid=None) -> list[Diagnostic]   pure
    check_effective(eff) -> list[Diagnostic]                     whole-device findings (UNIT009)
    netdwg.unitfile.schema: known_keys(kind, section, target_version=252), key_since(kind, section, key),
        sections_for(kind, netdev_kind=None), unit_kind(path)

Bad input (decided to follow what systemd 252 does with the same bytes):
    ParseError (file:line) where systemd rejects the whole file: invalid UTF-8, a line over
    1 MiB of UTF-8, a section header cut before its ']' (what we call "truncated": e.g. a
    file ending in "[WireGuardPe"), bad characters in a section name; and NUL bytes
    ("binary": systemd would take them as line ends, netdwg refuses to guess).
    Accepted and reported by the checker: a file ending inside a backslash continuation
    (UNIT008; systemd parses the pending text), a line without '=' (UNIT005, "Missing '='").
    A file cut at a line boundary is just a shorter file: the checker's UNIT009 and the
    views report what is then missing (no PrivateKey=, a peer without PublicKey=).

Diagnostic codes: UNIT001 parse error, UNIT002 unknown section, UNIT003 unknown key,
UNIT004 key newer than the target systemd, UNIT005 line systemd ignores, UNIT006 file mode,
UNIT007 bad value (key, port, address, a Kind= the target lacks), UNIT008 file ends inside a continuation,
UNIT009 a device networkd will ignore (no Name=/Kind=/private key; check_effective),
UNIT010 the same PublicKey in two [WireGuardPeer] sections of one file.
"""

from __future__ import annotations

# Each public name -> the submodule that defines it. Loaded on first use (PEP 562):
# `from netdwg.unitfile.syntax import ...` does not load views, checks and the schema;
# `from netdwg.unitfile import X` and `netdwg.unitfile.X` work as before.
_SOURCES = {
    "builder": ("UnitBuilder", "make_assignment", "render_value"),
    "check": ("check_effective", "check_unit", "check_unit_file"),
    "edit": ("add_peer", "append_section", "find_peer", "remove_key", "remove_peer", "remove_peer_key",
             "remove_section", "set_peer_allowed_ips", "set_peer_value", "set_value", "sync_peers"),
    "effective": ("NETWORK_DIRS", "EffectiveSection", "EffectiveUnit", "UnitLocation", "Value", "effective_unit",
                  "load_effective", "locate_unit"),
    "io": ("load_unit",),
    "syntax": ("Assignment", "Blank", "Comment", "Invalid", "Section", "UnitFile", "format_unit", "parse_unit"),
    "views": ("AddressView", "DHCPv4View", "MatchView", "NetDevView", "NetworkView", "RouteView",
              "RoutingPolicyRuleView", "WireGuardPeerView", "WireGuardView", "address_views", "dhcpv4_view",
              "match_view", "netdev_view", "network_view", "peer_views", "route_views",
              "routing_policy_rule_views", "to_wg_device", "wireguard_view"),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = [
    "AddressView", "DHCPv4View", "MatchView", "NetDevView", "NetworkView", "RouteView", "RoutingPolicyRuleView",
    "WireGuardPeerView", "WireGuardView", "address_views", "dhcpv4_view", "match_view", "netdev_view",
    "network_view", "peer_views", "route_views", "routing_policy_rule_views", "to_wg_device", "wireguard_view",
    "add_peer", "append_section", "find_peer", "remove_key", "remove_peer", "remove_peer_key", "remove_section",
    "set_peer_allowed_ips", "set_peer_value", "set_value", "sync_peers", "check_effective", "check_unit", "check_unit_file",
    "Assignment", "Blank", "Comment", "EffectiveSection", "EffectiveUnit", "Invalid", "NETWORK_DIRS",
    "Section", "UnitBuilder", "UnitFile", "UnitLocation", "Value", "effective_unit", "format_unit",
    "load_effective", "load_unit", "locate_unit", "make_assignment", "parse_unit", "render_value",
]


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:  # also how `from netdwg.unitfile import views` finds the submodule
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
