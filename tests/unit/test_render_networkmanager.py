"""backend = networkmanager: the profile NetworkManager loads (0600 root, keys inline, netdwg's routes),
what lint refuses, and the CLI's --format."""

from __future__ import annotations

from dataclasses import replace

from netdwg.cli import main
from netdwg.keyfiles import load_nm_wireguard, parse_keyfile
from netdwg.lint import run_lint
from netdwg.render.networkmanager import nm_profile, profile_uuid
from netdwg.topology import parse_topology
from netdwg.topology.compile import compile_topology
from golden_support import GOLDEN, load_scenario, render_scenario


def test_profile_is_private_to_root_and_reads_back_as_the_compiled_interface():
    rendered = render_scenario("networkmanager")
    (profile,) = [f for f in rendered["ana"] if f.path.suffix == ".nmconnection"]
    assert (str(profile.path), profile.mode, profile.owner, profile.group, profile.secret) == \
        ("/etc/NetworkManager/system-connections/wg-fjord.nmconnection", 0o600, "root", "root", True)
    topology, secrets = load_scenario("networkmanager")
    host = compile_topology(topology, secrets)["ana"]
    (iface,) = host.interfaces
    read = load_nm_wireguard(profile.text, str(profile.path))
    expected = nm_profile(host, iface)
    unnamed = tuple(replace(p, name="") for p in expected.device.peers)  # peer names are comments only
    assert read == replace(expected, device=replace(expected.device, peers=unnamed))
    assert read.device.private_key == iface.device.private_key
    assert [p.public_key for p in read.device.peers] == [p.public_key for p in iface.device.peers]
    assert read.ipv4.addresses + read.ipv6.addresses == iface.addresses
    assert {r.destination for r in read.ipv4.routes + read.ipv6.routes} == {r.destination for r in iface.routes}
    assert (read.peer_routes, read.ip4_auto_default_route, read.ip6_auto_default_route) == (False, False, False)
    assert read.ipv4.never_default and read.ipv6.never_default and read.mtu == iface.mtu
    assert read.uuid == profile_uuid("ana", "wg-fjord") != profile_uuid("depot", "wg-fjord")


def test_a_site_on_networkmanager_gets_the_sysctl_and_nftables_files_its_role_needs():
    paths = {str(f.path) for f in render_scenario("networkmanager")["depot"]}
    assert paths == {"/etc/NetworkManager/system-connections/wg-fjord.nmconnection", "/etc/sysctl.d/60-netdwg.conf",
                     "/etc/netdwg/netdwg.nft", "/etc/netdwg/lan-router-routes.txt"}


def test_a_host_keeping_its_own_key_cannot_use_networkmanager():
    text = (GOLDEN / "networkmanager" / "topology.conf").read_text().replace(
        "  backend = networkmanager\n  reach", "  backend = networkmanager\n  public_key = "
        "o9pP4v/5dFsLHtvdUXuZq6bP121xB5hx12faF2V1aB0=\n  reach")
    found = [d for d in run_lint(parse_topology(text, "t.conf")) if d.code == "NDW029"]
    assert len(found) == 1 and found[0].severity.value == "error" and "public_key" in found[0].fix
    assert found[0].span.line == text.splitlines().index("  public_key = o9pP4v/5dFsLHtvdUXuZq6bP121xB5hx12faF2V1aB0=") + 1


def test_render_format_networkmanager_for_any_host(tmp_path, capsys):
    topology = GOLDEN / "networkmanager" / "topology.conf"
    secrets = GOLDEN / "networkmanager" / "topology.secrets"
    work = tmp_path / "t"
    work.mkdir()
    (work / "net.conf").write_text(topology.read_text())
    (work / "net.secrets").write_text(secrets.read_text())
    (work / "net.secrets").chmod(0o600)
    code = main(["render", "--topology", str(work / "net.conf"), "--host", "office", "--format", "networkmanager",
                 "--out", str(tmp_path / "out"), "--json"])
    assert code == 0, capsys.readouterr()
    written = tmp_path / "out" / "etc/NetworkManager/system-connections/wg-fjord.nmconnection"
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    assert parse_keyfile(written.read_text()).get("connection", "type") == "wireguard"
