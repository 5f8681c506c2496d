"""apply's WireGuard peers against the real wireguard-go: a revert after the device lost its
peers, several devices sharing peers, status (which sees every peer), names in messages of
hand-written files, a prefix claimed by two peers, a rollback after a new private key.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from test_apply_faults import apply_waiting_for_confirmation, expected_view, peers, read_all, render
from test_apply_lab import netdwg, wg_dump, write_tree

from netdwg.keys import genkey

pytestmark = [pytest.mark.root, pytest.mark.slow]


def device_view(node, iface: str = "wg0"):
    return {k: v.allowed_ips for k, v in wg_dump(node, iface).items()}


def stop_by_pid(pid: int, comm: str) -> None:
    """SIGTERM one process we started, after checking it is the one (never by name)."""
    try:
        if Path(f"/proc/{pid}/comm").read_text().strip() != comm:
            return
    except FileNotFoundError:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.02)


@pytest.fixture
def host(networkd_node):
    networkd_node.start_wireguard_go("wg0")
    return networkd_node


def test_a_revert_after_wireguard_go_restarted_puts_back_every_old_peer(host, tmp_path):
    """apply --confirm is killed, then the userspace device restarts empty (service restart,
    reboot) before `apply --recover` runs. The revert must give the device every old peer, not
    only the ones the unconfirmed change touched."""
    key = genkey()
    old_peers = peers("a", 4, 0)
    old = render(tmp_path / "old", key, old_peers)
    assert netdwg(host, "apply", "--from", str(tmp_path / "old")).returncode == 0
    new_peers = old_peers[1:] + peers("b", 1, 1)  # a0 removed, b0 added, a1..a3 unchanged
    render(tmp_path / "new", key, new_peers)
    proc = apply_waiting_for_confirmation(host, tmp_path / "new")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert device_view(host) == expected_view(new_peers)

    stop_by_pid(host.daemons["wireguard-go-wg0"], "wireguard-go")
    host.wait_for("wg0 gone", lambda: not host.path("/run/wireguard/wg0.sock").exists())
    host.start_wireguard_go("wg0")
    assert device_view(host) == {}

    result = netdwg(host, "apply", "--recover")
    assert result.returncode == 0, result.stderr
    assert "reverting it" in result.stderr
    assert read_all(host, old) == old
    assert device_view(host) == expected_view(old_peers)
    assert netdwg(host, "plan", "--from", str(tmp_path / "old")).returncode == 0  # converged


def test_two_devices_sharing_peers_each_get_their_own_plan_and_status_sees_every_peer(host, tmp_path):
    """wg0 and wg1 (both wireguard-go) hold the same peer keys; one peer changes on wg1 only.
    The plan names only that change; status lists every live peer of both devices."""
    host.start_wireguard_go("wg1")
    key0, key1 = genkey(), genkey()
    shared = peers("s", 3, 0)
    files = render(tmp_path / "a", key0, shared)
    wg1 = files["/etc/systemd/network/50-wg0.netdev"].replace("Name=wg0", "Name=wg1").replace(
        "ListenPort=51820", "ListenPort=51821").replace("wg0.key", "wg1.key")
    extra = {"etc/systemd/network/60-wg1.netdev": wg1, "etc/netdwg/keys/wg1.key": key1.reveal_base64() + "\n",
             "etc/systemd/network/60-wg1.network": "[Match]\nName=wg1\n\n[Network]\nAddress=10.97.0.1/24\n"
                                                   "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"}
    write_tree(tmp_path / "a", extra)
    assert netdwg(host, "apply", "--from", str(tmp_path / "a")).returncode == 0
    assert device_view(host, "wg0") == device_view(host, "wg1") == expected_view(shared)

    moved = shared[2][3], "10.99.7.7/32"
    extra["etc/systemd/network/60-wg1.netdev"] = wg1.replace(f"AllowedIPs={moved[0]}", f"AllowedIPs={moved[1]}")
    render(tmp_path / "b", key0, shared)
    write_tree(tmp_path / "b", extra)
    result = netdwg(host, "plan", "--from", str(tmp_path / "b"), "--json")
    assert result.returncode == 1, result.stderr
    plan = json.loads(result.stdout)
    assert [(p["action"], p["name"]) for p in plan["peers"]] == [("update", "s2")], plan["peers"]
    assert netdwg(host, "apply", "--from", str(tmp_path / "b")).returncode == 0
    assert device_view(host, "wg0") == expected_view(shared)
    assert device_view(host, "wg1")[shared[2][1]] == moved[1]

    status = netdwg(host, "status", "--from", str(tmp_path / "b"), "--json")
    report = json.loads(status.stdout)
    listed = {i["interface"]: sorted(p["name"] for p in i["peers"]) for i in report["interfaces"]}
    assert listed == {"wg0": ["s0", "s1", "s2"], "wg1": ["s0", "s1", "s2"]}, status.stdout


def test_hand_written_names_without_blank_lines_are_announced_right(host, tmp_path):
    """'# name' directly above each header, no blank lines: apply announces the changed peer by
    its own name, not the name of the unchanged peer before it."""
    key = genkey()
    people = peers("p", 3, 0)
    files = render(tmp_path / "a", key, people)
    tight = files["/etc/systemd/network/50-wg0.netdev"].replace("\n\n#", "\n#")
    write_tree(tmp_path / "a", {"etc/systemd/network/50-wg0.netdev": tight})
    assert netdwg(host, "apply", "--from", str(tmp_path / "a")).returncode == 0
    changed = tight.replace(f"AllowedIPs={people[1][3]}", "AllowedIPs=10.99.8.8/32")
    render(tmp_path / "b", key, people)
    write_tree(tmp_path / "b", {"etc/systemd/network/50-wg0.netdev": changed})
    result = netdwg(host, "apply", "--from", str(tmp_path / "b"))
    assert result.returncode == 0, result.stderr
    steps = [line for line in result.stderr.splitlines() if "peer" in line]
    assert len(steps) == 1 and "update peer p1" in steps[0], result.stderr


def test_a_prefix_given_to_a_second_peer_is_refused_before_anything_changes(host, tmp_path):
    """WireGuard keeps each allowed prefix on one peer only: giving b0 the prefix of a1 (whose
    section the files do not change) would take it from a1, and every later apply would move it
    back. apply refuses it, naming both peers, and touches nothing."""
    key = genkey()
    old_peers = peers("a", 3, 0)
    old = render(tmp_path / "old", key, old_peers)
    assert netdwg(host, "apply", "--from", str(tmp_path / "old")).returncode == 0
    taken = old_peers[1][3]
    b0 = peers("b", 1, 1)[0]
    new_peers = old_peers + [(b0[0], b0[1], b0[2], taken)]  # a1 and b0 both list the prefix
    render(tmp_path / "new", key, new_peers)
    result = netdwg(host, "apply", "--from", str(tmp_path / "new"), "--wait", "10")
    assert result.returncode == 2, result.stderr
    assert f"wg0: AllowedIPs {taken} is on two peers, a1 and b0" in result.stderr
    assert "Traceback" not in result.stderr
    assert read_all(host, old) == old
    assert device_view(host) == expected_view(old_peers)


def test_a_rollback_restores_the_peer_a_new_private_key_removed(host, tmp_path):
    """wireguard-go removes the peer whose public key is the device's new one. That peer's section
    is unchanged in the files: the rollback has to put it back."""
    old_key, new_key = genkey(), genkey()
    old_peers = [("self", new_key.public_key().base64, peers("x", 1, 0)[0][2], "10.99.0.2/32")] + peers("a", 2, 1)
    old = render(tmp_path / "old", old_key, old_peers)
    assert netdwg(host, "apply", "--from", str(tmp_path / "old")).returncode == 0
    assert device_view(host) == expected_view(old_peers)
    bad = "\n[Route]\nDestination=10.50.0.0/16\nType=throw\nGateway=10.99.0.9\n"
    render(tmp_path / "new", new_key, old_peers, extra_network=bad)
    result = netdwg(host, "apply", "--from", str(tmp_path / "new"), "--wait", "10")
    assert result.returncode == 2 and "everything applied was rolled back" in result.stderr, result.stderr
    assert read_all(host, old) == old
    assert device_view(host) == expected_view(old_peers)
    assert host.run(["wg", "show", "wg0", "private-key"]).stdout.strip() == old_key.reveal_base64()
