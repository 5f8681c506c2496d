"""networkd 257 (Debian 13's, chrooted from a trixie root made once by debootstrap and cached
outside the source tree: netdwg.lab.trixie) under netdwg apply, next to this machine's 252.

On 257 a Reload re-applies a changed WireGuard .netdev with WGDEVICE_F_REPLACE_PEERS and every
session drops (systemd issue #38196; netdwg.networkd_versions): apply syncs peers live and never
Reloads for it, so a one-peer change keeps every other session on 257 as on 252."""

from __future__ import annotations

import json

import pytest
from test_apply_lab import build_lab, netdwg, ping, render_hub, render_spoke, wait_handshake, wg_dump

from netdwg.host.networkd import NetworkdBus

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _bus(node) -> NetworkdBus:
    return NetworkdBus(f"unix:path={node.path('/run/dbus/system_bus_socket')}")


def _lab(sandbox, release: int, spokes: int = 2):
    hub, spokes_, switch = build_lab(sandbox, spokes, networkd=False)
    for host in (hub, *spokes_):
        host.node.start_dbus()
        host.node.start_networkd(debug=True, release=release)
    return hub, spokes_, switch


def test_networkd_257_runs_chrooted_in_a_node(sandbox):
    node = sandbox.node(sandbox.netns("n257"))
    node.start_dbus()
    node.start_networkd(release=257)
    assert _bus(node).version() == 257  # the libsystemd-shared-257 the running daemon maps
    assert "org.freedesktop.network1" in node.run(["busctl", "--system", "--no-pager", "list"]).stdout


@pytest.mark.parametrize("release", [252, 257])
def test_one_peer_change_keeps_every_other_session(sandbox, tmp_path, release):
    hub, (s1, s2), _switch = _lab(sandbox, release)
    assert _bus(hub.node).version() == release
    assert netdwg(hub.node, "apply", "--from", str(render_hub(hub, [s1, s2], tmp_path / "hub1"))).returncode == 0
    for s in (s1, s2):
        result = netdwg(s.node, "apply", "--from", str(render_spoke(s, hub, tmp_path / s.name)))
        assert result.returncode == 0, result.stderr
    for s in (s1, s2):
        wait_handshake(hub.node, s.public)
    assert ping(s1.node, hub.vpn) and ping(s2.node, hub.vpn)
    before = wg_dump(hub.node)

    # drop s2 from the hub: s1's session (handshake time, roamed endpoint) stays as it was
    plan = netdwg(hub.node, "plan", "--json", "--from", str(render_hub(hub, [s1], tmp_path / "hub2")))
    doc = json.loads(plan.stdout)
    assert [(p["action"], p["name"]) for p in doc["peers"]] == [("remove", "s2")]
    assert doc["networkd"] is None, doc  # no Reload: on 257 it would replace every peer
    # on 257 networkd re-applies the file on its next Reload, whenever that comes: plan says so
    assert any("on its next Reload" in n and "#38196" in n for n in doc["notes"]) is (release >= 257), doc["notes"]
    result = netdwg(hub.node, "apply", "--from", str(tmp_path / "hub2"))
    assert result.returncode == 0, result.stderr
    after = wg_dump(hub.node)
    assert set(after) == {s1.public}
    assert after[s1.public].handshake == before[s1.public].handshake != 0
    assert after[s1.public].endpoint == before[s1.public].endpoint
    assert ping(s1.node, hub.vpn)


