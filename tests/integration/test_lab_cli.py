"""The `netdwg lab` verbs as an admin types them (a private state dir keeps other labs out of reach)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netdwg.lab.sandbox import snapshot_root_netns

pytestmark = [pytest.mark.root, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def netdwg(state: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NETDWG_LAB_STATE_DIR=str(state))
    return subprocess.run([sys.executable, "-m", "netdwg", "lab", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)


def test_lab_verbs_up_status_exec_check_down(tmp_path):
    state = tmp_path / "state"
    before = snapshot_root_netns()
    try:
        res = netdwg(state, "up", "examples/harbor.conf")
        assert res.returncode == 0, res.stderr
        assert "[+] lab up in" in res.stderr and "is up" in res.stdout

        again = netdwg(state, "up", "examples/harbor.conf")
        assert again.returncode == 2 and "a lab is already up" in again.stderr and "lab down" in again.stderr

        status = json.loads(netdwg(state, "status", "--json").stdout)
        assert [h["host"] for h in status["hosts"]] == ["relay", "oslo", "bergen", "ana", "ben"]
        relay = status["hosts"][0]
        assert relay["handshakes"] == relay["peers"] == 4
        assert relay["daemons"]["networkd"]["alive"] and relay["daemons"]["dbus-daemon"]["alive"]

        show = netdwg(state, "exec", "relay", "--", "wg", "show", "wg-harbor", "listen-port")
        assert show.returncode == 0 and show.stdout.strip() == "51820"
        dev = netdwg(state, "exec", "oslo-dev", "--", "ip", "-4", "-br", "addr", "show", "eth0")
        assert "172.20.10.10/24" in dev.stdout
        bad = netdwg(state, "exec", "nowhere", "--", "true")
        assert bad.returncode == 2 and "no host or lab namespace 'nowhere'" in bad.stderr

        check = netdwg(state, "check", "--json", "--no-trace", "--graph", str(tmp_path / "check.dot"))
        assert check.returncode == 0, check.stdout
        assert all(r["ok"] for r in json.loads(check.stdout))
        drawn = (tmp_path / "check.dot").read_text()  # every probed path coloured: none red
        assert '"host:ana" -> "lan:oslo:0" [color="#2e7d32"' in drawn and "#c62828" not in drawn

        only = json.loads(netdwg(state, "check", "--json", "--no-trace", "--only", "ben").stdout)
        assert only and all("ben" in (r["from"], r["to"]) for r in only)
        assert len(only) < len(json.loads(check.stdout))

        # ben is a wg-quick laptop: wg-quick owns its tunnel, networkd its Ethernet (the DHCP client).
        roam = netdwg(state, "roam", "ben", "oslo", "--json")
        assert roam.returncode == 0, roam.stderr
        moved = json.loads(roam.stdout)
        assert moved["before"]["route_dev"] == "wg-harbor" and moved["after"]["where"] == "oslo"
        back = netdwg(state, "roam", "ben", "away", "--no-iperf", "--json")
        assert back.returncode == 0 and json.loads(back.stdout)["after"]["route_dev"] == "wg-harbor", back.stderr
    finally:
        down = netdwg(state, "down")
    assert down.returncode == 0 and "removed 14 namespaces" in down.stdout
    assert netdwg(state, "status").returncode == 2
    assert snapshot_root_netns() == before


def test_sigterm_during_up_removes_what_was_built(tmp_path):
    import signal
    import time

    state = tmp_path / "state"
    before = snapshot_root_netns()
    env = dict(os.environ, NETDWG_LAB_STATE_DIR=str(state))
    proc = subprocess.Popen([sys.executable, "-m", "netdwg", "lab", "up", "examples/harbor.conf"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    data = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and data is None:
        for path in state.glob("ndwl*.json") if state.exists() else ():
            try:
                candidate = json.loads(path.read_text())
            except ValueError:
                continue
            if len(candidate["procs"]) >= 3:
                data = candidate
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert data is not None, err
    assert proc.returncode == 130 and "removing what was created" in err
    assert not list(state.glob("ndwl*.json"))
    assert not any(Path("/run/netns", n).exists() for n in data["netns"])
    assert snapshot_root_netns() == before


def test_a_failing_apply_stops_the_lab_and_prints_the_hosts_output(tmp_path):
    """No stand-in: when `netdwg apply` fails inside a host, `lab up` fails with that host's own
    output and removes everything (here apply cannot create its state directory)."""
    state = tmp_path / "state"
    before = snapshot_root_netns()
    env = dict(os.environ, NETDWG_LAB_STATE_DIR=str(state), NETDWG_STATE_DIR="/proc/version/netdwg")
    res = subprocess.run([sys.executable, "-m", "netdwg", "lab", "up", "examples/harbor.conf"], capture_output=True,
                         text=True, env=env, cwd=REPO, timeout=300)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "relay: netdwg apply --topology /etc/netdwg/netdwg.conf --host relay failed (exit 2)" in res.stderr
    assert "/proc/version/netdwg" in res.stderr  # apply's own words, from inside the host
    assert "removing what was created" in res.stderr and "is up" not in res.stdout
    assert not list(state.glob("ndwl*.json"))
    assert snapshot_root_netns() == before
