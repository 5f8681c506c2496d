"""The command-line options plan, apply and status share (argparse only: importing this is cheap)."""

from __future__ import annotations

import os
from pathlib import Path


def add_source_arguments(parser) -> None:
    source = parser.add_argument_group("what the host should have (one of)")
    source.add_argument("--from", dest="from_dir", metavar="DIR", type=Path,
                        help="a directory of files rendered for this host, laid out as under / "
                             "(DIR/etc/systemd/network/50-wg0.netdev)")
    source.add_argument("--topology", metavar="FILE", type=Path,
                        help="the topology file (default /etc/netdwg/netdwg.conf when it exists)")
    source.add_argument("--host", metavar="NAME", help="this host's name in the topology (default: the short host name)")
    parser.add_argument("--root", metavar="DIR", type=Path, default=Path("/"),
                        help="plan/apply against a directory tree instead of the live system "
                             "(files only: no device, networkd, nftables or sysctl changes)")
    parser.add_argument("--state-dir", metavar="DIR", type=Path,
                        default=Path(os.environ["NETDWG_STATE_DIR"]) if os.environ.get("NETDWG_STATE_DIR") else None,
                        help="where netdwg keeps its list of managed files and backups "
                             "(default $NETDWG_STATE_DIR, else ROOT/var/lib/netdwg)")
