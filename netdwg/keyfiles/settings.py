"""A WireGuard profile as NetworkManager's D-Bus API carries it (`a{sa{sv}}`), both ways, as plain values.

    profile_from_settings(settings) -> NmWireGuard     what GetSettings (+ GetSecrets) reported
    settings_from_profile(profile) -> {setting: {property: (signature, value)}}   for Update2 / Reapply

Property names and D-Bus types are NetworkManager's (settings-nmcli(5), the D-Bus API reference):
`wireguard.peers` is `aa{sv}` (public-key, endpoint, preshared-key, preshared-key-flags,
persistent-keepalive, allowed-ips), `ipvN.address-data` and `ipvN.route-data` are `aa{sv}` (address or
dest, prefix, metric, table), `ipvN.route-metric` is `x`, the ternaries `ipN-auto-default-route` are `i`
(-1 default). GetSettings leaves secrets out: the private key and PSKs come from GetSecrets("wireguard"),
merged in by the caller. The caller turns (signature, value) into D-Bus variants.
"""

from __future__ import annotations

import ipaddress

from netdwg.keyfiles.wireguard import NmIpConfig, NmRoute, NmWireGuard
from netdwg.keys import PresharedKey, PrivateKey, PublicKey
from netdwg.wireguard import Endpoint, WgDevice, WgPeer


def _ternary(value: int | None) -> bool | None:
    return None if value is None or value < 0 else bool(value)


def _ip(settings: dict, version: int) -> NmIpConfig:
    if settings.get("method", "disabled") in ("disabled", "ignore"):
        return NmIpConfig()
    addresses = tuple(ipaddress.ip_interface(f"{a['address']}/{a['prefix']}") for a in settings.get("address-data", ()))
    routes = tuple(NmRoute(ipaddress.ip_network(f"{r['dest']}/{r['prefix']}"), r.get("metric"), r.get("table"))
                   for r in settings.get("route-data", ()))
    metric = settings.get("route-metric", -1)
    table = settings.get("route-table", 0)
    return NmIpConfig(addresses, routes, None if metric == -1 else metric, table or None,
                      bool(settings.get("never-default", False)))


def profile_from_settings(settings: dict) -> NmWireGuard:
    """The profile NetworkManager holds, from GetSettings with the wireguard secrets merged in."""
    connection = settings.get("connection", {})
    wg = settings.get("wireguard", {})
    peers = []
    for peer in wg.get("peers", ()):
        psk = peer.get("preshared-key")
        endpoint = peer.get("endpoint")
        peers.append(WgPeer(PublicKey.from_base64(peer["public-key"]),
                            tuple(ipaddress.ip_network(n, strict=False) for n in peer.get("allowed-ips", ())),
                            PresharedKey.from_base64(psk) if psk else None,
                            Endpoint.parse(endpoint) if endpoint else None,
                            int(peer.get("persistent-keepalive", 0))))
    key = wg.get("private-key")
    device = WgDevice(connection.get("interface-name", ""), PrivateKey.from_base64(key) if key else None,
                      wg.get("listen-port") or None, int(wg.get("fwmark", 0)), tuple(peers))
    return NmWireGuard(connection.get("id", ""), connection.get("uuid"), device, int(wg.get("mtu", 0)),
                       bool(wg.get("peer-routes", True)), _ternary(wg.get("ip4-auto-default-route")),
                       _ternary(wg.get("ip6-auto-default-route")), _ip(settings.get("ipv4", {}), 4),
                       _ip(settings.get("ipv6", {}), 6))


def peer_settings(peer: WgPeer) -> dict[str, tuple[str, object]]:
    out: dict[str, tuple[str, object]] = {"public-key": ("s", peer.public_key.base64),
                                          "allowed-ips": ("as", [str(n) for n in peer.allowed_ips])}
    if peer.endpoint is not None:
        out["endpoint"] = ("s", str(peer.endpoint))
    if peer.preshared_key is not None:
        out["preshared-key"] = ("s", peer.preshared_key.reveal_base64())
        out["preshared-key-flags"] = ("u", 0)
    if peer.persistent_keepalive:
        out["persistent-keepalive"] = ("u", peer.persistent_keepalive)
    return out


def _ip_settings(ip: NmIpConfig) -> dict[str, tuple[str, object]]:
    out: dict[str, tuple[str, object]] = {"method": ("s", ip.method)}
    if ip.method == "disabled":
        return out
    out["address-data"] = ("aa{sv}", [{"address": ("s", str(a.ip)), "prefix": ("u", a.network.prefixlen)}
                                      for a in ip.addresses])
    routes = []
    for route in ip.routes:
        entry: dict[str, tuple[str, object]] = {"dest": ("s", str(route.destination.network_address)),
                                                "prefix": ("u", route.destination.prefixlen)}
        if route.metric is not None:
            entry["metric"] = ("u", route.metric)
        if route.table is not None:
            entry["table"] = ("u", route.table)
        routes.append(entry)
    out["route-data"] = ("aa{sv}", routes)
    out["never-default"] = ("b", ip.never_default)
    if ip.route_metric is not None:
        out["route-metric"] = ("x", ip.route_metric)
    if ip.route_table is not None:
        out["route-table"] = ("u", ip.route_table)
    return out


def settings_from_profile(profile: NmWireGuard) -> dict[str, dict[str, tuple[str, object]]]:
    """The whole profile as Update2/Reapply take it (secrets included: NetworkManager stores them)."""
    device = profile.device
    connection: dict[str, tuple[str, object]] = {"id": ("s", profile.id), "type": ("s", "wireguard"),
                                                 "interface-name": ("s", device.name)}
    if profile.uuid:
        connection["uuid"] = ("s", profile.uuid)
    wg: dict[str, tuple[str, object]] = {
        "peer-routes": ("b", profile.peer_routes),
        "peers": ("aa{sv}", [peer_settings(p) for p in device.peers]),
        "fwmark": ("u", device.fwmark), "mtu": ("u", profile.mtu),
        "ip4-auto-default-route": ("i", -1 if profile.ip4_auto_default_route is None
                                   else int(profile.ip4_auto_default_route)),
        "ip6-auto-default-route": ("i", -1 if profile.ip6_auto_default_route is None
                                   else int(profile.ip6_auto_default_route)),
    }
    if device.listen_port is not None:
        wg["listen-port"] = ("u", device.listen_port)
    if device.private_key is not None:
        wg["private-key"] = ("s", device.private_key.reveal_base64())
        wg["private-key-flags"] = ("u", 0)
    return {"connection": connection, "wireguard": wg, "ipv4": _ip_settings(profile.ipv4),
            "ipv6": _ip_settings(profile.ipv6)}
