"""The WireGuard userspace API (wireguard-go's /run/wireguard/IF.sock) as a `WgLink`.

Protocol, as wireguard-go speaks it: `get=1\\n\\n` or `set=1\\n` + key=value
lines + `\\n`; the answer ends with `errno=N\\n\\n`. Keys are lowercase hex.
A set is not transactional (lines before an error stay applied), so apply
sends one set per peer change and rolls back by re-reading the device.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from pathlib import Path

from netdwg.errors import ExternalError, NetdwgError, NotPermittedError
from netdwg.keys import PresharedKey, PrivateKey, PublicKey
from netdwg.plan.model import DeviceChange, PeerChange
from netdwg.wireguard import Endpoint, LiveDevice, PeerStatus, WgDevice, WgPeer

RUN_DIR = Path("/run/wireguard")
TIMEOUT = 10.0
ZERO_HEX = "0" * 64  # an all-zero key: no private key, no PSK
_ANSWER_END = re.compile(rb"(?:^|\n)errno=-?[0-9]+\n\n$")


def parse_get(text: str, ifname: str) -> LiveDevice:
    """Decode a `get=1` answer (without the final errno line) into values."""
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
    for part in parts[1:]:
        hex_key, _, rest = part.partition("\n")
        public = PublicKey.from_hex(hex_key)
        allowed, psk, endpoint, keepalive, hs_sec, hs_nsec, rx, tx = [], None, None, 0, 0, 0, 0, 0
        for line in rest.split("\n"):
            key, _, value = line.partition("=")
            if key == "allowed_ip":
                allowed.append(ipaddress.ip_network(value, strict=False))
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
    device = WgDevice(ifname, private_key, listen_port, fwmark, tuple(peers))
    return LiveDevice(device, tuple(status), "userspace")


def exchange(socket_path: Path, request: bytes) -> bytes:
    """One UAPI request and its whole answer (up to and including `errno=N`); OSError on failure."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect(str(socket_path))
        sock.sendall(request)
        buf = bytearray()
        while not _ANSWER_END.search(bytes(buf[-40:])):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    return bytes(buf)


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

    def request(self, text: str) -> str:
        try:
            answer = exchange(self.socket_path, text.encode())
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
        body, _, tail = raw.decode(errors="replace").rstrip("\n").rpartition("errno=")
        if not tail.strip().lstrip("-").isdigit():
            raise ExternalError(f"{self.ifname}: UAPI socket closed mid-answer", fix="check the wireguard-go log and rerun")
        if int(tail) != 0:
            raise ExternalError(f"{self.ifname}: the WireGuard device refused the change (errno={tail.strip()})",
                                fix="see the step announced above; a rerun retries it")
        return body

    def read(self) -> LiveDevice:
        """The device now: every peer, decoded."""
        return parse_get(self.request("get=1\n\n"), self.ifname)

    def set_device(self, change: DeviceChange) -> None:
        lines = format_device_set(change)
        if lines:
            self.request("set=1\n" + "".join(f"{line}\n" for line in lines) + "\n")

    def apply_peer(self, change: PeerChange) -> None:
        self.request("set=1\n" + "".join(f"{line}\n" for line in format_peer_set(change)) + "\n")
