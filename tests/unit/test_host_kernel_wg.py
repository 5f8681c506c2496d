"""The kernel path on genetlink messages built and parsed with pyroute2's own wgmsg class.

No wireguard.ko here, so the messages are what the kernel would send/receive,
encoded to bytes and decoded again, exactly as the netlink socket would.
"""

from __future__ import annotations

import base64
import ipaddress
from socket import AF_INET, AF_INET6

from pyroute2.netlink.generic.wireguard import wgmsg

from netdwg.host.detect import detect_backend
from netdwg.host.kernel_wg import (
    WGPEER_F_REMOVE_ME,
    WGPEER_F_REPLACE_ALLOWEDIPS,
    WGPEER_F_UPDATE_ONLY,
    decode_device,
    encode_peer_change,
)
from netdwg.keys import genkey, genpsk
from netdwg.plan.model import PeerChange
from netdwg.wireguard import Endpoint, WgPeer


def wire(msg):
    msg.encode()
    back = wgmsg(msg.data)
    back.decode()
    return back


def allowed(text):
    net = ipaddress.ip_network(text)
    return {"attrs": [["WGALLOWEDIP_A_FAMILY", AF_INET if net.version == 4 else AF_INET6],
                      ["WGALLOWEDIP_A_IPADDR", net.network_address.packed],
                      ["WGALLOWEDIP_A_CIDR_MASK", net.prefixlen]]}


def dump(private, peers):
    msg = wgmsg()
    msg["cmd"] = 0
    msg["version"] = 1
    msg["attrs"] = [["WGDEVICE_A_IFNAME", "wg0"], ["WGDEVICE_A_PRIVATE_KEY", private.reveal_base64()],
                    ["WGDEVICE_A_LISTEN_PORT", 51820], ["WGDEVICE_A_FWMARK", 0x42], ["WGDEVICE_A_PEERS", peers]]
    return wire(msg)


def test_a_device_dump_split_over_two_messages_decodes_to_one_device():
    private, a, b, psk = genkey(), genkey().public_key(), genkey().public_key(), genpsk()
    first = dump(private, [{"attrs": [
        ["WGPEER_A_PUBLIC_KEY", a.base64], ["WGPEER_A_PRESHARED_KEY", psk.reveal_base64()],
        ["WGPEER_A_ENDPOINT", {"addr": "198.51.100.2", "port": 51820}],
        ["WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL", 25],
        ["WGPEER_A_LAST_HANDSHAKE_TIME", {"tv_sec": 1800000000, "tv_nsec": 0}],
        ["WGPEER_A_RX_BYTES", 100], ["WGPEER_A_TX_BYTES", 200],
        ["WGPEER_A_ALLOWEDIPS", [allowed("10.99.0.2/32")]]]}])
    # The kernel continues a peer with many allowed-ips in the next message.
    second = dump(private, [{"attrs": [["WGPEER_A_PUBLIC_KEY", a.base64],
                                       ["WGPEER_A_ALLOWEDIPS", [allowed("fd99:1::2/128")]]]},
                            {"attrs": [["WGPEER_A_PUBLIC_KEY", b.base64],
                                       ["WGPEER_A_PRESHARED_KEY", base64.b64encode(bytes(32)).decode()]]}])
    live = decode_device([first, second], "wg0")
    assert live.backend == "kernel"
    assert (live.device.private_key, live.device.listen_port, live.device.fwmark) == (private, 51820, 0x42)
    pa, pb = live.device.peers
    assert pa.public_key == a and pa.preshared_key == psk and pa.persistent_keepalive == 25
    assert pa.endpoint == Endpoint("198.51.100.2", 51820)
    assert [str(n) for n in pa.allowed_ips] == ["10.99.0.2/32", "fd99:1::2/128"]
    assert live.status[0].latest_handshake == 1800000000 and live.status[0].tx_bytes == 200
    assert pb.public_key == b and pb.preshared_key is None and pb.allowed_ips == ()


def peer_attrs(msg):
    (peer,) = msg.get_attr("WGDEVICE_A_PEERS")
    return peer


def test_an_update_carries_the_kernels_flag_values_not_pyroute2_07s():
    # pyroute2 0.7.2 would send 2 (REPLACE_ALLOWEDIPS by the kernel's numbering) for every set,
    # 0.9 sends 0 (append): netdwg sends what it means on both.
    peer = WgPeer(genkey().public_key(), (ipaddress.ip_network("10.99.0.3/32"),))
    msg = wire(encode_peer_change("wg0", PeerChange("wg0", "update", peer, ("persistent_keepalive",))))
    attrs = peer_attrs(msg)
    assert attrs.get_attr("WGPEER_A_FLAGS") == WGPEER_F_UPDATE_ONLY == 4
    assert attrs.get_attr("WGPEER_A_ALLOWEDIPS") is None and attrs.get_attr("WGPEER_A_ENDPOINT") is None
    assert msg.get_attr("WGDEVICE_A_FLAGS") is None  # never REPLACE_PEERS


def test_changed_allowed_ips_replace_exactly_that_peers_list():
    peer = WgPeer(genkey().public_key(), (ipaddress.ip_network("10.99.0.3/32"), ipaddress.ip_network("fd99:1::3/128")))
    attrs = peer_attrs(wire(encode_peer_change("wg0", PeerChange("wg0", "update", peer, ("allowed_ips",)))))
    assert attrs.get_attr("WGPEER_A_FLAGS") == WGPEER_F_UPDATE_ONLY | WGPEER_F_REPLACE_ALLOWEDIPS
    assert [a.get("addr") for a in attrs.get_attr("WGPEER_A_ALLOWEDIPS")] == ["10.99.0.3/32", "fd99:1::3/128"]


def test_add_and_remove():
    psk = genpsk()
    peer = WgPeer(genkey().public_key(), (ipaddress.ip_network("10.99.0.4/32"),), psk, Endpoint("203.0.113.4", 51820), 25)
    attrs = peer_attrs(wire(encode_peer_change("wg0", PeerChange("wg0", "add", peer))))
    assert attrs.get_attr("WGPEER_A_FLAGS") == WGPEER_F_REPLACE_ALLOWEDIPS  # creates it, exact allowed-ips
    assert attrs.get_attr("WGPEER_A_ENDPOINT")["addr"] == "203.0.113.4"
    assert base64.b64decode(attrs.get_attr("WGPEER_A_PRESHARED_KEY")) == psk.raw
    removed = peer_attrs(wire(encode_peer_change("wg0", PeerChange("wg0", "remove", peer))))
    assert removed.get_attr("WGPEER_A_FLAGS") == WGPEER_F_REMOVE_ME


def test_backend_detection(tmp_path):
    import socket

    run, sysnet = tmp_path / "run", tmp_path / "net"
    run.mkdir()
    (sysnet / "wg1").mkdir(parents=True)
    (sysnet / "wg1" / "uevent").write_text("DEVTYPE=wireguard\nINTERFACE=wg1\n")
    (sysnet / "tun0").mkdir()
    (sysnet / "tun0" / "uevent").write_text("INTERFACE=tun0\n")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(run / "wg0.sock"))
        assert detect_backend("wg0", run, sysnet) == "userspace"
    assert detect_backend("wg1", run, sysnet) == "kernel"
    assert detect_backend("tun0", run, sysnet) is None
    assert detect_backend("nope", run, sysnet) is None
