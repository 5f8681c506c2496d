"""The compiler: what each role gets (netdwg/topology/compile.py), on the golden scenarios and on small
topologies written for one rule each."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from netdwg.errors import NetdwgError
from netdwg.keys import pubkey
from netdwg.render import render_host
from netdwg.topology import parse_topology
from netdwg.topology.compile import compile_host, compile_topology
from netdwg.topology.model import Role
from netdwg.topology.secrets import Secrets
from golden_support import fixed_secrets, load_scenario

N = ipaddress.ip_network


def compiled(scenario):
    topology, secrets = load_scenario(scenario)
    return topology, secrets, compile_topology(topology, secrets)


def peers_by_name(host):
    return {p.name: p for i in host.interfaces for p in i.device.peers}


def test_hub_has_one_peer_per_spoke_with_its_address_and_lans_and_no_endpoint_behind_nat():
    topology, _, hosts = compiled("hub-spokes")
    relay = peers_by_name(hosts["relay"])
    assert list(relay) == ["oslo", "bergen", "ana", "ben"]
    assert relay["oslo"].allowed_ips == (N("10.99.0.2/32"), N("172.20.10.0/24"))
    assert relay["ana"].allowed_ips == (N("10.99.0.4/32"),)
    assert all(p.endpoint is None and p.persistent_keepalive == 0 for p in relay.values())
    assert hosts["relay"].interfaces[0].device.listen_port == 51820
    assert [str(r.destination) for r in hosts["relay"].interfaces[0].routes] == ["172.20.10.0/24", "172.20.20.0/24"]


def test_site_routes_pool_and_other_lans_never_its_own():
    _, _, hosts = compiled("hub-spokes")
    (hub,) = hosts["oslo"].interfaces[0].device.peers
    assert hub.allowed_ips == (N("10.99.0.0/16"), N("172.20.20.0/24"))
    assert str(hub.endpoint) == "198.51.100.10:51820" and hub.persistent_keepalive == 25
    assert hosts["oslo"].interfaces[0].device.listen_port is None  # behind NAT: random port


def test_roaming_gets_only_the_lans_it_may_reach_and_its_own_mtu():
    _, _, hosts = compiled("hub-spokes")
    (hub,) = hosts["ben"].interfaces[0].device.peers
    assert hub.allowed_ips == (N("10.99.0.0/16"), N("172.20.10.0/24"))  # reach = oslo
    assert hosts["ben"].interfaces[0].mtu == 1280


@pytest.mark.parametrize("scenario", ["hub-spokes", "relay", "dual-stack", "hub-masquerade", "site-to-site"])
def test_both_ends_agree_on_keys_and_psk(scenario):
    topology, secrets, hosts = compiled(scenario)
    for host in hosts.values():
        for iface in host.interfaces:
            for peer in iface.device.peers:
                other = hosts[peer.name]
                back = next(p for i in other.interfaces if i.name == iface.name for p in i.device.peers
                            if p.name == host.name)
                assert back.preshared_key == peer.preshared_key is not None
                if host.name in secrets.private_keys:
                    assert back.public_key == pubkey(secrets.private_keys[host.name])


def test_host_keeping_its_own_key_gets_a_key_file_reference_only():
    topology, _, hosts = compiled("hub-spokes")
    bergen = hosts["bergen"].interfaces[0]
    assert bergen.device.private_key is None
    assert peers_by_name(hosts["relay"])["bergen"].public_key == topology.host("bergen").public_key
    text = next(f.text for f in render_host(hosts["bergen"]) if f.path.suffix == ".yaml")
    assert f"key: {bergen.private_key_file}" in text


def test_site_pair_on_a_31_with_both_endpoints():
    _, _, hosts = compiled("site-to-site")
    alpha, beta = hosts["alpha"].interfaces[0], hosts["beta"].interfaces[0]
    assert [str(a) for a in alpha.addresses] == ["10.255.0.0/31"]
    assert [str(a) for a in beta.addresses] == ["10.255.0.1/31"]
    assert alpha.device.peers[0].allowed_ips == (N("192.168.20.0/24"), N("10.255.0.0/31"))
    assert str(alpha.device.peers[0].endpoint) == "203.0.113.20:51821"
    assert str(beta.device.peers[0].endpoint) == "203.0.113.10:51821"


def test_forwarding_on_routers_and_no_redirects_only_on_the_hub():
    _, _, hosts = compiled("hub-spokes")
    keys = {name: {s.key: s.value for s in h.sysctls} for name, h in hosts.items()}
    assert keys["relay"]["net.ipv4.ip_forward"] == "1"
    assert keys["relay"]["net.ipv4.conf.all.send_redirects"] == "0"
    assert keys["relay"]["net.ipv4.conf.wg-harbor.send_redirects"] == "0"
    assert keys["oslo"] == {"net.ipv4.ip_forward": "1"}
    assert keys["ana"] == {} and keys["ben"] == {}
    dual = {s.key for s in compiled("dual-stack")[2]["hub"].sysctls}
    assert "net.ipv6.conf.all.forwarding" in dual


def _covers(sources, address):
    return any(address in s for s in sources)


def test_allow_list_admits_exactly_the_listed_clients_never_the_hub():
    topology, _, hosts = compiled("hub-spokes")
    (rule,) = [a for a in hosts["oslo"].firewall.allow if a.destination == N("172.20.10.0/24")]
    for name in ("ana", "ben"):
        assert _covers(rule.sources, topology.host(name).addresses[0])
    for name in ("relay", "bergen"):
        assert not _covers(rule.sources, topology.host(name).addresses[0])
    assert N("172.20.10.0/24") in hosts["oslo"].firewall.guarded


def test_masquerade_covers_every_vpn_source_arriving_for_the_lan():
    _, _, hosts = compiled("relay")
    (masq,) = hosts["west"].firewall.masquerade
    assert masq.destination == N("192.168.102.0/24") and masq.out_interface == "lan0"
    assert N("10.50.0.0/24") in masq.sources and N("192.168.101.0/24") in masq.sources
    assert hosts["east"].firewall.masquerade == ()


def test_static_return_route_instruction():
    _, _, hosts = compiled("relay")
    assert [r.instruction() for r in hosts["east"].return_routes] == [
        "ip route add 10.50.0.0/24 via 192.168.101.254", "ip route add 192.168.102.0/24 via 192.168.101.254"]
    assert hosts["west"].return_routes == ()


def test_guard_config_for_guarded_laptop_only():
    _, _, hosts = compiled("hub-spokes")
    guard = hosts["ana"].guard
    assert hosts["ben"].guard is None
    assert guard.interface == "wg-harbor"
    assert [(s.name, str(s.lan)) for s in guard.sites] == [("oslo", "172.20.10.0/24"), ("bergen", "172.20.20.0/24")]
    oslo = guard.site("oslo")
    assert [str(a) for a in oslo.fingerprint.dhcp_servers] == ["172.20.10.1"]
    assert oslo.fingerprint.router_macs == ("02:00:00:00:10:01",)


BASE = """\
[network]
name = t
interface = wg0
pool = 10.9.0.0/24
[hosts]
  [[hub]]
  role = hub
  endpoint = 198.51.100.9:51820
  address = 10.9.0.1
