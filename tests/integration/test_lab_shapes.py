"""`lab up` + `lab check` pass for each golden topology shape, every host configured by `netdwg apply`."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdwg.lab.check import expected_probes, format_table, run_probes
from netdwg.lab.status import lab_status

pytestmark = [pytest.mark.root, pytest.mark.slow]

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


# hub-spokes is the example topology (test_lab_up.py); dual-stack runs over the dual-stack
# internet (its hub has only an IPv6 endpoint; tunnels run over IPv6, NAT66 in front of spokes).
@pytest.mark.parametrize("shape", ["dual-stack", "hub-masquerade", "relay", "site-to-site"])
def test_golden_shape_up_and_check(shape, lab_up):
    lab = lab_up(GOLDEN / shape / "topology.conf")
    assert all(h.startswith("netdwg apply --topology") for h in lab.sandbox.record.extra["configured_by"].values())
    results = run_probes(lab, expected_probes(lab.topology, lab.world), trace=False)
    assert results and all(r.ok for r in results), format_table(results)
    assert any(r.probe.allowed for r in results)
    # `lab status` counts every WireGuard interface (site-to-site: the pair's wg-s2s, not wg0).
    for host in lab_status(lab)["hosts"]:
        assert host["peers"] and host["handshakes"] == host["peers"], host
