"""rtnetlink multicast messages (link, address, route, neighbour) parsed with struct.

Why not pyroute2 for the event stream: 0.9's sync IPRoute.get() runs a fresh
asyncio loop per call, so it had to live in a thread of its own, and that
thread fought the guard's loop for the GIL mid-join (bench_guard: ~10 ms of
a ~15 ms reaction went to hand-offs). A plain socket read on the loop itself
needs no thread. The layouts are the kernel ABI (linux/rtnetlink.h,
if_link.h, if_addr.h, neighbour.h), the same for every pyroute2 version.

`RawMessage` answers the few lookups `events_of` makes (msg["index"],
msg.get_attr("RTA_OIF"), ...) with the values pyroute2 would give, so one
parser serves both dumps (pyroute2) and events (this module).
"""

from __future__ import annotations

import ipaddress
import socket
import struct

RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR = 16, 17, 20, 21
RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWNEIGH, RTM_DELNEIGH = 24, 25, 28, 29
NLMSG_ERROR, NLMSG_OVERRUN = 2, 4

# groups: link, neigh, IPv4 addresses and routes, IPv6 addresses and routes
RTMGRP_LINK, RTMGRP_NEIGH, RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE = 0x1, 0x4, 0x10, 0x40
RTMGRP_IPV6_IFADDR, RTMGRP_IPV6_ROUTE = 0x100, 0x400
GROUPS = (RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE
          | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE)

_NLMSGHDR = struct.Struct("=IHHII")
_RTATTR = struct.Struct("=HH")
_U32 = struct.Struct("=I")

_NAMES = {RTM_NEWLINK: "RTM_NEWLINK", RTM_DELLINK: "RTM_DELLINK", RTM_NEWADDR: "RTM_NEWADDR",
          RTM_DELADDR: "RTM_DELADDR", RTM_NEWROUTE: "RTM_NEWROUTE", RTM_DELROUTE: "RTM_DELROUTE",
          RTM_NEWNEIGH: "RTM_NEWNEIGH", RTM_DELNEIGH: "RTM_DELNEIGH"}


def _ip(data: bytes) -> str | None:
    if len(data) == 4:
        return str(ipaddress.IPv4Address(data))
    if len(data) == 16:
        return str(ipaddress.IPv6Address(data))
    return None


def _u32(data: bytes) -> int | None:
    return _U32.unpack_from(data)[0] if len(data) >= 4 else None


def _string(data: bytes) -> str:
    return data.split(b"\0", 1)[0].decode("utf-8", "replace")


def _mac(data: bytes) -> str | None:
    return ":".join(f"{b:02x}" for b in data) if data else None


# message type -> (fixed header struct, header field names, {attribute number: (name, decoder)})
_LINK = (struct.Struct("=BxHiII"), ("family", "ifi_type", "index", "flags", "change"),
         {3: ("IFLA_IFNAME", _string)})
_ADDR = (struct.Struct("=BBBBI"), ("family", "prefixlen", "flags", "scope", "index"),
         {1: ("IFA_ADDRESS", _ip), 2: ("IFA_LOCAL", _ip)})
_ROUTE = (struct.Struct("=BBBBBBBBI"),
          ("family", "dst_len", "src_len", "tos", "table", "proto", "scope", "type", "flags"),
          {1: ("RTA_DST", _ip), 4: ("RTA_OIF", _u32), 5: ("RTA_GATEWAY", _ip), 6: ("RTA_PRIORITY", _u32),
           7: ("RTA_PREFSRC", _ip), 15: ("RTA_TABLE", _u32)})
_NEIGH = (struct.Struct("=BxxxiHBB"), ("family", "ifindex", "state", "flags", "ndm_type"),
          {1: ("NDA_DST", _ip), 2: ("NDA_LLADDR", _mac)})
_LAYOUTS = {RTM_NEWLINK: _LINK, RTM_DELLINK: _LINK, RTM_NEWADDR: _ADDR, RTM_DELADDR: _ADDR,
            RTM_NEWROUTE: _ROUTE, RTM_DELROUTE: _ROUTE, RTM_NEWNEIGH: _NEIGH, RTM_DELNEIGH: _NEIGH}


class RawMessage:
    """One parsed message: header fields by name, decoded attributes via get_attr."""

    __slots__ = ("fields", "attrs")

    def __init__(self, fields: dict, attrs: dict) -> None:
        self.fields = fields
        self.attrs = attrs

    def __getitem__(self, key: str):
        return self.fields[key]

    def get(self, key: str, default=None):
        return self.fields.get(key, default)

    def get_attr(self, name: str, default=None):
        return self.attrs.get(name, default)

    def __repr__(self) -> str:
        return f"RawMessage({self.fields!r}, {self.attrs!r})"


def _parse_one(mtype: int, payload: bytes) -> RawMessage | None:
    layout = _LAYOUTS.get(mtype)
    if layout is None:
        return None
    header, names, known = layout
    if len(payload) < header.size:
        return None
    fields = dict(zip(names, header.unpack_from(payload)))
    fields["event"] = _NAMES[mtype]
    attrs = {}
    offset = (header.size + 3) & ~3
    while offset + _RTATTR.size <= len(payload):
        length, kind = _RTATTR.unpack_from(payload, offset)
        if length < _RTATTR.size:
            break
        entry = known.get(kind & 0x3FFF)  # strip NLA_F_NESTED / NLA_F_NET_BYTEORDER
        if entry is not None and entry[0] not in attrs:
            attrs[entry[0]] = entry[1](payload[offset + _RTATTR.size:offset + length])
        offset += (length + 3) & ~3
    return RawMessage(fields, attrs)


class Overrun(OSError):
    """The kernel reported that multicast messages were lost."""


def parse_messages(data: bytes) -> list[RawMessage]:
    """All link/address/route/neighbour messages in one datagram; other types are skipped."""
    out = []
    offset = 0
    while offset + _NLMSGHDR.size <= len(data):
        length, mtype, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size:
            break
        if mtype == NLMSG_OVERRUN:
            raise Overrun("netlink overrun")
        msg = _parse_one(mtype, data[offset + _NLMSGHDR.size:offset + length])
        if msg is not None:
            out.append(msg)
        offset += (length + 3) & ~3
    return out


def open_monitor_socket(rcvbuf: int = 1 << 20) -> socket.socket:
    """A non-blocking NETLINK_ROUTE socket subscribed to GROUPS."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK, 0)
    try:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        except OSError:
            pass
        sock.bind((0, GROUPS))
    except BaseException:
        sock.close()
        raise
    return sock
