"""`netdwg lab demo FILE` (`make demo`): network 1 with its roaming fix shown, under two minutes;
and any of the five examples."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netdwg.lab.sandbox import snapshot_root_netns

pytestmark = [pytest.mark.root, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def demo(tmp_path: Path, example: str) -> tuple[subprocess.CompletedProcess, float]:
    env = dict(os.environ, NETDWG_LAB_STATE_DIR=str(tmp_path / "state"))
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "netdwg", "lab", "demo", f"examples/{example}"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    return res, time.monotonic() - t0


def test_make_demo_shows_the_roaming_fix_of_network_1_in_under_two_minutes(tmp_path):
    before = snapshot_root_netns()
    makefile = (REPO / "Makefile").read_text()
    assert "netdwg lab demo examples/1-offices.conf" in makefile  # what `make demo` runs
    res, seconds = demo(tmp_path, "1-offices.conf")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert seconds < 120, seconds
    assert "OK: the network behaves as the topology says" in res.stdout
    # Both developers walk into the widened office: tunnel vs LAN throughput, side by side.
    for laptop, backend in (("e", "networkd"), ("f", "wg-quick")):
        row = re.search(rf"roam {laptop} \({backend}\) -> c +to c-dev: ([\d,]+) Mbit/s via wg0 -> ([\d,]+) Mbit/s "
                        r"via lan0 \((\d[\d,]*)x\); a-dev via wg0", res.stdout)
        assert row, res.stdout[-3000:]
        assert int(row.group(3).replace(",", "")) >= 10
        assert re.search(rf"roam {laptop} -> away +to c-dev via wg0 again", res.stdout)
    # And the guarded laptop into the office that proves itself (its file server's SSH host key).
    row = re.search(r"roam e \(networkd\) -> a +to a-dev: [\d,]+ Mbit/s via wg0 -> [\d,]+ Mbit/s via lan0 "
                    r"\((\d[\d,]*)x\); c-dev via wg0", res.stdout)
    assert row and int(row.group(1).replace(",", "")) >= 10, res.stdout[-3000:]
    assert snapshot_root_netns() == before


@pytest.mark.parametrize("example", ["2-relay.conf", "3-site-to-site.conf", "4-cloud-router.conf", "5-webcam.conf"])
def test_lab_demo_runs_any_of_the_five(tmp_path, example):
    res, _ = demo(tmp_path, example)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "OK: the network behaves as the topology says" in res.stdout
    assert not list((tmp_path / "state").glob("ndwl*.json"))
