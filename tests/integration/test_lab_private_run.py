"""A lab node keeps what its daemons and `netplan generate` write under /run to itself: bringing up
a lab with a netplan host leaves none of netplan's files for that host's interface on the host's /run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.root, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "3-site-to-site.conf"


def netplan_leftovers(ifname: str) -> list[str]:
    """What `netplan generate` writes on the host's /run for `ifname` (other runs' files are not ours)."""
    found = [str(p) for p in Path("/run/systemd/network").glob(f"10-netplan-{ifname}.*")]
    found += [str(p) for p in Path("/run/NetworkManager/system-connections").glob(f"netplan-{ifname}*")]
    rules = Path("/run/udev/rules.d/90-netplan.rules")
    if rules.exists() and f'"{ifname}"' in rules.read_text():
        found.append(str(rules))
    return found


def test_netplan_host_writes_nothing_on_the_hosts_run(lab_up, tmp_path):
    ifname = f"wgR{os.getpid() % 100000}"  # this run's own name: concurrent runs may leave files for theirs
    topology = tmp_path / "site-to-site.conf"
    topology.write_text(EXAMPLE.read_text().replace("wgB", ifname))
    assert netplan_leftovers(ifname) == []
    lab = lab_up(topology)
    beta = next(h for h in lab.topology.hosts if h.backend.value == "netplan")
    assert lab.node(beta.name).path(f"/run/systemd/network/10-netplan-{ifname}.netdev").exists()
    assert netplan_leftovers(ifname) == []
