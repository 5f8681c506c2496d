"""Each of the five example networks brought up in the lab, every host configured by `netdwg apply`
run inside it (wg-quick hosts then `wg-quick up`), and `lab check` passes with every probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdwg.lab.check import expected_probes, format_table, run_probes
from netdwg.lab.status import lab_status

pytestmark = [pytest.mark.root, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["1-offices.conf", "2-relay.conf", "3-site-to-site.conf", "4-cloud-router.conf",
                                  "5-webcam.conf"])
def test_example_up_and_check(name, lab_up):
    lab = lab_up(EXAMPLES / name)
    configured = lab.sandbox.record.extra["configured_by"]
    for host in lab.topology.hosts:
        expected = "netdwg apply --topology" + (" + wg-quick up" if host.backend.value == "wg-quick" else "")
        assert configured[host.name] == expected
    probes = expected_probes(lab.topology, lab.world)
    results = run_probes(lab, probes)
    assert len(results) == len(probes) and all(r.ok for r in results), format_table(results)
    assert any(r.probe.allowed for r in results)
    for host in lab_status(lab)["hosts"]:
        assert host["peers"] and host["handshakes"] == host["peers"], host
