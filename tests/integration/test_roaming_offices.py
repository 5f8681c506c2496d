"""Network 1 (examples/1-offices.conf) in the lab: developers walk into an office.

Office a proves itself instead: its file server's SSH host key is pinned (ssh_host_key), and
each laptop's guard removes the tunnel route once the key signs: on e the route networkd made
from its .netdev, on f the one wg-quick added for AllowedIPs (main table, metric 0). Leaving
puts back exactly the route that was there.

Office c widens (guard_action = widen, widen_to = 192.168.0.0/16): every laptop routes the /16
into the tunnel, so in the office the LAN's own /24 wins without any daemon. A laptop on
networkd (e) and one on wg-quick (f) walk in: `ip route get` to the office's device says
the LAN interface, iperf3 on the LAN is at least 10x the tunnel's, the other office still
goes through the tunnel, and leaving puts the tunnel route back. Ratios, not speeds: the
machine is shared.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from netdwg.lab.roam import AWAY, ROAM_IF, iperf, roam
from netdwg.lab.sandbox import wait_until

pytestmark = [pytest.mark.root, pytest.mark.slow]

OFFICES = Path(__file__).resolve().parents[2] / "examples" / "1-offices.conf"
RATIO = 10


def route_dev(node, address: str) -> str:
    out = node.run(["ip", "-o", "route", "get", address], check=False).stdout.split()
    return out[out.index("dev") + 1] if "dev" in out else "unreachable"


@pytest.mark.parametrize("laptop", ["e", "f"])  # e: networkd, f: wg-quick
def test_a_laptop_walks_into_the_widened_office_and_out_again(laptop, lab_up):
    lab = lab_up(OFFICES)
    node = lab.node(laptop)
    c_dev, a_dev = (str(lab.world.lans_of(site)[0].device_address.ip) for site in ("c", "a"))
    assert route_dev(node, c_dev) == "wg0"

    inside = roam(lab, laptop, "c")
    assert route_dev(node, c_dev) == ROAM_IF  # the LAN's /24 beats the tunnel's /16
    assert route_dev(node, a_dev) == "wg0"  # Shenzhen is still through the tunnel
    assert dict(inside.other_lans)["a-dev"] == "wg0"
    tunnel, lan = inside.before.mbits, inside.after.mbits
    assert tunnel and lan and lan >= RATIO * tunnel, (tunnel, lan)
    assert node.run(["ping", "-c1", "-W2", a_dev], check=False).returncode == 0

    back = roam(lab, laptop, AWAY, measure=False)
    assert back.after.route_dev == "wg0" and route_dev(node, c_dev) == "wg0"
    assert node.run(["ping", "-c1", "-W2", c_dev], check=False).returncode == 0


def tunnel_routes(node, lan: str) -> str:
    """The routes into the tunnel for `lan`, in every table, as the kernel lists them (protocol,
    scope, metric): what leaving must put back as it was."""
    return node.run(["ip", "-d", "route", "show", "table", "all", "exact", lan, "dev", "wg0"]).stdout.strip()


@pytest.mark.parametrize("laptop", ["e", "f"])  # e: networkd, f: wg-quick (the guard on wg-quick's routes)
def test_the_guarded_laptop_walks_into_the_office_that_proves_itself(laptop, lab_up):
    """Office a has no widened route: the laptop's guard removes the tunnel route once the office's
    file server signs with the pinned SSH host key (the lab runs it with a key of its own, pinned
    in the lab's topology). `netdwg guard learn a`, run in the office, records the office where
    the running guard reads it; back in the office the guard trusts it again. On f the route is
    wg-quick's own (added by `wg-quick up` for AllowedIPs), and networkd is only its DHCP client."""
    lab = lab_up(OFFICES)
    node = lab.node(laptop)
    a_lan = str(lab.world.lans_of("a")[0].prefix)
    a_dev, c_dev = (str(lab.world.lans_of(site)[0].device_address.ip) for site in ("a", "c"))
    assert lab.topology.host("a").lans[0].fingerprint.ssh_host_key.startswith("192.168.201.20 ssh-ed25519 ")
    assert "192.168.201.20/24" in lab.ns("a-dev").run(["ip", "-br", "addr", "show", "eth0"]).stdout
    away_routes = tunnel_routes(node, a_lan)
    assert away_routes and route_dev(node, a_dev) == "wg0", away_routes
    if laptop == "f":  # wg-quick's route: `ip route add PREFIX dev wg0`, main table, metric 0
        assert node.path("/etc/wireguard/wg0.conf").exists()
        assert not list(node.path("/etc/systemd/network").glob("*wg0*"))  # networkd runs only lan0 here
        assert away_routes == f"unicast {a_lan} table main proto boot scope link", away_routes

    roam(lab, laptop, "a", measure=False)
    learn = node.run([sys.executable, "-m", "netdwg", "guard", "learn", "a"], check=False)
    assert learn.returncode == 0 and "learned a on lan0" in learn.stdout, learn.stdout + learn.stderr
    learned = json.loads(node.read_file("/var/lib/netdwg/guard-learned.json"))
    assert "a" in learned["sites"]
    wait_until(lambda: "re-read learned fingerprints from /var/lib/netdwg/guard-learned.json"
               in (node.rundir / "netdwg-guard.log").read_text(), 10, what="the guard to re-read what learn wrote")
    roam(lab, laptop, AWAY, measure=False)
    wait_until(lambda: tunnel_routes(node, a_lan) == away_routes, 30, what="the tunnel route back after learning")

    inside = roam(lab, laptop, "a")
    wait_until(lambda: route_dev(node, a_dev) == ROAM_IF, 30, what="the guard to trust office a")
    status = json.loads(node.run([sys.executable, "-m", "netdwg", "guard", "status", "--json"]).stdout)
    site = next(s for s in status["sites"] if s["site"] == "a")
    assert site["verdict"] == "trusted" and [p["result"] for p in site["proofs"]] == ["proven"], site
    assert tunnel_routes(node, a_lan) == ""  # removed, in every table
    assert route_dev(node, c_dev) == "wg0"  # the other office stays in the tunnel
    tunnel, lan = inside.before.mbits, iperf(lab, node, lab.world.lans_of("a")[0])
    assert tunnel and lan and lan >= RATIO * tunnel, (tunnel, lan)
    if laptop == "f":  # wg-quick down and up in the office: wg-quick adds its route again, the guard removes it
        assert node.run(["wg-quick", "down", "wg0"], check=False).returncode == 0
        up = node.wg_quick_up("wg0")
        assert up.returncode == 0, up.stdout + up.stderr
        wait_until(lambda: route_dev(node, a_dev) == ROAM_IF and tunnel_routes(node, a_lan) == "", 30,
                   what="the guard to remove the route wg-quick up added again")
        assert route_dev(node, c_dev) == "wg0"

    roam(lab, laptop, AWAY, measure=False)
    wait_until(lambda: route_dev(node, a_dev) == "wg0", 30, what="the tunnel route back after leaving")
    wait_until(lambda: tunnel_routes(node, a_lan) == away_routes, 30, what="the very route that was there")
    assert node.run(["ping", "-c1", "-W2", a_dev], check=False).returncode == 0
