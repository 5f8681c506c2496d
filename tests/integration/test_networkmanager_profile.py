"""Real NetworkManager 1.42 in a namespace loads the profile netdwg rendered, through D-Bus
(Settings.LoadConnections), and reports over D-Bus (GetSettings + GetSecrets) exactly the topology's
settings; a profile others may read is refused, as NetworkManager does."""

from __future__ import annotations

import pytest

from netdwg.host.networkmanager import NetworkManagerBus
from netdwg.keyfiles.settings import profile_from_settings
from netdwg.render.networkmanager import nm_profile
from netdwg.topology.compile import compile_topology
from golden_support import GOLDEN, load_scenario, render_scenario
from nm_support import bus_address, start_networkmanager

pytestmark = pytest.mark.root


def _unnamed(profile):
    from dataclasses import replace

    device = profile.device
    return replace(profile, device=replace(device, peers=tuple(replace(p, name="") for p in device.peers)))


@pytest.mark.parametrize("host", ["ana", "depot"])
def test_networkmanager_loads_the_rendered_profile_and_reports_the_topologys_settings(sandbox, host):
    node = sandbox.node(sandbox.netns("nm"))
    start_networkmanager(node)
    (profile,) = [f for f in render_scenario("networkmanager")[host] if f.path.suffix == ".nmconnection"]
    node.write_file(str(profile.path), profile.text, mode=profile.mode)
    nm = NetworkManagerBus(bus_address(node))
    assert nm.load_connections([str(profile.path)]) == []
    topology, secrets = load_scenario("networkmanager")
    config = compile_topology(topology, secrets)[host]
    expected = nm_profile(config, config.interfaces[0])
    path = nm.connection_path(expected.uuid)
    assert path is not None, "NetworkManager has no connection with the rendered uuid"
    reported = profile_from_settings(nm.settings(path))
    assert reported == _unnamed(expected)
    # NetworkManager loaded the file as it is: it did not rewrite it
    assert node.read_file(str(profile.path)) == profile.text


def test_a_profile_others_may_read_is_refused_as_networkmanager_does(sandbox):
    node = sandbox.node(sandbox.netns("nm"))
    start_networkmanager(node)
    (profile,) = [f for f in render_scenario("networkmanager")["ana"] if f.path.suffix == ".nmconnection"]
    node.write_file(str(profile.path), profile.text, mode=0o644)
    nm = NetworkManagerBus(bus_address(node))
    assert nm.load_connections([str(profile.path)]) == [str(profile.path)]
    assert nm.connection_path(nm_profile_uuid("ana")) is None
    assert "File permissions (100644) are insecure" in (node.rundir / "NetworkManager.log").read_text()


def nm_profile_uuid(host: str) -> str:
    from netdwg.render.networkmanager import profile_uuid

    return profile_uuid(host, "wg-fjord")


def test_netdwg_apply_loads_the_profile_and_a_changed_peer_updates_the_stored_profile(sandbox, tmp_path):
    """`netdwg apply --topology` on a NetworkManager host: the profile written by netdwg's writer, loaded
    over D-Bus; after a peer change in the topology, a second apply makes NetworkManager hold the new peer."""
    import shutil

    from test_apply_lab import netdwg

    from netdwg.render.networkmanager import profile_uuid

    node = sandbox.node(sandbox.netns("nm"))
    start_networkmanager(node)
    work = tmp_path / "topology"
    work.mkdir()
    for name in ("topology.conf", "topology.secrets"):
        shutil.copy(GOLDEN / "networkmanager" / name, work / name)
    (work / "topology.secrets").chmod(0o600)
    topology = str(work / "topology.conf")
    first = netdwg(node, "apply", "--topology", topology, "--host", "ana", timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "[#] NetworkManager: LoadConnections /etc/NetworkManager/system-connections/wg-fjord.nmconnection" \
        in first.stderr
    nm = NetworkManagerBus(bus_address(node))
    path = nm.connection_path(profile_uuid("ana", "wg-fjord"))
    (peer,) = profile_from_settings(nm.settings(path)).device.peers
    assert str(peer.endpoint) == "198.51.100.70:51820"

    conf = work / "topology.conf"
    conf.write_text(conf.read_text().replace("endpoint = 198.51.100.70:51820", "endpoint = 198.51.100.77:51820"))
    plan = netdwg(node, "plan", "--topology", topology, "--host", "ana")
    assert plan.returncode == 1 and "not active" in plan.stdout, plan.stdout + plan.stderr
    second = netdwg(node, "apply", "--topology", topology, "--host", "ana", timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    (peer,) = profile_from_settings(nm.settings(nm.connection_path(profile_uuid("ana", "wg-fjord")))).device.peers
    assert str(peer.endpoint) == "198.51.100.77:51820"
    again = netdwg(node, "plan", "--topology", topology, "--host", "ana")
    assert again.returncode == 0, again.stdout  # nothing left to do
