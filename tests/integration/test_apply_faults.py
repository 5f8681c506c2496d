"""When things go wrong: networkd rejects, the UAPI socket breaks mid-way, apply is
killed with SIGKILL at random moments, nobody confirms. Files are always entirely
old or entirely new, the device ends as it was or as wanted, and a rerun converges.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest
from test_apply_lab import ENV, NO_IPV6LL, PYTHON, STATE_DIR, netdwg, popen_netdwg, wg_dump, write_tree

from netdwg.keys import PrivateKey, genkey, genpsk

pytestmark = [pytest.mark.root, pytest.mark.slow]

NETDEV = "/etc/systemd/network/50-wg0.netdev"
NETWORK = "/etc/systemd/network/50-wg0.network"
KEY = "/etc/netdwg/keys/wg0.key"
SYSCTL = "/etc/sysctl.d/60-netdwg.conf"


def render(out: Path, key: PrivateKey, peers, forward: str = "1", extra_network: str = "") -> dict[str, str]:
    """A host's files: key in a key file, peers with PSKs; returns path -> text."""
    netdev = ["[NetDev]", "Name=wg0", "Kind=wireguard", "", "[WireGuard]", f"PrivateKeyFile={KEY}", "ListenPort=51820"]
    for name, public, psk, net in peers:
        netdev += ["", f"# {name}", "[WireGuardPeer]", f"PublicKey={public}", f"PresharedKey={psk}", f"AllowedIPs={net}"]
    files = {NETDEV: "\n".join(netdev) + "\n",
             NETWORK: f"[Match]\nName=wg0\n\n[Network]\nAddress=10.99.0.1/24\n{NO_IPV6LL}{extra_network}",
             KEY: key.reveal_base64() + "\n",
             SYSCTL: f"net.ipv4.ip_forward = {forward}\n"}
    write_tree(out, {p.lstrip("/"): t for p, t in files.items()})
    return files


def peers(prefix: str, count: int, first_ip: int):
    return [(f"{prefix}{i}", genkey().public_key().base64, genpsk().reveal_base64(), f"10.99.{first_ip + i // 250}.{i % 250 + 2}/32")
            for i in range(count)]


def device_view(node):
    return {k: v.allowed_ips for k, v in wg_dump(node).items()}


def expected_view(peer_list):
    return {public: net for _, public, _, net in peer_list}


@pytest.fixture
def host(networkd_node):
    networkd_node.start_wireguard_go("wg0")
    return networkd_node


def read_all(node, paths):
    out = {}
    for p in paths:
        try:
            out[p] = node.read_file(p)
        except FileNotFoundError:
            out[p] = None
    return out


def test_networkd_rejecting_the_change_rolls_everything_back(host, tmp_path):
    key = genkey()
    old_peers = peers("a", 3, 0)
    old = render(tmp_path / "old", key, old_peers)
    assert netdwg(host, "apply", "--from", str(tmp_path / "old")).returncode == 0
    # A route networkd 252 accepts in the file but the kernel refuses: the link goes "failed".
    bad = "\n[Route]\nDestination=10.50.0.0/16\nType=throw\nGateway=10.99.0.9\n"
    new_peers = old_peers[:2] + peers("b", 2, 1)
    render(tmp_path / "new", key, new_peers, forward="0", extra_network=bad)
    result = netdwg(host, "apply", "--from", str(tmp_path / "new"), "--wait", "10")
    assert result.returncode == 2
    assert "networkd did not configure wg0: failed" in result.stderr
    assert "everything applied was rolled back" in result.stderr
    assert read_all(host, old) == old
    assert device_view(host) == expected_view(old_peers)
    assert host.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "1"
    admin = host.run(["networkctl", "status", "wg0", "--no-pager"], check=False).stdout
    assert "configured" in admin  # the old configuration is back in force
    assert netdwg(host, "plan", "--from", str(tmp_path / "old")).returncode == 0


