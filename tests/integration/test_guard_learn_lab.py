"""`netdwg guard learn` and the running guard use one learned-fingerprints file, in the lab as on a
laptop: learn run with its defaults inside the laptop's node writes the file the guard the lab
started reads, the guard re-reads it and learn says so only once the guard's status shows it."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from netdwg.lab.roam import AWAY, roam
from netdwg.lab.sandbox import wait_until

pytestmark = [pytest.mark.root, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
# harbor.conf with nothing declared for oslo but the passive opt-in: the guard can know the office
# only from what `netdwg guard learn oslo` records
UNKNOWN_OSLO = "\n".join(line for line in (REPO / "examples" / "harbor.conf").read_text().splitlines()
                         if not line.strip().startswith(("dhcp_server = 172.20.10.1", "router_mac = 02:00:5e:10:0a",
                                                         "domain = oslo"))) + "\n"


def _oslo(node) -> dict:
    try:
        status = json.loads(node.path("/run/netdwg/guard.status").read_text())
    except (OSError, ValueError):
        return {}
    return next((s for s in status.get("sites", []) if s["site"] == "oslo"), {})


def test_learn_in_the_lab_reaches_the_running_guard_and_says_so_only_when_it_did(lab_up, tmp_path):
    topology = tmp_path / "harbor.conf"
    topology.write_text(UNKNOWN_OSLO)
    assert "trust = passive" in UNKNOWN_OSLO and "oslo.harbor.example" not in UNKNOWN_OSLO
    lab = lab_up(topology)
    ana = lab.node("ana")
    wait_until(lambda: _oslo(ana).get("verdict") == "away", timeout=20, what="ana's guard to report")

    on_lan = roam(lab, "ana", "oslo", measure=False)
    wait_until(lambda: _oslo(ana).get("verdict") == "foreign", timeout=20, what="the unknown office judged")
    assert "no fingerprint declared or learned" in _oslo(ana)["reasons"][0]
    assert on_lan.after.route_dev == "wg-harbor"

    res = ana.run([sys.executable, "-m", "netdwg", "guard", "learn", "oslo"], check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "(in /var/lib/netdwg/guard-learned.json)" in res.stdout
    assert "the running guard (pid" in res.stdout and "re-read it" in res.stdout
    written = ana.path("/var/lib/netdwg/guard-learned.json").read_bytes()
    status = json.loads(ana.path("/run/netdwg/guard.status").read_text())
    assert status["learned"]["path"] == "/var/lib/netdwg/guard-learned.json"
    assert status["learned"]["sha256"] == hashlib.sha256(written).hexdigest() and status["learned"]["sites"] == {"oslo": 1}
    # and it acts on it: the office is trusted, its LAN route wins
    wait_until(lambda: _oslo(ana).get("verdict") == "trusted", timeout=20, what="the learned office trusted")
    wait_until(lambda: "dev lan0" in ana.run(["ip", "route", "get", "172.20.10.10"]).stdout, timeout=10,
               what="the LAN route to win")
    roam(lab, "ana", AWAY, measure=False)
