"""The lab sandbox: namespaces, veths, nodes, networkd 252, wireguard-go, and clean teardown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from netdwg.lab.sandbox import (
    Sandbox,
    SandboxError,
    destroy_recorded,
    snapshot_root_netns,
    stale_records,
    wait_until,
)

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]


def _netns_exists(name: str) -> bool:
    return Path("/run/netns", name).exists()


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _link_state(node, ifname: str) -> tuple[str, str]:
    out = node.run(["networkctl", "--no-pager", "--no-legend", "list", ifname]).stdout.split()
    return out[3], out[4]  # IDX LINK TYPE OPERATIONAL SETUP


def _addresses(ns_or_node, ifname: str) -> list[str]:
    data = json.loads(ns_or_node.run(["ip", "-j", "addr", "show", "dev", ifname]).stdout)
    return [f"{a['local']}/{a['prefixlen']}" for a in data[0]["addr_info"]]


def test_veth_between_namespaces_carries_traffic(sandbox):
    a, b = sandbox.netns("a"), sandbox.netns("b")
    assert a.name.startswith("ndwt") and _netns_exists(a.name)
    sandbox.veth(a, "eth0", b, "eth0")
    a.run(["ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"])
    b.run(["ip", "addr", "add", "192.0.2.2/24", "dev", "eth0"])
    assert a.run(["ping", "-c1", "-W2", "192.0.2.2"]).returncode == 0
    # The lab sysctls are set in every namespace.
    assert a.run(["sysctl", "-n", "net.ipv4.conf.all.rp_filter"]).stdout.strip() == "2"
    assert a.run(["sysctl", "-n", "net.ipv4.conf.all.send_redirects"]).stdout.strip() == "0"
    assert a.run(["sysctl", "-n", "net.bridge.bridge-nf-call-iptables"]).stdout.strip() == "0"


def test_failed_command_raises_with_stderr(sandbox):
    a = sandbox.netns("a")
    with pytest.raises(SandboxError, match="eth9"):
        a.run(["ip", "link", "set", "eth9", "up"])
    assert a.run(["false"], check=False).returncode == 1


def test_node_has_private_mounts(sandbox):
    node = sandbox.node(sandbox.netns("n"))
    node.write_file("/etc/netdwg/secret.key", "k\n", mode=0o640, group="systemd-network")
    out = node.run(["stat", "-c", "%a %U %G", "/etc/netdwg/secret.key"]).stdout.split()
    assert out == ["640", "root", "systemd-network"]
    # Private to the node: the host's /etc and /run are untouched.
    assert not Path("/etc/netdwg/secret.key").exists()
    node.write_file("/etc/hosts.ndwtest", "x")  # the node's /etc is a private overlay
    assert not Path("/etc/hosts.ndwtest").exists()
    assert node.read_file("/run/systemd/container") == "netns\n"
    assert node.run(["stat", "-c", "%U", "/run/systemd/netif"]).stdout.strip() == "systemd-network"
    assert node.run(["touch", "/sys/ndwtest"], check=False).returncode != 0  # read-only sysfs
    assert node.run(["ls", "/etc/systemd/network"]).stdout == ""  # the host's files are hidden


def test_networkd_reads_network_file_and_configures_address(sandbox, networkd_node):
    peer = sandbox.netns("peer")
    sandbox.veth(peer, "eth0", networkd_node.netns, "eth0")
    networkd_node.write_file(
        "/etc/systemd/network/50-eth0.network",
        "[Match]\nName=eth0\n\n[Network]\nAddress=198.51.100.7/24\nGateway=198.51.100.1\n",
    )
    networkd_node.run(["networkctl", "reload"])
    wait_until(lambda: _link_state(networkd_node, "eth0") == ("routable", "configured"), 15,
               what="eth0 routable (configured)")
    assert "198.51.100.7/24" in _addresses(networkd_node, "eth0")
    routes = networkd_node.run(["ip", "route", "show", "default"]).stdout
    assert "via 198.51.100.1 dev eth0" in routes
    assert "eth0" in networkd_node.networkd_log()


def test_networkd_logs_parse_warnings(networkd_node):
    networkd_node.write_file("/etc/systemd/network/60-bad.network",
                             "[Match]\nName=nothing0\n\n[Network]\nBogusKey=1\n")
    networkd_node.run(["networkctl", "reload"])
    wait_until(lambda: "BogusKey" in networkd_node.networkd_log(), 5, what="parse warning in log")


def test_wireguard_go_uapi_via_node_run(sandbox):
    node = sandbox.node(sandbox.netns("wg"))
    pid = node.start_wireguard_go("wg0")
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "wireguard-go"
    node.run(["wg", "set", "wg0", "listen-port", "51820"])
    assert "listening port: 51820" in node.run(["wg", "show", "wg0"]).stdout
    # The UAPI socket lives only inside the node.
    assert node.path("/run/wireguard/wg0.sock").exists()
    assert not Path("/run/wireguard/wg0.sock").exists()


def _wg_keypair(node) -> tuple[str, str]:
    priv = node.run(["wg", "genkey"]).stdout.strip()
    pub = node.run(["wg", "pubkey"], input=priv + "\n").stdout.strip()
    return priv, pub


def test_two_wireguard_go_nodes_handshake_and_ping(sandbox):
    a = sandbox.node(sandbox.netns("hub"))
    b = sandbox.node(sandbox.netns("lap"))
    sandbox.veth(a.netns, "eth0", b.netns, "eth0")
    a.run(["ip", "addr", "add", "203.0.113.1/24", "dev", "eth0"])
    b.run(["ip", "addr", "add", "203.0.113.2/24", "dev", "eth0"])
    keys = {}
    for n, addr in ((a, "10.99.0.1/24"), (b, "10.99.0.2/24")):
        n.start_wireguard_go("wg0")
        priv, pub = _wg_keypair(n)
        keys[n] = pub
        n.write_file("/etc/netdwg/wg0.key", priv + "\n", mode=0o600)
        n.run(["wg", "set", "wg0", "private-key", "/etc/netdwg/wg0.key", "listen-port", "51820"])
        n.run(["ip", "addr", "add", addr, "dev", "wg0"])
        n.run(["ip", "link", "set", "wg0", "up"])
    a.run(["wg", "set", "wg0", "peer", keys[b], "allowed-ips", "10.99.0.2/32"])
    b.run(["wg", "set", "wg0", "peer", keys[a], "allowed-ips", "10.99.0.1/32",
           "endpoint", "203.0.113.1:51820", "persistent-keepalive", "1"])
    assert b.run(["ping", "-c3", "-i0.2", "-W2", "10.99.0.1"]).returncode == 0
    dump = a.run(["wg", "show", "wg0", "latest-handshakes"]).stdout.split()
    assert dump[0] == keys[b] and int(dump[1]) > 0


def test_everything_removed_when_body_raises():
    with pytest.raises(RuntimeError, match="boom"):
        with Sandbox(prefix="ndwt") as sb:
            sandbox_id = sb.id
            node = sb.node(sb.netns("x"))
            pids = [node.pid, node.start_dbus(), node.start_networkd(), node.start_wireguard_go("wg0"),
                    node.spawn(["sleep", "600"], name="sleeper")]
            names = list(sb.record.netns)
            record = sb.record.path
            assert all(_pid_alive(p) for p in pids)
            raise RuntimeError("boom")
    assert not any(_pid_alive(p) for p in pids)
    assert not any(_netns_exists(n) for n in names)
    assert not record.exists() and not record.with_suffix("").exists()
    # other test runs may create namespaces meanwhile: only this sandbox's names must be gone
    assert not any(n.startswith(sandbox_id) for n in os.listdir("/run/netns"))


_KILLED_UP = textwrap.dedent("""
    import sys, time
    from netdwg.lab.sandbox import Sandbox
    sb = Sandbox(prefix="ndwt").__enter__()
    node = sb.node(sb.netns("k"))
    node.start_wireguard_go("wg0")
    node.spawn(["sleep", "600"], name="sleeper")
    print(sb.record.path, flush=True)
    time.sleep(600)
