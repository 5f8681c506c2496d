"""netdwg apply on a real hub and spokes: wireguard-go, networkd 252, a private dbus-daemon.

The story of an admin's week in one test: bring up a hub and two spokes,
add a third spoke without disturbing the others' sessions, drop one, and
see that a second apply does nothing at all.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
from test_apply_lab import (
    STATE_DIR,
    add_host,
    build_lab,
    mtimes,
    netdwg,
    ping,
    render_hub,
    render_spoke,
    wait_handshake,
    wg_dump,
)

pytestmark = [pytest.mark.root, pytest.mark.slow]

NETDEV = "/etc/systemd/network/50-wg0.netdev"
MANAGED = [NETDEV, "/etc/systemd/network/50-wg0.network", "/etc/sysctl.d/60-netdwg.conf"]


def mode_owner(node, path):
    st = node.path(path).stat()
    import grp
    import pwd

    return stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name


def test_hub_and_spokes_lifecycle(sandbox, tmp_path):
    hub, spokes, switch = build_lab(sandbox, 2)
    s1, s2 = spokes
    outputs = []

    # 1. Bring up the hub and two spokes from rendered files; traffic flows through the hub.
    result = netdwg(hub.node, "apply", "--from", str(render_hub(hub, spokes, tmp_path / "hub1")))
    outputs.append(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr
    assert "[#] wg0: add peer s1" in result.stderr and "[#] networkd: Reload" in result.stderr
    for s in spokes:
        result = netdwg(s.node, "apply", "--from", str(render_spoke(s, hub, tmp_path / s.name)))
        outputs.append(result.stdout + result.stderr)
        assert result.returncode == 0, result.stderr
    for s in spokes:
        wait_handshake(hub.node, s.public)
    assert ping(s1.node, hub.vpn) and ping(s2.node, hub.vpn)
    assert ping(s1.node, s2.vpn), "spoke to spoke through the hub (forwarding sysctl applied live)"
    assert hub.node.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "1"
    assert mode_owner(hub.node, NETDEV) == (0o640, "root", "systemd-network")
    assert mode_owner(s1.node, "/etc/netdwg/keys/wg0.key") == (0o640, "root", "systemd-network")
    assert "too permissive" not in hub.node.networkd_log()
    state = hub.node.run(["networkctl", "status", "wg0", "--no-pager"], check=False).stdout
    assert "configured" in state

    # 2. Add a spoke to the hub: existing sessions and endpoints untouched, the new one handshakes.
    s3 = add_host(sandbox, switch, "s3", 4)
    before = wg_dump(hub.node)
    result = netdwg(hub.node, "plan", "--from", str(render_hub(hub, [s1, s2, s3], tmp_path / "hub2")), "--json")
    outputs.append(result.stdout + result.stderr)
    assert result.returncode == 1  # changes pending
    plan = json.loads(result.stdout)
    assert [(p["action"], p["name"]) for p in plan["peers"]] == [("add", "s3")]
    assert plan["networkd"] is None  # a peer change needs no reload (and 257+ would drop sessions)
    result = netdwg(hub.node, "apply", "--from", str(tmp_path / "hub2"))
    outputs.append(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr
    result = netdwg(s3.node, "apply", "--from", str(render_spoke(s3, hub, tmp_path / "s3")))
    assert result.returncode == 0, result.stderr
    wait_handshake(hub.node, s3.public)
    after = wg_dump(hub.node)
    for s in (s1, s2):
        assert after[s.public].handshake == before[s.public].handshake, f"{s.name} re-handshaked: session dropped"
        assert after[s.public].endpoint == before[s.public].endpoint
    assert ping(s3.node, s1.vpn)

    # 3. Remove a peer: gone from the device and from the file.
    result = netdwg(hub.node, "apply", "--from", str(render_hub(hub, [s1, s3], tmp_path / "hub3")))
    outputs.append(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr
    assert "[#] wg0: remove peer s2" in result.stderr
    live = wg_dump(hub.node)
    assert s2.public not in live and set(live) == {s1.public, s3.public}
    assert s2.public not in hub.node.read_file(NETDEV)
    assert live[s1.public].handshake == after[s1.public].handshake

    # 4. A second apply reports nothing to do and changes no mtime.
    stamps = mtimes(hub.node, MANAGED + [f"{STATE_DIR}/managed-files"])
    result = netdwg(hub.node, "apply", "--from", str(tmp_path / "hub3"))
    outputs.append(result.stdout + result.stderr)
    assert result.returncode == 0 and "Nothing to do" in result.stdout
    assert mtimes(hub.node, MANAGED + [f"{STATE_DIR}/managed-files"]) == stamps

    # 5. status names peers from the configuration and shows live facts.
    result = netdwg(hub.node, "status", "--from", str(tmp_path / "hub3"), "--json")
    outputs.append(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    peers = {p["name"]: p for p in report["interfaces"][0]["peers"]}
    assert set(peers) == {"s1", "s3"} and peers["s1"]["latest_handshake"] and peers["s1"]["rx_bytes"] > 0
    assert report["drift"] == []
    text = netdwg(hub.node, "status").stdout
    outputs.append(text)
    assert "peer s1" in text and "in sync" in text

    # Secrets: no private key or PSK in anything netdwg printed, nor in networkd's log.
    shown = "\n".join(outputs) + hub.node.networkd_log()
    for secret in [h.key for h in (hub, s1, s2, s3)] + [h.psk for h in (s1, s2, s3)]:
        assert secret.reveal_base64() not in shown
        assert secret.reveal_hex() not in shown
    # Backups hold old keys: root only.
    backups = hub.node.path(f"{STATE_DIR}/backups")
    for dirpath, dirnames, filenames in os.walk(backups):
        assert stat.S_IMODE(os.stat(dirpath).st_mode) & 0o077 == 0
        for name in filenames:
            assert stat.S_IMODE(os.stat(os.path.join(dirpath, name)).st_mode) & 0o007 == 0
