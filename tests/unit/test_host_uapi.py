"""The UAPI wire format: what wireguard-go answers to get=1 and what netdwg sends in set=1."""

from __future__ import annotations

import ipaddress

import pytest

from netdwg.errors import ExternalError
from netdwg.host.uapi import UapiWgLink, format_device_set, format_peer_set, parse_get
from netdwg.keys import genkey, genpsk
from netdwg.plan.model import DeviceChange, PeerChange
from netdwg.wireguard import Endpoint, WgPeer


def answer(private, public, psk):
    # As wireguard-go 0.0.20220316 prints it.
    return (f"private_key={private.reveal_hex()}\nlisten_port=51820\n"
            f"public_key={public.hex}\npreshared_key={psk.reveal_hex()}\nprotocol_version=1\n"
            "endpoint=[2001:db8::7]:40001\nlast_handshake_time_sec=1800000000\nlast_handshake_time_nsec=500000000\n"
            "tx_bytes=1024\nrx_bytes=2048\npersistent_keepalive_interval=25\n"
            "allowed_ip=10.99.0.2/32\nallowed_ip=172.20.10.0/24\n"
            f"public_key={genkey().public_key().hex}\npreshared_key={'0' * 64}\nprotocol_version=1\n"
            "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\n"
            "persistent_keepalive_interval=0\n")


def test_get_answer_decodes_to_values():
    private, public, psk = genkey(), genkey().public_key(), genpsk()
    live = parse_get(answer(private, public, psk), "wg0")
    device = live.device
    assert (device.private_key, device.listen_port, device.fwmark) == (private, 51820, 0)
    first, second = device.peers
    assert first.public_key == public and first.preshared_key == psk
    assert first.endpoint == Endpoint("2001:db8::7", 40001)
    assert first.allowed_ips == (ipaddress.ip_network("10.99.0.2/32"), ipaddress.ip_network("172.20.10.0/24"))
    assert first.persistent_keepalive == 25
    assert live.status[0].latest_handshake == 1800000000.5 and live.status[0].rx_bytes == 2048
    assert second.preshared_key is None and second.endpoint is None and second.allowed_ips == ()
    assert live.status[1].latest_handshake == 0


def test_an_update_sends_only_the_changed_fields_and_never_creates_a_peer():
    peer = WgPeer(genkey().public_key(), (ipaddress.ip_network("10.99.0.3/32"),), endpoint=Endpoint("198.51.100.3", 51820))
    lines = format_peer_set(PeerChange("wg0", "update", peer, ("allowed_ips",)))
    assert lines == [f"public_key={peer.public_key.hex}", "update_only=true", "replace_allowed_ips=true",
                     "allowed_ip=10.99.0.3/32"]
    assert not any(line.startswith(("endpoint", "replace_peers")) for line in lines)


def test_an_add_sends_the_whole_peer_and_a_remove_only_the_key():
    psk = genpsk()
    peer = WgPeer(genkey().public_key(), (ipaddress.ip_network("fd99:1::4/128"),), psk,
                  Endpoint("2001:db8::1", 51820), 25)
    lines = format_peer_set(PeerChange("wg0", "add", peer))
    assert f"preshared_key={psk.reveal_hex()}" in lines
    assert "endpoint=[2001:db8::1]:51820" in lines and "persistent_keepalive_interval=25" in lines
    assert "update_only=true" not in lines
    assert format_peer_set(PeerChange("wg0", "remove", peer)) == [f"public_key={peer.public_key.hex}", "remove=true"]


def test_dropping_a_psk_sends_zeros_and_a_name_endpoint_is_resolved():
    peer = WgPeer(genkey().public_key(), (), None, Endpoint("hub.example", 51820))
    lines = format_peer_set(PeerChange("wg0", "update", peer, ("preshared_key", "endpoint")),
                            resolve=lambda host: "203.0.113.9")
    assert f"preshared_key={'0' * 64}" in lines and "endpoint=203.0.113.9:51820" in lines


def test_device_settings():
    key = genkey()
    assert format_device_set(DeviceChange("wg0", key, 51821, 0)) == [
        f"private_key={key.reveal_hex()}", "listen_port=51821", "fwmark=0"]


def test_a_read_without_wireguard_go_names_the_socket(tmp_path):
    link = UapiWgLink("wg9", tmp_path / "wg9.sock")  # no wireguard-go behind it
    with pytest.raises(ExternalError, match="wg9: UAPI socket .*wg9.sock"):
        link.read()
