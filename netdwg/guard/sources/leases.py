"""systemd-networkd's DHCPv4 lease files, watched with inotify on the asyncio loop.

On networkd 252 a renewal, or a new lease with the same address (another
router, another DNS domain), emits no D-Bus signal at all; only
/run/systemd/netif/leases/<ifindex> is rewritten. The file
says "Do not parse" — we read only the few keys that have kept their names
since v219 and accept their absence.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import ipaddress
import logging
import os
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from netdwg.guard.defaults import LEASE_DIR  # noqa: F401 (one definition for the CLI and daemon)
from netdwg.guard.observed import Lease, LeaseGone, LeaseSeen

log = logging.getLogger("netdwg.guard")

SOURCE = "lease-file"


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.split()[0]) if text.strip() else None
    except ValueError:
        return None


def parse_lease(text: str, dev: str) -> Lease:
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return Lease(dev=dev, address=_ip(values.get("ADDRESS", "")),
                 server_id=_ip(values.get("SERVER_ADDRESS", "")),
                 router=_ip(values.get("ROUTER", "")),
                 domain=values.get("DOMAINNAME", "").lower().rstrip("."), source=SOURCE)


def read_lease_event(path: Path):
    """LeaseSeen or LeaseGone for one lease file, or None if its link is unknown here."""
    try:
        dev = socket.if_indextoname(int(path.name))
    except (ValueError, OSError):
        return None
    try:
        return LeaseSeen(parse_lease(path.read_text(encoding="utf-8", errors="replace"), dev))
    except FileNotFoundError:
        return LeaseGone(dev, SOURCE)


def read_all_leases(directory: Path = LEASE_DIR) -> list:
    try:
        names = sorted(p for p in directory.iterdir() if p.name.isdigit())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [e for p in names if (e := read_lease_event(p)) is not None]


IN_CLOSE_WRITE, IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x8, 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_Q_OVERFLOW, IN_IGNORED, IN_ONLYDIR = 0x400, 0x800, 0x4000, 0x8000, 0x01000000
IN_NONBLOCK, IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
# changes only: our own reads (IN_OPEN, IN_ACCESS, IN_CLOSE_NOWRITE) must not echo back
_MASK = (IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF
         | IN_ONLYDIR)
_EVENT = struct.Struct("=iIII")


@dataclass(frozen=True, slots=True)
class Watch:
    wd: int
    path: str


def _libc():
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    libc.inotify_add_watch.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
    return libc


class LeaseWatcher:
    """Delivers lease events to the loop. Watches the lease directory when it
    exists, else its parent (networkd creates `leases/` on its first lease).

    A plain inotify descriptor read on the loop itself (ctypes; the kernel ABI
    of inotify(7)), not watchdog: watchdog's emitter and dispatcher threads
    passed each rewrite on as ~8 events, each re-reading the file, and handed
    the lease to the loop 3-10 ms after networkd wrote it (bench_guard), while
    the guard's reaction target is 20 ms."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Callable[[list, float], None],
                 directory: Path = LEASE_DIR) -> None:
        self.loop = loop
        self.deliver = deliver
        self.directory = directory
        self._fd: int | None = None
        self._libc = None
        self._watch: Watch | None = None
        self._known: dict[str, str] = {}  # file name -> dev, so a deleted file can be mapped
        self._last: dict[str, object] = {}  # file name -> last event delivered (no repeats)

    def start(self) -> None:
        self._libc = _libc()
        fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_init1: {os.strerror(err)}")
        self._fd = fd
        self.loop.add_reader(fd, self._readable)
        self.rearm()
        self.rescan()

    def rearm(self) -> None:
        """Watch the lease directory, or its parent until networkd creates it (never
        anything wider: a recursive watch of / would cost an inotify watch per directory)."""
        if self._fd is None:
            return
        target = next((d for d in (self.directory, self.directory.parent) if d.is_dir()), None)
        current = self._watch.path if self._watch is not None else None
        if target is None or current == str(target):
            return
        if self._watch is not None:
            self._libc.inotify_rm_watch(self._fd, self._watch.wd)
            self._watch = None
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(target), _MASK)
        if wd < 0:
            log.warning("cannot watch %s: %s", target, os.strerror(ctypes.get_errno()))
            return
        self._watch = Watch(wd, str(target))

    def rescan(self) -> None:
        """Read every lease file again (start, networkd restart); only changes are passed on."""
        try:
            names = sorted(p for p in self.directory.iterdir() if p.name.isdigit())
        except OSError:
            names = []
        for path in names:
            self._changed(path)

    def stop(self) -> None:
        if self._fd is not None:
            try:
                self.loop.remove_reader(self._fd)
            except (ValueError, RuntimeError):  # loop closed at shutdown
                pass
            os.close(self._fd)
            self._fd = None
            self._watch = None

    def _readable(self) -> None:
        while self._fd is not None:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size:offset + _EVENT.size + length].split(b"\0", 1)[0]
                offset += _EVENT.size + length
                self._event(wd, mask, os.fsdecode(name))

    def _event(self, wd: int, mask: int, name: str) -> None:
        watch = self._watch
        if mask & IN_Q_OVERFLOW:  # events were lost: read everything again
            self.rearm()
            self.rescan()
            return
        if watch is None or wd != watch.wd:
            return
        if mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF):  # the watched directory went
            self._watch = None
            self.rearm()
            self.rescan()
            return
        if watch.path == str(self.directory):
            if name:
                self._changed(self.directory / name)
        elif name == self.directory.name:  # networkd created it: watch it directly from now on
            self.rearm()
            self.rescan()

    def _changed(self, path: Path) -> None:
        if path.parent != self.directory or not path.name.isdigit():
            return
        event = read_lease_event(path)
        if event is None and path.name in self._known:
            event = LeaseGone(self._known[path.name], SOURCE)
        if isinstance(event, LeaseSeen):
            self._known[path.name] = event.lease.dev
        if event is not None and self._last.get(path.name) != event:
            self._last[path.name] = event
            self.deliver([event], time.monotonic())