"""


def _compile(text, host):
    topology = parse_topology(text, "t.conf")
    return compile_host(topology, fixed_secrets(topology), host)


def test_widen_routes_the_covering_prefix_for_roaming_hosts():
    text = BASE + """
  [[office]]
  role = site
  address = 10.9.0.2
  lan = 192.168.200.0/24
  guard_action = widen
  widen_to = 192.168.0.0/16
  [[lap]]
  role = roaming
  address = 10.9.0.3
"""
    lap = _compile(text, "lap").interfaces[0]
    assert lap.device.peers[0].allowed_ips == (N("10.9.0.0/24"), N("192.168.0.0/16"))
    assert [r.destination for r in lap.routes] == [N("192.168.0.0/16")]
    hub = _compile(text, "hub").interfaces[0]
    assert hub.device.peers[0].allowed_ips[-1] == N("192.168.200.0/24")  # the hub still routes the LAN itself


def test_wg_quick_gateway_whose_lan_is_covered_uses_table_off_and_explicit_routes():
    text = BASE + """
  [[big]]
  role = site
  address = 10.9.0.2
  lan = 10.20.0.0/16
  [[small]]
  role = site
  address = 10.9.0.3
  backend = wg-quick
  lan = 10.20.5.0/24
"""
    small = _compile(text, "small")
    assert small.interfaces[0].table_off
    conf = next(f.text for f in render_host(small) if str(f.path).startswith("/etc/wireguard/"))
    assert "Table = off" in conf
    assert "PostUp = ip -4 route add 10.20.0.0/16 dev %i" in conf
    assert "10.20.5.0/24" not in conf  # its own LAN is never routed into the tunnel


def test_missing_key_is_a_user_error_with_a_fix():
    topology = parse_topology(BASE + "  [[lap]]\n  role = roaming\n  address = 10.9.0.3\n", "t.conf")
    with pytest.raises(NetdwgError) as err:
        compile_topology(topology, Secrets())
    assert "has no key" in err.value.message and err.value.fix


def test_compiling_is_pure_and_deterministic():
    topology, secrets = load_scenario("hub-spokes")
    assert compile_topology(topology, secrets) == compile_topology(topology, secrets)
    assert all(h.role in Role for h in compile_topology(topology, secrets).values())


def test_netplan_refuses_a_tunnel_without_peers_with_a_fix():
    from netdwg.errors import ConfigError

    lonely = _compile(BASE.replace("  address = 10.9.0.1\n", "  address = 10.9.0.1\n  backend = netplan\n"), "hub")
    with pytest.raises(ConfigError) as err:
        render_host(lonely)
    assert "without peers" in err.value.message and err.value.fix


def test_site_pair_ends_may_name_the_interface_differently():
    # Network 3 of the write-ups: wgA on alpha, wgB on beta (interface = FIRST END'S, SECOND END'S).
    text = (Path(__file__).resolve().parents[2] / "examples" / "3-site-to-site.conf").read_text()
    topology = parse_topology(text)
    hosts = compile_topology(topology, fixed_secrets(topology))
    alpha, beta = hosts["alpha"].interfaces[0], hosts["beta"].interfaces[0]
    assert (alpha.name, beta.name) == ("wgA", "wgB")
    assert [r.interface for r in alpha.routes] == ["wgA"] and str(alpha.private_key_file).endswith("wgA.key")
    assert {f.path.name for f in render_host(hosts["alpha"])} >= {"wgA.conf"}
    assert any("wgB" in f.path.name for f in render_host(hosts["beta"]))
    # One name still means both ends; a second name equal to the network's interface is refused.
    same = parse_topology(text.replace("interface = wgA, wgB", "interface = wgA"))
    assert {h.interfaces[0].name for h in compile_topology(same, fixed_secrets(same)).values()} == {"wgA"}
    from netdwg.lint import run_lint

    clash = parse_topology(text.replace("interface = wgA, wgB", "interface = wgA, wg0"))
    assert any(d.code == "NDW026" and "wg0 is the network's interface" in d.message for d in run_lint(clash))
