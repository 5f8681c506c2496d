"""Endpoints that follow DNS (`netdwg resolve`): oslo knows its hub as hub.harbor.test, served by
dnsmasq; the hub moves to a new address and the name with it; a quiet peer is re-resolved and
set live, the tunnel comes back, and nothing else on the device changes."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from test_apply_lab import netdwg, ping, wait_handshake
from test_metrics_live import configure_with_wg

from netdwg.lab.sandbox import Sandbox
from netdwg.topology.prepare import prepare

pytestmark = [pytest.mark.root, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="needs dnsmasq")]

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "hub-spokes"
IFACE = "wg-harbor"
NAME = "hub.harbor.test"


def _dump(node) -> dict[str, list[str]]:
    """`wg show dump` per peer, without the columns that move by themselves (handshake, transfer)."""
    lines = node.run(["wg", "show", IFACE, "dump"]).stdout.splitlines()
    device = {"device": lines[0].split("\t")}
    for line in lines[1:]:
        cols = line.split("\t")
        device[cols[0]] = cols[:4] + cols[7:]  # key, psk, endpoint, allowed-ips, keepalive
    return device


def test_a_hub_whose_name_moves_is_followed_live(sandbox: Sandbox, tmp_path):
    shutil.copy(GOLDEN / "topology.secrets", tmp_path / "topology.secrets")
    os.chmod(tmp_path / "topology.secrets", 0o600)
    text = (GOLDEN / "topology.conf").read_text()
    assert "endpoint = 198.51.100.10:51820" in text
    (tmp_path / "topology.conf").write_text(text.replace("endpoint = 198.51.100.10:51820",
                                                         f"endpoint = {NAME}:51820"))
    topology = str(tmp_path / "topology.conf")
    configs = prepare(topology).compile()

    relay_ns, oslo_ns = sandbox.netns("relay"), sandbox.netns("oslo")
    sandbox.veth(relay_ns, "eth0", oslo_ns, "eth0")
    relay, oslo = sandbox.node(relay_ns), sandbox.node(oslo_ns)
    relay.run(["ip", "addr", "add", "198.51.100.10/24", "dev", "eth0"])
    oslo.run(["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"])
    oslo.run(["ip", "link", "set", "lo", "up"])
    hosts = tmp_path / "dns-hosts"
    hosts.write_text(f"198.51.100.10 {NAME}\n")
    dns = sandbox.spawn(oslo_ns, ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                                  "--no-hosts", f"--addn-hosts={hosts}", "--listen-address=127.0.0.1",
                                  "--bind-interfaces", "--port=53", "--pid-file=", "--user=root",
                                  "--log-facility=-"], name="dnsmasq")
    oslo.write_file("/etc/resolv.conf", "nameserver 127.0.0.1\n")
    for node, name, vpn in ((relay, "relay", "10.99.0.1"), (oslo, "oslo", "10.99.0.2")):
        node.start_wireguard_go(IFACE)
        configure_with_wg(node, configs[name].interfaces[0].device)  # oslo's wg resolves the name through dnsmasq
        node.run(["ip", "addr", "add", f"{vpn}/16", "dev", IFACE])
        node.run(["ip", "link", "set", IFACE, "up"])
    relay_key = configs["relay"].interfaces[0].device.private_key.public_key().base64
    oslo_key = configs["oslo"].interfaces[0].device.private_key.public_key().base64
    assert ping(oslo, "10.99.0.1")
    wait_handshake(relay, oslo_key, iface=IFACE)
    assert _dump(oslo)[relay_key][2] == "198.51.100.10:51820"

    # The hub moves; its name follows.
    relay.run(["ip", "addr", "del", "198.51.100.10/24", "dev", "eth0"])
    relay.run(["ip", "addr", "add", "198.51.100.11/24", "dev", "eth0"])
    hosts.write_text(f"198.51.100.11 {NAME}\n")
    os.kill(dns, signal.SIGHUP)  # dnsmasq re-reads --addn-hosts and drops its cache
    before = _dump(oslo)

    # The last handshake is recent: the default threshold (135 s) leaves a working session alone.
    quiet = netdwg(oslo, "resolve", "--topology", topology, "--host", "oslo")
    assert quiet.returncode == 0, quiet.stderr
    assert "[#] wg set" not in quiet.stderr and _dump(oslo) == before

    moved = netdwg(oslo, "resolve", "--topology", topology, "--host", "oslo", "--after", "0", "--json")
    assert moved.returncode == 0, moved.stderr
    assert f"[#] wg set {IFACE} peer relay endpoint 198.51.100.11:51820 ({NAME} resolved anew, was " \
           "198.51.100.10:51820)" in moved.stderr
    after = _dump(oslo)
    assert after[relay_key][2] == "198.51.100.11:51820"
    # Nothing else changed: the device (key, port, fwmark) and every other field of every peer.
    before[relay_key][2] = after[relay_key][2]
    assert after == before
    assert ping(oslo, "10.99.0.1"), "the tunnel is back at the hub's new address"

    again = netdwg(oslo, "resolve", "--topology", topology, "--host", "oslo", "--after", "0")
    assert again.returncode == 0 and "[#] wg set" not in again.stderr  # already there: no change


def test_a_name_that_does_not_resolve_is_reported_and_changes_nothing(sandbox: Sandbox, tmp_path):
    shutil.copy(GOLDEN / "topology.secrets", tmp_path / "topology.secrets")
    os.chmod(tmp_path / "topology.secrets", 0o600)
    text = (GOLDEN / "topology.conf").read_text()
    (tmp_path / "topology.conf").write_text(text.replace("endpoint = 198.51.100.10:51820",
                                                         "endpoint = gone.harbor.test:51820"))
    topology = str(tmp_path / "topology.conf")
    configs = prepare(topology).compile()
    oslo_ns = sandbox.netns("oslo")
    oslo = sandbox.node(oslo_ns)
    oslo.run(["ip", "link", "set", "lo", "up"])
    oslo.write_file("/etc/resolv.conf", "nameserver 127.0.0.1\n")  # nothing listens: no answer
    oslo.start_wireguard_go(IFACE)
    device = configs["oslo"].interfaces[0].device
    relay_peer = device.peers[0]
    oslo.write_file("/etc/wireguard/private", device.private_key.reveal_base64() + "\n", mode=0o600)
    oslo.run(["wg", "set", IFACE, "private-key", "/etc/wireguard/private", "peer", relay_peer.public_key.base64,
              "allowed-ips", ",".join(str(n) for n in relay_peer.allowed_ips), "endpoint", "198.51.100.10:51820"])
    before = _dump(oslo)
    result = netdwg(oslo, "resolve", "--topology", topology, "--host", "oslo", "--after", "0")
    assert result.returncode == 1, result.stderr
    assert "cannot resolve gone.harbor.test" in result.stderr
    assert _dump(oslo) == before
