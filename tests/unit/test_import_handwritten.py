"""`netdwg import` of networks as admins write them by hand (tests/data/import/): the shape is
inferred from what the files mean, not from how they are spelled, and the result lints clean,
renders, and routes what the hand-written files routed."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdwg.cli import main
from netdwg.errors import Severity
from netdwg.lint import run_lint
from netdwg.render import render_host
from netdwg.topology import load_topology, parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.importer import compare_hosts, import_hosts
from netdwg.topology.importer_files import read_hosts

DATA = Path(__file__).resolve().parents[1] / "data" / "import"
NETWORK2 = DATA / "network2-handwritten"


def copy_tree(src: Path, dst: Path, edit=None) -> Path:
    for path in src.rglob("*"):
        if path.is_file():
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_text()
            target.write_text(edit(path, text) if edit else text)
            target.chmod(path.stat().st_mode & 0o777)
    return dst


def network2_hosts(root: Path = NETWORK2):
    return read_hosts([root / "relay", root / "gw1", root / "gw2"])


def shape(topology):
    return [(h.name, h.role.value, h.addresses, h.lan_prefixes, tuple(str(l.gateway_address) for l in h.lans),
             h.backend.value, str(h.endpoint)) for h in topology.hosts]


def test_network2_with_slash32_addresses_and_table_off_imports_as_a_relay_and_two_sites():
    hosts = network2_hosts()
    imported = import_hosts(hosts, "network2")
    assert imported.text == (NETWORK2 / "expected.conf").read_text()  # golden
    topology = parse_topology(imported.text, "network2.conf")
    assert topology.hub.name == "relay" and not topology.hub.lans
    assert [str(p) for p in topology.network.pool] == ["10.1.1.0/24"]
    assert [(h.name, [str(p) for p in h.lan_prefixes]) for h in topology.spokes()] == [
        ("gw1", ["192.168.1.0/24"]), ("gw2", ["172.16.1.0/24"])]
    loud = [d.format() for d in run_lint(topology) if d.severity is not Severity.INFO]
    assert loud == []
    compiled = compile_topology(topology, imported.secrets)
    assert compare_hosts(hosts, compiled) == ()
    for config in compiled.values():
        assert render_host(config)  # renders
    gw1 = compiled["gw1"].interfaces[0]
    assert [str(r.destination) for r in gw1.routes] == ["172.16.1.0/24"]  # never its own LAN
    assert not gw1.table_off  # its own LAN is no longer in AllowedIPs: plain wg-quick routing


def test_network2_written_with_slash24_addresses_imports_to_the_same_topology(tmp_path):
    def widen(path, text):
        return text.replace("/32\n", "/24\n") if path.name == "wg0.conf" else text

    root = copy_tree(NETWORK2, tmp_path, widen)
    assert "Address = 10.1.1.11/24" in (root / "gw1/etc/wireguard/wg0.conf").read_text()
    want = parse_topology(import_hosts(network2_hosts(), "network2").text, "a.conf")
    got = parse_topology(import_hosts(network2_hosts(root), "network2").text, "b.conf")
    assert shape(got) == shape(want) and got.network == want.network


def test_network2_import_cli_reports_no_difference(tmp_path, capsys):
    out = tmp_path / "net.conf"
    assert main(["import", str(NETWORK2 / "relay"), str(NETWORK2 / "gw1"), str(NETWORK2 / "gw2"),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "relay (hub), gw1 (site), gw2 (site)" in printed.out
    assert "differs" not in printed.err and "error" not in printed.err


def test_a_route_the_hand_written_file_adds_and_netdwg_would_not_is_a_difference(tmp_path):
    """Meaning, not spelling: gw1 dropping its PostUp route to the other LAN is a real difference."""
    def drop_route(path, text):
        return text.replace("PostUp = ip -4 route add 172.16.1.0/24 dev %i\n", "") if "gw1" in path.parts else text

    hosts = network2_hosts(copy_tree(NETWORK2, tmp_path, drop_route))
    imported = import_hosts(hosts, "network2")
    topology = parse_topology(imported.text, "n.conf")
    diffs = compare_hosts(hosts, compile_topology(topology, imported.secrets))
    assert diffs == ("gw1 wg0: 172.16.1.0/24: not routed into wg0 -> routed",)


@pytest.mark.parametrize("spelling", ["PostUp = wg set %i private-key /etc/wireguard/%i.key",
                                      "PostUp = wg set wg0 private-key /etc/wireguard/wg0.key"])
def test_private_key_loaded_by_postup_wg_set_is_read_from_the_tree(tmp_path, spelling):
    """`PostUp = wg set %i private-key FILE` (what admins do: wg-quick has no PrivateKeyFile) imports
    to the same topology and secrets as the key written inline."""
    keys = {}

    def to_key_file(path, text):
        if path.name != "wg0.conf" or "gw1" not in path.parts:
            return text
        line = next(li for li in text.splitlines() if li.startswith("PrivateKey = "))
        keys["gw1"] = line.split(" = ", 1)[1]
        return text.replace(line + "\n", spelling + "\n")

    root = copy_tree(NETWORK2, tmp_path, to_key_file)
    (root / "gw1/etc/wireguard/wg0.key").write_text(keys["gw1"] + "\n")
    hosts = network2_hosts(root)
    [gw1] = [h for h in hosts if h.name == "gw1"]
    assert gw1.interfaces[0].key_file == "/etc/wireguard/wg0.key"
    imported = import_hosts(hosts, "network2")
    want = import_hosts(network2_hosts(), "network2")
    assert imported.text == want.text
    assert imported.secrets.private_key("gw1") == want.secrets.private_key("gw1")
    assert compare_hosts(hosts, compile_topology(parse_topology(imported.text, "n.conf"), imported.secrets)) == ()


def test_network2_handwritten_imports_to_the_example_topology():
    """The same network as examples/2-relay.conf (issue 14, item 5): the hand-written files name
    the gateways' LAN links (eth1), which the example leaves unset; everything else is the same."""
    example = Path(__file__).resolve().parents[2] / "examples" / "2-relay.conf"
    if not example.exists():
        pytest.skip("examples/2-relay.conf is not in this tree")
    want = load_topology(example)
    got = parse_topology(import_hosts(network2_hosts(), want.network.name).text, "network2.conf")

    def lans(host):
        return [(lan.prefix, lan.gateway_address, lan.return_path) for lan in host.lans]

    assert [(h.name, h.role, h.addresses, h.backend, h.endpoint, lans(h)) for h in got.hosts] == \
        [(h.name, h.role, h.addresses, h.backend, h.endpoint, lans(h)) for h in want.hosts]
    net, expected = got.network, want.network
    assert (net.pool, net.port, net.mtu, net.keepalive, net.hub_keepalive, net.interface) == \
        (expected.pool, expected.port, expected.mtu, expected.keepalive, expected.hub_keepalive, expected.interface)
    assert {lan.interface for h in got.hosts for lan in h.lans} == {"eth1"}


