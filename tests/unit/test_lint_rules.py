"""Each lint rule fires on a minimal bad topology, at the right file:line, and stays silent on good ones."""

from __future__ import annotations

import ipaddress
import textwrap
from pathlib import Path

import pytest

from netdwg.errors import Severity
from netdwg.lint import run_lint
from netdwg.topology import load_topology, parse_topology

REPO = Path(__file__).resolve().parents[2]

BASE = """\
[network]
name = t
interface = wg0
pool = 10.9.0.0/16
{network}
[hosts]
  [[hub]]
  role = hub
  endpoint = 192.0.2.1:51820
  address = 10.9.0.1
{hub}
  [[oslo]]
  role = site
  address = 10.9.0.2
  lan = 172.20.10.0/24
  lan_address = 172.20.10.2
  lan_interface = eth1
  ssh_host_key = 172.20.10.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICnrgzVPhXaLp6D300B3wMBjAopZvmsUPqanyTBnhWZ+
{oslo}
  [[ana]]
  role = roaming
  address = 10.9.0.4
  guard = yes
{ana}
{more}
"""


def topo(network="", hub="", oslo="", ana="", more=""):
    text = BASE.format(network=textwrap.dedent(network), hub=_indent(hub), oslo=_indent(oslo),
                       ana=_indent(ana), more=textwrap.dedent(more))
    return parse_topology(text, "t.conf"), text


def _indent(text: str) -> str:
    return textwrap.indent(textwrap.dedent(text), "  ")


def lint(**parts):
    topology, text = topo(**parts)
    return run_lint(topology), text


def only(diags, code):
    return [d for d in diags if d.code == code]


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def loud(diags):
    return [d.format() for d in diags if d.severity is not Severity.INFO]


def test_base_topology_is_clean():
    diags, _ = lint()
    assert diags == ()


def test_peer_allowed_ips_overlap_on_the_hub():
    # bergen's LAN lies inside oslo's: the hub's two peers claim the same addresses
    diags, text = lint(more="""\
      [[bergen]]
      role = site
      address = 10.9.0.3
      lan = 172.20.10.128/25
      lan_address = 172.20.10.129
    """)
    hits = only(diags, "NDW010")
    assert len(hits) == 1
    assert hits[0].severity is Severity.ERROR
    assert "172.20.10.128/25 of peer 'bergen' overlaps 172.20.10.0/24 of peer 'oslo'" in hits[0].message
    assert hits[0].span.line == line_of(text, "lan = 172.20.10.128/25")
    assert hits[0].subject == "host 'hub'"
    assert hits[0].fix
    # the same overlap is also a LAN/LAN overlap, reported at bergen's lan line
    lan = only(diags, "NDW012")
    assert len(lan) == 1 and lan[0].span.line == line_of(text, "lan = 172.20.10.128/25")


def test_lan_overlapping_the_pool():
    diags, text = lint(oslo="", more="""\
      [[bergen]]
      role = site
      address = 10.9.0.3
      lan = 10.9.200.0/24
      lan_address = 10.9.200.1
    """)
    hits = only(diags, "NDW011")
    assert [h.span.line for h in hits] == [line_of(text, "lan = 10.9.200.0/24")]
    assert "LAN 10.9.200.0/24 overlaps the VPN pool 10.9.0.0/16" in hits[0].message


def test_duplicate_address():
    diags, text = lint(more="""\
      [[ben]]
      role = roaming
      address = 10.9.0.4
      backend = wg-quick
    """)
    hits = only(diags, "NDW013")
    assert len(hits) == 1
    assert "address 10.9.0.4 is already used by host 'ana'" in hits[0].message
    assert hits[0].span.line == line_of(text, "backend = wg-quick") - 1
    assert not only(diags, "NDW010")  # reported once, not again as a peer overlap


def test_out_of_pool_and_missing_address():
    diags, text = lint(more="""\
      [[ben]]
      role = roaming
      address = 10.10.0.5, fd00::5
      [[cy]]
      role = roaming
    """)
    out = only(diags, "NDW014")
    assert {h.message.split(" is")[0] for h in out} == {"address 10.10.0.5", "address fd00::5"}
    assert "no IPv6 pool" in [h for h in out if "fd00" in h.message][0].message
    missing = only(diags, "NDW013")
    assert [h.subject for h in missing] == ["host 'cy'"]


