"""systemd-networkd's DHCPv4 lease files, watched with watchdog (inotify).

On networkd 252 a renewal, or a new lease with the same address (another
router, another DNS domain), emits no D-Bus signal at all; only
/run/systemd/netif/leases/<ifindex> is rewritten (platform-facts 1). The file
says "Do not parse" — we read only the few keys that have kept their names
since v219 and accept their absence.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
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


class LeaseWatcher:
    """Delivers lease events to the loop. Watches the lease directory when it
    exists, else its parent (networkd creates `leases/` on its first lease)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Callable[[list, float], None],
                 directory: Path = LEASE_DIR) -> None:
        self.loop = loop
        self.deliver = deliver
        self.directory = directory
        self._observer = None
        self._known: dict[str, str] = {}  # file name -> dev, so a deleted file can be mapped
        self._last: dict[str, object] = {}  # file name -> last event delivered (no repeats)

    def start(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):
                # Only changes: our own reads raise "opened" and "closed_no_write"
                # (watchdog >= 2.3), which would feed back into another read.
                if event.event_type not in ("created", "modified", "moved", "deleted", "closed"):
                    return
                for attr in ("src_path", "dest_path"):
                    path = getattr(event, attr, "") or ""
                    if isinstance(path, bytes):
                        path = path.decode()
                    if path:
                        watcher._changed(Path(path))

        self._handler = Handler()
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self._watch = None
        self.rearm()
        self.rescan()

    def rearm(self) -> None:
        """Watch the lease directory, or its parent until networkd creates it (never
        anything wider: a recursive watch of / would cost an inotify watch per directory)."""
        target = next((d for d in (self.directory, self.directory.parent) if d.is_dir()), None)
        current = getattr(self._watch, "path", None)
        if target is None or (current is not None and Path(current) == target):
            return
        if self._watch is not None:
            self._observer.unschedule(self._watch)
        self._watch = self._observer.schedule(self._handler, str(target), recursive=target != self.directory)

    def rescan(self) -> None:
        """Read every lease file again (start, networkd restart); only changes are passed on."""
        try:
            names = sorted(p for p in self.directory.iterdir() if p.name.isdigit())
        except OSError:
            names = []
        for path in names:
            self._changed(path)

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()

    def _changed(self, path: Path) -> None:
        if path.parent != self.directory or not path.name.isdigit():
            if path == self.directory:  # networkd created it: watch it directly from now on
                self.loop.call_soon_threadsafe(self.rearm)
                self.rescan()
            return
        event = read_lease_event(path)
        if event is None and path.name in self._known:
            event = LeaseGone(self._known[path.name], SOURCE)
        if isinstance(event, LeaseSeen):
            self._known[path.name] = event.lease.dev
        if event is not None and self._last.get(path.name) != event:
            self._last[path.name] = event
            self._hand_over([event])

    def _hand_over(self, events: list) -> None:
        if events:
            import time

            try:
                self.loop.call_soon_threadsafe(self.deliver, events, time.monotonic())
            except RuntimeError:
                pass
