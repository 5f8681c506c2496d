"""The guard as a systemd service: sd_notify (READY, STATUS, WATCHDOG, STOPPING)
and journald logging.

systemd-python is optional (pip builds it from source only, and needs
libsystemd-dev): without it we send the notify datagram over
$NOTIFY_SOCKET ourselves and log to stderr, which journald captures anyway.
"""

from __future__ import annotations

import logging
import os
import socket
import sys


def notify(text: str) -> bool:
    """Send `text` (e.g. "READY=1\\nSTATUS=...") to the service manager; False outside systemd."""
    try:
        from systemd import daemon  # type: ignore[import-not-found]

        return bool(daemon.notify(text))
    except ImportError:
        pass
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(text.encode(), address)
        return True
    except OSError:
        return False


def watchdog_interval() -> float | None:
    """Half of WatchdogSec= (systemd's advice), or None when no watchdog is asked for."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and int(pid) != os.getpid()):
        return None
    return int(usec) / 2e6


def setup_logging(verbose: bool = False, foreground: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    root = logging.getLogger("netdwg")
    root.setLevel(level)
    root.handlers.clear()
    handler: logging.Handler | None = None
    if not foreground and os.environ.get("JOURNAL_STREAM"):
        try:
            from systemd.journal import JournalHandler  # type: ignore[import-not-found]

            handler = JournalHandler(SYSLOG_IDENTIFIER="netdwg-guard")
        except ImportError:
            handler = None
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        fmt = "%(message)s" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s netdwg-guard: %(message)s"
        handler.setFormatter(logging.Formatter(fmt))
    root.addHandler(handler)


_memory_baseline = None


def log_memory() -> None:
    """SIGUSR2: log where memory grew since the last SIGUSR2 (run with PYTHONTRACEMALLOC=1)."""
    import tracemalloc

    global _memory_baseline
    if not tracemalloc.is_tracing():
        logging.getLogger("netdwg.guard").info("memory: start with PYTHONTRACEMALLOC=1 to trace allocations")
        return
    snap = tracemalloc.take_snapshot()
    if _memory_baseline is not None:
        for stat in snap.compare_to(_memory_baseline, "lineno")[:15]:
            logging.getLogger("netdwg.guard").info("memory: %s", stat)
    _memory_baseline = snap