def test_pool_network_address_is_not_a_host():
    diags, _ = lint(more="""\
      [[ben]]
      role = roaming
      address = 10.9.0.0
    """)
    assert "network address" in only(diags, "NDW014")[0].message


def test_host_that_reaches_nobody_without_a_hub():
    topology = parse_topology(textwrap.dedent("""\
        [network]
        name = t
        pool = 10.9.0.0/16
        [hosts]
          [[oslo]]
          role = site
          address = 10.9.0.2
          endpoint = 192.0.2.2:51820
          lan = 172.20.10.0/24
          lan_address = 172.20.10.2
          [[ana]]
          role = roaming
          address = 10.9.0.4
        """), "t.conf")
    hits = only(run_lint(topology), "NDW015")
    assert {h.subject for h in hits} == {"host 'ana'", "host 'oslo'"}
    assert all(h.severity is Severity.ERROR for h in hits)


def test_roaming_host_whose_sites_all_refuse_it():
    diags, text = lint(oslo="allow = ben", ana="reach = oslo", more="""\
      [[ben]]
      role = roaming
      address = 10.9.0.5
      backend = wg-quick
    """)
    hits = only(diags, "NDW015")
    assert len(hits) == 1 and hits[0].subject == "host 'ana'"
    assert hits[0].span.line == line_of(text, "reach = oslo")


def test_both_ends_behind_nat():
    topology, text = topo()
    text = text.replace("  endpoint = 192.0.2.1:51820\n", "")
    diags = run_lint(parse_topology(text, "t.conf"))
    hits = only(diags, "NDW016")
    assert len(hits) == 1
    assert "neither have oslo, ana" in hits[0].message
    assert hits[0].subject == "host 'hub'"


def test_spoke_behind_nat_without_keepalive():
    diags, text = lint(oslo="keepalive = 0")
    hits = only(diags, "NDW017")
    assert [h.subject for h in hits] == ["host 'oslo'"]
    assert hits[0].span.line == line_of(text, "keepalive = 0")
    # network-wide zero: every NATed spoke, pointing at [network] keepalive
    diags, text = lint(network="keepalive = 0")
    hits = only(diags, "NDW017")
    assert {h.subject for h in hits} == {"host 'oslo'", "host 'ana'"}
    assert {h.span.line for h in hits} == {line_of(text, "keepalive = 0")}


def test_roaming_host_with_a_lan_does_not_forward():
    diags, text = lint(ana="lan = 192.168.77.0/24")
    hits = only(diags, "NDW018")
    assert len(hits) == 1 and hits[0].span.line == line_of(text, "lan = 192.168.77.0/24")


def test_router_without_forwarding_in_compiled_output():
    from netdwg.topology.hostconfig import Sysctl

    class Compiled:  # the compiler's HostConfig shape: a sysctls tuple
        sysctls = (Sysctl("net.ipv4.ip_forward", "0"),)

    topology, _ = topo()
    hits = only(run_lint(topology, {"oslo": Compiled()}), "NDW018")
    assert [h.subject for h in hits] == ["host 'oslo'"]
    Compiled.sysctls = (Sysctl("net.ipv4.ip_forward", "1"),)
    assert not only(run_lint(topology, {"oslo": Compiled()}), "NDW018")


def test_lan_without_return_path():
    diags, text = lint(oslo="return_path = none")
    hits = only(diags, "NDW019")
    assert len(hits) == 1 and hits[0].severity is Severity.WARNING
    assert hits[0].span.line == line_of(text, "return_path = none")
    # silent when the gateway is the LAN's default router (it routes replies into the tunnel itself)
    diags, _ = lint(oslo="return_path = none\nlan_router = 172.20.10.2")
    assert not only(diags, "NDW019")
    diags, _ = lint(oslo="return_path = none\nlan_router = 172.20.10.1")
    assert len(only(diags, "NDW019")) == 1
    diags, text = lint(oslo="return_path = static-route", more="""\
      [[bergen]]
      role = site
      address = 10.9.0.3
      lan = 172.20.20.0/24
    """)
    hits = only(diags, "NDW019")
    assert len(hits) == 1 and "lan_address is missing" in hits[0].message and hits[0].subject == "host 'bergen'"
    topology, text = topo(oslo="return_path = masquerade")
    text = text.replace("  lan_interface = eth1\n", "")
    hits = only(run_lint(parse_topology(text, "t.conf")), "NDW019")
    assert len(hits) == 1 and "lan_interface is missing" in hits[0].message


