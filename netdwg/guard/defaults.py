"""The guard's default paths and its command-line options, in a module that imports
nothing heavy: `netdwg --help` registers every verb, and `netdwg guard --help` must not
pull in asyncio or pyroute2 (netdwg.guard.daemon does)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_CONFIG_PATH = Path("/etc/netdwg/guard.conf")
DEFAULT_STATE_PATH = Path("/run/netdwg/guard.state")
DEFAULT_LEARNED_PATH = Path("/var/lib/netdwg/guard-learned.json")
DEFAULT_STATUS_PATH = Path("/run/netdwg/guard.status")
LEASE_DIR = Path("/run/systemd/netif/leases")  # networkd's lease files
DNS_REFRESH = 300.0  # seconds between re-resolutions of a hub endpoint given by name


def add_path_arguments(parser: argparse.ArgumentParser) -> None:
    """--config, --learned, --status: shared by every guard verb."""
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH,
                        help="guard.conf (default %(default)s)")
    parser.add_argument("--learned", type=Path, default=DEFAULT_LEARNED_PATH,
                        help="learned fingerprints (default %(default)s)")
    parser.add_argument("--status", type=Path, default=DEFAULT_STATUS_PATH,
                        help="the running guard's status file (default %(default)s)")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The daemon's options (netdwg-guard and `netdwg guard run`)."""
    add_path_arguments(parser)
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE_PATH,
                        help="record of changes (default %(default)s)")
    parser.add_argument("--leases", type=Path, default=LEASE_DIR, help="networkd lease directory (default %(default)s)")
    parser.add_argument("--no-dbus", action="store_true", help="do not use D-Bus (netlink and lease files only)")
    parser.add_argument("--dns-refresh", type=float, default=DNS_REFRESH, metavar="SECONDS",
                        help="re-resolve a hub endpoint given by name this often (default %(default)g)")
    parser.add_argument("--foreground", action="store_true", help="log to stderr even under systemd")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging (reaction times, D-Bus)")


def build_parser(prog: str = "netdwg-guard") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Keep a roaming laptop's office LANs off the tunnel while it is really in\n"
                    "that office, and in the tunnel everywhere else. Configured by\n"
                    "/etc/netdwg/guard.conf, which 'netdwg render' writes for guard = yes.\n",
        epilog="examples:\n  netdwg-guard --foreground --verbose\n"
               "  systemctl enable --now netdwg-guard.service\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser)
    return parser
