"""`netdwg lab` end to end: up, check, roam, down on the example topology, and broken on purpose."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netdwg.lab.check import expected_probes, run_probes
from netdwg.lab.roam import AWAY, roam
from netdwg.lab.sandbox import Record, snapshot_root_netns
from netdwg.lab.state import LabError, destroy_labs, find_lab, lab_records
from netdwg.lab.up import bring_up

pytestmark = [pytest.mark.root, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
HARBOR = REPO / "examples" / "harbor.conf"


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def state_dir(tmp_path):
    """A private record directory: these tests never touch a lab someone else has up."""
    d = tmp_path / "lab-state"
    yield d
    destroy_labs(d)


def _by_pair(results):
    return {(r.probe.src.name, r.probe.dst.name): r for r in results if r.probe.dst.address.version == 4}


def test_harbor_up_check_roam_down_leaves_root_namespace_alone(state_dir):
    """Every host configured by `netdwg apply` run inside it (and wg-quick up for wg-quick hosts)."""
    before = snapshot_root_netns()
    bring_up(HARBOR, state_dir=state_dir)
    lab = find_lab(state_dir)
    # As an admin would: topology and secrets store in the node's /etc/netdwg, apply --topology --host.
    assert all(how.startswith("netdwg apply --topology") for how in lab.sandbox.record.extra["configured_by"].values())
    relay = lab.node("relay")
    assert relay.path("/etc/netdwg/netdwg.conf").read_text() == lab.sandbox.record.extra["topology_text"]
    assert relay.path("/etc/netdwg/netdwg.secrets").stat().st_mode & 0o777 == 0o600
    assert "--topology /etc/netdwg/netdwg.conf --host relay" in (relay.rundir / "apply.log").read_text()
    record = Record.load(lab.sandbox.record.path)
    assert len(record.netns) == 14 and all(n.startswith("ndwl") for n in record.netns)
    with pytest.raises(LabError, match="already up"):
        bring_up(HARBOR, state_dir=state_dir)

    results = run_probes(lab, expected_probes(lab.topology, lab.world))
    failed = [r for r in results if not r.ok]
    assert not failed, failed
    pairs = _by_pair(results)
    assert pairs[("ana", "oslo-dev")].hops == ("relay", "oslo", "oslo-dev")
    assert not pairs[("relay", "oslo-dev")].reached  # blocked by oslo's allow list, really
    assert not pairs[("ben", "bergen-dev")].reached

    # The roaming conflict and the guard: on oslo's LAN ana's traffic to the LAN leaves the tunnel.
    on_lan = roam(lab, "ana", "oslo")
    assert on_lan.before.route_dev == "wg-harbor" and on_lan.after.route_dev == "lan0"
    assert on_lan.after.mbits > 5 * on_lan.before.mbits
    assert dict(on_lan.other_lans)["bergen-dev"] == "wg-harbor"  # the other office stays in the tunnel
    back = roam(lab, "ana", AWAY, measure=False)
    assert back.after.route_dev == "wg-harbor"
    assert lab.node("ana").run(["ping", "-c1", "-W2", "172.20.10.10"]).returncode == 0

    removed = destroy_labs(state_dir)
    assert sum(r.startswith("netns") for r in removed) == 14
    assert not any(Path("/run/netns", n).exists() for n in record.netns)
    assert not any(_alive(p.pid) for p in record.procs)
    assert not lab_records(state_dir)
    assert snapshot_root_netns() == before


BROKEN = HARBOR.read_text().replace(
    "return_path = static-route    # netdwg prints", "return_path = none    # broken on purpose; netdwg prints")


def test_check_fails_clearly_on_a_missing_return_path_and_an_open_allow_list(state_dir, tmp_path):
    topo = tmp_path / "broken.conf"
    topo.write_text(BROKEN)
    lab = bring_up(topo, state_dir=state_dir)
    lab = find_lab(state_dir)
    probes = expected_probes(lab.topology, lab.world)
    pairs = _by_pair(run_probes(lab, probes, trace=False))
    # bergen's office router has no way back to the VPN: what the topology promises fails.
    assert not pairs[("ana", "bergen-dev")].ok
    assert pairs[("ana", "bergen-dev")].probe.allowed and not pairs[("ana", "bergen-dev")].reached
    assert pairs[("ana", "oslo-dev")].ok

    # A gateway whose allow list lets everyone in: what must be blocked gets through, and check says so.
    lab.node("oslo").run(["nft", "flush", "chain", "inet", "netdwg", "forward"])
    again, = run_probes(lab, (pairs[("relay", "oslo-dev")].probe,), trace=False)
    assert again.reached and not again.ok


_UP = """
import sys
from pathlib import Path
from netdwg.lab.up import bring_up
bring_up(sys.argv[1], state_dir=Path(sys.argv[2]))
"""


def test_lab_down_after_sigkill_during_up(state_dir):
    before = snapshot_root_netns()
    proc = subprocess.Popen([sys.executable, "-c", _UP, str(HARBOR), str(state_dir)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill it in the middle: once some daemons run, before the tunnels are up.
    deadline = time.monotonic() + 30
    record = None
    while time.monotonic() < deadline:
        paths = list(state_dir.glob("ndwl*.json")) if state_dir.exists() else []
        if paths:
            try:
                data = json.loads(paths[0].read_text())
            except ValueError:
                continue
            if len(data["procs"]) >= 4:
                record = paths[0]
                break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert record is not None, "up never got far enough to be interrupted"
    data = json.loads(record.read_text())
    assert not data["extra"].get("detached")
    with pytest.raises(LabError, match="no lab is up"):
        find_lab(state_dir)  # a half-built lab is not usable ...
    removed = destroy_labs(state_dir)  # ... but `lab down` removes it
    assert removed
    assert not any(Path("/run/netns", n).exists() for n in data["netns"])
    assert not any(_alive(p["pid"]) for p in data["procs"])
    assert not any(n.startswith(data["sandbox_id"]) for n in os.listdir("/run/netns"))
    assert snapshot_root_netns() == before
