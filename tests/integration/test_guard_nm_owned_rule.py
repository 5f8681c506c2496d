"""The guard on a laptop whose tunnel NetworkManager owns (guard.conf managed_by = networkmanager), with the
real NetworkManager 1.42 taking the office lease: the guard routes the office LAN through its own table and
rule and leaves the tunnel's main-table route alone, so a reapply that deletes and re-adds that route (what
NetworkManager does with its profile's routes) changes nothing; NetworkManager restarting keeps the LAN
route; leaving removes the rule and the table's route. (NetworkManager cannot drive wireguard-go, so the
tunnel here is wireguard-go with its route added as NetworkManager would: main table, metric 0.)"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import replace

import pytest

from netdwg.guard.policy import GUARD_RULE_PRIORITY, GUARD_TABLE
from netdwg.lab.sandbox import Sandbox, wait_until
from nm_support import wait_until_bus_name_released

pytestmark = pytest.mark.root


def _rules(lab) -> list[tuple[int, str]]:
    out = json.loads(lab.lap.run(["ip", "-j", "-4", "rule", "show"]).stdout)
    return [(r["priority"], str(r.get("table"))) for r in out]


def _table(lab) -> list[str]:
    out = json.loads(lab.lap.run(["ip", "-j", "-4", "route", "show", "table", str(GUARD_TABLE)],
                                 check=False).stdout or "[]")
    return sorted(f"{r['dst']} {r['dev']}" for r in out)


def test_a_networkmanager_tunnel_gets_a_rule_that_a_reapply_does_not_undo():
    from guard_scenario import DEVICE, OFFICE_LAN, OTHER_HOST, _reap_dead, build_roaming_lab
    from netdwg.topology.guard_config import Action, render_guard_config

    with Sandbox(prefix="ndwq") as sb:
        lab = build_roaming_lab(sb, lan_manager="networkmanager")
        config = replace(lab.write_guard_config(Action.REMOVE), managed_by="networkmanager")
        lab.lap.write_file("/etc/netdwg/guard.conf", render_guard_config(config))
        wg_before = sorted(json.dumps(r, sort_keys=True) for r in lab.wg_routes())
        ours = (GUARD_RULE_PRIORITY, str(GUARD_TABLE))
        lab.start_guard()
        try:
            lab.join("office")
            wait_until(lambda: lab.route_dev(DEVICE) == "lan0", timeout=30,
                       what=f"the LAN route to win; guard log:\n{lab.guard_log()[-2500:]}")
            assert ours in _rules(lab)
            assert _table(lab) == [f"{OFFICE_LAN} lan0"]
            assert sorted(json.dumps(r, sort_keys=True) for r in lab.wg_routes()) == wg_before, \
                "the tunnel's own routes are left as they were"
            assert lab.route_dev(OTHER_HOST) == "wg0", "the other site stays in the tunnel"

            # the profile's route deleted and put back, as a reapply does: the LAN keeps winning
            acted = lab.guard_log().count("[#]")
            lab.lap.run(["ip", "route", "del", str(OFFICE_LAN), "dev", "wg0", "metric", "0"])
            lab.lap.run(["ip", "route", "add", str(OFFICE_LAN), "dev", "wg0", "metric", "0", "proto", "static"])
            assert lab.route_dev(DEVICE) == "lan0"
            wait_until(lambda: lab.guard_status() is not None, timeout=5, what="status")
            assert lab.guard_log().count("[#]") == acted, "nothing to re-assert: the rule never depended on it"

            # NetworkManager restarts and takes the lease again: the LAN keeps (or gets back) the route
            pid = lab.lap.daemons.pop("NetworkManager")
            with open(f"/proc/{pid}/comm") as f:
                assert f.read().strip() == "NetworkManager"
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: _reap_dead(pid), timeout=10, what="NetworkManager to stop")
            wait_until_bus_name_released(lab.lap)
            lab.lap.spawn(["/usr/sbin/NetworkManager", "--debug"], name="NetworkManager")
            wait_until(lambda: lab.route_dev(DEVICE) == "lan0" and lab.has_lan_address("lan0"), timeout=30,
                       what=f"the LAN route after NetworkManager's restart; log:\n{lab.guard_log()[-2500:]}")

            lab.leave("office")
            wait_until(lambda: lab.route_dev(DEVICE) == "wg0", timeout=30,
                       what=f"the tunnel route back; guard log:\n{lab.guard_log()[-2500:]}")
            wait_until(lambda: ours not in _rules(lab) and _table(lab) == [], timeout=10,
                       what="the rule and the table's route gone")
            assert sorted(json.dumps(r, sort_keys=True) for r in lab.wg_routes()) == wg_before
        finally:
            lab.stop_guard()
        assert ours not in _rules(lab) and _table(lab) == [], "stopping the guard leaves nothing behind"
