"""`netdwg resolve`: endpoints that follow DNS, set live for peers that have gone quiet."""

from __future__ import annotations

from netdwg.apply.args import add_source_arguments, seconds
from netdwg.cli import HelpFormatter
from netdwg.errors import EXIT_OK, EXIT_WARNINGS

DESCRIPTION = """\
For each peer whose endpoint in the configuration is a DNS name and whose
latest handshake is older than --after seconds (default 135), resolve the
name again and, when it now names another address, set that peer's endpoint
live (UAPI socket or genetlink, update_only): no other peer is touched.
Each change is announced ([#] wg set ...). networkd, wg-quick, wireguard-go
and the kernel resolve a name once (systemd issue #9911).
With --every SECONDS it keeps doing so (netdwg-resolve.service).
"""

EPILOG = """\
examples:
  netdwg resolve                                  once, for this host's topology part
  netdwg resolve --topology net.conf --host oslo --after 0    resolve every named peer now
  netdwg resolve --every 30                       keep following (the service does this)

exit status: 0 nothing to do or moved, 1 a name did not resolve, 2 bad input, 77 not permitted.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("resolve", help="re-resolve DNS endpoints of quiet peers, live",
                                   description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter)
    add_source_arguments(parser)
    parser.add_argument("--after", metavar="SECONDS", type=float, default=135.0,
                        help="resolve peers without a handshake for this long (default 135; 0: every named peer)")
    parser.add_argument("--every", metavar="SECONDS", type=seconds,
                        help="repeat every SECONDS instead of running once")
    parser.add_argument("--json", action="store_true", help="print what moved as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    import json
    import time

    from netdwg.apply.follow_dns import follow_dns
    from netdwg.apply.session import announce, open_session, resolve_endpoint

    while True:
        session = open_session(args, need_root=True)
        moved = follow_dns(session, time.time(), args.after, resolve_endpoint, announce)
        if args.json:
            print(json.dumps([{"interface": m.interface, "peer": m.peer, "name": str(m.name),
                               "old": str(m.old) if m.old else None, "new": str(m.new) if m.new else None,
                               "error": m.error or None} for m in moved]), flush=True)
        if args.every is None:
            return EXIT_WARNINGS if any(m.error for m in moved) else EXIT_OK
        time.sleep(args.every)
