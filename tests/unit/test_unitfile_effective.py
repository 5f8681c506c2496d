"""The effective view: list resets, repeated sections, drop-in order and masking, spans."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netdwg.errors import ParseError
from netdwg.unitfile import effective_unit, load_effective, load_unit, locate_unit, parse_unit

CORPUS = Path(__file__).resolve().parents[1] / "data" / "networkd"


def _relay():
    main = load_unit(CORPUS / "30-relay-wg.netdev")
    dropin = load_unit(CORPUS / "30-relay-wg.netdev.d" / "50-contractor.conf")
    return effective_unit(main, [dropin])


def test_every_peer_instance_is_a_peer_including_the_dropin():
    eff = _relay()
    keys = [s.get("PublicKey").text for s in eff.instances("WireGuardPeer")]
    assert len(keys) == 5 and keys[-1] == "bKLVRQWFcCjalLl8cfH0uAceOZ8ojTPW12dsE1UimS8="
    assert eff.sources[-1].endswith("50-contractor.conf")


def test_list_reset_and_continuation_in_the_effective_value():
    eff = _relay()
    ana = eff.instances("WireGuardPeer")[2]
    values = ana.values("AllowedIPs")
    assert [v.text for v in values] == ["10.99.0.4/32    fd99:1::4/128"]
    # the value keeps its own file and line: the continued assignment starts on line 36
    assert values[0].span.path.endswith("30-relay-wg.netdev") and values[0].span.line == 36


def test_values_from_a_dropin_point_at_the_dropin():
    eff = _relay()
    contractor = eff.instances("WireGuardPeer")[-1]
    span = contractor.get("AllowedIPs").span
    assert span.path.endswith("50-contractor.conf") and span.line == 5


def test_repeated_network_section_continues_and_later_scalar_wins():
    main = parse_unit("[Network]\nDHCP=no\nAddress=10.0.0.1/24\n[Route]\nGateway=10.0.0.254\n"
                      "[Network]\nAddress=10.0.0.2/24\n", "a.network")
    dropin = parse_unit("[Network]\nDHCP=ipv4\n[Route]\nDestination=192.0.2.0/24\n", "a.network.d/10.conf")
    eff = effective_unit(main, [dropin])
    network = eff.section("Network")
    assert [v.text for v in network.values("Address")] == ["10.0.0.1/24", "10.0.0.2/24"]
    assert network.get("DHCP").text == "ipv4" and network.get("DHCP").span.path == "a.network.d/10.conf"
    assert len(eff.instances("Network")) == 1
    assert len(eff.instances("Route")) == 2


def test_empty_assignment_resets_a_scalar_to_default():
    eff = effective_unit(parse_unit("[WireGuard]\nListenPort=51820\nListenPort=\n"))
    assert eff.get("WireGuard", "ListenPort") is None


def _write(root: Path, rel: str, text: str = "[Network]\nDNS=192.0.2.1\n") -> None:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_dropin_order_is_by_name_across_dirs_and_earlier_dirs_mask(tmp_path):
    _write(tmp_path, "/usr/lib/systemd/network/50-x.network", "[Network]\nDNS=192.0.2.9\n")
    _write(tmp_path, "/etc/systemd/network/50-x.network", "[Network]\nDNS=192.0.2.1\n")
    _write(tmp_path, "/usr/lib/systemd/network/50-x.network.d/10-a.conf", "[Network]\nDNS=192.0.2.10\n")
    _write(tmp_path, "/run/systemd/network/50-x.network.d/20-b.conf", "[Network]\nDNS=192.0.2.20\n")
    _write(tmp_path, "/etc/systemd/network/50-x.network.d/30-c.conf", "[Network]\nDNS=192.0.2.30\n")
    # same name in /etc masks /usr/lib's copy
    _write(tmp_path, "/usr/lib/systemd/network/50-x.network.d/30-c.conf", "[Network]\nDNS=192.0.2.99\n")
    loc = locate_unit("50-x.network", tmp_path)
    assert str(loc.main) == "/etc/systemd/network/50-x.network"
    assert [str(p) for p in loc.dropins] == [
        "/usr/lib/systemd/network/50-x.network.d/10-a.conf",
        "/run/systemd/network/50-x.network.d/20-b.conf",
        "/etc/systemd/network/50-x.network.d/30-c.conf",
    ]
    eff = load_effective("50-x.network", tmp_path)
    assert [v.text for v in eff.section("Network").values("DNS")] == [
        "192.0.2.1", "192.0.2.10", "192.0.2.20", "192.0.2.30"]
    assert eff.section("Network").values("DNS")[-1].span.path == "/etc/systemd/network/50-x.network.d/30-c.conf"


def test_dev_null_symlink_and_empty_file_mask(tmp_path):
    _write(tmp_path, "/usr/lib/systemd/network/50-x.network")
    _write(tmp_path, "/usr/lib/systemd/network/50-x.network.d/10-a.conf", "[Network]\nDNS=192.0.2.10\n")
    etc_d = tmp_path / "etc/systemd/network/50-x.network.d"
    etc_d.mkdir(parents=True)
    os.symlink("/dev/null", etc_d / "10-a.conf")
    (etc_d / "20-empty.conf").write_text("")
    loc = locate_unit("50-x.network", tmp_path)
    assert loc.dropins == ()
    os.symlink("/dev/null", tmp_path / "etc/systemd/network/50-x.network")
    loc = locate_unit("50-x.network", tmp_path)
    assert loc.masked and loc.main is None
    with pytest.raises(ParseError, match="masked"):
        load_effective("50-x.network", tmp_path)
