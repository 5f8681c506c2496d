"""The lab's dual-stack internet: a hub reachable only over IPv6, spokes behind NAT66, a laptop roaming
onto a dual-stack office LAN (IPv6 by SLAAC from the office router) and back, root namespace untouched."""

from __future__ import annotations

import ipaddress

import pytest

from netdwg.lab.check import expected_probes, format_table, run_probes
from netdwg.lab.roam import AWAY, ROAM_IF, roam
from netdwg.lab.sandbox import snapshot_root_netns
from netdwg.lab.state import destroy_labs
from netdwg.lab.status import format_status, lab_status

pytestmark = [pytest.mark.root, pytest.mark.slow]

TOPOLOGY = """\
[network]
name = tide
interface = wg-tide
pool = 10.61.0.0/24, fd61:1::/64
port = 51820

[hosts]
  [[hub]]
  role = hub
  endpoint = [2001:db8::61]:51820
  address = 10.61.0.1, fd61:1::1

  [[office]]
  role = site
  address = 10.61.0.2, fd61:1::2
  lan = 172.16.61.0/24, 2001:db8:61::/64
  lan_address = 172.16.61.1/24, 2001:db8:61::1/64
  lan_interface = eth1
  return_path = static-route

  [[ana]]
  role = roaming
  address = 10.61.0.10, fd61:1::10
"""


def _endpoint_of_hub(node, ifname: str) -> str:
    return node.run(["wg", "show", ifname, "endpoints"]).stdout.split()[1]


def test_ipv6_only_hub_roaming_laptop_and_clean_root(tmp_path, lab_up):
    before = snapshot_root_netns()
    conf = tmp_path / "tide.conf"
    conf.write_text(TOPOLOGY)
    lab = lab_up(conf)
    ana = lab.node("ana")
    # The tunnel runs over IPv6 from ana's home network, NAT66'd by ana-nat: the hub sees ana-nat's address.
    assert _endpoint_of_hub(ana, "wg-tide") == "[2001:db8::61]:51820"
    ana_nat_wan = next(u for u in lab.world.uplinks if u.ns == "ana-nat" and u.ifname == "wan0").address6.ip
    hub_sees = lab.node("hub").run(["wg", "show", "wg-tide", "endpoints"]).stdout
    assert f"[{ana_nat_wan}]:" in hub_sees

    status = lab_status(lab)
    hosts = {h["host"]: h for h in status["hosts"]}
    assert hosts["hub"]["public_address6"] == "2001:db8::61" and hosts["hub"]["handshakes"] == 2
    assert hosts["ana"]["public_address6"] == str(ana_nat_wan)
    assert "2001:db8:61::/64" in format_status(status)

    results = run_probes(lab, expected_probes(lab.topology, lab.world), trace=False)
    assert all(r.ok for r in results), format_table(results)
    assert any(r.reached and r.probe.dst.address == ipaddress.ip_address("2001:db8:61::a") for r in results)

    # Onto the office LAN: IPv4 by DHCP, IPv6 by SLAAC, and the tunnel comes back over IPv6 from there.
    on_lan = roam(lab, "ana", "office", measure=False)
    assert on_lan.tunnel_back_in < 20
    addrs = ana.run(["ip", "-6", "-o", "addr", "show", "dev", ROAM_IF, "scope", "global"]).stdout
    assert "2001:db8:61:" in addrs
    office_rtr_wan = next(u for u in lab.world.uplinks if u.ns == "office-rtr" and u.ifname == "wan0").address6.ip
    assert f"[{office_rtr_wan}]:" in lab.node("hub").run(["wg", "show", "wg-tide", "endpoints"]).stdout
    back = roam(lab, "ana", AWAY, measure=False)
    assert back.tunnel_back_in < 20
    assert ana.run(["ping", "-c1", "-W2", "fd61:1::1"], check=False).returncode == 0

    destroy_labs(lab.sandbox.record.path.parent)
    assert snapshot_root_netns() == before
