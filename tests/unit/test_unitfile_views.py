"""Typed views: ipaddress values, key values, Endpoint, and the .netdev -> WgDevice conversion."""

from __future__ import annotations

import ipaddress
from pathlib import Path, PurePosixPath

import pytest

from netdwg.errors import ParseError, SecretsError
from netdwg.keys import PrivateKey, PublicKey, genkey, genpsk
from netdwg.unitfile import (address_views, dhcpv4_view, effective_unit, load_unit, match_view, netdev_view,
                             network_view, parse_unit, peer_views, route_views, routing_policy_rule_views,
                             to_wg_device, wireguard_view)
from netdwg.wireguard import Endpoint

CORPUS = Path(__file__).resolve().parents[1] / "data" / "networkd"
net = ipaddress.ip_network


def _eff(name: str):
    return effective_unit(load_unit(CORPUS / name))


def test_relay_netdev_to_device_with_dropin():
    main = load_unit(CORPUS / "30-relay-wg.netdev")
    dropin = load_unit(CORPUS / "30-relay-wg.netdev.d" / "50-contractor.conf")
    device = to_wg_device(effective_unit(main, [dropin]))
    assert device.name == "wg-harbor" and device.listen_port == 51820 and device.fwmark == 0x51
    assert device.private_key.public_key() == PrivateKey.from_base64(
        "UIEMr3yVmsNb7O5r7smbwDykj3H3jIwyuv3EFGg0FlE=").public_key()
    allowed = [p.allowed_ips for p in device.peers]
    assert allowed == [
        (net("10.99.0.2/32"), net("172.20.10.0/24")),
        (net("10.99.0.3/32"), net("172.20.20.0/24"), net("fd99:1::3/128")),
        (net("10.99.0.4/32"), net("fd99:1::4/128")),   # reset, then the continued line
        (net("10.99.0.5/32"),),
        (net("10.99.0.6/32"),),                         # from the drop-in
    ]
    assert device.peers[3].endpoint == Endpoint("2001:db8::5", 41641)
    assert device.peers[0].persistent_keepalive == 25 and device.peers[2].preshared_key is None
    assert "UIEMr3" not in repr(device)


def test_key_files_are_read_through_the_callback_only():
    eff = _eff("40-oslo-gw.netdev")
    with pytest.raises(SecretsError):
        to_wg_device(eff)
    private, psk = genkey(), genpsk()
    asked = []

    def read_secret(path: PurePosixPath, span):
        asked.append((str(path), span.line))
        return {"/etc/systemd/network/wg0.key": private.reveal_base64() + "\n",
                "/etc/systemd/network/wg0-relay.psk": psk.reveal_base64()}[str(path)]

    device = to_wg_device(eff, read_secret)
    assert device.private_key == private and device.peers[0].preshared_key == psk
    assert [a[0] for a in asked] == ["/etc/systemd/network/wg0.key", "/etc/systemd/network/wg0-relay.psk"]
    assert device.peers[0].endpoint == Endpoint("relay.example.net", 51820)
    view = wireguard_view(eff)
    assert view.route_table == "main" and view.route_metric == 100
    assert peer_views(eff)[0].route_table == "1000"


def test_network_views():
    eff = _eff("30-relay-wg.network")
    assert match_view(eff).names == ("wg-harbor",)
    network = network_view(eff)
    assert network.addresses == (ipaddress.ip_interface("10.99.0.1/16"), ipaddress.ip_interface("fd99:1::1/64"))
    assert network.ip_forward == "yes"
    routes = route_views(eff)
    assert [(r.destination, r.metric) for r in routes] == [(net("172.20.10.0/24"), 20), (net("172.20.20.0/24"), 20)]
    assert routes[1].span.line == 13


def test_rule_and_dhcp_views():
    (rule,) = routing_policy_rule_views(_eff("40-oslo-gw.network"))
    assert rule.to == net("172.20.20.0/24") and rule.table == "1000" and rule.priority == 500
    dhcp = dhcpv4_view(_eff("50-laptop-lan.network"))
    assert dhcp.route_metric == 1024 and dhcp.use_domains == "yes" and dhcp.use_dns is True
    assert network_view(_eff("50-laptop-lan.network")).dhcp == "ipv4"


def test_address_and_netdev_views():
    eff = effective_unit(parse_unit("[NetDev]\nName=wg1\nKind=wireguard\nMTUBytes=1280\n"
                                    "[Address]\nAddress=10.0.0.1/24\nPeer=10.0.0.2/24\n[Address]\nAddress=fd00::1/64\n"))
    assert netdev_view(eff).mtu_bytes == 1280
    assert [a.address for a in address_views(eff)] == [ipaddress.ip_interface("10.0.0.1/24"),
                                                       ipaddress.ip_interface("fd00::1/64")]


@pytest.mark.parametrize("text,line", [
    ("[WireGuardPeer]\nPublicKey=tooshort\n", 2),
    ("[WireGuardPeer]\nPublicKey=%s\nAllowedIPs=10.0.0.300/32\n" % genkey().public_key(), 3),
    ("[WireGuardPeer]\nPublicKey=%s\nEndpoint=nohost\n" % genkey().public_key(), 3),
    ("[WireGuard]\nListenPort=70000\n", 2),
])
def test_bad_values_raise_with_file_and_line(text, line):
    with pytest.raises(ParseError) as err:
        to_wg_device(effective_unit(parse_unit("[NetDev]\nName=wg0\nKind=wireguard\n" + text, "bad.netdev")))
    assert err.value.span.path == "bad.netdev" and err.value.span.line == line + 3


def test_peer_without_public_key_is_skipped_like_networkd():
    key = genkey().public_key()
    eff = effective_unit(parse_unit(f"[WireGuardPeer]\nAllowedIPs=10.0.0.1/32\n[WireGuardPeer]\nPublicKey={key}\n"))
    assert [p.public_key for p in to_wg_device(eff).peers] == [key]
    assert isinstance(peer_views(eff)[1].public_key, PublicKey)


def test_listen_port_auto_is_none():
    eff = effective_unit(parse_unit("[WireGuard]\nListenPort=auto\n"))
    assert wireguard_view(eff).listen_port is None
