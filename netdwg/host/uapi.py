"""The WireGuard userspace API (wireguard-go's /run/wireguard/IF.sock) as a `WgLink`.

Protocol (platform-facts section 4): `get=1\\n\\n` or `set=1\\n` + key=value
lines + `\\n`; the answer ends with `errno=N\\n\\n`. Keys are lowercase hex.
A set is not transactional (lines before an error stay applied), so apply
sends one set per peer change and rolls back by re-reading the device.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

from netdwg.errors import ExternalError, NetdwgError, NotPermittedError
from netdwg.host import prefetch
from netdwg.keys import PresharedKey, PrivateKey, PublicKey
from netdwg.peertext import ZERO_HEX, uapi_peer_texts
from netdwg.plan.model import DeviceChange, PeerChange
from netdwg.wireguard import Endpoint, LiveDevice, PeerStatus, WgDevice, WgPeer

# The same parser (and prefix cache) the desired .netdev is read with: the live
# device and the files name the same prefixes, so each string is parsed once and
# both sides hold the same objects (equal at a glance in the diff). With separate
# caches, a 5,000-peer apply cost ~0.1 s more CPU.
from netdwg.unitfile.fastvalues import parse_network  # noqa: E402

RUN_DIR = Path(prefetch.RUN_DIR)


def parse_get(text: str, ifname: str, omit: frozenset[str] = frozenset()) -> LiveDevice:
    """Decode a `get=1` answer (without the final errno line) into values.

    Peers whose hex public key is in `omit` are left out (see `WgDevice.unchanged`).
    """
    private_key, listen_port, fwmark = None, None, 0
    peers: list[WgPeer] = []
    status: list[PeerStatus] = []
    parts = ("\n" + text).split("\npublic_key=")
    for line in parts[0].split("\n"):
        key, _, value = line.partition("=")
        if key == "private_key" and value != ZERO_HEX:
            private_key = PrivateKey(bytes.fromhex(value))
        elif key == "listen_port":
            listen_port = int(value)
        elif key == "fwmark":
            fwmark = int(value)
    left_out = []
    for part in parts[1:]:
        hex_key, _, rest = part.partition("\n")
        if hex_key in omit:
            left_out.append(hex_key)
            continue
        public = PublicKey.from_hex(hex_key)
        allowed, psk, endpoint, keepalive, hs_sec, hs_nsec, rx, tx = [], None, None, 0, 0, 0, 0, 0
        for line in rest.split("\n"):
            key, _, value = line.partition("=")
            if key == "allowed_ip":
                allowed.append(parse_network(value))
            elif key == "preshared_key":
                psk = None if value == ZERO_HEX else PresharedKey(bytes.fromhex(value))
            elif key == "endpoint":
                endpoint = Endpoint.parse(value)
            elif key == "persistent_keepalive_interval":
                keepalive = int(value)
            elif key == "last_handshake_time_sec":
                hs_sec = int(value)
            elif key == "last_handshake_time_nsec":
                hs_nsec = int(value)
            elif key == "rx_bytes":
                rx = int(value)
            elif key == "tx_bytes":
                tx = int(value)
        peers.append(WgPeer(public, tuple(allowed), psk, endpoint, keepalive))
        status.append(PeerStatus(public, endpoint, hs_sec + hs_nsec / 1e9, rx, tx))
    device = WgDevice(ifname, private_key, listen_port, fwmark, tuple(peers), frozenset(left_out))
    return LiveDevice(device, tuple(status), "userspace")


def format_device_set(change: DeviceChange) -> list[str]:
    lines = []
    if change.private_key is not None:
        lines.append(f"private_key={change.private_key.reveal_hex()}")
    if change.listen_port is not None:
        lines.append(f"listen_port={change.listen_port}")
    if change.fwmark is not None:
        lines.append(f"fwmark={change.fwmark}")
    return lines


def format_peer_set(change: PeerChange, resolve=None) -> list[str]:
    """The `set=1` lines for one peer change: only the fields that differ."""
    peer = change.peer
    lines = [f"public_key={peer.public_key.hex}"]
    if change.action == "remove":
        return lines + ["remove=true"]
    fields = change.fields if change.action == "update" else ("preshared_key", "endpoint", "persistent_keepalive", "allowed_ips")
    if change.action == "update":
        # Never create a peer that vanished meanwhile: an update stays an update.
        lines.append("update_only=true")
    if "preshared_key" in fields and (peer.preshared_key is not None or change.action == "update"):
        lines.append(f"preshared_key={peer.preshared_key.reveal_hex() if peer.preshared_key else ZERO_HEX}")
    if "endpoint" in fields and peer.endpoint is not None:
        lines.append(f"endpoint={format_endpoint(peer.endpoint, resolve)}")
    if "persistent_keepalive" in fields:
        lines.append(f"persistent_keepalive_interval={peer.persistent_keepalive}")
    if "allowed_ips" in fields:
        lines.append("replace_allowed_ips=true")
        lines.extend(f"allowed_ip={net}" for net in peer.allowed_ips)
    return lines


def format_endpoint(endpoint: Endpoint, resolve=None) -> str:
    address = endpoint.address
    if address is None:
        address = ipaddress.ip_address((resolve or _resolve)(endpoint.host))
    return f"[{address}]:{endpoint.port}" if address.version == 6 else f"{address}:{endpoint.port}"


def _resolve(host: str) -> str:
    try:
        info = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except socket.gaierror as err:
        raise ExternalError(f"cannot resolve endpoint {host!r}: {err}", fix="check DNS or use an address") from None
    return info[0][4][0]


class UapiWgLink:
    """`WgLink` over a wireguard-go (or boringtun, wireguard-rs) UAPI socket."""

    backend = "userspace"

    def __init__(self, ifname: str, socket_path: Path | None = None) -> None:
        self.ifname = ifname
        self.socket_path = Path(socket_path) if socket_path else RUN_DIR / f"{ifname}.sock"
        self._answer: str | None = None  # a get answer `peer_texts` fetched for `read`
        self._texts: dict[str, str] | None = None  # its peer texts, when prefetch made them

    def request(self, text: str) -> str:
        try:
            answer = prefetch.exchange(str(self.socket_path), text.encode())
        except OSError as err:
            raise self._socket_error(err) from None
        return self._checked(answer)

    def _socket_error(self, err: OSError) -> NetdwgError:
        if isinstance(err, PermissionError):
            return NotPermittedError(f"{self.ifname}: no access to the UAPI socket {self.socket_path}",
                                     fix="run as root")
        return ExternalError(f"{self.ifname}: UAPI socket {self.socket_path}: {err.strerror or err}",
                             fix="is the userspace WireGuard (wireguard-go) for this interface running?")

    def _checked(self, raw: bytes) -> str:
        """The answer without its final `errno=0`; an error for any other errno or a cut-off answer."""
        body, tail = prefetch.split_answer(raw)
        if not tail.strip().lstrip("-").isdigit():
            raise ExternalError(f"{self.ifname}: UAPI socket closed mid-answer", fix="check the wireguard-go log and rerun")
        if int(tail) != 0:
            raise ExternalError(f"{self.ifname}: the WireGuard device refused the change (errno={tail.strip()})",
                                fix="see the step announced above; a rerun retries it")
        return body

    def prefetch(self) -> None:
        """Ask for the device now; `peer_texts`/`read` take the answer (netdwg.host.prefetch).

        wireguard-go spends ~50 ms writing 5,000 peers; on another core that
        overlaps with apply reading the files instead of adding to it.
        """
        prefetch.start(str(self.socket_path))

    def peer_texts(self) -> dict[str, str]:
        """The live peers as `netdwg.peertext` lines (netdev text -> hex public key).

        Keeps the answer for the next `read()`, which decodes it instead of
        asking again.
        """
        self._answer = self._fetched()
        texts, self._texts = self._texts, None
        return texts if texts is not None else uapi_peer_texts(self._answer)

    def read(self, omit: frozenset[str] = frozenset()) -> LiveDevice:
        """The device now (or as `peer_texts` just saw it), without the peers in `omit` (hex keys)."""
        answer = self._fetched()
        self._answer = self._texts = None
        return parse_get(answer, self.ifname, omit)

    def _fetched(self) -> str:
        """The kept or prefetched answer, else a new one."""
        if self._answer is not None:
            return self._answer
        try:
            fetched = prefetch.take(str(self.socket_path))
        except OSError as err:
            raise self._socket_error(err) from None
        if fetched is None:
            self._texts = None
            return self.request("get=1\n\n")
        raw, self._texts = fetched
        return self._checked(raw)

    def set_device(self, change: DeviceChange) -> None:
        lines = format_device_set(change)
        if lines:
            self.request("set=1\n" + "".join(f"{line}\n" for line in lines) + "\n")

    def apply_peer(self, change: PeerChange) -> None:
        self.request("set=1\n" + "".join(f"{line}\n" for line in format_peer_set(change)) + "\n")
