"""Address rules: AllowedIPs overlaps, LAN overlaps, duplicate and out-of-pool addresses.

Every overlap check goes through `find_overlaps` (sort and sweep), so a hub
with 100,000 peers is checked in O(n log n).
"""

from __future__ import annotations

from typing import Iterator

from netdwg.errors import Diagnostic, Severity
from netdwg.lint.facts import Source, derive_peers, facts, make, span_of, subject
from netdwg.lint.overlap import Tagged, find_overlaps
from netdwg.topology.model import Role, Topology


def check_peer_overlaps(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW010: two peers of one interface claim overlapping AllowedIPs.

    WireGuard routes each address to exactly one peer (the last one configured
    wins), so the other peer silently loses that traffic.
    """
    groups: dict[tuple[str, str], list] = {}
    for peer in derive_peers(topology):
        groups.setdefault((peer.host, peer.interface), []).append(peer)
    for (host, interface), peers in groups.items():
        if len(peers) < 2:
            continue  # one peer cannot overlap itself (a spoke's single hub peer)
        items = [Tagged(prefix, peer.peer, source) for peer in peers for prefix, source in peer.prefixes]
        for hit in find_overlaps(items):
            outer, inner = hit.outer, hit.inner
            if outer.tag.key == inner.tag.key == "address" and outer.prefix == inner.prefix:
                continue  # a duplicate VPN address: NDW013 reports it once, at its source
            if outer.tag.owner == inner.tag.owner == "network":
                continue  # the pool towards one hub appears in one peer only; see NDW012 for pool overlaps
            yield make(
                "NDW010", Severity.ERROR,
                f"on {interface}, AllowedIPs {inner.prefix} of peer '{inner.owner}' overlaps "
                f"{outer.prefix} of peer '{outer.owner}'; WireGuard sends that traffic to one of them only",
                span_of(topology, inner.tag.owner, inner.tag.key), subject(host),
                fix=f"give '{inner.owner}' and '{outer.owner}' disjoint prefixes "
                    f"(check the {inner.tag.key} of '{inner.tag.owner}' and the {outer.tag.key} of '{outer.tag.owner}')")


def check_lan_overlaps(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW011: a LAN (or transfer network) overlaps the VPN pool. NDW012: two LANs overlap."""
    items: list[Tagged] = []
    for index, prefix in enumerate(topology.network.pool):
        items.append(Tagged(prefix, ("pool", index), Source("network", "pool")))
    for host in topology.hosts:
        for index, prefix in enumerate(host.lan_prefixes):
            items.append(Tagged(prefix, (host.name, index), Source(host.name, "lan")))
    for pair in topology.pairs:
        items.append(Tagged(pair.transfer, ("pair", pair.name), Source(f"pair {pair.name}", "transfer")))
    for hit in find_overlaps(items):
        outer, inner = hit.outer, hit.inner
        if outer.tag.owner == "network" and inner.tag.owner == "network":
            yield make("NDW012", Severity.ERROR, f"pool prefixes {outer.prefix} and {inner.prefix} overlap",
                       span_of(topology, "network", "pool"), "[network]", fix="list each pool prefix once, disjoint")
            continue
        if "network" in (outer.tag.owner, inner.tag.owner):
            other = inner if outer.tag.owner == "network" else outer
            pool = outer if other is inner else inner
            what = "transfer network" if other.tag.key == "transfer" else "LAN"
            yield make(
                "NDW011", Severity.ERROR,
                f"{what} {other.prefix} overlaps the VPN pool {pool.prefix}",
                span_of(topology, other.tag.owner, other.tag.key), _who(other.tag.owner),
                fix=f"renumber the {what} or the pool so they are disjoint; an address cannot be both in the tunnel and on the {what}")
            continue
        yield make(
            "NDW012", Severity.ERROR,
            f"{_label(inner)} {inner.prefix} overlaps {_label(outer)} {outer.prefix} of {_who(outer.tag.owner)}",
            span_of(topology, inner.tag.owner, inner.tag.key), _who(inner.tag.owner),
            fix="routed networks must be disjoint: renumber one of them (or join them with NAT outside netdwg)")


def _label(item: Tagged) -> str:
    return "transfer network" if item.tag.key == "transfer" else "LAN"


def _who(owner: str) -> str:
    if owner.startswith("pair "):
        return f"pair '{owner[5:]}'"
    return "[network]" if owner == "network" else subject(owner)


def check_addresses(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW013: duplicate or missing VPN addresses. NDW014: addresses outside the pool."""
    pool = topology.network.pool
    if not pool and any(h.addresses for h in topology.hosts):
        yield make("NDW014", Severity.ERROR, "the network has no pool, so no VPN address is inside it",
                   topology.network.span("pool"), "[network]", fix="set pool = 10.99.0.0/16 (and/or an IPv6 /64)")
        return
    seen: dict = {}
    for host in topology.hosts:
        if not host.addresses and (host.role is not Role.SITE or facts(topology).hub is not None or not topology.pairs_of(host.name)):
            yield make("NDW013", Severity.ERROR, "has no VPN address", host.span("address"), subject(host),
                       fix=f"add address = <a free address in {', '.join(map(str, pool)) or 'the pool'}>")
        for address in host.addresses:
            first = seen.setdefault(address, host.name)
            if first != host.name:
                yield make("NDW013", Severity.ERROR, f"address {address} is already used by host '{first}'",
                           host.span("address"), subject(host), fix=f"pick a free address for '{host.name}'")
            inside = [p for p in pool if p.version == address.version and address in p]
            if not inside:
                family = [str(p) for p in pool if p.version == address.version]
                yield make("NDW014", Severity.ERROR,
                           f"address {address} is outside the pool ({', '.join(family) or f'no IPv{address.version} pool'})",
                           host.span("address"), subject(host),
                           fix=f"use an address inside {', '.join(family)}" if family else
                               f"add an IPv{address.version} prefix to the pool in [network], or drop this address")
            elif address.version == 4 and inside[0].prefixlen < 31 and address in (
                    inside[0].network_address, inside[0].broadcast_address):
                yield make("NDW014", Severity.ERROR,
                           f"address {address} is the {'network' if address == inside[0].network_address else 'broadcast'} "
                           f"address of the pool {inside[0]}", host.span("address"), subject(host),
                           fix="pick a host address inside the pool")
