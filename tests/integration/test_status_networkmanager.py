"""`netdwg status` on a NetworkManager host, against real NetworkManager 1.42 in a namespace: before
apply the profile is not loaded (drift); after `netdwg apply` NetworkManager holds it as rendered (in
sync); settings NetworkManager holds otherwise than the file says are drift, named, secrets not shown;
a device on the interface is read over UAPI; NetworkManager stopped, then the bus gone: status says so
and fails with 69, never "in sync"."""

from __future__ import annotations

import json
import shutil

import pytest

from netdwg.host.networkmanager import NetworkManagerBus
from golden_support import GOLDEN, load_scenario
from nm_support import bus_address, start_networkmanager
from test_apply_lab import netdwg
from test_guard_networkmanager import _stop

pytestmark = pytest.mark.root

PROFILE = "/etc/NetworkManager/system-connections/wg-fjord.nmconnection"


def status(node, topology, *extra):
    result = netdwg(node, "status", "--topology", topology, "--host", "ana", *extra)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_status_reports_what_networkmanager_holds_and_fails_when_it_cannot_ask(sandbox, tmp_path):
    node = sandbox.node(sandbox.netns("nm"))
    nm_pid = start_networkmanager(node)
    for name in ("topology.conf", "topology.secrets"):
        shutil.copy(GOLDEN / "networkmanager" / name, tmp_path / name)
    (tmp_path / "topology.secrets").chmod(0o600)
    topology = str(tmp_path / "topology.conf")

    # 1. Nothing applied: the file is missing and NetworkManager has no such connection.
    before = status(node, topology, "--json")
    assert before.returncode == 1, before.stdout + before.stderr
    report = json.loads(before.stdout)
    assert report["backend"] == "networkmanager"
    (iface,) = report["interfaces"]
    held = iface["networkmanager"]
    assert held["version"].startswith("1.42") and held["loaded"] is False and held["settings_match"] is None
    assert held["differences"][0]["networkmanager"] == "(no such connection: not loaded)"
    assert any(d.startswith("NetworkManager: LoadConnections " + PROFILE) for d in report["drift"])
    text = status(node, topology).stdout
    assert f"NetworkManager 1.42.4: {PROFILE} not loaded" in text and "in sync" not in text, text

    # 2. After apply: loaded from the rendered file, settings as rendered (secrets compared as root).
    applied = netdwg(node, "apply", "--topology", topology, "--host", "ana", timeout=120)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    after = status(node, topology, "--json")
    assert after.returncode == 0, after.stdout + after.stderr
    report = json.loads(after.stdout)
    held = report["interfaces"][0]["networkmanager"]
    assert (held["loaded"], held["loaded_from"], held["active"]) == (True, PROFILE, False)
    assert held["settings_match"] is True and held["secrets_compared"] is True and held["differences"] == []
    assert report["drift"] == [] and report["interfaces"][0]["exists"] is False
    # without a source, the configuration is what netdwg installed (its managed files): the profile too
    installed = netdwg(node, "status", "--json")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert json.loads(installed.stdout)["interfaces"][0]["networkmanager"]["settings_match"] is True
    text = status(node, topology)
    assert text.returncode == 0
    assert "NetworkManager 1.42.4: profile loaded from " + PROFILE + ", connection not active" in text.stdout
    assert "stored settings: as rendered (secrets compared)" in text.stdout and "in sync" in text.stdout

    # 3. NetworkManager holds other settings than the file (loaded from an edited copy, the file put
    # back): the file is in sync, NetworkManager is not; each setting named, no secret shown; plan
    # reloads the profile and apply makes NetworkManager hold it as rendered again.
    original = node.read_file(PROFILE)
    topology_secrets = load_scenario("networkmanager")[1]
    other_psk = "A" * 43 + "="
    edited = original.replace("mtu=1380", "mtu=1420").replace("198.51.100.70:51820", "198.51.100.77:51820")
    edited = edited.replace(original.split("preshared-key=")[1].split("\n")[0], other_psk)
    node.write_file(PROFILE, edited, mode=0o600)
    nm = NetworkManagerBus(bus_address(node))
    assert nm.load_connections([PROFILE]) == []
    node.write_file(PROFILE, original, mode=0o600)
    drifted = status(node, topology, "--json")
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    report = json.loads(drifted.stdout)
    found = {d["setting"].rsplit(".", 1)[-1] if d["setting"].startswith("wireguard-peer.") else d["setting"]: d
             for d in report["interfaces"][0]["networkmanager"]["differences"]}
    assert set(found) == {"wireguard.mtu", "endpoint", "preshared-key"}
    assert (found["wireguard.mtu"]["wanted"], found["wireguard.mtu"]["networkmanager"]) == ("1380", "1420")
    assert found["preshared-key"]["wanted"] == found["preshared-key"]["networkmanager"] == "(secret)"
    assert report["drift"] == [f"NetworkManager: LoadConnections {PROFILE}"]
    text = status(node, topology).stdout
    assert "stored settings: 3 difference(s) from the profile (secrets compared):" in text
    assert "    wireguard.mtu: the profile says 1380, NetworkManager holds 1420" in text and "in sync" not in text
    plan = netdwg(node, "plan", "--topology", topology, "--host", "ana")
    assert plan.returncode == 1 and "NetworkManager holds " + PROFILE + " otherwise than the file" in plan.stdout
    shown = drifted.stdout + drifted.stderr + text + plan.stdout + plan.stderr
    assert other_psk not in shown
    for key in [*topology_secrets.preshared_keys.values(), *topology_secrets.private_keys.values()]:
        assert key.reveal_base64() not in shown
    fixed = netdwg(node, "apply", "--topology", topology, "--host", "ana", timeout=120)
    assert fixed.returncode == 0 and f"LoadConnections {PROFILE}" in fixed.stderr, fixed.stdout + fixed.stderr
    assert status(node, topology).returncode == 0

    # 4. A device on the interface is read over UAPI like on the other backends (NetworkManager cannot
    # activate WireGuard here, without the kernel module: wireguard-go stands where its device would be).
    node.start_wireguard_go("wg-fjord")
    node.run(["wg", "set", "wg-fjord", "listen-port", "51999", "peer", _relay_key(node),
              "allowed-ips", "10.70.0.0/24"])
    report = json.loads(status(node, topology, "--json").stdout)
    (iface,) = report["interfaces"]
    assert iface["exists"] is True and iface["backend"] == "userspace" and iface["listen_port"] == 51999
    assert [p["allowed_ips"] for p in iface["peers"]] == [["10.70.0.0/24"]]

    # 5. NetworkManager stopped: status says so and fails (69), text and JSON.
    _stop(nm_pid, "NetworkManager")
    down = status(node, topology)
    assert down.returncode == 69, down.stdout + down.stderr
    assert "NetworkManager is not running" in down.stderr and "in sync" not in down.stdout
    as_json = status(node, topology, "--json")
    assert as_json.returncode == 69 and json.loads(as_json.stdout)["exit"] == 69

    # 6. The bus gone too: still 69, and the message says it is the bus.
    _stop(node.daemons["dbus-daemon"], "dbus-daemon")
    (node.path("/run/dbus/system_bus_socket")).unlink(missing_ok=True)
    gone = status(node, topology)
    assert gone.returncode == 69, gone.stdout + gone.stderr
    assert "cannot reach the system D-Bus" in gone.stderr


def _relay_key(node) -> str:
    (line,) = [line for line in node.read_file(PROFILE).splitlines() if line.startswith("[wireguard-peer.")]
    return line[len("[wireguard-peer."):-1]
