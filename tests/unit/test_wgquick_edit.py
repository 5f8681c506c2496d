"""Minimal edits of wg-quick files: untouched lines stay byte-identical, comments
describing a peer go with it, and the result means what the edit says."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from netdwg.errors import ConfigError
from netdwg.keys import PublicKey, genkey
from netdwg.wgquick import add_peer, load_wgquick, parse_wgquick_file, remove_peer, set_peer_allowed_ips, strip
from netdwg.wireguard import Endpoint, WgPeer

CORPUS = Path(__file__).resolve().parents[1] / "data" / "wg-quick"
RELAY = PublicKey.from_base64("7kvBXBelMiBAzO8Pryc5S7sbbPFS4TcXGK+Mt4LFdlo=")
HUB = """\
# Hub: keep this header
[Interface]
PrivateKey = cCooyHcL8TLpGa3GB5PiVMEVZS8M9+drMIdY0cq7xFM=
ListenPort = 51820

# oslo, behind NAT
[Peer]
PublicKey = 7kvBXBelMiBAzO8Pryc5S7sbbPFS4TcXGK+Mt4LFdlo=
  AllowedIPs = 10.99.0.2/32   # tunnel address
AllowedIPs = 172.20.10.0/24

# bergen
[Peer]
PublicKey = yN6nc55xP3/0RVG4eaaHg4sKnpdoacjxlsuYqW6rlHk=
AllowedIPs = 10.99.0.3/32
"""


def test_remove_peer_takes_its_comment_and_keeps_everything_else():
    out = remove_peer(parse_wgquick_file(HUB), RELAY).format()
    assert out == HUB.replace("# oslo, behind NAT\n[Peer]\nPublicKey = 7kvBXBelMiBAzO8Pryc5S7sbbPFS4TcXGK+Mt4LFdlo=\n"
                              "  AllowedIPs = 10.99.0.2/32   # tunnel address\nAllowedIPs = 172.20.10.0/24\n\n", "")
    assert [p.name for p in load_wgquick(out, "hub.conf").device.peers] == [""]


def test_remove_last_peer_and_absent_peer():
    last = PublicKey.from_base64("yN6nc55xP3/0RVG4eaaHg4sKnpdoacjxlsuYqW6rlHk=")
    out = remove_peer(parse_wgquick_file(HUB), last).format()
    assert out == HUB[:HUB.index("# bergen")]
    assert remove_peer(parse_wgquick_file(HUB), genkey().public_key()).format() == HUB


def test_set_allowed_ips_rewrites_first_line_keeps_indent_and_comment():
    nets = [ipaddress.ip_network("10.99.0.2/32"), ipaddress.ip_network("172.20.30.0/24")]
    out = set_peer_allowed_ips(parse_wgquick_file(HUB), RELAY, nets).format()
    assert out == HUB.replace("  AllowedIPs = 10.99.0.2/32   # tunnel address\nAllowedIPs = 172.20.10.0/24\n",
                              "  AllowedIPs = 10.99.0.2/32, 172.20.30.0/24 # tunnel address\n")
    peer = load_wgquick(out, "hub.conf").device.peer(RELAY)
    assert list(peer.allowed_ips) == nets


def test_set_allowed_ips_adds_a_line_or_removes_all():
    text = f"[Peer]\nPublicKey = {RELAY}"
    out = set_peer_allowed_ips(parse_wgquick_file(text), RELAY, [ipaddress.ip_network("10.0.0.0/8")]).format()
    assert out == f"[Peer]\nPublicKey = {RELAY}\nAllowedIPs = 10.0.0.0/8\n"
    emptied = set_peer_allowed_ips(parse_wgquick_file(HUB), RELAY, []).format()
    assert load_wgquick(emptied, "hub.conf").device.peer(RELAY).allowed_ips == ()
    with pytest.raises(ConfigError):
        set_peer_allowed_ips(parse_wgquick_file(HUB), genkey().public_key(), [])


def test_add_peer_appends_and_replaces_same_key():
    new = WgPeer(genkey().public_key(), (ipaddress.ip_network("10.99.0.9/32"),), endpoint=Endpoint("198.51.100.9", 1),
                 name="ana")
    out = add_peer(parse_wgquick_file(HUB), new).format()
    assert out.startswith(HUB) and out[len(HUB):].startswith("\n[Peer]\n# ana\n")
    assert load_wgquick(out, "hub.conf").device.peers[-1] == new
    moved = add_peer(parse_wgquick_file(HUB), WgPeer(RELAY, (ipaddress.ip_network("10.99.0.2/32"),), name="oslo"))
    peers = load_wgquick(moved.format(), "hub.conf").device.peers
    assert [p.public_key for p in peers][-1] == RELAY and len(peers) == 2


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.conf")), ids=lambda p: p.name)
def test_edits_on_corpus_keep_strip_working(path):
    text = path.read_text()
    edited = set_peer_allowed_ips(parse_wgquick_file(text), RELAY, [ipaddress.ip_network("10.99.0.0/16")])
    assert strip(edited.format()).count("[Peer]") == 1
    assert load_wgquick(edited.format(), str(path)).device.peer(RELAY).allowed_ips == (
        ipaddress.ip_network("10.99.0.0/16"),)
    # every line outside the peer is unchanged
    before, after = text.splitlines(), edited.format().splitlines()
    assert before[:before.index("[Peer]")] == after[:after.index("[Peer]")]
