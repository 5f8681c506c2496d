"""The `netdwg` command line: one module per verb, exceptions mapped to exit codes.

Each module in this package that defines ``register(subparsers)`` adds its verb:
it calls ``subparsers.add_parser(NAME, help=..., description=...)`` and sets
``parser.set_defaults(func=run)`` where ``run(args) -> int``. Modules are found
by name, so adding a verb never edits this file.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from typing import Sequence

from netdwg import __version__
from netdwg.errors import EXIT_INTERNAL, InternalError, NetdwgError

PROG = "netdwg"
EPILOG = """\
The usual flow: write /etc/netdwg/netdwg.conf (see netdwg.conf(5)), then
  netdwg lint                      check it, every problem at once
  netdwg render --out DIR          see every host's files
  netdwg plan                      on a host: what apply would change
  netdwg apply --confirm 60        apply, revert unless confirmed
  netdwg lab up && netdwg lab check   prove the design in namespaces first

Exit codes: 0 ok, 1 warnings (--strict) or pending changes, 2 bad input,
77 not permitted (run as root), 70 a bug in netdwg (please report it).
"""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Declarative, checked and safe-to-change WireGuard networks "
        "for systemd-networkd, netplan and wg-quick hosts.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _verb_modules(only):
        module.register(subparsers)
    return parser


def _verb_modules(only: str | None = None):
    package = sys.modules[__name__]
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or (only is not None and info.name != only):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            yield module


def _verb_module_named(argv: Sequence[str]) -> str | None:
    """The module of the verb on the command line, when a module has that name.

    Then only that module is imported: `netdwg apply` on a 5,000-peer hub should
    not pay for importing every other verb (asyncio, renderers, the guard).
    """
    if not argv or argv[0].startswith("-"):
        return None
    names = {m.name for m in pkgutil.iter_modules(sys.modules[__name__].__path__)}
    return argv[0] if argv[0] in names else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_verb_module_named(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NetdwgError as err:
        if getattr(args, "json", False):
            print(json.dumps({"error": err.message, "fix": err.fix,
                              "file": err.span.path if err.span else None,
                              "line": err.span.line if err.span else None}))
        else:
            print(f"{PROG}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except InternalError:
        raise
    except Exception:  # a bug: show it, with the exit code that says so
        import traceback

        traceback.print_exc()
        print(f"{PROG}: internal error (a bug in netdwg {__version__}); please report it", file=sys.stderr)
        return EXIT_INTERNAL
