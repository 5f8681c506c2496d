"""Minimal edits: only the lines that must change do; comments go with their peer."""

from __future__ import annotations

import difflib
from collections import Counter
import ipaddress
from pathlib import Path

import pytest

from netdwg.errors import ConfigError
from netdwg.keys import PresharedKey, PublicKey, genkey
from netdwg.unitfile import (add_peer, effective_unit, find_peer, load_unit, parse_unit, remove_key, remove_peer,
                             set_peer_allowed_ips, set_value, sync_peers, to_wg_device)
from netdwg.wireguard import Endpoint, WgPeer

CORPUS = Path(__file__).resolve().parents[1] / "data" / "networkd"
BERGEN = "yN6nc55xP3/0RVG4eaaHg4sKnpdoacjxlsuYqW6rlHk="
ANA = "TzOG0X20ZoakvqR2ffvTuuRAi5Jbx2wluC4Lp6MGEnc="
BEN = "nft4IPx+W4H3FnNMiI1OY/VaZVA0xxhPzfu3Cknm+n0="


@pytest.fixture
def relay():
    return load_unit(CORPUS / "30-relay-wg.netdev")


def _diff(a: str, b: str) -> list[str]:
    return [line for line in difflib.ndiff(a.splitlines(True), b.splitlines(True)) if line[:1] in "+-"]


def test_remove_peer_takes_its_comment_and_nothing_else(relay):
    before = relay.format()
    after = remove_peer(relay, BERGEN).format()
    removed = [line[2:] for line in _diff(before, after)]
    assert removed == [
        "# Site bergen: both prefixes on one line, comma and space separated\n",
        "[WireGuardPeer]\n",
        f"PublicKey={BERGEN}\n",
        "PresharedKey=9NtFZmyncV18iwZr9BYkA2UAmybBkC9PqWb6jXiEnPk=\n",
        "AllowedIPs=10.99.0.3/32, 172.20.20.0/24,fd99:1::3/128\n",
        "PersistentKeepalive = 25\n",
        "\n",
    ]
    assert all(line.startswith("- ") for line in _diff(before, after))
    # ana's comment still sits directly above ana
    assert "\n\n# Laptop ana: the list is reset by the empty assignment, then set again\n[WireGuardPeer]\n" \
           f"PublicKey={ANA}\n" in after


def test_remove_last_peer_takes_its_indented_comment_and_leaves_no_trailing_blank(relay):
    after = remove_peer(relay, BEN).format()
    assert "phone ben" not in after and BEN not in after
    assert after.endswith("  fd99:1::4/128\n")
    assert relay.format().startswith(after)


def test_remove_unknown_peer_is_a_clear_error(relay):
    with pytest.raises(ConfigError, match="no \\[WireGuardPeer\\]"):
        remove_peer(relay, genkey().public_key())


def test_set_allowed_ips_replaces_resets_and_continuation_with_one_line(relay):
    after = set_peer_allowed_ips(relay, ANA, [ipaddress.ip_network("10.99.0.7/32")])
    diff = _diff(relay.format(), after.format())
    assert [d for d in diff if d[0] == "-"] == ["- AllowedIPs=10.99.0.99/32\n", "- AllowedIPs=\n",
                                                 "- AllowedIPs=10.99.0.4/32 \\\n", "-   fd99:1::4/128\n"]
    assert [d for d in diff if d[0] == "+"] == ["+ AllowedIPs=10.99.0.7/32\n"]
    device = to_wg_device(effective_unit(after))
    assert device.peer(PublicKey.from_base64(ANA)).allowed_ips == (ipaddress.ip_network("10.99.0.7/32"),)


def test_set_allowed_ips_to_the_same_set_changes_nothing(relay):
    same = set_peer_allowed_ips(relay, BERGEN, ["fd99:1::3/128", "10.99.0.3/32", "172.20.20.0/24"])
    assert same is relay


def test_set_allowed_ips_keeps_spacing_style(relay):
    text = "[WireGuardPeer]\nPublicKey = %s\n  AllowedIPs = 10.0.0.1/32  \nEndpoint = 192.0.2.1:51820\n" % ANA
    unit = parse_unit(text)
    after = set_peer_allowed_ips(unit, ANA, ["10.0.0.2/32"]).format()
    assert after == text.replace("  AllowedIPs = 10.0.0.1/32  \n", "  AllowedIPs = 10.0.0.2/32\n")


def test_set_value_changes_one_line_and_adds_missing_keys(relay):
    after = set_value(set_value(relay, "WireGuard", "ListenPort", 51821), "WireGuard", "RouteTable", "main")
    diff = _diff(relay.format(), after.format())
    assert diff == ["- ListenPort=51820\n", "+ ListenPort=51821\n", "+ RouteTable=main\n"]
    # the new key lands after the section's last assignment, before the next peer's comment
    text = after.format()
    assert "FirewallMark=0x51\nRouteTable=main\n\n# Site oslo" in text
    assert set_value(relay, "WireGuard", "ListenPort", "51820") is relay