def test_networkd_not_running_is_a_clear_error_and_nothing_stays_changed(host, tmp_path):
    key = genkey()
    old = render(tmp_path / "old", key, peers("a", 2, 0))
    assert netdwg(host, "apply", "--from", str(tmp_path / "old")).returncode == 0
    pid = host.daemons["networkd"]
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "systemd-network"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z" \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    render(tmp_path / "new", key, peers("a", 2, 0), extra_network="DNS=192.0.2.53\n")
    result = netdwg(host, "apply", "--from", str(tmp_path / "new"))
    assert result.returncode == 2
    assert "systemd-networkd is not running" in result.stderr and "Traceback" not in result.stderr
    assert "fix: start it" in result.stderr
    assert read_all(host, old) == old


PROXY = r'''
import os, socket, sys
real, path, fail_on = sys.argv[1], sys.argv[2], int(sys.argv[3])
server = socket.socket(socket.AF_UNIX)
server.bind(path + ".tmp"); os.rename(path + ".tmp", path); server.listen(16)
sets = 0
while True:
    conn, _ = server.accept()
    request = b""
    while not request.endswith(b"\n\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        request += chunk
    with socket.socket(socket.AF_UNIX) as up:
        up.connect(real); up.sendall(request)
        answer = b""
        while not (answer.endswith(b"\n\n") and b"errno=" in answer):
            chunk = up.recv(65536)
            if not chunk:
                break
            answer += chunk
    if request.startswith(b"set=1"):
        sets += 1
        if sets == fail_on:   # the change reached the device, the answer never reaches netdwg
            conn.close(); continue
    conn.sendall(answer); conn.close()
'''


def test_the_uapi_socket_failing_mid_way_restores_the_device_and_files(host, tmp_path):
    key = genkey()
    old_peers = peers("a", 4, 0)
    old = render(tmp_path / "old", key, old_peers)
    assert netdwg(host, "apply", "--from", str(tmp_path / "old")).returncode == 0
    # A breaking proxy in front of wireguard-go's socket. wireguard-go stops serving UAPI when its
    # socket file is renamed, so the proxy lives elsewhere and netdwg runs in a child mount
    # namespace where the proxy's directory is bind-mounted over /run/wireguard.
    proxy_dir = tmp_path / "uapi"
    proxy_dir.mkdir()
    script = tmp_path / "proxy.py"
    script.write_text(PROXY)
    host.spawn([PYTHON, str(script), "/run/wireguard/wg0.sock", str(proxy_dir / "wg0.sock"), "3"], name="uapi-proxy")
    deadline = time.monotonic() + 5
    while not (proxy_dir / "wg0.sock").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    new_peers = old_peers[1:] + peers("b", 3, 1)  # remove a0, add b0 b1 b2: four sets, the third breaks
    render(tmp_path / "new", key, new_peers)
    command = (f"mount --bind {proxy_dir} /run/wireguard && exec {PYTHON} -m netdwg apply "
               f"--from {tmp_path / 'new'} --state-dir {STATE_DIR}")
    result = host.run(["unshare", "-m", "--propagation", "private", "sh", "-c", command], check=False, env=ENV)
    assert result.returncode == 2, result.stderr
    assert "UAPI socket closed mid-answer" in result.stderr
    assert "[#] rollback: wg0: restore peers as they were" in result.stderr
    assert device_view(host) == expected_view(old_peers)  # b0, b1 removed again, a0 back
    assert read_all(host, old) == old
    # The socket works again: a rerun converges.
    assert netdwg(host, "apply", "--from", str(tmp_path / "new")).returncode == 0
    assert device_view(host) == expected_view(new_peers)


