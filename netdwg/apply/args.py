"""The command-line options plan, apply and status share (argparse only: importing this is cheap)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from netdwg.topology.inputs import add_topology_argument


def seconds(text: str) -> float:
    """An argparse type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e9:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def add_source_arguments(parser) -> None:
    source = parser.add_argument_group("what the host should have (one of)")
    source.add_argument("--from", dest="from_dir", metavar="DIR", type=Path,
                        help="a directory of files rendered for this host, laid out as under / "
                             "(DIR/etc/systemd/network/50-wg0.netdev)")
    add_topology_argument(source)
    # The topology is used when named, or when the default file exists: without it,
    # status falls back to the files installed on the host.
    parser.set_defaults(topology=None)
    source.add_argument("--host", metavar="NAME", help="this host's name in the topology (default: the short host name)")
    parser.add_argument("--root", metavar="DIR", type=Path, default=Path("/"),
                        help="plan/apply against a directory tree instead of the live system "
                             "(files only: no device, networkd, nftables or sysctl changes)")
    parser.add_argument("--state-dir", metavar="DIR", type=Path,
                        default=Path(os.environ["NETDWG_STATE_DIR"]) if os.environ.get("NETDWG_STATE_DIR") else None,
                        help="where netdwg keeps its list of managed files and backups "
                             "(default $NETDWG_STATE_DIR, else ROOT/var/lib/netdwg)")
