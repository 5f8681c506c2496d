"""The guard's rtnetlink event parser on hand-built kernel messages (linux/rtnetlink.h layouts)."""

from __future__ import annotations

import ipaddress
import socket
import struct

import pytest

from netdwg.guard.observed import Neighbour, NeighbourGone, NeighbourSeen, Route, RouteAdded
from netdwg.guard.sources.netlink import LinkNames, events_of
from netdwg.guard.sources.nlmsg import Overrun, parse_messages


def attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def nlmsg(mtype: int, body: bytes) -> bytes:
    return struct.pack("=IHHII", 16 + len(body), mtype, 0, 0, 0) + body + b"\0" * (-len(body) % 4)


def links() -> LinkNames:
    names = LinkNames()
    names.names[7] = "lan0"
    return names


def neigh(mtype: int, state: int, mac: bytes | None) -> bytes:
    body = struct.pack("=BxxxiHBB", socket.AF_INET, 7, state, 0, 1)
    body += attr(1, ipaddress.ip_address("172.20.10.1").packed)
    if mac is not None:
        body += attr(2, mac)
    return nlmsg(mtype, body)


def route(metric: int, gateway: str | None) -> bytes:
    body = struct.pack("=BBBBBBBBI", socket.AF_INET, 24, 0, 0, 254, 4, 0, 1, 0)
    body += attr(15, struct.pack("=I", 254)) + attr(1, bytes([172, 20, 10, 0])) + attr(6, struct.pack("=I", metric))
    body += attr(4, struct.pack("=I", 7))
    if gateway:
        body += attr(5, ipaddress.ip_address(gateway).packed)
    return nlmsg(24, body)


def test_a_batch_of_messages_means_the_guards_events_in_order():
    data = route(1024, None) + neigh(28, 0x02, bytes.fromhex("02AABBCCDD01")) + neigh(29, 0x02, None)
    events = [e for m in parse_messages(data) for e in events_of(m, links())]
    assert events == [
        RouteAdded(Route(ipaddress.ip_network("172.20.10.0/24"), "lan0", 1024, table=254, proto=4, scope=0)),
        NeighbourSeen(Neighbour("lan0", ipaddress.ip_address("172.20.10.1"), "02:aa:bb:cc:dd:01")),
        NeighbourGone("lan0", ipaddress.ip_address("172.20.10.1")),
    ]


def test_an_unresolved_neighbour_is_not_a_router_mac():
    (msg,) = parse_messages(neigh(28, 0x01, bytes(6)))  # NUD_INCOMPLETE
    assert events_of(msg, links()) == [NeighbourGone("lan0", ipaddress.ip_address("172.20.10.1"))]


def test_other_and_truncated_messages_are_skipped_not_fatal():
    other = nlmsg(40, b"\0" * 8)  # RTM_NEWRULE's neighbour number: not ours
    short = nlmsg(28, b"\0" * 4)  # shorter than an ndmsg
    bad_attr = nlmsg(28, struct.pack("=BxxxiHBB", socket.AF_INET, 7, 2, 0, 1) + struct.pack("=HH", 2, 1))
    msgs = parse_messages(other + short + bad_attr + b"\1\2\3")
    assert len(msgs) == 1 and msgs[0].get_attr("NDA_DST") is None
    assert events_of(msgs[0], links()) == []


def test_a_kernel_overrun_is_reported_so_the_monitor_re_reads_everything():
    with pytest.raises(Overrun):
        parse_messages(nlmsg(4, b""))
