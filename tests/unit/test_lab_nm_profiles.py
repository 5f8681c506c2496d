"""The profiles the lab gives NetworkManager for a host's Ethernet (netdwg.lab.nm), read back with netdwg's
keyfile parser (the same syntax checks NetworkManager's GLib applies), and the routes NetworkManager adds
for a WireGuard profile, which the lab reproduces on wireguard-go."""

from __future__ import annotations

from ipaddress import ip_address, ip_interface, ip_network

import pytest

from netdwg.values import ValueRefused
from netdwg.keyfiles import NmIpConfig, NmRoute, check_keyfile_syntax, parse_keyfile
from netdwg.lab.nm import WIREGUARD_METRIC, _routes, dhcp_profile, uplink_profile
from netdwg.lab.world import Uplink


def _read(text: str):
    keyfile = parse_keyfile(text)
    assert check_keyfile_syntax(keyfile) == []
    return keyfile


def test_a_laptops_home_uplink_is_a_static_profile_with_its_gateway():
    u = Uplink("n", "eth0", ip_interface("100.64.0.2/24"), gateway=ip_address("100.64.0.1"))
    k = _read(uplink_profile(u))
    assert k.get("connection", "interface-name") == "eth0" and k.get("connection", "type") == "ethernet"
    assert k.get("ipv4", "method") == "manual"
    assert k.get("ipv4", "address1") == "100.64.0.2/24" and k.get("ipv4", "gateway") == "100.64.0.1"
    assert k.get("ipv6", "method") == "disabled"
    assert "route1" not in k.entries("ipv4")


def test_a_point_to_point_internet_link_gets_its_peer_route_and_an_onlink_default():
    u = Uplink("depot", "eth0", ip_interface("203.0.113.40/32"), peer=ip_address("203.0.113.254"),
               gateway=ip_address("203.0.113.254"), address6=ip_interface("2001:db8:ffff:2::3/128"),
               peer6=ip_address("2001:db8:ffff:1::3"), gateway6=ip_address("2001:db8:ffff:1::3"))
    k = _read(uplink_profile(u))
    assert k.get("ipv4", "address1") == "203.0.113.40/32" and k.get("ipv4", "gateway") is None
    assert k.get("ipv4", "route1") == "203.0.113.254/32"
    assert k.get("ipv4", "route2") == "0.0.0.0/0,203.0.113.254" and k.get("ipv4", "route2_options") == "onlink=true"
    assert k.get("ipv6", "method") == "manual" and k.get("ipv6", "address1") == "2001:db8:ffff:2::3/128"
    assert k.get("ipv6", "route2") == "::/0,2001:db8:ffff:1::3"


def test_a_mac_address_is_written_as_nm_clones_it():
    u = Uplink("r", "lan0", ip_interface("192.168.1.1/24"), mac="02:4e:02:00:01:01")
    assert _read(uplink_profile(u)).get("ethernet", "cloned-mac-address") == "02:4e:02:00:01:01"


@pytest.mark.parametrize("slaac", [False, True])
def test_the_office_lan_profile_is_dhcp_and_slaac_only_where_the_lan_advertises(slaac):
    k = _read(dhcp_profile("lan0", ipv6_slaac=slaac))
    assert k.get("connection", "interface-name") == "lan0"
    assert k.get("ipv4", "method") == "auto"
    assert k.get("ipv6", "method") == ("auto" if slaac else "disabled")


def test_an_interface_name_that_would_change_the_file_is_refused():
    with pytest.raises(ValueRefused):
        dhcp_profile("lan0\n[ipv4]", ipv6_slaac=False)


def test_routes_without_a_metric_get_networkmanagers_wireguard_default_in_main():
    ipv4 = NmIpConfig((ip_interface("10.70.0.6/16"),), (NmRoute(ip_network("192.168.201.0/24")),
                                                        NmRoute(ip_network("192.168.0.0/16"), 20, 100)))
    assert _routes(ipv4) == [("192.168.201.0/24", WIREGUARD_METRIC, 254), ("192.168.0.0/16", 20, 100)]
    assert WIREGUARD_METRIC == 50


def test_the_profiles_own_metric_and_table_apply_to_routes_without_theirs():
    ipv4 = NmIpConfig((ip_interface("10.70.0.6/16"),), (NmRoute(ip_network("192.168.201.0/24")),),
                      route_metric=7, route_table=77)
    assert _routes(ipv4) == [("192.168.201.0/24", 7, 77)]


def test_a_roam_report_names_the_lease_networkmanager_holds():
    from netdwg.lab.nm import describe_lease
    from netdwg.lab.roam import Measurement, RoamReport, format_roam, roam_json

    lease = describe_lease({"ip_address": "192.168.201.123", "dhcp_server_identifier": "192.168.201.1",
                            "expiry": "1796670011"})
    assert lease == "NetworkManager holds the lease 192.168.201.123 from 192.168.201.1 (DHCP4Config over D-Bus)"
    report = RoamReport("n", Measurement("away", "a-dev", "wg0", 200.0), Measurement("a", "a-dev", "lan0", 9000.0),
                        0.1, 0.2, (), lease)
    assert format_roam(report).splitlines()[-1] == lease
    assert roam_json(report)["lease"] == lease
    assert roam_json(RoamReport("n", report.after, report.before, 0.1, 0.2, ()))["lease"] is None
