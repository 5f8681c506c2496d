"""From the topology file to working tunnels: `netdwg apply --topology FILE --host NAME`
on a hub and two spokes of the golden hub-spokes topology (networkd hosts)."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_apply_lab import netdwg, ping, wait_handshake, wg_dump

from netdwg.lab.sandbox import Sandbox
from netdwg.topology.prepare import prepare

pytestmark = [pytest.mark.root, pytest.mark.slow]

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "hub-spokes"
IFACE = "wg-harbor"
UNDERLAY = {"relay": "198.51.100.10", "oslo": "198.51.100.2", "ana": "198.51.100.4"}


def test_apply_from_the_topology_brings_up_traffic_and_is_idempotent(sandbox: Sandbox, tmp_path):
    for name in ("topology.conf", "topology.secrets"):
        shutil.copy(GOLDEN / name, tmp_path / name)
    os.chmod(tmp_path / "topology.secrets", 0o600)
    topology = str(tmp_path / "topology.conf")
    configs = prepare(topology).compile()

    switch = sandbox.netns("sw")
    switch.run(["ip", "link", "add", "br0", "type", "bridge"])
    switch.run(["ip", "link", "set", "br0", "address", "02:00:00:00:00:01", "up"])
    nodes = {}
    for index, (name, address) in enumerate(UNDERLAY.items(), 1):
        ns = sandbox.netns(name)
        sandbox.veth(switch, f"p{index}", ns, "eth0")
        switch.run(["ip", "link", "set", f"p{index}", "master", "br0"])
        node = sandbox.node(ns)
        node.run(["ip", "addr", "add", f"{address}/24", "dev", "eth0"])
        node.start_dbus()
        node.start_networkd(debug=True)
        node.start_wireguard_go(IFACE)
        nodes[name] = node

    # The hosts apply at the same time, as admins would (each waits ~10 s for networkd's NDisc).
    with ThreadPoolExecutor(len(nodes)) as pool:
        results = dict(zip(nodes, pool.map(
            lambda item: netdwg(item[1], "apply", "--topology", topology, "--host", item[0], "--wait", "40",
                                timeout=120), nodes.items())))
    for name, result in results.items():
        assert result.returncode == 0, f"{name}: {result.stderr}"
        if name != "ana":  # a roaming laptop gets no forward policy
            assert "[#] nftables: replace table inet netdwg" in result.stderr
    relay = nodes["relay"]
    for name in ("oslo", "ana"):
        public = configs[name].interfaces[0].device.private_key.public_key().base64
        wait_handshake(relay, public, timeout=20, iface=IFACE)
    assert ping(nodes["oslo"], "10.99.0.1") and ping(nodes["ana"], "10.99.0.1")
    assert ping(nodes["ana"], "10.99.0.2"), "ana reaches oslo through the relay"
    assert relay.run(["nft", "list", "table", "inet", "netdwg"], check=False).returncode == 0
    names = {p.public_key.base64: p.name for p in configs["relay"].interfaces[0].device.peers}
    oslo_key = configs["oslo"].interfaces[0].device.private_key.public_key().base64
    assert set(wg_dump(relay, IFACE)) == set(names)

    before_handshake = wg_dump(relay, IFACE)[oslo_key].handshake
    for name, node in nodes.items():
        again = netdwg(node, "plan", "--topology", topology, "--host", name)
        assert again.returncode == 0 and again.stdout.startswith("Nothing to do"), f"{name}: {again.stdout}"
    status = netdwg(relay, "status", "--topology", topology, "--host", "relay")
    assert "peer oslo" in status.stdout and "peer ana" in status.stdout
    assert "172.20.10.0/24 dev wg-harbor" in status.stdout

    # A route deleted behind networkd's back: plan notices, apply reconfigures the link, the route is back.
    relay.run(["ip", "route", "del", "172.20.10.0/24", "dev", IFACE])
    drift = netdwg(relay, "plan", "--topology", topology, "--host", "relay")
    assert drift.returncode == 1 and "route 172.20.10.0/24 dev wg-harbor is missing" in drift.stdout
    fixed = netdwg(relay, "apply", "--topology", topology, "--host", "relay", "--wait", "40", timeout=120)
    assert fixed.returncode == 0, fixed.stderr
    assert "[#] networkd: ReconfigureLink wg-harbor" in fixed.stderr
    assert "172.20.10.0/24" in relay.run(["ip", "route", "show", "dev", IFACE]).stdout
    assert wg_dump(relay, IFACE)[oslo_key].handshake == before_handshake, "the session survived the reconfigure"
