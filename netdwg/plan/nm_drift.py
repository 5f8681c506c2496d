"""What differs between the WireGuard profile netdwg rendered and the one NetworkManager holds.

    profile_differences(wanted, held, secrets=True) -> tuple[NmDifference, ...]
    held_differences(wanted, held: NmHeld) -> tuple[NmDifference, ...]   also: not loaded, loaded elsewhere

`wanted` is the rendered keyfile read back (netdwg.keyfiles.load_nm_wireguard), `held` what NetworkManager
reports over D-Bus (netdwg.keyfiles.settings.profile_from_settings of GetSettings, with GetSecrets merged
in only when `secrets`). Settings are named as NetworkManager names them (settings-nmcli(5)), a peer's by
its keyfile group, `wireguard-peer.<public key>`. A secret (private key, preshared key) is compared but never shown:
a difference says only that it differs. Without `secrets` (GetSecrets needs root) they are not compared,
since GetSettings leaves them out. AllowedIPs, addresses and routes compare as sets: NetworkManager keeps
their order, but the order changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from netdwg.keyfiles.wireguard import NmIpConfig, NmWireGuard
from netdwg.plan.model import NmHeld
from netdwg.wireguard import WgPeer

SECRET = "(secret)"
NONE = "(none)"


@dataclass(frozen=True, slots=True)
class NmDifference:
    """One setting whose value NetworkManager holds differs from the rendered profile's."""

    setting: str  # e.g. "wireguard.mtu", "wireguard-peer.relay.endpoint", "ipv4.address-data"
    wanted: str
    held: str

    def describe(self) -> str:
        return f"{self.setting}: the profile says {self.wanted}, NetworkManager holds {self.held}"

    def to_json(self) -> dict:
        return {"setting": self.setting, "wanted": self.wanted, "networkmanager": self.held}


def _text(value) -> str:
    if value is None or value == () or value == frozenset():
        return NONE
    if isinstance(value, (tuple, frozenset, set)):
        return ", ".join(sorted(str(v) for v in value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _secret(wanted, held) -> tuple[str, str]:
    return (SECRET if wanted is not None else NONE), (SECRET if held is not None else NONE)


def _compare(out: list[NmDifference], setting: str, wanted, held) -> None:
    if wanted != held:
        out.append(NmDifference(setting, _text(wanted), _text(held)))


def _compare_ip(out: list[NmDifference], name: str, wanted: NmIpConfig, held: NmIpConfig) -> None:
    _compare(out, f"{name}.method", wanted.method, held.method)
    _compare(out, f"{name}.address-data", frozenset(wanted.addresses), frozenset(held.addresses))
    routes = (frozenset(_route_text(r) for r in wanted.routes), frozenset(_route_text(r) for r in held.routes))
    _compare(out, f"{name}.route-data", *routes)
    _compare(out, f"{name}.route-metric", wanted.route_metric, held.route_metric)
    _compare(out, f"{name}.route-table", wanted.route_table, held.route_table)
    _compare(out, f"{name}.never-default", wanted.never_default, held.never_default)


def _route_text(route) -> str:
    extra = (f" metric {route.metric}" if route.metric is not None else "") + \
        (f" table {route.table}" if route.table is not None else "")
    return f"{route.destination}{extra}"


def _compare_peer(out: list[NmDifference], wanted: WgPeer, held: WgPeer, secrets: bool) -> None:
    prefix = f"wireguard-peer.{wanted.public_key}"
    _compare(out, f"{prefix}.endpoint", wanted.endpoint, held.endpoint)
    _compare(out, f"{prefix}.allowed-ips", frozenset(wanted.allowed_ips), frozenset(held.allowed_ips))
    _compare(out, f"{prefix}.persistent-keepalive", wanted.persistent_keepalive or None,
             held.persistent_keepalive or None)
    if secrets and wanted.preshared_key != held.preshared_key:
        out.append(NmDifference(f"{prefix}.preshared-key", *_secret(wanted.preshared_key, held.preshared_key)))


def profile_differences(wanted: NmWireGuard, held: NmWireGuard, secrets: bool = True) -> tuple[NmDifference, ...]:
    """Every setting of `held` that differs from `wanted`; empty when NetworkManager holds the profile as
    rendered. Peer names are comments in the rendered file, which NetworkManager does not keep: not compared."""
    out: list[NmDifference] = []
    _compare(out, "connection.id", wanted.id, held.id)
    _compare(out, "connection.interface-name", wanted.interface_name, held.interface_name)
    w, h = wanted.device, held.device
    if secrets and w.private_key != h.private_key:
        out.append(NmDifference("wireguard.private-key", *_secret(w.private_key, h.private_key)))
    _compare(out, "wireguard.listen-port", w.listen_port, h.listen_port)
    _compare(out, "wireguard.fwmark", w.fwmark or None, h.fwmark or None)
    _compare(out, "wireguard.mtu", wanted.mtu or None, held.mtu or None)
    _compare(out, "wireguard.peer-routes", wanted.peer_routes, held.peer_routes)
    _compare(out, "wireguard.ip4-auto-default-route", wanted.ip4_auto_default_route, held.ip4_auto_default_route)
    _compare(out, "wireguard.ip6-auto-default-route", wanted.ip6_auto_default_route, held.ip6_auto_default_route)
    held_peers = {p.public_key: p for p in h.peers}
    wanted_keys = {p.public_key for p in w.peers}
    for peer in w.peers:
        other = held_peers.get(peer.public_key)
        if other is None:
            out.append(NmDifference(f"wireguard-peer.{peer.public_key}", "(this peer)", NONE))
        else:
            _compare_peer(out, peer, other, secrets)
    for peer in h.peers:
        if peer.public_key not in wanted_keys:
            out.append(NmDifference(f"wireguard-peer.{peer.public_key}", NONE, "(this peer)"))
    _compare_ip(out, "ipv4", wanted.ipv4, held.ipv4)
    _compare_ip(out, "ipv6", wanted.ipv6, held.ipv6)
    return tuple(out)


def held_differences(wanted: NmWireGuard, held: NmHeld) -> tuple[NmDifference, ...]:
    """How what NetworkManager holds (observed) differs from the rendered profile: not loaded at all,
    loaded from another file, or other settings. Empty: NetworkManager holds the profile as rendered."""
    if not held.loaded:
        return (NmDifference("connection.uuid", held.uuid, "(no such connection: not loaded)"),)
    out = []
    if held.loaded_from != str(held.path):
        out.append(NmDifference("connection.filename", str(held.path), held.loaded_from or "(memory only)"))
    return tuple(out) + profile_differences(wanted, held.profile, secrets=held.secrets)
