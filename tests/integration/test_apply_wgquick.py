"""A wg-quick host: the .conf is written 0600 and the running interface's peers are synced
live (`wg-quick strip` semantics), never a down/up that would drop every session."""

from __future__ import annotations

import stat

import pytest
from test_apply_lab import build_lab, netdwg, ping, render_hub, wait_handshake, wg_dump, write_tree

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
