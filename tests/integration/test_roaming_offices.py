"""Network 1 (examples/1-offices.conf) in the lab: developers walk into an office.

Office c widens (guard_action = widen, widen_to = 192.168.0.0/16): every laptop routes the /16
into the tunnel, so in the office the LAN's own /24 wins without any daemon. A laptop on
networkd (e) and one on wg-quick (f) walk in: `ip route get` to the office's device says
the LAN interface, iperf3 on the LAN is at least 10x the tunnel's, the other office still
goes through the tunnel, and leaving puts the tunnel route back. Ratios, not speeds: the
machine is shared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netdwg.lab.roam import AWAY, ROAM_IF, roam

pytestmark = [pytest.mark.root, pytest.mark.slow]

OFFICES = Path(__file__).resolve().parents[2] / "examples" / "1-offices.conf"
RATIO = 10


def route_dev(node, address: str) -> str:
    out = node.run(["ip", "-o", "route", "get", address]).stdout.split()
    return out[out.index("dev") + 1]


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