def test_lan_address_outside_the_lan():
    topology, text = topo()
    text = text.replace("lan_address = 172.20.10.2", "lan_address = 172.20.11.2")
    hits = only(run_lint(parse_topology(text, "t.conf")), "NDW019")
    assert len(hits) == 1 and "not inside the LAN 172.20.10.0/24" in hits[0].message


def test_allow_list_that_does_not_cover_its_clients():
    # ben is allowed into oslo but does not route oslo's LAN; the hub may never be allowed
    diags, text = lint(oslo="allow = ana, ben, hub", more="""\
      [[ben]]
      role = roaming
      address = 10.9.0.5
      backend = wg-quick
      reach = ,
    """)
    hits = only(diags, "NDW020")
    messages = sorted(h.message for h in hits)
    assert any("allow names the hub 'hub'" in m for m in messages)
    assert any("allow names 'ben', which does not route this LAN" in m for m in messages)
    assert all(h.span.line == line_of(text, "allow = ana, ben, hub") for h in hits)


def test_masquerade_that_does_not_cover_pair_clients():
    topology = parse_topology(textwrap.dedent("""\
        [network]
        name = t
        pool = 10.9.0.0/16
        [hosts]
          [[a]]
          role = site
          endpoint = 192.0.2.1:51821
          lan = 172.20.1.0/24
          lan_address = 172.20.1.1
          lan_interface = eth1
          return_path = masquerade
          [[b]]
          role = site
          endpoint = 192.0.2.2:51821
          lan = 172.20.2.0/24
          lan_address = 172.20.2.1
        [pairs]
          [[ab]]
          ends = a, b
          transfer = 10.255.0.0/31
        """), "t.conf")
    from netdwg.topology.hostconfig import Firewall, Masquerade

    class Compiled:  # a's files NAT only the pool, so b's LAN hosts reach a's LAN unanswerable
        firewall = Firewall(tunnel_interfaces=("wg-s2s",), masquerade=(Masquerade(
            sources=(topology.network.pool[0],), destination=topology.host("a").lan_prefixes[0]),))

    assert not only(run_lint(topology), "NDW020")
    hits = only(run_lint(topology, {"a": Compiled()}), "NDW020")
    assert len(hits) == 1 and hits[0].subject == "host 'a'" and hits[0].severity is Severity.ERROR
    assert "not 172.20.2.0/24 (b, pair 'ab')" in hits[0].message


def test_allow_list_in_compiled_output_missing_a_client_address():
    from netdwg.topology.hostconfig import Firewall, ForwardAllow

    _, text = topo(oslo="allow = ana")
    text = text.replace("pool = 10.9.0.0/16", "pool = 10.9.0.0/16, fd09::/64")
    text = text.replace("address = 10.9.0.4", "address = 10.9.0.4, fd09::4")
    topology = parse_topology(text, "t.conf")
    lan = topology.host("oslo").lan_prefixes[0]

    class Compiled:  # the allow list forgot ana's IPv6 address
        firewall = Firewall(tunnel_interfaces=("wg0",), allow=(ForwardAllow(
            sources=(ipaddress.ip_network("10.9.0.4/32"),), destination=lan, in_interface="wg0"),))

    hits = only(run_lint(topology, {"oslo": Compiled()}), "NDW020")
    assert len(hits) == 1 and "fd09::4 of 'ana'" in hits[0].message


def test_mtu_above_the_path():
    diags, text = lint(network="mtu = 1450")
    hits = only(diags, "NDW021")
    assert hits and all("1440" in h.message for h in hits)  # the hub's endpoint is IPv4: 1500 - 60
    assert {h.span.line for h in hits} == {line_of(text, "mtu = 1450")}
    diags, _ = lint(network="mtu = 1440")
    assert not only(diags, "NDW021")
    diags, text = lint(ana="mtu = 1500")
    assert [h.subject for h in only(diags, "NDW021")] == ["host 'ana'"]


def test_mtu_below_ipv6_minimum():
    topology, text = topo(network="mtu = 1200")
    text = text.replace("pool = 10.9.0.0/16", "pool = 10.9.0.0/16, fd09::/64")
    hits = only(run_lint(parse_topology(text, "t.conf")), "NDW021")
    assert hits and all(h.severity is Severity.ERROR and "1280" in h.message for h in hits)


