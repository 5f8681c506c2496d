"""The guard's rtnetlink writer in a throwaway namespace: exact, idempotent route changes."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from guard_scenario import REPO

pytestmark = pytest.mark.root

SCRIPT = textwrap.dedent("""
    import ipaddress, json, subprocess
    from netdwg.guard.observed import Route
    from netdwg.guard.rtnl import RtnlRoutes
    n = ipaddress.ip_network
    def routes():
        out = json.loads(subprocess.run(["ip", "-j", "route", "show", "table", "all", "dev", "wg0"],
                                        capture_output=True, text=True, check=True).stdout)
        return sorted((r["dst"], r.get("metric", 0), r.get("table", "main")) for r in out
                      if ":" not in r["dst"])  # IPv6 link-local and multicast: not ours
    r = RtnlRoutes()
    tunnel = Route(n("172.20.10.0/24"), "wg0", 0)
    demoted = Route(n("172.20.10.0/24"), "wg0", 1025)
    admin = Route(n("172.20.10.0/24"), "wg0", 3000)
    other_table = Route(n("10.0.0.0/8"), "wg0", 5, table=1000)
    steps = {}
    for route in (tunnel, tunnel, demoted, admin, other_table):   # adding twice is fine
        r.add_route(route)
    steps["added"] = routes()
    steps["exists"] = [r.exists(tunnel), r.exists(Route(n("172.20.10.0/24"), "wg0", 7))]
    r.delete_route(tunnel)
    r.delete_route(tunnel)   # the kernel would take metric 0 as "any": must not delete 1025 or 3000
    steps["after_double_delete"] = routes()
    r.delete_route(demoted, seen_present=True)
    r.delete_route(other_table)
    steps["end"] = routes()
    try:
        r.add_route(Route(n("10.9.0.0/16"), "nope0", 0))
    except OSError as err:
        steps["missing_dev"] = err.errno
    print(json.dumps(steps))
""")


def test_exact_idempotent_route_changes(sandbox):
    ns = sandbox.netns("rtnl")
    ns.run(["sh", "-c", "ip link add wg0 type veth peer name peer0 && ip link set wg0 up && ip link set peer0 up"])
    out = ns.run([sys.executable, "-c", SCRIPT], env={"PYTHONPATH": str(REPO)}).stdout
    steps = json.loads(out)
    assert steps["added"] == [["10.0.0.0/8", 5, "1000"], ["172.20.10.0/24", 0, "main"],
                              ["172.20.10.0/24", 1025, "main"], ["172.20.10.0/24", 3000, "main"]]
    assert steps["exists"] == [True, False]
    assert steps["after_double_delete"] == [["10.0.0.0/8", 5, "1000"], ["172.20.10.0/24", 1025, "main"],
                                            ["172.20.10.0/24", 3000, "main"]]
    assert steps["end"] == [["172.20.10.0/24", 3000, "main"]], "the admin's route is never touched"
    assert steps["missing_dev"] == 19


RULE_SCRIPT = textwrap.dedent("""
    import ipaddress, json, subprocess
    from netdwg.guard.observed import Route
    from netdwg.guard.policy import AddRule, GUARD_TABLE
    from netdwg.guard.rtnl import RtnlRoutes
    def rules(family):
        out = json.loads(subprocess.run(["ip", "-j", f"-{family}", "rule", "show"], capture_output=True,
                                        text=True, check=True).stdout)
        return sorted((r["priority"], str(r.get("table"))) for r in out)
    def via(dst):
        return json.loads(subprocess.run(["ip", "-j", "route", "get", dst], capture_output=True, text=True,
                                         check=True).stdout)[0]["dev"]
    r = RtnlRoutes()
    steps = {"before": rules(4)}
    r.add_route(Route(ipaddress.ip_network("172.20.10.0/24"), "wg0", 0))
    r.add_route(Route(ipaddress.ip_network("172.20.10.0/24"), "lan0", 0, table=GUARD_TABLE))
    steps["without_rule"] = via("172.20.10.9")
    for rule in (AddRule(4), AddRule(4), AddRule(6)):   # adding twice is fine
        r.add_rule(rule)
    steps["with_rule"] = (rules(4), rules(6), via("172.20.10.9"), via("10.1.2.3"))
    for rule in (AddRule(4), AddRule(4), AddRule(6)):   # deleting twice too
        r.delete_rule(rule)
    steps["after"] = (rules(4), rules(6), via("172.20.10.9"))
    print(json.dumps(steps))
""")


def test_the_guard_rule_sends_a_lan_through_its_table_and_goes_exactly(sandbox):
    """The rule for laptops whose tunnel NetworkManager owns: the LAN route in the guard's table wins over
    the tunnel route in main; an address the table lacks still uses main; undo removes only the rule."""
    ns = sandbox.netns("rule")
    ns.run(["sh", "-c", "ip link add wg0 type veth peer name peer0 && ip link add lan0 type veth peer name lanp "
                        "&& for l in wg0 peer0 lan0 lanp; do ip link set $l up; done "
                        "&& ip addr add 172.20.10.50/24 dev lan0 noprefixroute "
                        "&& ip route add 172.20.10.0/24 dev lan0 metric 100 "  # NetworkManager's DHCP route
                        "&& ip route add default dev wg0 metric 5"])
    steps = json.loads(ns.run([sys.executable, "-c", RULE_SCRIPT], env={"PYTHONPATH": str(REPO)}).stdout)
    from netdwg.guard.policy import GUARD_RULE_PRIORITY, GUARD_TABLE
    assert steps["without_rule"] == "wg0"
    ours = [GUARD_RULE_PRIORITY, str(GUARD_TABLE)]
    assert steps["with_rule"][0] == sorted(steps["before"] + [ours])
    assert ours in steps["with_rule"][1]
    assert steps["with_rule"][2:] == ["lan0", "wg0"]
    assert steps["after"][0] == steps["before"] and ours not in steps["after"][1]
    assert steps["after"][2] == "wg0"
