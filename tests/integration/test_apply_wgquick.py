"""A wg-quick host: the .conf is written 0600 and the running interface's peers are synced
live (`wg-quick strip` semantics), never a down/up that would drop every session."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from test_apply_lab import ENV, PYTHON, build_lab, netdwg, ping, render_hub, wait_handshake, wg_dump, write_tree

pytestmark = [pytest.mark.root, pytest.mark.slow]

CONF = "/etc/wireguard/wg0.conf"


def render_wgquick(spoke, hub, out, extra_allowed=""):
    text = (f"[Interface]\nPrivateKey = {spoke.key.reveal_base64()}\nAddress = {spoke.vpn}/24\nDNS = 192.0.2.53\n"
            f"MTU = 1380\nPostUp = true\n\n[Peer]\n# {hub.name}\nPublicKey = {hub.public}\n"
            f"PresharedKey = {spoke.psk.reveal_base64()}\nAllowedIPs = 10.99.0.0/24{extra_allowed}\n"
            f"Endpoint = {hub.underlay}:51820\nPersistentKeepalive = 25\n")
    return write_tree(out, {CONF.lstrip("/"): text})


def test_wgquick_host_syncs_live_and_keeps_the_session(sandbox, tmp_path):
    hub, (spoke,), switch = build_lab(sandbox, 1)
    assert netdwg(hub.node, "apply", "--from", str(render_hub(hub, [spoke], tmp_path / "hub"))).returncode == 0
    # What `wg-quick up wg0` leaves behind with wireguard-go: the interface up with its address.
    spoke.node.run(["ip", "addr", "add", f"{spoke.vpn}/24", "dev", "wg0"])
    spoke.node.run(["ip", "link", "set", "wg0", "up"])
    result = netdwg(spoke.node, "apply", "--from", str(render_wgquick(spoke, hub, tmp_path / "v1")))
    assert result.returncode == 0, result.stderr
    assert "networkd" not in result.stderr  # a wg-quick host: no networkd calls
    assert stat.S_IMODE(spoke.node.path(CONF).stat().st_mode) == 0o600
    first = wait_handshake(hub.node, spoke.public)
    assert ping(spoke.node, hub.vpn)

    result = netdwg(spoke.node, "apply", "--from", str(render_wgquick(spoke, hub, tmp_path / "v2", ", 172.20.10.0/24")))
    assert result.returncode == 0, result.stderr
    assert "allowed-ips 10.99.0.0/24,172.20.10.0/24" in result.stderr
    assert wg_dump(spoke.node)[hub.public].allowed_ips == "10.99.0.0/24,172.20.10.0/24"
    assert wg_dump(hub.node)[spoke.public].handshake == first.handshake  # same session
    assert spoke.key.reveal_base64() not in result.stdout + result.stderr


WGQ_TOPOLOGY = """[network]
name = wgq
pool = 10.98.0.0/24

[hosts]
  [[hub]]
  role = hub
  backend = wg-quick
  endpoint = 198.51.100.1:51820
  address = 10.98.0.1

  [[site]]
  role = site
  backend = wg-quick
  address = 10.98.0.2
  lan = 172.30.1.0/24
  lan_address = 172.30.1.2
"""


def hub_and_site(sandbox) -> dict:
    """The nodes "hub" (198.51.100.1) and "site" (198.51.100.2) of WGQ_TOPOLOGY on one switch."""
    switch = sandbox.netns("sw")
    switch.run(["ip", "link", "add", "br0", "address", "02:00:00:00:00:01", "type", "bridge"])
    switch.run(["ip", "link", "set", "br0", "up"])
    nodes = {}
    for index, (name, address) in enumerate((("hub", "198.51.100.1"), ("site", "198.51.100.2")), 1):
        ns = sandbox.netns(name)
        sandbox.veth(switch, f"p{index}", ns, "eth0")
        switch.run(["ip", "link", "set", f"p{index}", "master", "br0"])
        node = nodes[name] = sandbox.node(ns)
        node.run(["ip", "addr", "add", f"{address}/24", "dev", "eth0"])
    return nodes


def test_a_wg_quick_hub_and_site_apply_before_wg_quick_up_creates_the_device(sandbox, tmp_path):
    """The hub's drop-in holds "-net.ipv4.conf.wg0.send_redirects = 0": the device does not exist
    until `wg-quick up`, which runs after apply. The "-" means "ignore failure" (systemd-sysctl):
    apply must not roll back; after wg-quick up the plan is empty."""
    topology = tmp_path / "wgq.conf"
    topology.write_text(WGQ_TOPOLOGY)
    subprocess.run([PYTHON, "-m", "netdwg", "render", "--topology", str(topology), "--out", str(tmp_path / "out")],
                   check=True, capture_output=True, env={**os.environ, **ENV})
    nodes = hub_and_site(sandbox)
    for name, node in nodes.items():
        result = netdwg(node, "apply", "--from", str(tmp_path / "out" / name))
        assert result.returncode == 0, result.stderr
        assert "rollback" not in result.stderr
        up = node.wg_quick_up("wg0")
        assert up.returncode == 0, up.stderr
    assert "-net.ipv4.conf.wg0.send_redirects = 0" in nodes["hub"].read_file("/etc/sysctl.d/60-netdwg.conf")
    assert nodes["hub"].run(["sysctl", "-n", "net.ipv4.conf.wg0.send_redirects"]).stdout.strip() == "0"
    assert ping(nodes["site"], "10.98.0.1")
    for name, node in nodes.items():
        result = netdwg(node, "plan", "--from", str(tmp_path / "out" / name))
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
