"""A minimal rtnetlink writer for the guard's reaction path: exact route add and
delete, route existence, neighbour flush. Stdlib only.

Why not pyroute2 here: on 0.9 each sync call runs its own event loop (about
1-10 ms per call and unusable inside our asyncio loop, so every change needed
a thread hop), while the reaction target is 20 ms end to end. These few
messages are fixed by the kernel ABI (linux/rtnetlink.h) and identical for
0.7 and 0.9 users; pyroute2 stays for full dumps (events: sources/nlmsg.py).
"""

from __future__ import annotations

import errno
import itertools
import os
import socket
import struct

from netdwg.guard.observed import Route
from netdwg.guard.policy import AddRule

NETLINK_ROUTE = 0
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_DELNEIGH = 29
RTM_NEWRULE, RTM_DELRULE = 32, 33
FRA_PRIORITY, FRA_TABLE = 6, 15  # linux/fib_rules.h
FR_ACT_TO_TBL = 1
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x1, 0x4, 0x200, 0x400, 0x300
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC, RTA_TABLE = 1, 4, 5, 6, 7, 15
NDA_DST = 1
RTN_UNICAST = 1
RT_SCOPE_NOWHERE = 255
RT_TABLE_UNSPEC = 0

_NLMSGHDR = struct.Struct("=IHHII")
_RTMSG = struct.Struct("=BBBBBBBBI")
_NDMSG = struct.Struct("=BxxxiHBB")
_FIB_RULE_HDR = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, res1, res2, action, flags
_RTATTR = struct.Struct("=HH")


class NetlinkError(OSError):
    pass


def _attr(kind: int, payload: bytes) -> bytes:
    length = _RTATTR.size + len(payload)
    return _RTATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def _attrs(data: bytes):
    offset = 0
    while offset + _RTATTR.size <= len(data):
        length, kind = _RTATTR.unpack_from(data, offset)
        if length < _RTATTR.size:
            break
        yield kind, data[offset + _RTATTR.size:offset + length]
        offset += (length + 3) & ~3


def _family(route: Route) -> int:
    return socket.AF_INET if route.dst.version == 4 else socket.AF_INET6


