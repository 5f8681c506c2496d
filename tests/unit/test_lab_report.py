"""What `netdwg lab check` and `lab roam` print: tables a person reads, JSON a script reads."""

from __future__ import annotations

import ipaddress

from netdwg.lab.check import Point, Probe, ProbeResult, format_table, results_json
from netdwg.lab.roam import Measurement, RoamReport, format_roam, roam_json

ANA = Point("ana", "ana", ipaddress.ip_address("10.99.0.4"))
DEV = Point("oslo-dev", "oslo-dev", ipaddress.ip_address("172.20.10.10"), site="oslo")
RELAY = Point("relay", "relay", ipaddress.ip_address("10.99.0.1"))


def test_check_table_shows_paths_reasons_and_failures():
    results = (
        ProbeResult(Probe(ANA, DEV, True, "ana reaches oslo, allowed"), True, ("relay", "oslo", "oslo-dev")),
        ProbeResult(Probe(RELAY, DEV, False, "the hub may not open connections into oslo's LAN"), False),
        ProbeResult(Probe(DEV, ANA, False, "oslo's LAN router has no route to the VPN"), True),
    )
    lines = format_table(results).splitlines()
    assert lines[0].split() == ["FROM", "TO", "EXPECT", "GOT", "PATH", "/", "WHY"]
    assert lines[1].split()[:6] == ["ana", "oslo-dev", "172.20.10.10", "allow", "reached", "ok"]
    assert lines[1].endswith("relay > oslo > oslo-dev")
    assert lines[2].endswith("the hub may not open connections into oslo's LAN") and " ok " in lines[2]
    assert " FAIL " in lines[3] and lines[3].endswith("no route to the VPN; but it was reached")
    assert lines[-1] == "3 probes, 2 as the topology says, 1 failed"
    data = results_json(results)
    assert [d["ok"] for d in data] == [True, True, False]
    assert data[0]["path"] == ["relay", "oslo", "oslo-dev"] and data[2]["expect"] == "block"


def test_roam_report_tells_the_story():
    report = RoamReport("ana", Measurement("away", "oslo-dev", "wg-harbor", 84.2),
                        Measurement("oslo", "oslo-dev", "lan0", 5634.0), 0.164, 0.184,
                        (("bergen-dev", "wg-harbor"),))
    text = format_roam(report)
    assert "before  away   wg-harbor" in text and "84 Mbit/s" in text
    assert "after   oslo   lan0" in text and "5,634 Mbit/s" in text
    assert "uplink ready in 164 ms, tunnel back in 184 ms" in text
    assert "other LAN bergen-dev: via wg-harbor" in text
    data = roam_json(report)
    assert data["after"]["route_dev"] == "lan0" and data["other_lans"] == {"bergen-dev": "wg-harbor"}


def test_unmeasured_throughput_is_a_dash():
    report = RoamReport("ana", Measurement("oslo", "oslo-dev", "lan0", None),
                        Measurement("away", "oslo-dev", "wg-harbor", None), 0.1, 0.2, ())
    assert "Mbit/s" not in format_roam(report)
