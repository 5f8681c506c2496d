"""Version-aware plan and render (netdwg.networkd_versions, the one table of where networkd
differs): no Reload for a changed WireGuard .netdev; on 257+ a Reload planned for another file
is said to re-apply it (systemd issue #38196); credentials never rendered."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

import pytest

from netdwg import networkd_versions
from netdwg.apply.observe import Ports, observe
from netdwg.host.files import RootFiles
from netdwg.keys import genkey
from netdwg.plan import plan_host
from netdwg.wireguard import WgDevice, WgPeer

from test_plan_apply import MemoryNetworkd, MemoryWg, desired_host, run


def peer(ip: str) -> WgPeer:
    return WgPeer(genkey().public_key(), (ipaddress.ip_network(ip),))


def test_every_difference_names_its_version_and_source():
    for name, row in networkd_versions.DIFFERENCES.items():
        assert 250 <= row.since <= 257 and row.source and row.what, name
    assert networkd_versions.since("reload_reapplies_changed_wireguard_netdev") == 257
    assert "#38196" in networkd_versions.DIFFERENCES["reload_reapplies_changed_wireguard_netdev"].source
    assert networkd_versions.has("dhcpv4_client_state", 255) and not networkd_versions.has("dhcpv4_client_state", 252)
    assert networkd_versions.has("wireguard_credentials", 256) and not networkd_versions.has("wireguard_credentials", None)


def _plan(tmp_path: Path, version: int, new_address: str):
    old = WgDevice("wg0", None, None, 0, (peer("10.0.0.2/32"), peer("10.0.0.3/32")))
    wg = MemoryWg(old)
    run(tmp_path, wg, MemoryNetworkd(version=version), old, "10.0.0.1/24")
    new = dataclasses.replace(old, peers=old.peers[:1] + (peer("10.0.0.4/32"),))
    ports = Ports(RootFiles(tmp_path), live=True, open_wg=lambda name: wg, networkd=MemoryNetworkd(version=version))
    desired = desired_host(new, new_address)
    observed = observe(desired, ports)
    return observed, plan_host(desired, observed)


@pytest.mark.parametrize("version", [252, 255, 257, 258])
def test_a_peer_change_alone_is_synced_live_without_reload(tmp_path, version):
    observed, plan = _plan(tmp_path, version, "10.0.0.1/24")
    assert observed.networkd_version == version  # asked: a .netdev changes
    assert plan.networkd is None and len(plan.peers) == 2
    # 257+ keeps the file's old state and re-applies it on whatever Reload comes next: said, not hidden
    notes = [n for n in plan.notes if "38196" in n]
    assert notes == ([] if version < 257 else [
        f"networkd {version} re-applies the changed /etc/systemd/network/50-wg0.netdev on its next Reload "
        "(apply syncs the peers live and does not Reload): every peer of wg0 is then replaced and its "
        "sessions drop (systemd issue #38196)"])


@pytest.mark.parametrize("version,said", [(252, False), (256, False), (257, True), (258, True)])
def test_a_reload_for_the_network_file_says_it_reapplies_the_netdev_on_257(tmp_path, version, said):
    _observed, plan = _plan(tmp_path, version, "10.0.0.1/16")
    assert plan.networkd is not None and plan.networkd.reload and plan.networkd.reconfigure == ("wg0",)
    notes = [n for n in plan.notes if "38196" in n]
    assert bool(notes) is said
    if said:
        assert notes == [f"networkd {version} re-applies the changed /etc/systemd/network/50-wg0.netdev on this "
                         "Reload: every peer of wg0 is then replaced and its sessions drop (systemd issue #38196)"]


def test_networkd_is_not_asked_its_version_when_no_netdev_changes(tmp_path):
    old = WgDevice("wg0", None, None, 0, (peer("10.0.0.2/32"),))
    wg = MemoryWg(old)
    run(tmp_path, wg, MemoryNetworkd(), old, "10.0.0.1/24")
    ports = Ports(RootFiles(tmp_path), live=True, open_wg=lambda name: wg, networkd=MemoryNetworkd(version=257))
    desired = desired_host(old, "10.0.0.1/16")
    assert observe(desired, ports).networkd_version is None


@pytest.mark.parametrize("version", [252, 256, 257, 258])
def test_render_never_requires_a_credential(version):
    """networkd 256+ could read '@name' credentials; netdwg writes the key (or a key file) at every
    version, so a host never needs LoadCredential= set up to bring its tunnel up."""
    from golden_support import load_scenario

    from netdwg.render import render_host
    from netdwg.topology.compile import compile_topology
    from netdwg.unitfile import parse_unit

    topology, secrets = load_scenario("hub-spokes")
    topology = dataclasses.replace(topology, network=dataclasses.replace(topology.network, systemd_version=version))
    for host, config in compile_topology(topology, secrets).items():
        for rendered in render_host(config):
            if rendered.path.suffix != ".netdev":
                continue
            unit = parse_unit(rendered.text, str(rendered.path))
            values = [(s.name, a.key, a.value) for s in unit.sections for a in s.assignments()]
            assert not [v for v in values if v[2].startswith("@")], (host, values)
            assert any(k in ("PrivateKey", "PrivateKeyFile") for _s, k, _v in values), host