NETWORK3 = DATA / "network3-handwritten"


def test_network3_with_wgA_wgB_and_key_files_imports_as_one_site_pair():
    """Network (3) as written by hand: the ends name the interface wgA and wgB, and load their keys
    with `PostUp = wg set %i private-key /etc/wireguard/%i.key`."""
    hosts = read_hosts([NETWORK3 / "alpha", NETWORK3 / "beta"])
    assert all(h.ignored == () for h in hosts)  # the key files are read, not "ignored"
    imported = import_hosts(hosts, "fjord")
    assert imported.text == (NETWORK3 / "expected.conf").read_text()  # golden
    topology = parse_topology(imported.text, "fjord.conf")
    [pair] = topology.pairs
    assert (pair.ends, str(pair.transfer), pair.port) == (("alpha", "beta"), "10.10.9.0/31", 51000)
    assert (pair.interface_of("alpha"), pair.interface_of("beta")) == ("wgA", "wgB")  # each end's own name
    assert topology.hub is None and [h.role.value for h in topology.hosts] == ["site", "site"]
    assert set(imported.secrets.private_keys) == {"alpha", "beta"}  # both read from the key files
    assert compare_hosts(hosts, compile_topology(topology, imported.secrets)) == ()
    assert [d for d in run_lint(topology) if d.severity is Severity.ERROR] == []

    example = Path(__file__).resolve().parents[2] / "examples" / "3-site-to-site.conf"
    if example.exists():  # the same network as the example, but for what the files cannot say
        want = load_topology(example)
        assert [(h.name, h.role, h.endpoint, h.lan_prefixes, h.backend.value) for h in topology.hosts] == \
            [(h.name, h.role, h.endpoint, h.lan_prefixes, "wg-quick") for h in want.hosts]
        assert [(p.ends, p.transfer, p.port, p.interface_of("alpha"), p.interface_of("beta")) for p in topology.pairs] \
            == [(p.ends, p.transfer, p.port, p.interface_of("alpha"), p.interface_of("beta")) for p in want.pairs]
