"""The kernel WireGuard device over genetlink (pyroute2), as a `WgLink`.

pyroute2 0.7.2 (Debian 12) encodes the peer flags wrong (REMOVE_ME=0,
REPLACE_ALLOWEDIPS=1, UPDATE_ONLY=2, so every update becomes "replace
allowed-ips, create if missing"), while 0.9 sends 0 and *appends* allowed-ips.
So netdwg builds the set message itself with
pyroute2's `wgmsg` class and the kernel's own flag values from
include/uapi/linux/wireguard.h, and only uses pyroute2 to transport it:
the same bytes reach the kernel on both versions.
"""

from __future__ import annotations

import base64
import ipaddress
from socket import AF_INET, AF_INET6

from netdwg.errors import ExternalError
from netdwg.keys import PresharedKey, PrivateKey, PublicKey
from netdwg.plan.model import DeviceChange, PeerChange
from netdwg.wireguard import Endpoint, LiveDevice, PeerStatus, WgDevice, WgPeer

# include/uapi/linux/wireguard.h
WG_CMD_GET_DEVICE = 0
WG_CMD_SET_DEVICE = 1
WG_GENL_VERSION = 1
WGPEER_F_REMOVE_ME = 1 << 0
WGPEER_F_REPLACE_ALLOWEDIPS = 1 << 1
WGPEER_F_UPDATE_ONLY = 1 << 2


def _wgmsg():
    from pyroute2.netlink.generic.wireguard import wgmsg  # imported late: pyroute2 is slow to import

    return wgmsg


def _key(value) -> bytes:
    # pyroute2 hands keys back as base64 bytes (b'...='), both 0.7 and 0.9.
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, str):
        value = value.encode()
    return base64.b64decode(value)


def decode_device(messages, ifname: str) -> LiveDevice:
    """Decode a GET_DEVICE dump (possibly several messages for many peers)."""
    private_key, listen_port, fwmark = None, None, 0
    peers: dict[bytes, dict] = {}
    order: list[bytes] = []
    for msg in messages:
        raw = msg.get_attr("WGDEVICE_A_PRIVATE_KEY")
        if raw is not None and any(_key(raw)):
            private_key = PrivateKey(_key(raw))
        port = msg.get_attr("WGDEVICE_A_LISTEN_PORT")
        if port is not None:
            listen_port = port or None
        mark = msg.get_attr("WGDEVICE_A_FWMARK")
        if mark is not None:
            fwmark = mark
        for p in msg.get_attr("WGDEVICE_A_PEERS") or ():
            key = _key(p.get_attr("WGPEER_A_PUBLIC_KEY"))
            # A peer with many allowed-ips continues in the next message with the same key.
            if key not in peers:
                order.append(key)
                peers[key] = {"ips": [], "psk": None, "endpoint": None, "keepalive": 0, "hs": 0.0, "rx": 0, "tx": 0}
            entry = peers[key]
            psk = p.get_attr("WGPEER_A_PRESHARED_KEY")
            if psk is not None and any(_key(psk)):
                entry["psk"] = PresharedKey(_key(psk))
            endpoint = p.get_attr("WGPEER_A_ENDPOINT")
            if endpoint is not None and endpoint.get("port"):
                entry["endpoint"] = Endpoint(endpoint["addr"], endpoint["port"])
            keepalive = p.get_attr("WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL")
            if keepalive is not None:
                entry["keepalive"] = keepalive
            handshake = p.get_attr("WGPEER_A_LAST_HANDSHAKE_TIME")
            if handshake is not None:
                entry["hs"] = handshake["tv_sec"] + handshake["tv_nsec"] / 1e9
            entry["rx"] = p.get_attr("WGPEER_A_RX_BYTES") or entry["rx"]
            entry["tx"] = p.get_attr("WGPEER_A_TX_BYTES") or entry["tx"]
            for allowed in p.get_attr("WGPEER_A_ALLOWEDIPS") or ():
                if allowed.get("addr"):
                    entry["ips"].append(ipaddress.ip_network(allowed["addr"], strict=False))
    wg_peers, status = [], []
    for key in order:
        e = peers[key]
        public = PublicKey(key)
        wg_peers.append(WgPeer(public, tuple(e["ips"]), e["psk"], e["endpoint"], e["keepalive"]))
        status.append(PeerStatus(public, e["endpoint"], e["hs"], e["rx"], e["tx"]))
    return LiveDevice(WgDevice(ifname, private_key, listen_port, fwmark, tuple(wg_peers)), tuple(status), "kernel")


