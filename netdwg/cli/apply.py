"""`netdwg apply`: make this host match its configuration, safely."""

from __future__ import annotations

import json
import os
import signal
import time

from netdwg.apply.args import add_source_arguments, seconds
from netdwg.apply.confirm import (CONFIRM_FILE, build_record, clear_record, recover, refuse_while_waiting,
                                  wait_for_confirmation, write_record)
from netdwg.apply.execute import apply_plan
from netdwg.apply.session import announce, is_live, make_ports, open_session
from netdwg.cli import HelpFormatter
from netdwg.errors import EXIT_OK, NotPermittedError
from netdwg.plan.show import format_plan, plan_to_json

DESCRIPTION = """\
Execute the plan `netdwg plan` shows, announcing every step ([#] ...):
files are written permission-first and atomically (backups kept in the state
directory), sysctls set live, table inet netdwg replaced in one nft
transaction, WireGuard peers changed live with `wg syncconf` semantics (only
what differs; other peers keep their sessions and endpoints), then networkd
is asked to Reload/ReconfigureLink and awaited. Any failure rolls back what
was applied and exits non-zero; a rerun after a crash converges.
"""

EPILOG = """\
examples:
  netdwg apply --from /srv/rendered/relay
  netdwg apply --topology /etc/netdwg/netdwg.conf --host relay --confirm 60
        keep the change only if confirmed (Enter) within 60 s, else revert:
        use this when you reach the host through the tunnel you are changing
  netdwg apply --from out/relay --root /tmp/image   build an image tree, touch nothing live
  netdwg apply --recover
        revert what an apply --confirm killed or rebooted while waiting left unconfirmed

exit status: 0 applied (or nothing to do), 2 bad input or failed and rolled back,
77 not root for a live apply.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("apply", help="make this host match its configuration", description=DESCRIPTION,
                                   epilog=EPILOG, formatter_class=HelpFormatter)
    add_source_arguments(parser)
    parser.add_argument("--confirm", metavar="SECONDS", type=seconds,
                        help="revert automatically unless confirmed within SECONDS (like netplan try)")
    parser.add_argument("--recover", action="store_true",
                        help="only revert a change an interrupted --confirm run left unconfirmed (killed, or "
                             "the host rebooted), then exit; netdwg-recover.service runs this at boot")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and stop (same as netdwg plan)")
    parser.add_argument("--wait", metavar="SECONDS", type=seconds, default=30.0,
                        help="how long to wait for networkd to configure links (default 30)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.recover:
        return run_recover(args)
    session = open_session(args, need_root=not args.dry_run)
    plan = session.plan
    state_dir = session.ports.files.state_dir
    if not args.dry_run:
        # Even when there is nothing to do: a killed run may have left temp files behind.
        for path in session.ports.files.sweep_temp_files(tuple(f.path for f in session.desired.files)):
            announce(f"removed stale temp file {path} (an earlier apply was interrupted)")
    if args.dry_run or plan.is_empty:
        if args.json:
            print(json.dumps({"applied": False, "plan": plan_to_json(plan)}))
        else:
            print(format_plan(plan), end="")
        return EXIT_OK
    session.ports.wait_timeout = args.wait
    started = time.monotonic()
    record = None
    if args.confirm is not None:
        # Written before the first change: a kill -9 or reboot from here on is reverted by the next run.
        def record(transaction) -> None:
            write_record(session.ports.files, build_record(transaction, plan, args.confirm))
    try:
        transaction = apply_plan(plan, session.ports, session.desired, session.observed, announce, record)
    except BaseException:
        if record is not None:
            clear_record(session.ports.files)  # the transaction rolled back already
        raise
    kept = True
    if args.confirm is not None:
        kept = wait_for_confirmation(args.confirm, state_dir / CONFIRM_FILE, announce)
        problems = []
        if not kept:
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_IGN)  # a half-done revert is the one thing worse than none
            announce(f"no confirmation within {args.confirm:g} s: reverting")
            problems = transaction.rollback()
            if problems:
                announce("revert incomplete: " + "; ".join(problems) + " (netdwg apply --recover retries)")
        if not problems:
            clear_record(session.ports.files)
    elapsed = time.monotonic() - started
    try:
        if args.json:
            print(json.dumps({"applied": kept, "reverted": not kept, "seconds": round(elapsed, 3),
                              "plan": plan_to_json(plan)}))
        else:
            print(f"{'applied' if kept else 'reverted'}: {len(plan.steps())} change(s) in {elapsed:.2f} s")
    except OSError:
        pass  # nobody is reading any more; the exit code still says what happened
    return EXIT_OK if kept else 2


def run_recover(args) -> int:
    """Only revert what an interrupted `apply --confirm` left (boot-time oneshot, or by hand)."""
    if is_live(args) and os.geteuid() != 0:
        raise NotPermittedError("reverting on the live system needs root", fix="run it with sudo")
    reverted = recover(make_ports(args, writing=True), announce, refuse_while_waiting)
    print("reverted the unconfirmed change" if reverted else "nothing to recover")
    return EXIT_OK
