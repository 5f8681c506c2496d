"""Netlink address, route, neighbour and link events, as guard events.

Events are read on the asyncio loop from a plain socket (sources/nlmsg.py);
full dumps use pyroute2 in a thread (0.7.2, Debian 12, has no AsyncIPRoute,
and 0.9's sync IPRoute runs its own event loop). Messages of both kinds are
read with msg[field] and get_attr() only, which read the same in pyroute2 0.7
and 0.9 (msg.get('ifname') is 0.9-only) and in nlmsg.RawMessage.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
import time
from typing import Callable

from netdwg.guard.sources.nlmsg import open_monitor_socket, parse_messages
from netdwg.guard.observed import (Address, AddressAdded, AddressRemoved, LinkGone, Neighbour, NeighbourGone,
                                   NeighbourSeen, LinkState, Route, RouteAdded, RouteRemoved, Snapshot)

log = logging.getLogger("netdwg.guard")

RTN_UNICAST = 1
RT_TABLE_LOCAL = 255
NUD_INCOMPLETE = 0x01
NUD_FAILED = 0x20
NUD_NOARP = 0x40
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFF_LOWER_UP = 0x10000


def _carrier(msg) -> bool:
    return bool(msg["flags"] & IFF_UP) and bool(msg["flags"] & IFF_LOWER_UP)


class LinkNames:
    """ifindex -> name, kept current from link messages."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}

    def name(self, index: int) -> str | None:
        name = self.names.get(index)
        if name is None:
            try:
                name = socket.if_indextoname(index)
            except OSError:
                return None
            self.names[index] = name
        return name


def _route(msg, links: LinkNames) -> Route | None:
    if msg["type"] != RTN_UNICAST:
        return None
    table = msg.get_attr("RTA_TABLE") or msg["table"]
    if table == RT_TABLE_LOCAL:
        return None
    oif = msg.get_attr("RTA_OIF")
    dev = links.name(oif) if oif else None
    if dev is None:
        return None
    family = msg["family"]
    dst = msg.get_attr("RTA_DST") or ("0.0.0.0" if family == socket.AF_INET else "::")
    gateway = msg.get_attr("RTA_GATEWAY")
    prefsrc = msg.get_attr("RTA_PREFSRC")
    return Route(dst=ipaddress.ip_network(f"{dst}/{msg['dst_len']}", strict=False), dev=dev,
                 metric=msg.get_attr("RTA_PRIORITY") or 0, table=table, proto=msg["proto"], scope=msg["scope"],
                 gateway=ipaddress.ip_address(gateway) if gateway else None,
                 prefsrc=ipaddress.ip_address(prefsrc) if prefsrc else None)


def _address(msg, links: LinkNames) -> Address | None:
    dev = links.name(msg["index"])
    ip = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
    if dev is None or ip is None:
        return None
    return Address(dev, ipaddress.ip_interface(f"{ip}/{msg['prefixlen']}"))


def _neighbour(msg, links: LinkNames) -> tuple[str, object, str | None] | None:
    dev = links.name(msg["ifindex"])
    ip = msg.get_attr("NDA_DST")
    if dev is None or ip is None:
        return None
    mac = msg.get_attr("NDA_LLADDR")
    usable = mac and not msg["state"] & (NUD_INCOMPLETE | NUD_FAILED)
    return dev, ipaddress.ip_address(ip), (mac.lower() if usable else None)


def events_of(msg, links: LinkNames) -> list:
    """The guard events one netlink message means (often none)."""
    kind = msg["event"]
    if kind in ("RTM_NEWLINK", "RTM_DELLINK"):
        name = msg.get_attr("IFLA_IFNAME")
        if kind == "RTM_DELLINK":
            old = links.names.pop(msg["index"], name)
            return [LinkGone(old)] if old else []
        if name:
            old = links.names.get(msg["index"])
            links.names[msg["index"]] = name
            out = [LinkGone(old)] if old and old != name else []  # renamed: old facts are gone
            return out + [LinkState(name, _carrier(msg), bool(msg["flags"] & IFF_UP))]
        return []
    if kind in ("RTM_NEWADDR", "RTM_DELADDR"):
        addr = _address(msg, links)
        if addr is None:
            return []
        return [AddressAdded(addr, time.monotonic()) if kind == "RTM_NEWADDR" else AddressRemoved(addr)]
    if kind in ("RTM_NEWROUTE", "RTM_DELROUTE"):
        route = _route(msg, links)
        if route is None:
            return []
        return [RouteAdded(route) if kind == "RTM_NEWROUTE" else RouteRemoved(route)]
    if kind in ("RTM_NEWNEIGH", "RTM_DELNEIGH"):
        found = _neighbour(msg, links)
        if found is None:
            return []
        dev, ip, mac = found
        if kind == "RTM_NEWNEIGH" and mac:
            return [NeighbourSeen(Neighbour(dev, ip, mac))]
        return [NeighbourGone(dev, ip)]
    return []


