"""`[network] hub_keepalive`: the PersistentKeepalive a hub sends to its spokes, rendered on every
backend and read back by `netdwg import` (before it existed, import dropped it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from golden_support import GOLDEN, fixed_secrets
from netdwg.render import render_host
from netdwg.topology import parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.importer import compare_hosts, import_hosts
from netdwg.topology.importer_files import read_hosts

HUB_SPOKES = (GOLDEN / "hub-spokes" / "topology.conf").read_text()


def topology_text(hub_keepalive: int | None, hub_backend: str = "networkd") -> str:
    text = HUB_SPOKES
    if hub_keepalive is not None:
        text = text.replace("keepalive = 25\n", f"keepalive = 25\nhub_keepalive = {hub_keepalive}\n", 1)
    return text.replace("  role = hub\n", f"  role = hub\n  backend = {hub_backend}\n", 1)


def render_tree(text: str, root: Path):
    topology = parse_topology(text, str(root / "net.conf"))
    secrets = fixed_secrets(topology)
    for name, config in compile_topology(topology, secrets).items():
        for rendered in render_host(config):
            target = root / name / rendered.relative_to_root()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rendered.text)
    return topology, secrets


@pytest.mark.parametrize("backend", ["networkd", "wg-quick", "netplan"])
def test_hub_keepalive_is_rendered_on_every_backend_and_read_back(backend, tmp_path):
    render_tree(topology_text(15, backend), tmp_path)
    [relay] = read_hosts([tmp_path / "relay"])
    [iface] = relay.interfaces
    assert iface.backend.value == backend
    assert [p.persistent_keepalive for p in iface.device.peers] == [15, 15, 15, 15]
    for spoke in read_hosts([tmp_path / n for n in ("oslo", "bergen", "ana", "ben")]):
        assert [p.persistent_keepalive for i in spoke.interfaces for p in i.device.peers] == [25]


def test_without_hub_keepalive_the_hub_sends_none(tmp_path):
    render_tree(topology_text(None), tmp_path)
    [relay] = read_hosts([tmp_path / "relay"])
    assert {p.persistent_keepalive for p in relay.interfaces[0].device.peers} == {0}
    assert "PersistentKeepalive" not in (tmp_path / "relay/etc/systemd/network/50-wg-harbor.netdev").read_text()


@pytest.mark.parametrize("backend", ["networkd", "wg-quick", "netplan"])
def test_import_keeps_the_hub_keepalive(backend, tmp_path):
    render_tree(topology_text(15, backend), tmp_path / "out")
    hosts = read_hosts(sorted((tmp_path / "out").iterdir()))
    imported = import_hosts(hosts, "harbor")
    assert re.search(r"^hub_keepalive = 15$", imported.text, re.M)
    topology = parse_topology(imported.text, "imported.conf")
    assert topology.network.hub_keepalive == 15 and topology.network.keepalive == 25
    assert compare_hosts(hosts, compile_topology(topology, imported.secrets)) == ()


def test_hand_written_netdev_with_keepalive_on_the_hub_imports_to_hub_keepalive(tmp_path):
    """The hub of network (1) sets PersistentKeepalive=15 on its side too, in a hand-written .netdev."""
    src = GOLDEN / "hub-spokes" / "expected"
    for path in src.rglob("*"):
        if path.is_file():
            target = tmp_path / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_text()
            if path.name.endswith(".netdev") and path.parts[-5] == "relay":
                text = text.replace("[WireGuardPeer]\n", "[WireGuardPeer]\nPersistentKeepalive=15\n")
            target.write_text(text)
    assert (tmp_path / "relay/etc/systemd/network/50-wg-harbor.netdev").read_text().count("PersistentKeepalive=15") == 4
    hosts = read_hosts(sorted(tmp_path.iterdir()))
    imported = import_hosts(hosts, "harbor")
    topology = parse_topology(imported.text, "imported.conf")
    assert topology.network.hub_keepalive == 15
    assert compare_hosts(hosts, compile_topology(topology, imported.secrets)) == ()
    expected = parse_topology(topology_text(15), "expected.conf")
    assert topology.network == expected.network


def test_hub_keepalive_without_a_hub_is_a_warning():
    """Network (3), two sites joined directly: no hub sends a hub_keepalive."""
    from netdwg.errors import Severity
    from netdwg.lint import run_lint

    text = (GOLDEN.parents[1] / "examples" / "3-site-to-site.conf").read_text()
    text = text.replace("[network]\n", "[network]\nhub_keepalive = 15\n", 1)
    line = text.splitlines().index("hub_keepalive = 15") + 1
    loud = [d for d in run_lint(parse_topology(text, "pair.conf")) if d.severity is not Severity.INFO]
    assert [(d.code, d.span.line, d.message) for d in loud] == [
        ("NDW017", line, "hub_keepalive is set, but the network has no hub to send it")]
    assert "remove hub_keepalive" in loud[0].fix
