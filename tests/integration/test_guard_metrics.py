"""The guard's counters through `netdwg metrics`, against a running guard: the laptop of
tests/guard_scenario.py (networkd 252 taking the office lease, wireguard-go, the guard process)
joins the office and leaves it; the metrics then count the tunnel route removed and put back for
site oslo, and hold reaction-time samples; `promtool check metrics` passes on the output."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from guard_scenario import DEVICE, OFFICE_LAN, REPO, build_roaming_lab
from netdwg.lab.sandbox import Sandbox, wait_until
from netdwg.topology.guard_config import Action

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (Debian: prometheus)")]


def metrics(lab) -> str:
    """`netdwg metrics --once` in the laptop's namespaces, the guard's status file named; the device
    described by a wg-quick file of the laptop's tunnel (the source the other metrics need)."""
    tree = lab.lap.rundir / "render"
    conf = tree / "etc" / "wireguard" / "wg0.conf"
    if not conf.exists():
        key = lab.lap.run(["cat", "/etc/netdwg/wg.key"]).stdout.strip()
        conf.parent.mkdir(parents=True)
        conf.write_text(f"[Interface]\nPrivateKey = {key}\nAddress = 10.99.0.4/16\n\n[Peer]\n"
                        f"PublicKey = {lab.hub_key.base64}\nAllowedIPs = 10.99.0.0/16, {OFFICE_LAN}\n"
                        "Endpoint = 198.51.100.10:51820\n")
        conf.chmod(0o600)
    result = lab.lap.run([sys.executable, "-m", "netdwg", "metrics", "--once", "--from", str(tree),
                          "--host", "laptop", "--guard-status", str(lab.paths["status"])],
                         check=False, env={"PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    check = subprocess.run(["promtool", "check", "metrics"], input=result.stdout, capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0 and check.stdout + check.stderr == "", check.stdout + check.stderr
    return result.stdout


def sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        m = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if m and set(labels.items()) <= set(re.findall(r'(\w+)="([^"]*)"', m.group(1) or "")):
            return float(m.group(2))
    return None


def office_routes(lab) -> list:
    return [r for r in lab.wg_routes() if r["dst"] == str(OFFICE_LAN)]


def test_joining_and_leaving_the_office_is_counted_and_timed():
    with Sandbox(prefix="ndwm") as sb:
        lab = build_roaming_lab(sb)
        baseline = sorted(json.dumps(r, sort_keys=True) for r in lab.wg_routes())
        lab.write_guard_config(Action.REMOVE)
        lab.start_guard()
        text = metrics(lab)
        assert sample(text, "netdwg_guard_running") == 1
        assert sample(text, "netdwg_guard_decisions_total") is None, "nothing done yet, nothing counted"
        assert sample(text, "netdwg_guard_reaction_seconds_count", trigger="lease") == 0
        started = sample(text, "netdwg_guard_decisions_created")
        assert started is None  # no series yet; the histogram has no _created in this form

        lab.join("office")
        wait_until(lambda: not office_routes(lab), timeout=20, what=f"the guard's fix; log:\n{lab.guard_log()[-2000:]}")
        wait_until(lambda: (lab.guard_status() or {}).get("in_effect"), timeout=5, what="status written")
        text = metrics(lab)
        assert sample(text, "netdwg_guard_site_verdict", site="oslo", verdict="trusted") == 1
        assert sample(text, "netdwg_guard_decisions_total", action="do_delete_route", site="oslo") == 1
        assert sample(text, "netdwg_guard_decisions_created", action="do_delete_route", site="oslo") > 1.7e9
        # passive trust waits for the lease (DHCP server, domain): the fix is timed from it
        assert sample(text, "netdwg_guard_reaction_seconds_count", trigger="lease") == 1
        assert 0 < sample(text, "netdwg_guard_reaction_seconds_sum", trigger="lease") < 20
        assert sample(text, "netdwg_guard_reaction_seconds_bucket", trigger="lease", le="+Inf") == 1

        lab.leave("office")
        wait_until(lambda: sorted(json.dumps(r, sort_keys=True) for r in lab.wg_routes()) == baseline, timeout=20,
                   what="the tunnel route put back")
        wait_until(lambda: not (lab.guard_status() or {}).get("in_effect"), timeout=5, what="status written")
        text = metrics(lab)
        assert sample(text, "netdwg_guard_decisions_total", action="do_delete_route", site="oslo") == 1
        assert sample(text, "netdwg_guard_decisions_total", action="undo_delete_route", site="oslo") == 1
        assert sample(text, "netdwg_guard_decision_failures_total") is None
        reactions = sum(sample(text, "netdwg_guard_reaction_seconds_count", trigger=t) for t in ("lease", "link"))
        assert reactions == 2, text
        assert lab.route_dev(DEVICE) == "wg0"

        # a second visit adds to the same series: counters only grow while the guard runs
        lab.join("office")
        wait_until(lambda: not office_routes(lab), timeout=20, what="the guard's second fix")
        wait_until(lambda: (lab.guard_status() or {}).get("in_effect"), timeout=5, what="status written")
        assert sample(metrics(lab), "netdwg_guard_decisions_total", action="do_delete_route", site="oslo") == 2
        lab.stop_guard()
        assert sample(metrics(lab), "netdwg_guard_running") == 0