@pytest.mark.parametrize("release,reapplies", [(252, False), (257, True)])
def test_reload_after_a_netdev_change_is_what_the_table_says(sandbox, tmp_path, release, reapplies):
    """Why apply never Reloads for a changed WireGuard .netdev: networkd 257 re-applies an updated
    .netdev on Reload (on a kernel device with WGDEVICE_F_REPLACE_PEERS: every session drops; this
    machine has no wireguard.ko, and networkd cannot set a wireguard-go device, so the drop itself
    is not seen here), 252 leaves it alone; and on 257 plan says so when a .network change needs a
    Reload anyway."""
    hub, (s1,), _switch = _lab(sandbox, release, spokes=1)
    assert netdwg(hub.node, "apply", "--from", str(render_hub(hub, [s1], tmp_path / "hub1"))).returncode == 0
    assert netdwg(s1.node, "apply", "--from", str(render_spoke(s1, hub, tmp_path / "s1"))).returncode == 0
    wait_handshake(hub.node, s1.public)
    # a changed .netdev (a comment is enough for networkd to see an updated file) plus a .network change
    tree = render_hub(hub, [s1], tmp_path / "hub2")
    netdev = tree / "etc/systemd/network/50-wg0.netdev"
    netdev.write_text("# changed\n" + netdev.read_text())
    network = tree / "etc/systemd/network/50-wg0.network"
    network.write_text(network.read_text() + "ConfigureWithoutCarrier=yes\n")
    plan = json.loads(netdwg(hub.node, "plan", "--json", "--from", str(tree)).stdout)
    assert plan["networkd"]["reload"] is True
    assert any("#38196" in n for n in plan["notes"]) is reapplies, plan["notes"]
    # the .netdev alone: apply syncs the device and does not Reload; the session stays
    only_netdev = render_hub(hub, [s1], tmp_path / "hub3")
    (only_netdev / "etc/systemd/network/50-wg0.netdev").write_text(netdev.read_text())
    before = wg_dump(hub.node)[s1.public]
    result = netdwg(hub.node, "apply", "--from", str(only_netdev))
    assert result.returncode == 0 and "Reload" not in result.stderr, result.stderr
    assert wg_dump(hub.node)[s1.public].handshake == before.handshake != 0
    # what a Reload would have done with it
    start = len(hub.node.networkd_log())
    hub.node.run(["networkctl", "reload"])
    hub.node.run(["sleep", "0.5"])
    log = hub.node.networkd_log()[start:]
    assert ("Found updated .netdev file: /etc/systemd/network/50-wg0.netdev" in log) is reapplies, log[-3000:]


def test_lab_up_on_networkd_257(tmp_path):
    """`netdwg lab up --networkd 257`: every networkd host of the example network runs 257 and the
    reachability matrix holds, the roaming laptop's guard included."""
    from pathlib import Path

    from netdwg.lab.check import expected_probes, run_probes
    from netdwg.lab.roam import AWAY, roam
    from netdwg.lab.state import destroy_labs, find_lab
    from netdwg.lab.up import bring_up, runs_networkd

    state_dir = tmp_path / "lab-state"
    try:
        bring_up(Path(__file__).resolve().parents[2] / "examples" / "harbor.conf", state_dir=state_dir,
                 networkd=257)
        lab = find_lab(state_dir)
        assert lab.networkd == 257
        networkd_hosts = [b.name for b in lab.world.hosts if runs_networkd(b)]
        assert networkd_hosts and {_bus(lab.node(h)).version() for h in networkd_hosts} == {257}
        failed = [r for r in run_probes(lab, expected_probes(lab.topology, lab.world)) if not r.ok]
        assert not failed, failed
        on_lan = roam(lab, "ana", "oslo", measure=False)
        assert on_lan.after.route_dev == "lan0"  # the guard saw the lease over 257's D-Bus and acted
        # from 255 the lease's client publishes its State (netdwg.networkd_versions: dhcpv4_client_state)
        ana = lab.node("ana")
        index = ana.run(["cat", "/sys/class/net/lan0/ifindex"]).stdout.strip()
        path = "/org/freedesktop/network1/link/_3" + index[0] + index[1:]
        state = ana.run(["busctl", "--system", "get-property", "org.freedesktop.network1", path,
                         "org.freedesktop.network1.DHCPv4Client", "State"]).stdout
        assert state.strip() == 's "bound"', state
        assert roam(lab, "ana", AWAY, measure=False).after.route_dev == "wg-harbor"
    finally:
        destroy_labs(state_dir)
