"""examples/: the five networks of the admins' write-ups, each a topology file that lints clean,
is documented in its header, uses documentation ranges for public endpoints, and that together
mix every backend (tests/integration/test_examples_lab.py brings each up in the lab)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from netdwg.errors import Severity
from netdwg.lint import run_lint
from netdwg.topology import load_topology
from netdwg.topology.model import Backend

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FIVE = ("1-offices.conf", "2-relay.conf", "3-site-to-site.conf", "4-cloud-router.conf", "5-webcam.conf")
DOCUMENTATION = tuple(ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))


@pytest.mark.parametrize("name", FIVE)
def test_each_example_lints_without_errors_or_warnings(name):
    topology = load_topology(EXAMPLES / name)
    found = [d for d in run_lint(topology) if d.severity in (Severity.ERROR, Severity.WARNING)]
    assert not found, found


@pytest.mark.parametrize("name", FIVE)
def test_each_example_says_what_it_is_and_uses_documentation_addresses(name):
    text = (EXAMPLES / name).read_text()
    header = text.split("[network]")[0]
    assert header.count("\n# ") >= 5 and "netdwg lab demo examples/" + name in header
    for host in load_topology(EXAMPLES / name).hosts:
        if host.endpoint is not None:
            assert any(host.endpoint.address in n for n in DOCUMENTATION), (host.name, host.endpoint)


def test_the_five_mix_networkd_wg_quick_and_netplan():
    backends = {h.backend for name in FIVE for h in load_topology(EXAMPLES / name).hosts}
    assert backends == {Backend.NETWORKD, Backend.WG_QUICK, Backend.NETPLAN}


def test_network_1_keeps_the_write_ups_addresses():
    t = load_topology(EXAMPLES / "1-offices.conf")
    assert t.network.hub_keepalive == 15 and t.network.keepalive == 15 and t.network.mtu == 1280
    c = t.host("c")
    assert str(c.lans[0].prefix) == "192.168.200.0/24" and str(c.lans[0].gateway_address.ip) == "192.168.200.248"
    assert {str(a) for h in t.hosts for a in h.addresses} == {f"10.70.0.{i}" for i in range(1, 6)}
    assert {t.host("e").backend, t.host("f").backend} == {Backend.NETWORKD, Backend.WG_QUICK}