def test_kill_9_at_random_points_never_mixes_files_and_a_rerun_converges(host, tmp_path):
    rng = random.Random(4)
    key_a, key_b = genkey(), genkey()
    peers_a = peers("a", 70, 0)
    peers_b = peers_a[:10] + peers("b", 60, 1)  # 60 removals + 60 additions: a window to land in
    # B also adds an address: networkd must be told, and a kill between the files and that
    # call must not leave networkd on the old configuration after the rerun.
    versions = {"A": render(tmp_path / "A", key_a, peers_a, "1"),
                "B": render(tmp_path / "B", key_b, peers_b, "0", extra_network="Address=10.98.0.1/24\n")}
    views = {"A": expected_view(peers_a), "B": expected_view(peers_b)}
    assert netdwg(host, "apply", "--from", str(tmp_path / "A")).returncode == 0
    window = work_window(host, tmp_path / "B")  # from the first announced step to the exit
    current, landed = "B", {"before": 0, "during": 0, "after": 0}
    for run in range(50):
        target = "A" if current == "B" else "B"
        old = "A" if target == "B" else "B"
        proc = popen_netdwg(host, "apply", "--from", str(tmp_path / target))
        proc.stderr.readline()  # the first "[#]" step: from here on, every moment counts
        time.sleep(rng.uniform(0, window * 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        files = read_all(host, versions["A"])
        for path, text in files.items():
            assert text in (versions["A"][path], versions["B"][path]), f"run {run}: {path} is neither old nor new"
        device = device_view(host)
        if files == versions[old] and device == views[old]:
            landed["before"] += 1
        elif files == versions[target] and device == views[target]:
            landed["after"] += 1
        else:
            landed["during"] += 1  # some files new, some old, or the device half-way: the rerun must fix it
        rerun = netdwg(host, "apply", "--from", str(tmp_path / target))
        assert rerun.returncode == 0, f"run {run}: {rerun.stderr}"
        assert read_all(host, versions[target]) == versions[target]
        assert device_view(host) == views[target]
        addresses = host.run(["ip", "-4", "-o", "addr", "show", "dev", "wg0"]).stdout
        assert ("10.98.0.1/24" in addresses) == (target == "B"), f"run {run}: networkd not told: {addresses}"
        assert netdwg(host, "plan", "--from", str(tmp_path / target)).returncode == 0 if run % 10 == 0 else True
        leftovers = [p for d in ("/etc/systemd/network", "/etc/netdwg/keys", "/etc/sysctl.d")
                     for p in host.path(d).iterdir() if ".netdwg-tmp." in p.name]
        assert leftovers == [], f"run {run}: temp files left after the rerun"
        current = target
    print(f"work window {window:.2f} s; kills landed {landed}; all converged")
    assert landed["during"] >= 10  # the test really interrupted apply mid-way, many times


def work_window(host, source: Path) -> float:
    """Seconds from the first announced step to the last one of a full apply."""
    proc = popen_netdwg(host, "apply", "--from", str(source))
    proc.stderr.readline()
    started = last = time.monotonic()
    for line in proc.stderr:
        if line.startswith(b"[#]"):
            last = time.monotonic()
    proc.wait()
    assert proc.returncode == 0
    return last - started


def apply_waiting_for_confirmation(host, source: Path):
    """`apply --confirm 300` started, returned once it has applied and waits for Enter."""
    proc = popen_netdwg(host, "apply", "--from", str(source), "--confirm", "300")
    for line in proc.stderr:
        if b"press Enter" in line:
            break
    return proc


def test_confirm_reverts_unless_confirmed(host, tmp_path):
    key = genkey()
    old_peers = peers("a", 3, 0)
    old = render(tmp_path / "old", key, old_peers)
    assert netdwg(host, "apply", "--from", str(tmp_path / "old")).returncode == 0
    new_peers = old_peers[:1] + peers("b", 2, 1)
    new = render(tmp_path / "new", key, new_peers, forward="0")
    # Nobody answers (stdin at EOF, no confirm file): reverted after 1 s.
    result = netdwg(host, "apply", "--from", str(tmp_path / "new"), "--confirm", "1", input="")
    assert result.returncode == 2 and "reverting" in result.stderr and "reverted" in result.stdout
    assert read_all(host, old) == old and device_view(host) == expected_view(old_peers)
    assert host.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "1"
    # Enter within the time: kept.
    result = netdwg(host, "apply", "--from", str(tmp_path / "new"), "--confirm", "5", input="\n")
    assert result.returncode == 0 and "applied" in result.stdout
    assert read_all(host, new) == new and device_view(host) == expected_view(new_peers)


def test_confirm_reverts_at_once_when_the_admins_session_hangs_up(host, tmp_path):
    key = genkey()
    old_peers = peers("a", 2, 0)
    old = render(tmp_path / "old", key, old_peers)
    assert netdwg(host, "apply", "--from", str(tmp_path / "old")).returncode == 0
    render(tmp_path / "new", key, peers("b", 2, 1), forward="0")
    proc = apply_waiting_for_confirmation(host, tmp_path / "new")
    assert device_view(host) != expected_view(old_peers)
    started = time.monotonic()
    proc.send_signal(signal.SIGHUP)  # the ssh session died (perhaps cut off by this very change)
    proc.communicate(timeout=30)
    assert time.monotonic() - started < 10 and proc.returncode == 2
    assert read_all(host, old) == old and device_view(host) == expected_view(old_peers)


def test_kill_9_while_waiting_for_confirmation_is_reverted_by_the_next_run(host, tmp_path):
    key = genkey()
    old_peers = peers("a", 3, 0)
    old = render(tmp_path / "old", key, old_peers)
    assert netdwg(host, "apply", "--from", str(tmp_path / "old")).returncode == 0
    new_peers = old_peers[1:] + peers("b", 2, 1)
    render(tmp_path / "new", key, new_peers, forward="0", extra_network="Address=10.98.0.1/24\n")
    proc = apply_waiting_for_confirmation(host, tmp_path / "new")
    assert device_view(host) == expected_view(new_peers)
    assert "10.98.0.1/24" in host.run(["ip", "-4", "-o", "addr", "show", "dev", "wg0"]).stdout
    proc.send_signal(signal.SIGKILL)  # or a reboot: nothing of the waiting process remains
    proc.communicate()
    assert device_view(host) == expected_view(new_peers)  # the unconfirmed change outlived its process...
    result = netdwg(host, "status")  # ...until the next netdwg run of any kind
    assert f"(pid {proc.pid}) ended before its change was confirmed: reverting it" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert read_all(host, old) == old
    assert device_view(host) == expected_view(old_peers)
    assert host.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "1"
    assert "10.98.0.1/24" not in host.run(["ip", "-4", "-o", "addr", "show", "dev", "wg0"]).stdout
    assert netdwg(host, "plan", "--from", str(tmp_path / "old")).returncode == 0  # converged on the old state
    assert "nothing to recover" in netdwg(host, "apply", "--recover").stdout


def test_a_plan_after_reverting_an_abandoned_confirm_is_made_against_the_reverted_device(host, tmp_path):
    """When a plan run first reverts an abandoned --confirm, the plan it prints is made against
    the reverted device, not the one the killed run left."""
    key = genkey()
    old_peers = peers("a", 3, 0)
    render(tmp_path / "old", key, old_peers)
    assert netdwg(host, "apply", "--from", str(tmp_path / "old")).returncode == 0
    new_peers = old_peers[1:] + peers("b", 2, 1)
    render(tmp_path / "new", key, new_peers)
    proc = apply_waiting_for_confirmation(host, tmp_path / "new")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert device_view(host) == expected_view(new_peers)

    result = netdwg(host, "plan", "--from", str(tmp_path / "new"), "--json")  # reverts first, then plans
    assert "reverting it" in result.stderr, result.stderr
    assert device_view(host) == expected_view(old_peers)
    plan = __import__("json").loads(result.stdout)
    assert result.returncode == 1  # changes pending: the new peers are not on the reverted device
    assert sorted((p["action"], p["name"]) for p in plan["peers"]) == [("add", "b0"), ("add", "b1"), ("remove", "a0")]
