"""Endpoints that follow DNS: a peer whose configured endpoint is a DNS name gets the name's current
address, live, when its last handshake is older than a threshold.

networkd resolves `Endpoint=` once (systemd issue #9911), and so do wg-quick, wireguard-go and the
kernel: a hub whose name moves to a new address is lost until someone re-sets the endpoint. This
re-resolves only peers that have gone quiet (default 135 s: a working session re-handshakes every
120 s, WireGuard's REKEY_AFTER_TIME, so a peer silent longer is not answering at its old address;
a working session is never moved) and changes only that peer's endpoint, with `update_only`, so
every other peer keeps its session and roamed endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from netdwg.errors import NetdwgError
from netdwg.plan import PeerChange
from netdwg.wireguard import Endpoint

DEFAULT_AFTER = 135.0  # seconds without a handshake before a name is resolved again


@dataclass(frozen=True, slots=True)
class Moved:
    interface: str
    peer: str
    name: Endpoint  # as configured
    old: Endpoint | None  # the live endpoint before
    new: Endpoint | None  # the address the name resolves to now (None: resolution failed)
    error: str = ""


def named_peers_due(desired, observed, now: float, after: float):
    """(interface, configured peer, live endpoint) of every DNS-named peer quiet for `after` seconds."""
    for device in desired.devices:
        live = observed.device(device.name)
        if live is None:
            continue
        status = {s.public_key: s for s in live.status}
        for peer in device.peers:
            if peer.endpoint is None or peer.endpoint.address is not None or peer.public_key not in status:
                continue
            seen = status[peer.public_key]
            if now - seen.latest_handshake >= after:
                yield device.name, peer, seen.endpoint


def follow_dns(session, now: float, after: float, resolve, announce) -> list[Moved]:
    """Set each due peer's endpoint to what its name resolves to now, when that differs from the live one.

    `resolve(endpoint) -> "ADDR:PORT"` is netdwg.host.uapi.format_endpoint on a live host.
    """
    moved = []
    for ifname, peer, live_endpoint in named_peers_due(session.desired, session.observed, now, after):
        label = peer.name or peer.public_key.short()
        try:
            new = Endpoint.parse(resolve(peer.endpoint))
        except NetdwgError as err:
            announce(f"peer {label}: cannot resolve {peer.endpoint.host}: {err}")
            moved.append(Moved(ifname, label, peer.endpoint, live_endpoint, None, str(err)))
            continue
        if live_endpoint is not None and new.address == live_endpoint.address and new.port == live_endpoint.port:
            continue
        link = session.ports.wg(ifname)
        announce(f"wg set {ifname} peer {label} endpoint {new} ({peer.endpoint.host} resolved anew, was "
                 f"{live_endpoint or 'none'})")
        link.apply_peer(PeerChange(ifname, "update", replace(peer, endpoint=new), ("endpoint",)))
        moved.append(Moved(ifname, label, peer.endpoint, live_endpoint, new))
    return moved