def test_roaming_conflict_without_guard():
    topology, text = topo()
    text = text.replace("  guard = yes\n", "")
    hits = only(run_lint(parse_topology(text, "t.conf")), "NDW022")
    assert len(hits) == 1 and hits[0].severity is Severity.WARNING and hits[0].subject == "host 'ana'"
    assert "guard = yes" in hits[0].fix and "guard_action = widen and widen_to = 172.20.0.0/16" in hits[0].fix
    # a widened prefix on the site silences it; a widen_to that does not cover the LAN is an error
    text2 = text.replace("lan_interface = eth1", "lan_interface = eth1\n  guard_action = widen\n  widen_to = 172.20.0.0/16")
    assert not only(run_lint(parse_topology(text2, "t.conf")), "NDW022")
    text_unused = text.replace("lan_interface = eth1", "lan_interface = eth1\n  widen_to = 172.20.0.0/16")
    assert len(only(run_lint(parse_topology(text_unused, "t.conf")), "NDW022")) == 1  # widen_to alone does nothing
    text3 = text.replace("lan_interface = eth1", "lan_interface = eth1\n  guard_action = widen\n  widen_to = 172.21.0.0/16")
    bad = only(run_lint(parse_topology(text3, "t.conf")), "NDW022")
    assert len(bad) == 1 and bad[0].severity is Severity.ERROR and bad[0].subject == "host 'oslo'"


def test_unknown_references():
    diags, text = lint(oslo="allow = anna", ana="reach = olso", more="""\
      [pairs]
        [[p]]
        ends = oslo, bergn
        transfer = 10.255.0.0/31
    """)
    hits = only(diags, "NDW023")
    by_message = {h.message: h for h in hits}
    assert by_message["allow names unknown host 'anna'"].fix == "did you mean 'ana'?"
    assert by_message["reach names unknown host 'olso'"].fix == "did you mean 'oslo'?"
    assert by_message["ends names unknown host 'bergn'"].subject == "pair 'p'"
    assert by_message["reach names unknown host 'olso'"].span.line == line_of(text, "reach = olso")


def test_more_than_one_hub():
    diags, text = lint(more="""\
      [[relay2]]
      role = hub
      address = 10.9.0.9
      endpoint = 192.0.2.9:51820
    """)
    hits = only(diags, "NDW024")
    assert [h.subject for h in hits] == ["host 'relay2'"]
    assert hits[0].span.line == line_of(text, "[[relay2]]") + 1


def test_guard_on_the_wrong_hosts():
    diags, text = lint(oslo="guard = yes")
    hits = only(diags, "NDW025")
    assert [h.subject for h in hits] == ["host 'oslo'"]
    assert all(h.severity is Severity.ERROR for h in hits)


def test_a_wg_quick_laptop_may_run_the_guard():
    # wg-quick routes its AllowedIPs in the main table with metric 0: the routes the guard acts on
    diags, text = lint(more="""\
      [[ben]]
      role = roaming
      address = 10.9.0.5
      backend = wg-quick
      guard = yes
    """)
    assert only(diags, "NDW025") == []
    assert not [d for d in diags if d.subject == "host 'ben'" and d.severity is Severity.ERROR]


def test_site_pair_ends_without_endpoints():
    diags, text = lint(more="""\
      [[bergen]]
      role = site
      address = 10.9.0.3
      lan = 172.20.20.0/24
      lan_address = 172.20.20.2
    [pairs]
      [[ob]]
      ends = oslo, bergen
      transfer = 10.255.0.0/31
    """)
    hits = only(diags, "NDW026")
    assert len(hits) == 2 and {h.message.split("'")[1] for h in hits} == {"oslo", "bergen"}
    assert all(h.span.line == line_of(text, "[[ob]]") for h in hits)


def test_every_problem_reported_at_once_in_file_order():
    diags, text = lint(network="mtu = 1500", oslo="allow = anna\nkeepalive = 0", more="""\
      [[relay2]]
      role = hub
      address = 10.10.0.9
      endpoint = 192.0.2.9:51820
    """)
    codes = {d.code for d in diags}
    assert {"NDW021", "NDW023", "NDW017", "NDW024", "NDW014"} <= codes
    lines = [d.span.line for d in diags]
    assert lines == sorted(lines)