""")


def test_destroy_recorded_cleans_up_after_sigkill():
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_UP], stdout=subprocess.PIPE, text=True, cwd=REPO)
    record = Path(proc.stdout.readline().strip())
    data = json.loads(record.read_text())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert record in stale_records(record.parent)
    pids = [p["pid"] for p in data["procs"]]
    assert all(_pid_alive(p) for p in pids)  # the killed owner left its daemons behind
    removed = destroy_recorded(record)
    assert any("netns" in r for r in removed)
    assert not any(_pid_alive(p) for p in pids)
    assert not any(_netns_exists(n) for n in data["netns"])
    assert not record.exists()


def test_root_namespace_unchanged():
    before = snapshot_root_netns()
    with Sandbox(prefix="ndwt") as sb:
        a = sb.node(sb.netns("a"))
        b = sb.netns("b")
        sb.veth(a.netns, "eth0", b, "eth0")
        b.run(["ip", "link", "add", "br0", "type", "bridge"])
        b.run(["nft", "add", "table", "inet", "ndwtest"])
        a.start_dbus()
        a.start_networkd()
        a.start_wireguard_go("wg0")
        a.run(["ip", "addr", "add", "192.0.2.9/24", "dev", "eth0"])
        a.run(["ip", "route", "add", "198.51.100.0/24", "via", "192.0.2.1"])
        a.run(["ip", "rule", "add", "fwmark", "0x51820", "table", "51820"])
    assert snapshot_root_netns() == before
