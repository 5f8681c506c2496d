"""Import round trips (issue 14, item 5): render every example network and golden topology, import
the rendered files, render again: the same files, byte for byte (so the same keys, PSKs, AllowedIPs,
endpoints, keepalive in both directions, MTU, addresses and routes), and an imported topology of
the same shape. The hand-written variants (network (2) with /32 addresses and Table = off, a hub
.netdev with PersistentKeepalive, `PostUp = wg set %i private-key FILE`) are in
test_import_handwritten.py, test_hub_keepalive.py and test_render_key_files_wgquick.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from golden_support import fixed_secrets
from netdwg.render import render_host
from netdwg.topology import load_topology, parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.importer import compare_hosts, import_hosts
from netdwg.topology.importer_files import read_hosts

REPO = Path(__file__).resolve().parents[2]
TOPOLOGIES = sorted([*(REPO / "examples").glob("*.conf"), *(REPO / "tests" / "golden").glob("*/topology.conf")])
IDS = [str(p.relative_to(REPO)) for p in TOPOLOGIES]


def rendered(topology, secrets) -> dict[str, str]:
    return {f"{name}/{file.relative_to_root()}": file.text
            for name, config in compile_topology(topology, secrets).items() for file in render_host(config)}


def write_tree(files: dict[str, str], root: Path) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def test_every_example_network_is_here():
    names = {p.name for p in TOPOLOGIES}
    assert {"harbor.conf", "topology.conf"} <= names
    assert len(TOPOLOGIES) >= 6


@pytest.mark.parametrize("path", TOPOLOGIES, ids=IDS)
def test_render_import_render_gives_the_same_files(path, tmp_path):
    original = load_topology(path)
    first = rendered(original, fixed_secrets(original))
    hosts = read_hosts(sorted(write_tree(first, tmp_path).iterdir()))
    imported = import_hosts(hosts, original.network.name)
    topology = parse_topology(imported.text, str(tmp_path / "imported.conf"))
    assert compare_hosts(hosts, compile_topology(topology, imported.secrets)) == ()
    second = rendered(topology, imported.secrets)
    assert sorted(second) == sorted(first)
    for name, text in first.items():
        assert second[name] == text, name

    # the same shape: roles, addresses, LANs, backends, endpoints, pairs, the pool, both keepalives
    assert [h.name for h in topology.hosts] == [h.name for h in original.hosts] or \
        sorted(h.name for h in topology.hosts) == sorted(h.name for h in original.hosts)
    for host in topology.hosts:
        old = original.host(host.name)
        assert (host.role, host.addresses, host.lan_prefixes, host.backend, host.endpoint, host.guard) == \
            (old.role, old.addresses, old.lan_prefixes, old.backend, old.endpoint, old.guard), host.name
    assert [(p.ends, p.transfer, p.interface_of(p.ends[0]), p.interface_of(p.ends[1]), p.port) for p in topology.pairs] \
        == [(p.ends, p.transfer, p.interface_of(p.ends[0]), p.interface_of(p.ends[1]), p.port) for p in original.pairs]
    assert topology.network.pool == original.network.pool
    assert topology.network.hub_keepalive == original.network.hub_keepalive
    if original.hub is not None:
        assert topology.network.keepalive == original.network.keepalive
