"""The lab's world plan: pure values derived from a topology (no namespaces needed)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from netdwg.errors import ConfigError
from netdwg.lab.check import expected_probes, parse_traceroute
from netdwg.lab.up import namespace_script, underlay_networkd
from netdwg.lab.world import PUBLIC_RANGES, plan_world
from netdwg.topology import load_topology, parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.model import ReturnPath
from netdwg.topology.secrets import Secrets, complete_secrets

HARBOR = Path(__file__).resolve().parents[2] / "examples" / "harbor.conf"


def _world(topology):
    secrets, _ = complete_secrets(topology, Secrets())
    configs = compile_topology(topology, secrets)
    return plan_world(topology, {n: c.return_routes for n, c in configs.items()})


@pytest.fixture(scope="module")
def harbor():
    topology = load_topology(HARBOR)
    return topology, _world(topology)


def synthetic(n_hosts: int) -> str:
    """A hub, sites with LANs (every third host) and roaming hosts: n_hosts in all."""
    lines = ["[network]", "name = synth", "pool = 10.99.0.0/16", "[hosts]",
             "  [[hub]]", "  role = hub", "  endpoint = 198.51.100.10:51820", "  address = 10.99.0.1"]
    for i in range(1, n_hosts):
        if i % 3 == 1:
            lines += [f"  [[site{i}]]", "  role = site", f"  address = 10.99.1.{i}", f"  lan = 172.16.{i}.0/24",
                      f"  return_path = {'static-route' if i % 2 else 'masquerade'}"]
        else:
            lines += [f"  [[laptop{i}]]", "  role = roaming", f"  address = 10.99.2.{i}"]
    return "\n".join(lines) + "\n"


def test_hub_is_on_the_internet_and_spokes_are_behind_nat(harbor):
    _, world = harbor
    relay = world.host("relay")
    assert relay.nat is None and relay.public_address == ipaddress.ip_address("198.51.100.10")
    assert [u.ifname for u in relay.uplinks] == ["eth0"]
    ana = world.host("ana")
    assert ana.nat == "ana-nat"
    assert ana.uplinks[0].address.ip in ipaddress.ip_network("100.64.0.0/10")  # a private home network
    assert ("ana-nat", "wan0") in world.masquerade
    # A one-armed site gateway reaches the internet through its office router's NAT.
    oslo = world.host("oslo")
    assert [u.ifname for u in oslo.uplinks] == ["eth1"]  # lan_interface = eth1 in the topology
    assert oslo.uplinks[0].gateway == ipaddress.ip_address("172.20.10.1")
    assert ("oslo-rtr", "wan0") in world.masquerade


def test_internet_uses_documentation_ranges_only(harbor):
    _, world = harbor
    inet_addrs = [u.address.ip for u in world.uplinks if u.ns == "inet"]
    inet_addrs += [u.peer for u in world.uplinks if u.ns == "inet"]
    inet_addrs += [b.public_address for b in world.hosts]
    assert inet_addrs and all(any(a in r for r in PUBLIC_RANGES) for a in inet_addrs)
    assert len({b.public_address for b in world.hosts}) == len(world.hosts)


def test_static_return_route_only_where_the_topology_says(harbor):
    _, world = harbor
    assert {r.ns for r in world.routes} == {"bergen-rtr"}
    dests = {str(r.prefix) for r in world.routes}
    assert "10.99.0.0/16" in dests
    assert all(str(r.via) == "172.20.20.2" for r in world.routes)
    oslo_lan, = world.lans_of("oslo")
    assert oslo_lan.return_path is ReturnPath.MASQUERADE


def test_lan_router_matches_the_sites_fingerprint(harbor):
    topology, world = harbor
    lan, = world.lans_of("oslo")
    assert lan.router_mac == topology.host("oslo").lans[0].fingerprint.router_mac
    assert str(lan.router_address.ip) == "172.20.10.1"
    dhcp = next(d for d in world.dhcp if d.ns == "oslo-rtr")
    assert dhcp.domain == "oslo.harbor.example"
    taken = {lan.router_address.ip, lan.gateway_address.ip, lan.device_address.ip}
    assert dhcp.first in lan.prefix and dhcp.last in lan.prefix
    assert not any(int(dhcp.first) <= int(a) <= int(dhcp.last) for a in taken)


def test_bridges_have_fixed_distinct_macs(harbor):
    _, world = harbor
    macs = [b.mac for b in world.bridges]
    assert len(macs) == 2 and len(set(macs)) == 2
    script = namespace_script(world, "oslo-sw")
    assert f"ip link add br0 address {macs[0]} type bridge" in script
    assert "ip link set port-dev master br0 up" in script


def test_namespace_script_sets_up_nat_and_forwarding(harbor):
    _, world = harbor
    script = namespace_script(world, "ana-nat")
    assert "net.ipv4.ip_forward=1" in script
    assert 'oifname "wan0" masquerade' in script
    assert "ip route add 10.99.0.0/16 via 172.20.20.2" in namespace_script(world, "bergen-rtr")


def test_networkd_underlay_uses_peer_addresses_on_the_internet(harbor):
    _, world = harbor
    files = underlay_networkd(world.host("relay"))
    text = files["/etc/systemd/network/10-lab-eth0.network"]
    assert "Address=198.51.100.10/32\nPeer=198.51.100.254/32" in text
    assert "Gateway=198.51.100.254" in text


def test_unsimulatable_topology_reports_every_problem_with_lines():
    text = ("[network]\nname = bad\npool = 10.99.0.0/16\n[hosts]\n"
            "  [[hub]]\n  role = hub\n  address = 10.99.0.1\n"
            "  [[gw]]\n  role = site\n  address = 10.99.0.2\n  endpoint = 8.8.8.8:51820\n  lan = 172.16.0.0/24\n")
    with pytest.raises(ConfigError) as err:
        plan_world(parse_topology(text, "bad.conf"))
    codes = [d.format() for d in err.value.diagnostics]
    assert len(codes) == 2
    assert any("bad.conf:5" in c and "no public endpoint" in c for c in codes)
    assert any("bad.conf:8" in c and "8.8.8.8" in c and "documentation ranges" in c for c in codes)


def test_fifty_hosts_get_unique_addresses_and_namespaces():
    topology = parse_topology(synthetic(50), "synth.conf")
    world = _world(topology)
    names = [n for n, _ in world.namespaces]
    assert len(names) == len(set(names))
    assert len(world.hosts) == 50
    addrs = [(u.ns, u.address.ip) for u in world.uplinks] + [(b.name, u.address.ip) for b in world.hosts
                                                            for u in b.uplinks]
    non_inet = [a for ns, a in addrs if ns != "inet"]
    assert len(non_inet) == len(set(non_inet))


def _probe(probes, src, dst):
    return next(p for p in probes if p.src.name == src and p.dst.name == dst)


def test_expected_matrix_follows_reach_allow_and_return_path(harbor):
    topology, world = harbor
    probes = expected_probes(topology, world)
    assert len(probes) == 42
    v6 = {(p.src.name, p.dst.name, str(p.dst.address)) for p in probes if p.dst.address.version == 6}
    assert v6 == {("relay", "ana", "fd99:1::4"), ("ana", "relay", "fd99:1::1")}  # IPv6 inside the tunnel
    assert _probe(probes, "ana", "oslo-dev").allowed
    assert _probe(probes, "ben", "oslo-dev").allowed
    assert not _probe(probes, "ben", "bergen-dev").allowed  # reach = oslo
    assert not _probe(probes, "relay", "oslo-dev").allowed  # the hub opens nothing into LANs
    assert not _probe(probes, "bergen", "oslo-dev").allowed  # oslo: allow = ana, ben
    assert _probe(probes, "oslo", "bergen-dev").allowed  # bergen has no allow list
    assert all(not p.allowed for p in probes if p.src.name == "oslo-dev")  # masquerade: no way back
    assert _probe(probes, "bergen-dev", "ana").allowed  # static route on bergen's router
    assert not _probe(probes, "bergen-dev", "ben").allowed  # ben does not route bergen's LAN
    assert all(p.allowed for p in probes if p.src.site is None and p.dst.site is None)
    # A gateway and its own LAN talk directly: not a VPN probe.
    assert not any(p.src.name == "oslo" and p.dst.name == "oslo-dev" for p in probes)


def test_traceroute_hops_become_names():
    text = ("traceroute to 172.20.10.10 (172.20.10.10), 12 hops max, 60 byte packets\n"
            " 1  10.99.0.1  0.9 ms\n 2  10.99.0.2  1.2 ms\n 3  *\n 4  172.20.10.10  1.5 ms\n")
    book = {"10.99.0.1": "relay", "10.99.0.2": "oslo", "172.20.10.10": "oslo-dev"}
    assert parse_traceroute(text, book) == ("relay", "oslo", "*", "oslo-dev")


GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def test_gateway_that_is_its_lans_router_gets_no_office_router():
    topology = load_topology(GOLDEN / "site-to-site" / "topology.conf")
    world = _world(topology)
    alpha, = world.lans_of("alpha")
    assert alpha.gateway_is_router and alpha.router == "alpha"
    assert not any(short == "alpha-rtr" for short, _ in world.namespaces)
    probes = expected_probes(topology, world)
    assert {(p.src.name, p.dst.name, p.allowed) for p in probes} == {
        ("alpha-dev", "beta-dev", True), ("beta-dev", "alpha-dev", True)}


def test_a_hub_with_a_lan_gets_the_lan():
    topology = load_topology(GOLDEN / "hub-masquerade" / "topology.conf")
    world = _world(topology)
    gate, = world.lans_of("gate")
    assert [u.ifname for u in world.host("gate").uplinks] == ["eth0", "eth1"]
    assert not gate.gateway_is_router and gate.return_path is ReturnPath.MASQUERADE
    probes = expected_probes(topology, world)
    assert _probe(probes, "tech1", "gate-dev").allowed
    assert not _probe(probes, "gate-dev", "tech1").allowed  # masquerade: the LAN cannot open to the VPN


def test_ipv6_endpoint_makes_the_internet_dual_stack():
    topology = load_topology(GOLDEN / "dual-stack" / "topology.conf")
    world = _world(topology)
    assert world.ipv6
    hub = world.host("hub").uplinks[0]
    assert hub.address6 == ipaddress.ip_interface("2001:db8::60/128")  # the endpoint itself, on the internet
    lab6 = ipaddress.ip_network("2001:db8:ffff::/48")
    inet6 = [u.address6.ip for u in world.uplinks if u.ns == "inet"]
    assert inet6 and all(a in lab6 for a in inet6) and hub.gateway6 in inet6
    # The laptop's home network has IPv6 from the lab's /48 and NAT66 (one inet-family rule) in front.
    laptop = world.host("laptop").uplinks[0]
    assert laptop.address6.ip in lab6 and laptop.gateway6 is not None
    script = namespace_script(world, "laptop-nat")
    assert "add table inet lab" in script and "net.ipv6.conf.all.forwarding=1" in script
    # The office LAN's IPv6 prefix sits on the same switch; its router holds the IPv6 return route.
    office, = world.lans_of("office")
    assert office.prefix6 == ipaddress.ip_network("2001:db8:60::/64")
    assert office.gateway_address6 == ipaddress.ip_interface("2001:db8:60::1/64")
    assert office.device_address6.ip in office.prefix6 and office.router_address6.ip in office.prefix6
    assert "ip route add fd60:1::/64 via 2001:db8:60::1" in namespace_script(world, office.router)
    # networkd underlay: link-local on (the kernel solicits neighbours only from one), no DAD, no RA.
    unit = underlay_networkd(world.host("office"))["/etc/systemd/network/10-lab-eth1.network"]
    assert "LinkLocalAddressing=ipv6" in unit and "IPv6AcceptRA=no" in unit
    assert "Address=2001:db8:60::1/64" in unit and "Gateway=2001:db8:60::2" in unit
    probes = expected_probes(topology, world)
    assert _probe(probes, "laptop", "office-dev").allowed
    assert any(p.dst.address == office.device_address6.ip and p.allowed for p in probes)
    assert any(p.dst.address == office.device_address6.ip and not p.allowed for p in probes)  # the hub


def test_ipv4_topologies_keep_an_ipv4_only_internet(harbor):
    _, world = harbor
    assert not world.ipv6
    assert all(u.address6 is None for u in world.uplinks)
    assert "table ip lab" in namespace_script(world, "ana-nat")


@pytest.mark.parametrize("endpoint", ["[2001:db9::1]:51820", "[2001:db8:ffff::7]:51820"])
def test_ipv6_endpoint_outside_the_lab_ranges_is_refused(endpoint):
    text = (GOLDEN / "dual-stack" / "topology.conf").read_text().replace("[2001:db8::60]:51820", endpoint)
    with pytest.raises(ConfigError) as err:
        plan_world(parse_topology(text))
    assert endpoint in str(err.value) and "2001:db8::/32" in str(err.value)


def test_hosts_that_keep_their_own_key_get_a_lab_key():
    from netdwg.lab.state import lab_topology, lab_topology_text

    text = (GOLDEN / "hub-spokes" / "topology.conf").read_text()
    stripped = lab_topology_text(text)
    assert "public_key" not in stripped.replace("# bergen keeps its own private key; only the public key is here", "")
    assert parse_topology(stripped).host("bergen").public_key is None
    assert lab_topology(parse_topology(text)).host("bergen").public_key is None
    assert len(stripped.splitlines()) == len(text.splitlines()) - 1


def test_gateway_behind_an_ipv4_only_office_still_reaches_an_ipv6_hub():
    text = synthetic(5).replace("198.51.100.10:51820", "[2001:db8::10]:51820")
    topology = parse_topology(text)
    world = _world(topology)
    site = world.host("site1").uplinks[0]
    lab6 = ipaddress.ip_network("2001:db8:ffff::/48")
    assert site.address6.ip in lab6 and site.gateway6 in lab6  # an underlay-only prefix via its office router
    lan, = world.lans_of("site1")
    assert lan.prefix6 is None  # not the topology's: lab check does not probe it
    assert not any(p.dst.address.version == 6 and p.dst.site for p in expected_probes(topology, world))


def test_public_ipv6_is_what_the_hub_sees():
    from netdwg.lab.world import public_address6

    topology = load_topology(GOLDEN / "dual-stack" / "topology.conf")
    world = _world(topology)
    assert public_address6(world, world.host("hub")) == ipaddress.ip_address("2001:db8::60")
    nat_wan = next(u for u in world.uplinks if u.ns == "laptop-nat" and u.ifname == "wan0").address6.ip
    assert public_address6(world, world.host("laptop")) == nat_wan
    rtr_wan = next(u for u in world.uplinks if u.ns == "office-rtr" and u.ifname == "wan0").address6.ip
    assert public_address6(world, world.host("office")) == rtr_wan


def test_site_with_only_an_ipv6_lan_is_refused():
    text = (GOLDEN / "dual-stack" / "topology.conf").read_text()
    text = text.replace("lan = 172.16.60.0/24, 2001:db8:60::/64", "lan = 2001:db8:60::/64")
    text = text.replace("lan_address = 172.16.60.1/24, 2001:db8:60::1/64", "lan_address = 2001:db8:60::1/64")
    with pytest.raises(ConfigError) as err:
        plan_world(parse_topology(text))
    assert "only IPv6 LANs" in str(err.value)