def test_set_value_adds_a_missing_section_at_the_end():
    unit = parse_unit("[Match]\nName=wg0")  # no trailing newline
    after = set_value(unit, "Network", "Address", ipaddress.ip_interface("10.0.0.1/24")).format()
    assert after == "[Match]\nName=wg0\n\n[Network]\nAddress=10.0.0.1/24\n"


def test_remove_key(relay):
    after = remove_key(relay, "NetDev", "Description")
    assert _diff(relay.format(), after.format()) == ["- Description=Harbor Labs backbone\n"]
    assert remove_key(relay, "NetDev", "NoSuchKey") is relay


def test_add_peer_appends_with_comment_and_reads_back(relay):
    key = genkey().public_key()
    psk = PresharedKey.generate()
    peer = WgPeer(key, (ipaddress.ip_network("10.99.0.9/32"), ipaddress.ip_network("fd99:1::9/128")), psk,
                  Endpoint("198.51.100.7", 51820), 25, name="laptop carl")
    after = add_peer(relay, peer)
    text = after.format()
    assert text.startswith(relay.format())
    assert text[len(relay.format()):] == (
        f"\n# laptop carl\n[WireGuardPeer]\nPublicKey={key}\nPresharedKey={psk.reveal_base64()}\n"
        "Endpoint=198.51.100.7:51820\nAllowedIPs=10.99.0.9/32,fd99:1::9/128\nPersistentKeepalive=25\n")
    device = to_wg_device(effective_unit(parse_unit(text)))
    assert device.peer(key).same_config(peer)
    with pytest.raises(ConfigError):
        add_peer(after, peer)
    # ... and removing it again gives back the original bytes
    assert remove_peer(after, key).format() == relay.format()


def test_add_peer_in_a_crlf_file_uses_crlf():
    unit = parse_unit("[NetDev]\r\nName=wg0\r\nKind=wireguard\r\n")
    after = add_peer(unit, WgPeer(genkey().public_key(), (ipaddress.ip_network("10.0.0.2/32"),))).format()
    assert "\n" not in after.replace("\r\n", "")


def test_untouched_sections_are_the_same_objects(relay):
    after = set_peer_allowed_ips(relay, ANA, ["10.99.0.8/32"])
    index = find_peer(relay, ANA)
    same = [a is b for a, b in zip(relay.sections, after.sections)]
    assert same == [i != index for i in range(len(relay.sections))]


def test_sync_with_the_same_peers_changes_nothing(relay):
    device = to_wg_device(effective_unit(relay))
    assert sync_peers(relay, device.peers).format() == relay.format()


def test_sync_changes_only_what_differs(relay):
    device = to_wg_device(effective_unit(relay))
    peers = list(device.peers)
    bergen = next(p for p in peers if str(p.public_key) == BERGEN)
    moved = WgPeer(bergen.public_key, bergen.allowed_ips, bergen.preshared_key, Endpoint("203.0.113.5", 51820),
                   0)  # keepalive off
    new = WgPeer(genkey().public_key(), (ipaddress.ip_network("10.99.0.20/32"),), name="laptop dora")
    peers = [moved if p is bergen else p for p in peers if str(p.public_key) != BEN] + [new]
    after = sync_peers(relay, peers)
    before_lines, after_lines = Counter(relay.format().splitlines(True)), Counter(after.format().splitlines(True))
    removed, added = before_lines - after_lines, after_lines - before_lines
    assert removed == Counter(["PersistentKeepalive = 25\n", "\t# phone ben (tab-indented comment)\n",
                               f"PublicKey={BEN}\n", "PresharedKey=Hb7udbC0a42ftqklkFCPKYEiLUFsmjzT7JDPfAxuqSM=\n",
                               "AllowedIPs=10.99.0.5/32\n", "Endpoint=[2001:db8::5]:41641\n"])
    assert added == Counter(["Endpoint=203.0.113.5:51820\n", "# laptop dora\n", f"PublicKey={new.public_key}\n",
                             "AllowedIPs=10.99.0.20/32\n"])
    synced = to_wg_device(effective_unit(after))
    assert [p.public_key for p in synced.peers] == [p.public_key for p in peers]
    assert all(synced.peer(p.public_key).same_config(p) for p in peers)


def test_sync_keeps_psk_file_references():
    key = genkey().public_key()
    text = f"[WireGuardPeer]\nPublicKey={key}\nPresharedKeyFile=/etc/systemd/network/a.psk\nAllowedIPs=10.0.0.1/32\n"
    unit = parse_unit(text)
    peer = WgPeer(key, (ipaddress.ip_network("10.0.0.1/32"),), PresharedKey.generate())
    assert sync_peers(unit, [peer]).format() == text
    moved = sync_peers(unit, [peer], psk_files={key: "/etc/systemd/network/b.psk"}).format()
    assert moved == text.replace("a.psk", "b.psk")


@pytest.mark.parametrize("text", ["[Network]\nDNS=192.0.2.1\njust words", "[Network]\nDNS=192.0.2.1\n# last",
                                  "# only a comment", ""])
def test_append_after_any_kind_of_last_line(text):
    after = set_value(parse_unit(text), "Link", "MTUBytes", 1280).format()
    assert after.startswith(text) and after.endswith("[Link]\nMTUBytes=1280\n")
    assert parse_unit(after).sections[-1].last("MTUBytes").value == "1280"