class RtnlRoutes:
    """Route changes over a plain NETLINK_ROUTE socket, with kernel acks. One thread at a time."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self._sock.bind((0, 0))  # no multicast groups: only our replies arrive here
        self._seq = itertools.count(int.from_bytes(os.urandom(2), "little"))

    def close(self) -> None:
        self._sock.close()

    def ifindex(self, dev: str) -> int:
        try:
            return socket.if_nametoindex(dev)
        except OSError:
            raise NetlinkError(errno.ENODEV, f"no such interface {dev!r}") from None

    def _request(self, kind: int, flags: int, body: bytes) -> list[tuple[int, bytes]]:
        seq = next(self._seq) & 0xFFFFFFFF
        self._sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, flags | NLM_F_REQUEST, seq, 0) + body)
        replies: list[tuple[int, bytes]] = []
        while True:
            data = self._sock.recv(65536)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, mtype, _flags, rseq, _pid = _NLMSGHDR.unpack_from(data, offset)
                payload = data[offset + _NLMSGHDR.size:offset + length]
                offset += (length + 3) & ~3
                if rseq != seq:
                    continue  # a late reply to an earlier request
                if mtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", payload)[0]
                    if code:
                        raise NetlinkError(code, os.strerror(code))
                    return replies  # the ack
                if mtype == NLMSG_DONE:
                    return replies
                replies.append((mtype, payload))

    def _route_body(self, route: Route, delete: bool) -> bytes:
        table = route.table if route.table < 256 else RT_TABLE_UNSPEC  # RTA_TABLE carries it
        if delete:  # scope NOWHERE, protocol 0 and type 0 mean "any" to fib_table_delete
            header = _RTMSG.pack(_family(route), route.dst.prefixlen, 0, 0, table, 0, RT_SCOPE_NOWHERE, 0, 0)
        else:
            header = _RTMSG.pack(_family(route), route.dst.prefixlen, 0, 0, table, route.proto, route.scope,
                                 RTN_UNICAST, 0)
        body = header + _attr(RTA_DST, route.dst.network_address.packed)
        body += _attr(RTA_OIF, struct.pack("=I", self.ifindex(route.dev)))
        body += _attr(RTA_PRIORITY, struct.pack("=I", route.metric))
        body += _attr(RTA_TABLE, struct.pack("=I", route.table))
        if not delete and route.gateway is not None:
            body += _attr(RTA_GATEWAY, route.gateway.packed)
        if not delete and route.prefsrc is not None:
            body += _attr(RTA_PREFSRC, route.prefsrc.packed)
        return body

    def add_route(self, route: Route) -> None:
        try:
            self._request(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, self._route_body(route, False))
        except NetlinkError as err:
            if err.errno != errno.EEXIST:  # already there: fine (idempotent undo/redo)
                raise

    def exists(self, route: Route) -> bool:
        oif = self.ifindex(route.dev)
        header = _RTMSG.pack(_family(route), 0, 0, 0, 0, 0, 0, 0, 0)
        for mtype, payload in self._request(RTM_GETROUTE, NLM_F_DUMP, header):
            if mtype != RTM_NEWROUTE or len(payload) < _RTMSG.size:
                continue
            _fam, dst_len, _s, _t, table, _p, _sc, _ty, _f = _RTMSG.unpack_from(payload)
            attrs = dict(_attrs(payload[_RTMSG.size:]))
            table = struct.unpack("=I", attrs[RTA_TABLE])[0] if RTA_TABLE in attrs else table
            dst = attrs.get(RTA_DST, b"\0" * (4 if route.dst.version == 4 else 16))
            metric = struct.unpack("=I", attrs[RTA_PRIORITY])[0] if RTA_PRIORITY in attrs else 0
            got_oif = struct.unpack("=I", attrs[RTA_OIF])[0] if RTA_OIF in attrs else 0
            if (dst_len, dst, table, metric, got_oif) == (route.dst.prefixlen, route.dst.network_address.packed,
                                                          route.table, route.metric, oif):
                return True
        return False

    def delete_route(self, route: Route, seen_present: bool = False) -> None:
        # The kernel treats metric 0 in a delete as "any metric": deleting an absent
        # metric-0 route would delete another metric's route on the same prefix and
        # device. Check first unless the events just showed it.
        if route.metric == 0 and not seen_present and not self.exists(route):
            return
        try:
            self._request(RTM_DELROUTE, NLM_F_ACK, self._route_body(route, True))
        except NetlinkError as err:
            if err.errno not in (errno.ESRCH, errno.ENOENT, errno.ENODEV):
                raise

    def _rule_body(self, rule: AddRule) -> bytes:
        family = socket.AF_INET if rule.family == 4 else socket.AF_INET6
        header = _FIB_RULE_HDR.pack(family, 0, 0, 0, rule.table if rule.table < 256 else RT_TABLE_UNSPEC,
                                    0, 0, FR_ACT_TO_TBL, 0)
        return header + _attr(FRA_PRIORITY, struct.pack("=I", rule.priority)) + _attr(
            FRA_TABLE, struct.pack("=I", rule.table))

    def add_rule(self, rule: AddRule) -> None:
        try:
            self._request(RTM_NEWRULE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, self._rule_body(rule))
        except NetlinkError as err:
            if err.errno != errno.EEXIST:  # the same rule already there: fine (idempotent undo/redo)
                raise

    def delete_rule(self, rule: AddRule) -> None:
        try:
            self._request(RTM_DELRULE, NLM_F_ACK, self._rule_body(rule))
        except NetlinkError as err:
            if err.errno not in (errno.ENOENT, errno.ESRCH):
                raise

    def forget_neighbour(self, dev: str, ip) -> None:
        """Drop an unresolved neighbour entry so the next packet sends a fresh ARP/NS at once
        instead of waiting for the kernel's 1 s retransmit timer."""
        family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
        try:
            body = _NDMSG.pack(family, self.ifindex(dev), 0, 0, 0) + _attr(NDA_DST, ip.packed)
            self._request(RTM_DELNEIGH, NLM_F_ACK, body)
        except NetlinkError:
            pass  # gone already, or resolved meanwhile