GOLDEN = sorted((REPO / "tests" / "golden").glob("*/topology.conf")) + [REPO / "examples" / "harbor.conf"]


# What the golden topologies say on purpose: hub-spokes guards ana on two sites without a proof (the
# guard does nothing there), harbor.conf opts oslo into trusting passive facts. Nothing else is loud.
GUARD_TRUST = {"hub-spokes": [("NDW028", "host 'oslo'"), ("NDW028", "host 'bergen'")],
               "harbor.conf": [("NDW028", "host 'oslo'")],
               # the examples' laptops on NetworkManager (tests/golden/nm-*): harbor's as harbor.conf; 5-webcam's
               # laptop, on wg-quick only told (info: a wg-quick client may be a phone), is warned on
               # NetworkManager, where the guard can run (guard = yes)
               "nm-harbor": [("NDW028", "host 'oslo'")],
               "nm-5-webcam": [("NDW022", "host 'spoke-1'")]}


def loud_codes(diags):
    return [(d.code, d.subject) for d in diags if d.severity is not Severity.INFO]


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.parent.name if p.name == "topology.conf" else p.name)
def test_silent_on_golden_topologies(path):
    name = path.parent.name if path.name == "topology.conf" else path.name
    assert loud_codes(run_lint(load_topology(path))) == GUARD_TRUST.get(name, [])


GOLDEN_DIRS = sorted(p.parent for p in (REPO / "tests" / "golden").glob("*/topology.secrets"))


@pytest.mark.parametrize("scenario", GOLDEN_DIRS, ids=lambda p: p.name)
def test_silent_on_golden_topologies_with_their_compiled_output(scenario):
    """The compiler's real firewall and sysctls pass the compiled-output checks too."""
    from netdwg.topology.compile import compile_topology
    from netdwg.topology.secrets import parse_secrets

    topology = load_topology(scenario / "topology.conf")
    secrets = parse_secrets((scenario / "topology.secrets").read_text())
    assert loud_codes(run_lint(topology, compile_topology(topology, secrets))) == GUARD_TRUST.get(scenario.name, [])


def test_a_hub_with_its_own_lan_is_a_lan_owner():
    # reach may name the hub when it has a LAN; a roaming laptop routing it collides like with a site's LAN
    diags, text = lint(hub="lan = 192.168.50.0/24\nlan_address = 192.168.50.1\nlan_interface = eth1\n"
                           "return_path = masquerade", ana="reach = hub", more="""\
      [[tech]]
      role = roaming
      address = 10.9.0.9
      backend = wg-quick
      reach = hub
    """)
    assert not only(diags, "NDW023")
    notes = only(diags, "NDW022")
    assert len(notes) == 1 and notes[0].severity is Severity.INFO and "tech" in notes[0].message
    assert notes[0].span.line == line_of(text, "lan = 192.168.50.0/24")


def test_mesh_sites_both_behind_nat():
    topology = parse_topology(textwrap.dedent("""\
        [network]
        name = t
        pool = 10.9.0.0/16
        [hosts]
          [[a]]
          role = site
          address = 10.9.0.1
          lan = 172.20.1.0/24
          lan_address = 172.20.1.1
          [[b]]
          role = site
          address = 10.9.0.2
          lan = 172.20.2.0/24
          lan_address = 172.20.2.1
        """), "t.conf")
    hits = only(run_lint(topology), "NDW016")
    assert len(hits) == 1 and "neither this site nor 'b' has an endpoint" in hits[0].message


def test_site_pair_with_a_roaming_end_or_the_networks_interface():
    diags, _ = lint(ana="endpoint = 192.0.2.4:51821", oslo="endpoint = 192.0.2.2:51821", more="""\
    [pairs]
      [[p]]
      ends = oslo, ana
      transfer = 10.255.0.0/31
      interface = wg0
    """)
    messages = [h.message for h in only(diags, "NDW026")]
    assert any("'ana' is a roaming host" in m for m in messages)
    assert any("interface wg0 is the network's interface too" in m for m in messages)


