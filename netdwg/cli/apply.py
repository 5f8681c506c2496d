"""`netdwg apply`: make this host match its configuration, safely."""

from __future__ import annotations

import argparse
import json
import select
import signal
import sys
import time
from pathlib import Path

from netdwg.apply.args import add_source_arguments
from netdwg.errors import EXIT_OK

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

exit status: 0 applied (or nothing to do), 2 bad input or failed and rolled back,
77 not root for a live apply.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("apply", help="make this host match its configuration", description=DESCRIPTION,
                                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_arguments(parser)
    parser.add_argument("--confirm", metavar="SECONDS", type=float,
                        help="revert automatically unless confirmed within SECONDS (like netplan try)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and stop (same as netdwg plan)")
    parser.add_argument("--wait", metavar="SECONDS", type=float, default=30.0,
                        help="how long to wait for networkd to configure links (default 30)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    parser.set_defaults(func=run)


def _announce(text: str) -> None:
    try:
        print(f"[#] {text}", file=sys.stderr, flush=True)
    except OSError:
        pass  # the terminal is gone (ssh dropped): keep going, a revert must still happen


def run(args) -> int:
    from netdwg.apply.execute import apply_plan
    from netdwg.apply.session import open_session
    from netdwg.plan.show import format_plan, plan_to_json

    session = open_session(args, need_root=not args.dry_run)
    plan = session.plan
    if not args.dry_run:
        # Even when there is nothing to do: a killed run may have left temp files behind.
        for path in session.ports.files.sweep_temp_files(tuple(f.path for f in session.desired.files)):
            _announce(f"removed stale temp file {path} (an earlier apply was interrupted)")
    if args.dry_run or plan.is_empty:
        if args.json:
            print(json.dumps({"applied": False, "plan": plan_to_json(plan)}))
        else:
            print(format_plan(plan), end="")
        return EXIT_OK
    session.ports.wait_timeout = args.wait
    started = time.monotonic()
    transaction = apply_plan(plan, session.ports, session.desired, session.observed, _announce)
    kept = True
    if args.confirm is not None:
        kept = wait_for_confirmation(args.confirm, session.ports.files.state_dir / "confirm")
        if not kept:
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_IGN)  # a half-done revert is the one thing worse than none
            _announce(f"no confirmation within {args.confirm:g} s: reverting")
            problems = transaction.rollback()
            if problems:
                _announce("revert incomplete: " + "; ".join(problems))
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


def wait_for_confirmation(seconds: float, confirm_file: Path) -> bool:
    """True when the admin confirms in time: Enter on stdin, or `touch STATE_DIR/confirm`.

    SIGHUP (the admin's ssh session died, maybe cut off by this very change),
    SIGTERM and SIGINT end the wait without confirmation: the caller reverts.
    Without this, the hangup would kill netdwg and leave the change in place.
    """
    hung_up = []

    def give_up(signum, frame) -> None:
        hung_up.append(signum)

    previous = {sig: signal.signal(sig, give_up) for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
    try:
        return _wait(seconds, confirm_file, hung_up)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait(seconds: float, confirm_file: Path, hung_up: list) -> bool:
    confirm_file.unlink(missing_ok=True)
    _announce(f"press Enter within {seconds:g} s to keep the change "
              f"(or touch {confirm_file}); otherwise it is reverted")
    deadline = time.monotonic() + seconds
    stdin_open = sys.stdin is not None and not sys.stdin.closed
    while time.monotonic() < deadline:
        if hung_up:
            _announce(f"signal {signal.Signals(hung_up[0]).name} while waiting: nobody can confirm")
            return False
        if confirm_file.exists():
            confirm_file.unlink(missing_ok=True)
            return True
        timeout = min(0.2, max(0.0, deadline - time.monotonic()))
        if stdin_open:
            try:
                ready, _, _ = select.select([sys.stdin], [], [], timeout)
                line = sys.stdin.readline() if ready else None
            except (OSError, ValueError, InterruptedError):
                stdin_open, ready, line = False, [], None  # the terminal went away
            if ready:
                if line == "":
                    stdin_open = False  # EOF: nobody will type; keep waiting for the file
                else:
                    return True
        else:
            time.sleep(timeout)
    return False
