"""`netdwg plan`: what `netdwg apply` would change on this host, touching nothing."""

from __future__ import annotations

import json

from netdwg.apply.args import add_source_arguments
from netdwg.apply.session import open_session
from netdwg.cli import HelpFormatter
from netdwg.errors import EXIT_OK, EXIT_WARNINGS
from netdwg.plan.show import format_plan, plan_to_json

DESCRIPTION = """\
Compare what this host should have (rendered files, or the topology) with what
it has: files under the root, sysctl values, the nftables table inet netdwg,
the live WireGuard devices. Print the plan: file diffs (keys shown as
(hidden)), peers to add/remove/update, sysctl and firewall changes and the
networkd calls. Nothing is changed. `netdwg apply` executes the same plan.
"""

EPILOG = """\
examples:
  netdwg plan --from /srv/rendered/relay          files rendered for this host
  netdwg plan --topology /etc/netdwg/netdwg.conf --host relay
  netdwg plan --from out/relay --root /tmp/image  against a directory tree
  netdwg plan --from out/relay --json | jq .peers

exit status: 0 nothing to do, 1 changes pending, 2 bad input, 77 not permitted.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("plan", help="show what apply would change", description=DESCRIPTION,
                                   epilog=EPILOG, formatter_class=HelpFormatter)
    add_source_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument("--no-diff", action="store_true", help="list the steps without file diffs")
    parser.set_defaults(func=run)


def run(args) -> int:
    session = open_session(args, need_root=False)
    if args.json:
        print(json.dumps(plan_to_json(session.plan), indent=2))
    else:
        print(format_plan(session.plan, diffs=not args.no_diff), end="")
    return EXIT_OK if session.plan.is_empty else EXIT_WARNINGS