def test_secrets_store_missing_and_stale_entries():
    from netdwg.topology.secrets import Secrets, complete_secrets, forget_host

    topology, text = topo()
    full, _ = complete_secrets(topology, Secrets())
    assert not only(run_lint(topology, secrets=full), "NDW027")
    partial = forget_host(full, "ana")
    notes = only(run_lint(topology, secrets=partial), "NDW027")
    assert {n.message for n in notes} == {"the secrets store has no private key of ana",
                                          "the secrets store has no preshared key ana <-> hub"}
    assert all(n.severity is Severity.INFO and n.subject == "host 'ana'" for n in notes)
    smaller = parse_topology(text.replace("  [[ana]]\n  role = roaming\n  address = 10.9.0.4\n  guard = yes\n", ""),
                             "t.conf")
    stale = only(run_lint(smaller, secrets=full), "NDW027")
    assert {s.severity for s in stale} == {Severity.WARNING} and len(stale) == 2
    assert any("private key of 'ana'" in s.message for s in stale)


def test_two_pairs_on_one_gateway_need_their_own_interface_and_port():
    topology = parse_topology(textwrap.dedent("""\
        [network]
        name = t
        [hosts]
          [[a]]
          role = site
          endpoint = 192.0.2.1:51821
          lan = 172.20.1.0/24
          lan_address = 172.20.1.1
          lan_router = 172.20.1.1
          return_path = none
          [[b]]
          role = site
          endpoint = 192.0.2.2:51821
          lan = 172.20.2.0/24
          lan_address = 172.20.2.1
          lan_router = 172.20.2.1
          return_path = none
          [[c]]
          role = site
          endpoint = 192.0.2.3:51821
          lan = 172.20.3.0/24
          lan_address = 172.20.3.1
          lan_router = 172.20.3.1
          return_path = none
        [pairs]
          [[ab]]
          ends = a, b
          transfer = 10.255.0.0/31
          [[ac]]
          ends = a, c
          transfer = 10.255.0.2/31
        """), "t.conf")
    hits = only(run_lint(topology), "NDW026")
    assert sorted(h.message for h in hits) == [
        "on 'a', interface wg-s2s is used by pair 'ab' too", "on 'a', port 51821 is used by pair 'ab' too"]
    assert all(h.subject == "pair 'ac'" for h in hits)


def test_roaming_conflict_order_across_reach_groups():
    """Clients are grouped by reach internally; the findings keep file order: a note per LAN listing its
    wg-quick clients in host order, then one warning per laptop, by the first LAN it routes, then host order."""
    from netdwg.lint.rules_routing import check_roaming_conflict

    def roaming(name, number, backend, reach=None):
        return (f"  [[{name}]]\n  role = roaming\n  address = 10.9.1.{number}\n  backend = {backend}\n"
                + (f"  reach = {reach}\n" if reach else ""))

    text = ("[network]\nname = t\npool = 10.9.0.0/16\n[hosts]\n"
            "  [[hub]]\n  role = hub\n  address = 10.9.0.1\n  endpoint = 198.51.100.1:51820\n"
            + "".join(f"  [[s{i}]]\n  role = site\n  address = 10.9.0.{i + 1}\n  lan = 172.20.{i}.0/24\n"
                      f"  lan_address = 172.20.{i}.1\n  return_path = static-route\n" for i in (1, 2, 3))
            + roaming("p1", 1, "wg-quick", "s2") + roaming("l1", 2, "networkd", "s2, s3")
            + roaming("p2", 3, "wg-quick") + roaming("l2", 4, "networkd")
            + roaming("l3", 5, "networkd", "s3") + roaming("p3", 6, "wg-quick", "s2"))
    found = list(check_roaming_conflict(parse_topology(text, "t.conf")))
    notes = [(d.subject, d.message.split(" route ")[0]) for d in found if d.severity is Severity.INFO]
    assert notes == [("host 's1'", "wg-quick clients p2"), ("host 's2'", "wg-quick clients p1, p2, p3"),
                     ("host 's3'", "wg-quick clients p2")]
    warnings = [d for d in found if d.severity is Severity.WARNING]
    assert [d.subject for d in warnings] == ["host 'l2'", "host 'l1'", "host 'l3'"]
    assert "s1's 172.20.1.0/24, s2's 172.20.2.0/24, s3's 172.20.3.0/24" in warnings[0].message
    assert "(likewise for the other sites)" in warnings[0].fix
    assert "s2's 172.20.2.0/24, s3's 172.20.3.0/24" in warnings[1].message and "s1's" not in warnings[1].message
    assert "routes s3's 172.20.3.0/24 into" in warnings[2].message and "widen_to = 172.20.0.0/16 on 's3'" in warnings[2].fix
    assert all(d.severity is not Severity.ERROR for d in found)
