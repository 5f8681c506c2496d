"""The rendered `table inet netdwg` does what docs/topology.md promises, with real packets:
on site gateway oslo (allow = ana, ben; return_path = masquerade) a listed VPN client can
reach the LAN, the hub and an unlisted site cannot open connections, replies to
connections the LAN opened always pass, and MASQUERADE lets a LAN host with no route
back to the VPN answer. The tunnel is stood in for by a veth with the tunnel's name:
the rules match interface names and addresses, not WireGuard itself."""

from __future__ import annotations

import pytest

from netdwg.render import render_host
from netdwg.topology.compile import compile_topology
from golden_support import load_scenario

pytestmark = pytest.mark.root


def ping(ns, dest, source=None) -> bool:
    argv = ["ping", "-c1", "-W1", "-n", dest] + (["-I", source] if source else [])
    return ns.run(argv, check=False).returncode == 0


def test_gateway_firewall_allows_listed_clients_replies_and_masquerades(sandbox, tmp_path):
    oslo = compile_topology(*load_scenario("hub-spokes"))["oslo"]
    (nft,) = [f for f in render_host(oslo) if f.path.suffix == ".nft"]
    tun, gw, lan = sandbox.netns("tun"), sandbox.netns("gw"), sandbox.netns("lan")
    sandbox.veth(tun, "t0", gw, "wg-harbor")
    sandbox.veth(gw, "eth1", lan, "eth0")
    for address in ("10.99.0.4/16", "10.99.0.1/16", "10.99.0.3/16"):  # ana, the hub, bergen
        tun.run(["ip", "addr", "add", address, "dev", "t0"])
    tun.run(["ip", "route", "add", "172.20.10.0/24", "via", "10.99.0.2"])
    gw.run(["ip", "addr", "add", "10.99.0.2/16", "dev", "wg-harbor"])
    gw.run(["ip", "addr", "add", "172.20.10.2/24", "dev", "eth1"])
    gw.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    lan.run(["ip", "addr", "add", "172.20.10.10/24", "dev", "eth0"])  # no route back to the VPN
    path = tmp_path / "oslo.nft"
    path.write_text(nft.text)
    lan.run(["ip", "route", "add", "10.99.0.0/16", "via", "172.20.10.2"])
    assert ping(tun, "172.20.10.10", "10.99.0.1")  # without netdwg's table the hub gets through...
    lan.run(["ip", "route", "del", "10.99.0.0/16", "via", "172.20.10.2"])
    assert not ping(tun, "172.20.10.10", "10.99.0.4")  # ...and without MASQUERADE nobody gets an answer
    gw.run(["nft", "-f", str(path)])

    assert ping(tun, "172.20.10.10", "10.99.0.4"), "ana is listed in allow: she must get through (masqueraded)"
    assert not ping(tun, "172.20.10.10", "10.99.0.1"), "the hub may not open connections into the LAN"
    assert not ping(tun, "172.20.10.10", "10.99.0.3"), "bergen is not listed in allow"

    # Replies always pass: the LAN host opens a connection to bergen; the answer comes back in.
    lan.run(["ip", "route", "add", "10.99.0.0/16", "via", "172.20.10.2"])
    assert ping(lan, "10.99.0.3")
    counters = gw.run(["nft", "list", "chain", "inet", "netdwg", "postrouting"]).stdout
    assert "masquerade" in counters
