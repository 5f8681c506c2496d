"""A WireGuard profile as NetworkManager's D-Bus API reports it (`a{sa{sv}}`, unpacked to plain values).

    profile_from_settings(settings) -> NmWireGuard     what GetSettings (+ GetSecrets) reported

Property names and D-Bus types are NetworkManager's (settings-nmcli(5), the D-Bus API reference):
`wireguard.peers` is `aa{sv}` (public-key, endpoint, preshared-key, preshared-key-flags,
persistent-keepalive, allowed-ips), `ipvN.address-data` and `ipvN.route-data` are `aa{sv}` (address or
dest, prefix, metric, table), `ipvN.route-metric` is `x`, the ternaries `ipN-auto-default-route` are `i`
(-1 default). GetSettings leaves secrets out: the private key and PSKs come from GetSecrets("wireguard"),
merged in by the caller.
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
