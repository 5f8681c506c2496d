"""`netdwg metrics` against live wireguard-go devices in namespaces: a hub (relay) and one site
(oslo) of the golden hub-spokes topology, configured with the topology's keys; the output passes
`promtool check metrics` and names the peers as the topology does."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from test_apply_lab import PYTHON, ENV, netdwg, ping, wait_handshake

from netdwg.lab.sandbox import Node, Sandbox, wait_until
from netdwg.topology.prepare import prepare

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (Debian: prometheus)")]

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "hub-spokes"
IFACE = "wg-harbor"
UNDERLAY = {"relay": "198.51.100.10", "oslo": "198.51.100.2"}
VPN = {"relay": "10.99.0.1", "oslo": "10.99.0.2"}


def configure_with_wg(node: Node, device, iface: str = IFACE) -> None:
    """The device as the topology renders it, set with the real `wg` tool (an independent writer)."""
    node.write_file("/etc/wireguard/private", device.private_key.reveal_base64() + "\n", mode=0o600)
    argv = ["wg", "set", iface, "private-key", "/etc/wireguard/private"]
    if device.listen_port:
        argv += ["listen-port", str(device.listen_port)]
    for index, peer in enumerate(device.peers):
        argv += ["peer", peer.public_key.base64, "allowed-ips", ",".join(str(n) for n in peer.allowed_ips)]
        if peer.preshared_key is not None:
            node.write_file(f"/etc/wireguard/psk{index}", peer.preshared_key.reveal_base64() + "\n", mode=0o600)
            argv += ["preshared-key", f"/etc/wireguard/psk{index}"]
        if peer.endpoint is not None:
            argv += ["endpoint", str(peer.endpoint)]
    node.run(argv)


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        assert match, line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        out[(match.group(1), labels)] = float(match.group(3))
    return out


def _value(samples, name: str, **labels) -> float | None:
    found = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


@pytest.fixture
def live_pair(sandbox: Sandbox, tmp_path):
    for name in ("topology.conf", "topology.secrets"):
        shutil.copy(GOLDEN / name, tmp_path / name)
    os.chmod(tmp_path / "topology.secrets", 0o600)
    configs = prepare(tmp_path / "topology.conf").compile()
    a, b = sandbox.netns("relay"), sandbox.netns("oslo")
    sandbox.veth(a, "eth0", b, "eth0")
    nodes = {}
    for name, ns in (("relay", a), ("oslo", b)):
        node = sandbox.node(ns)
        node.run(["ip", "addr", "add", f"{UNDERLAY[name]}/24", "dev", "eth0"])
        node.start_wireguard_go(IFACE)
        configure_with_wg(node, configs[name].interfaces[0].device)
        node.run(["ip", "addr", "add", f"{VPN[name]}/16", "dev", IFACE])
        node.run(["ip", "link", "set", IFACE, "up"])
        nodes[name] = node
    assert ping(nodes["oslo"], VPN["relay"])
    oslo_key = configs["oslo"].interfaces[0].device.private_key.public_key().base64
    wait_handshake(nodes["relay"], oslo_key, iface=IFACE)
    return nodes, str(tmp_path / "topology.conf"), configs


def test_metrics_of_a_live_hub_pass_promtool_and_carry_the_topology_names(live_pair, tmp_path):
    nodes, topology, configs = live_pair
    relay = nodes["relay"]
    result = netdwg(relay, "metrics", "--once", "--topology", topology, "--host", "relay")
    assert result.returncode == 0, result.stderr
    check = subprocess.run(["promtool", "check", "metrics"], input=result.stdout, capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0 and check.stdout + check.stderr == "", check.stdout + check.stderr

    samples = _samples(result.stdout)
    assert _value(samples, "netdwg_device_up", interface=IFACE, backend="userspace") == 1
    oslo = {"interface": IFACE, "peer": "oslo", "role": "site", "site": "oslo"}
    assert _value(samples, "netdwg_peer_last_handshake_timestamp_seconds", **oslo) > 0
    assert _value(samples, "netdwg_peer_receive_bytes_total", **oslo) > 0
    assert _value(samples, "netdwg_peer_transmit_bytes_total", **oslo) > 0
    assert _value(samples, "netdwg_peer_endpoint_info", **oslo) == 1
    oslo_key = configs["oslo"].interfaces[0].device.private_key.public_key().base64
    endpoints = dict(line.split("\t") for line in relay.run(["wg", "show", IFACE, "endpoints"]).stdout.splitlines())
    assert endpoints[oslo_key].startswith(UNDERLAY["oslo"] + ":")
    assert _value(samples, "netdwg_peer_endpoint_info", endpoint=endpoints[oslo_key], **oslo) == 1
    wanted = {p.name: len(p.allowed_ips) for p in configs["relay"].interfaces[0].device.peers}
    assert _value(samples, "netdwg_peer_allowed_ips", **oslo) == wanted["oslo"]
    # Peers the topology wants that never shook hands; oslo did.
    assert _value(samples, "netdwg_peer_expected", **oslo) is None
    assert _value(samples, "netdwg_peer_expected", peer="ana", role="roaming") == 1
    assert _value(samples, "netdwg_peer_expected", peer="bergen", role="site", site="bergen") == 1
    # The device matches the topology; its files are not installed: only the files drift.
    assert _value(samples, "netdwg_drift_changes", kind="device") == 0
    assert _value(samples, "netdwg_drift_changes", kind="files") > 0
    assert _value(samples, "netdwg_guard_running") == 0


def test_a_peer_removed_behind_netdwgs_back_is_device_drift_and_expected(live_pair):
    nodes, topology, configs = live_pair
    relay = nodes["relay"]
    ana = next(p for p in configs["relay"].interfaces[0].device.peers if p.name == "ana")
    relay.run(["wg", "set", IFACE, "peer", ana.public_key.base64, "remove"])
    samples = _samples(netdwg(relay, "metrics", "--once", "--topology", topology, "--host", "relay").stdout)
    assert _value(samples, "netdwg_drift_changes", kind="device") == 1
    assert _value(samples, "netdwg_peer_expected", peer="ana") == 1
    assert _value(samples, "netdwg_peer_allowed_ips", peer="ana") is None  # not on the device


def test_metrics_served_over_http_and_written_as_a_textfile(live_pair, tmp_path):
    nodes, topology, _ = live_pair
    relay = nodes["relay"]
    out = tmp_path / "node-exporter"
    out.mkdir()
    written = netdwg(relay, "metrics", "--textfile", str(out), "--topology", topology, "--host", "relay")
    assert written.returncode == 0, written.stderr
    text = (out / "netdwg.prom").read_text()
    assert (out / "netdwg.prom").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in out.iterdir()] == ["netdwg.prom"]  # no temporary file left
    assert 'peer="oslo"' in text

    server = subprocess.Popen(["nsenter", "-t", str(relay.pid), "-m", "-n", PYTHON, "-m", "netdwg", "metrics",
                               "--listen", "127.0.0.1:9586", "--topology", topology, "--host", "relay"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, **ENV})
    try:
        def scrape() -> str:
            fetched = relay.run([PYTHON, "-c", "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("
                                 "'http://127.0.0.1:9586/metrics', timeout=5).read().decode())"], check=False)
            return fetched.stdout if fetched.returncode == 0 else ""
        wait_until(lambda: "netdwg_peer_expected" in scrape(), timeout=20, what="metrics served")
        body = scrape()
        assert 'netdwg_peer_receive_bytes_total{interface="wg-harbor",peer="oslo"' in body
        check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_bad_listen_address_is_bad_input():
    result = subprocess.run([PYTHON, "-m", "netdwg", "metrics", "--listen", "localhost"], capture_output=True,
                            text=True, env={**os.environ, **ENV}, timeout=60)
    assert result.returncode == 2 and "ADDRESS:PORT" in result.stderr


del urllib  # the scrape runs inside the namespace (127.0.0.1 there), not in this process