def _allowed_ips(nets) -> list[dict]:
    out = []
    for net in nets:
        family = AF_INET if net.version == 4 else AF_INET6
        out.append({"attrs": [["WGALLOWEDIP_A_FAMILY", family],
                              ["WGALLOWEDIP_A_IPADDR", net.network_address.packed],
                              ["WGALLOWEDIP_A_CIDR_MASK", net.prefixlen]]})
    return out


def encode_peer_change(ifname: str, change: PeerChange, resolve=None):
    """A SET_DEVICE message for one peer change, with the kernel's flag values."""
    from netdwg.host.uapi import format_endpoint

    peer = change.peer
    attrs: list = [["WGPEER_A_PUBLIC_KEY", peer.public_key.base64]]
    if change.action == "remove":
        attrs.append(["WGPEER_A_FLAGS", WGPEER_F_REMOVE_ME])
    else:
        fields = change.fields if change.action == "update" else ("preshared_key", "endpoint", "persistent_keepalive", "allowed_ips")
        flags = WGPEER_F_UPDATE_ONLY if change.action == "update" else 0
        if "allowed_ips" in fields:
            flags |= WGPEER_F_REPLACE_ALLOWEDIPS
        attrs.append(["WGPEER_A_FLAGS", flags])
        if "preshared_key" in fields and (peer.preshared_key is not None or change.action == "update"):
            psk = peer.preshared_key.reveal_base64() if peer.preshared_key else base64.b64encode(bytes(32)).decode()
            attrs.append(["WGPEER_A_PRESHARED_KEY", psk])
        if "endpoint" in fields and peer.endpoint is not None:
            text = format_endpoint(peer.endpoint, resolve)
            host, _, port = text.rpartition(":")
            attrs.append(["WGPEER_A_ENDPOINT", {"addr": host.strip("[]"), "port": int(port)}])
        if "persistent_keepalive" in fields:
            attrs.append(["WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL", peer.persistent_keepalive])
        if "allowed_ips" in fields:
            attrs.append(["WGPEER_A_ALLOWEDIPS", _allowed_ips(peer.allowed_ips)])
    msg = _wgmsg()()
    msg["cmd"] = WG_CMD_SET_DEVICE
    msg["version"] = WG_GENL_VERSION
    msg["attrs"] = [["WGDEVICE_A_IFNAME", ifname], ["WGDEVICE_A_PEERS", [{"attrs": attrs}]]]
    return msg


def encode_device_change(change: DeviceChange):
    msg = _wgmsg()()
    msg["cmd"] = WG_CMD_SET_DEVICE
    msg["version"] = WG_GENL_VERSION
    attrs: list = [["WGDEVICE_A_IFNAME", change.ifname]]
    if change.private_key is not None:
        attrs.append(["WGDEVICE_A_PRIVATE_KEY", change.private_key.reveal_base64()])
    if change.listen_port is not None:
        attrs.append(["WGDEVICE_A_LISTEN_PORT", change.listen_port])
    if change.fwmark is not None:
        attrs.append(["WGDEVICE_A_FWMARK", change.fwmark])
    msg["attrs"] = attrs
    return msg


class KernelWgLink:
    """`WgLink` for a kernel (wireguard.ko) device."""

    backend = "kernel"

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        self._sock = None

    def _socket(self):
        if self._sock is None:
            from pyroute2 import WireGuard

            try:
                self._sock = WireGuard()
            except Exception as err:  # pyroute2 raises plain NetlinkError/OSError here
                raise ExternalError(f"{self.ifname}: no WireGuard genetlink family ({err})",
                                    fix="load the module (modprobe wireguard) or run a userspace implementation") from None
        return self._sock

    def read(self) -> LiveDevice:
        try:
            return decode_device(self._socket().info(self.ifname), self.ifname)
        except ExternalError:
            raise
        except Exception as err:
            raise ExternalError(f"{self.ifname}: reading the WireGuard device failed: {err}") from None

    def _send(self, msg) -> None:
        from pyroute2.netlink import NLM_F_ACK, NLM_F_REQUEST

        sock = self._socket()
        try:
            if getattr(sock, "prid", None) is None:
                # pyroute2 0.9 binds the genl family on the first request (0.7 in __init__).
                sock.info(self.ifname)
            sock.nlm_request(msg, msg_type=sock.prid, msg_flags=NLM_F_REQUEST | NLM_F_ACK)
        except Exception as err:
            raise ExternalError(f"{self.ifname}: the kernel refused the WireGuard change: {err}",
                                fix="see the step announced above; a rerun retries it") from None

    def set_device(self, change: DeviceChange) -> None:
        self._send(encode_device_change(change))

    def apply_peer(self, change: PeerChange) -> None:
        self._send(encode_peer_change(self.ifname, change))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