def read_snapshot(ipr, links: LinkNames) -> Snapshot:
    """A full dump with an existing (unbound) IPRoute."""
    down = set()
    for msg in ipr.get_links():
        links.names[msg["index"]] = msg.get_attr("IFLA_IFNAME")
        if not _carrier(msg):
            down.add(msg.get_attr("IFLA_IFNAME"))
    addresses = frozenset(a for m in ipr.get_addr() if (a := _address(m, links)))
    routes = set()
    for family in (socket.AF_INET, socket.AF_INET6):
        routes |= {r for m in ipr.get_routes(family=family) if (r := _route(m, links))}
    neighbours = set()
    for m in ipr.get_neighbours():
        found = _neighbour(m, links)
        if found and found[2]:
            neighbours.add(Neighbour(found[0], found[1], found[2]))
    return Snapshot(addresses, frozenset(routes), frozenset(neighbours), time.monotonic(), frozenset(down))


def unbound_iproute():
    """An IPRoute for requests only. pyroute2 0.9 subscribes every IPRoute to the
    default multicast groups; unread events then fill its buffer until a reply
    is dropped and the request hangs. groups=0 subscribes to nothing (0.7.2
    subscribes only on bind(), and may not know the argument)."""
    from pyroute2 import IPRoute

    try:
        return IPRoute(groups=0)
    except TypeError:
        return IPRoute()


def take_snapshot() -> Snapshot:
    """A fresh dump from a new socket (CLI, tests); not inside a running asyncio loop on pyroute2 0.9."""
    with unbound_iproute() as ipr:
        return read_snapshot(ipr, LinkNames())


class NetlinkMonitor:
    """Reads rtnetlink multicast groups on the asyncio loop itself (a plain socket,
    netdwg.guard.sources.nlmsg) and calls `deliver(events, received_at)` there. On
    start, and after a receive-buffer overflow, it first delivers a full Snapshot
    taken *after* binding (pyroute2, in a thread: 0.9's sync API cannot run inside
    our loop), and reads events only after it, so no change is missed or reordered."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Callable[[list, float], None],
                 early: Callable[[list], None] | None = None) -> None:
        self.loop = loop
        self.deliver = deliver
        self.early = early  # called first: latency-critical side effects (ARP probes)
        self.links = LinkNames()
        self._sock: socket.socket | None = None
        self._stopped = False
        self._dumping = False

    def start(self) -> None:
        self._sock = open_monitor_socket()
        self._resync()

    def stop(self) -> None:
        self._stopped = True
        if self._sock is not None:
            try:
                self.loop.remove_reader(self._sock.fileno())
            except (ValueError, RuntimeError):  # loop closed at shutdown
                pass
            self._sock.close()
            self._sock = None

    def _resync(self) -> None:
        """Stop reading, dump everything in a thread, deliver it, then read the queued events."""
        if self._dumping or self._stopped or self._sock is None:
            return
        self._dumping = True
        try:
            self.loop.remove_reader(self._sock.fileno())
        except ValueError:
            pass
        threading.Thread(target=self._dump, name="netlink-dump", daemon=True).start()

    def _dump(self) -> None:
        while not self._stopped:
            try:
                with unbound_iproute() as dumper:
                    snapshot = read_snapshot(dumper, self.links)
                break
            except Exception:
                log.exception("netlink dump failed; retrying")
                time.sleep(0.5)
        else:
            return
        try:
            self.loop.call_soon_threadsafe(self._resume, snapshot)
        except RuntimeError:  # loop closed at shutdown
            pass

    def _resume(self, snapshot: Snapshot) -> None:
        self._dumping = False
        if self._stopped or self._sock is None:
            return
        self._hand_over([snapshot])
        self.loop.add_reader(self._sock.fileno(), self._readable)
        self._readable()  # what queued up during the dump

    def _hand_over(self, events: list) -> None:
        if not events:
            return
        if self.early is not None:
            try:
                self.early(events)
            except Exception:  # never let a shortcut break the monitor
                log.debug("early hook failed", exc_info=True)
        self.deliver(events, time.monotonic())

    def _readable(self) -> None:
        sock = self._sock
        events: list = []
        try:
            while sock is not None and not self._stopped:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    break
                for msg in parse_messages(data):
                    events.extend(events_of(msg, self.links))
        except OSError as err:  # ENOBUFS or an overrun: we lost messages; re-dump
            self._hand_over(events)
            log.warning("netlink monitor: %s; re-reading everything", err)
            self._resync()
            return
        self._hand_over(events)
