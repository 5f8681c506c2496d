"""What a WireGuard device should hold, as values: the common language of the
compiler (what a host should have), the planner (what differs from the live
device) and the device adapters (kernel genetlink, userspace UAPI socket).

Mirrors `wg showconf`: a device has a private key, a listen port, a fwmark
and peers; a peer has a public key, an optional PSK, an optional endpoint,
AllowedIPs and a keepalive. Live-only facts (handshake, transfer) live in
`PeerStatus`, never in the desired state.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from netdwg.errors import ParseError, Span
from netdwg.keys import PresharedKey, PrivateKey, PublicKey

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


@dataclass(frozen=True, slots=True)
class Endpoint:
    """``host:port``; host is an IP address or a DNS name (re-resolved by `netdwg resolve` and netdwg-guard)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str, span: Span | None = None) -> "Endpoint":
        text = text.strip()
        host, sep, port = text.rpartition(":")
        if text.startswith("["):
            close = text.find("]")
            host, sep, port = text[1:close], text[close + 1:close + 2], text[close + 2:]
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ParseError(f"invalid endpoint {text!r}", span,
                             fix="write HOST:PORT, e.g. 198.51.100.10:51820 or [2001:db8::1]:51820")
        return cls(host, int(port))

    @property
    def address(self) -> IPAddress | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class WgPeer:
    """One peer of a WireGuard interface, as configured (not its live status)."""

    public_key: PublicKey
    allowed_ips: tuple[IPNetwork, ...] = ()
    preshared_key: PresharedKey | None = None
    endpoint: Endpoint | None = None
    persistent_keepalive: int = 0  # seconds, 0 = off
    name: str = ""  # the topology's host name, for messages only (not compared)

    def same_config(self, other: "WgPeer") -> bool:
        """Equal as `wg syncconf` compares peers (names ignored, AllowedIPs as a set)."""
        return (self.public_key == other.public_key
                and set(self.allowed_ips) == set(other.allowed_ips)
                and self.preshared_key == other.preshared_key
                and self.endpoint == other.endpoint
                and self.persistent_keepalive == other.persistent_keepalive)


@dataclass(frozen=True, slots=True)
class WgDevice:
    """A WireGuard interface: its own key and port, and its peers."""

    name: str
    private_key: PrivateKey | None = None
    listen_port: int | None = None
    fwmark: int = 0
    peers: tuple[WgPeer, ...] = ()

    def peer(self, key: PublicKey) -> WgPeer | None:
        return next((p for p in self.peers if p.public_key == key), None)


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """What a live device reports about a peer beyond its configuration."""

    public_key: PublicKey
    endpoint: Endpoint | None = None
    latest_handshake: float = 0.0  # unix time, 0 = never
    rx_bytes: int = 0
    tx_bytes: int = 0


@dataclass(frozen=True, slots=True)
class LiveDevice:
    """A device as read from the kernel or a UAPI socket: config plus status."""

    device: WgDevice
    status: tuple[PeerStatus, ...] = field(default=())
    backend: str = ""  # "kernel" or "userspace"
