"""Real NetworkManager 1.42 loads every golden .nmconnection (tests/golden/*/expected, the example networks'
laptops on NetworkManager among them) and reports over D-Bus (GetSettings + GetSecrets) exactly the profile
the model asks for (netdwg.render.networkmanager.nm_profile of the compiled host). One NetworkManager for
all files, one LoadConnections call: each file under its own name, since several profiles are wg0."""

from __future__ import annotations

import dataclasses

import pytest

from netdwg.host.networkmanager import NetworkManagerBus
from netdwg.keyfiles.settings import profile_from_settings
from netdwg.render.networkmanager import nm_profile
from netdwg.topology.compile import compile_topology
from golden_support import GOLDEN, SCENARIOS, load_scenario
from nm_support import CONNECTIONS, bus_address, start_networkmanager

pytestmark = pytest.mark.root


def golden_profiles():
    """(scenario, host, the golden file, the profile the model asks for), for every golden profile."""
    out = []
    for scenario in SCENARIOS:
        files = sorted((GOLDEN / scenario / "expected").glob("*/etc/NetworkManager/system-connections/*.nmconnection"))
        if not files:
            continue
        configs = compile_topology(*load_scenario(scenario))
        for path in files:
            host = path.relative_to(GOLDEN / scenario / "expected").parts[0]
            config = configs[host]
            (iface,) = [i for i in config.interfaces if f"{i.name}.nmconnection" == path.name]
            out.append((scenario, host, path, nm_profile(config, iface)))
    return out


def _unnamed(profile):
    """As NetworkManager holds it: peer names are comments in the keyfile, which it does not keep."""
    device = profile.device
    peers = tuple(dataclasses.replace(p, name="") for p in device.peers)
    return dataclasses.replace(profile, device=dataclasses.replace(device, peers=peers))


def test_networkmanager_loads_every_golden_profile_and_holds_what_the_model_asked_for(sandbox):
    profiles = golden_profiles()
    scenarios = {scenario for scenario, *_ in profiles}
    assert scenarios >= {"networkmanager", "nm-1-offices", "nm-5-webcam", "nm-harbor"}, scenarios
    uuids = [expected.uuid for *_, expected in profiles]
    assert len(set(uuids)) == len(uuids), "two golden profiles share a uuid: one would replace the other"

    node = sandbox.node(sandbox.netns("nm"))
    start_networkmanager(node)
    names = []
    for scenario, host, path, _ in profiles:
        name = f"{CONNECTIONS}/{scenario}-{host}-{path.name}"
        node.write_file(name, path.read_text(), mode=0o600)
        names.append(name)
    nm = NetworkManagerBus(bus_address(node))
    assert nm.load_connections(names) == []
    for name, (scenario, host, path, expected) in zip(names, profiles):
        connection = nm.connection_path(expected.uuid)
        assert connection is not None, f"{scenario}/{host}: NetworkManager has no connection {expected.uuid}"
        assert nm.filename(connection) == name
        held = profile_from_settings(nm.settings(connection))
        assert held == _unnamed(expected), f"{scenario}/{host}: NetworkManager holds another profile"
        assert node.read_file(name) == path.read_text(), f"{scenario}/{host}: NetworkManager rewrote the file"
