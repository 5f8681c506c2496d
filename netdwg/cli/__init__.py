"""The `netdwg` command line: one module per verb, exceptions mapped to exit codes.

Each module in this package that defines ``register(subparsers)`` adds its verb:
it calls ``subparsers.add_parser(NAME, help=..., description=...)`` and sets
``parser.set_defaults(func=run)`` where ``run(args) -> int``. Modules are found
by name, so adding a verb never edits this file. `netdwg --help` lists the
verbs in the order a user meets them (VERB_ORDER); a verb not named there comes
after, alphabetically.

A verb module imports only argparse-level things at the top and its heavy
modules (pyroute2, dbus, cryptography, the renderers) inside run(): `netdwg
--help` imports every verb module.
"""

from __future__ import annotations

import argparse
import errno
import gc
import os
import sys
from collections.abc import Sequence  # not typing: importing it for annotations alone slows every start

from netdwg import __version__
from netdwg.errors import EXIT_ERROR, EXIT_INTERNAL, EXIT_NOPERM, ConfigError, InternalError, NetdwgError

# Design, then files, then the host, then maintenance and tools.
LONG_RUNNING_VERBS = ("guard", "lab")  # the GC stays on for them (see _main)
VERB_ORDER = ("lint", "render", "show", "qr", "plan", "apply", "status", "metrics", "resolve", "check", "import", "host", "keys",
              "lab", "guard")
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

PROG = "netdwg"
EPILOG = """\
The usual flow: write /etc/netdwg/netdwg.conf (see netdwg.conf(5)), then
  netdwg lint                      check it, every problem at once
  netdwg render --out DIR          see every host's files
  netdwg plan                      on a host: what apply would change
  netdwg apply --confirm 60        apply, revert unless confirmed
  netdwg lab up FILE; netdwg lab check   prove the design in namespaces first

Exit codes: 0 ok, 1 warnings (--strict) or pending changes, 2 bad input,
69 a service did not answer (status: NetworkManager, networkd, D-Bus),
77 not permitted (run as root), 70 a bug in netdwg (please report it),
130 interrupted (Ctrl-C). Every command has --help with examples.
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse.RawDescriptionHelpFormatter, sized without importing shutil.

    argparse asks shutil.get_terminal_size() for the width each time it makes a
    formatter, which every add_argument() does, and shutil brings bz2, lzma and
    zlib into every `netdwg apply`. The width follows the same rule.
    """

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)


def terminal_columns() -> int:
    """shutil.get_terminal_size().columns: $COLUMNS, else the terminal on stdout, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def build_parser(only: str | None = None, light: bool = False) -> argparse.ArgumentParser:
    """The parser; `only` registers just that verb module, `light` lists verbs without importing them."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Declarative, checked and safe-to-change WireGuard networks "
        "for systemd-networkd, netplan and wg-quick hosts.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    summaries = _verb_summaries() if light else None
    if summaries is not None:
        for verb, help_text in summaries:
            subparsers.add_parser(verb, help=help_text)
        return parser
    for module in _verb_modules(only):
        module.register(subparsers)
    return parser


def _verb_summaries() -> list[tuple[str, str]] | None:
    """(verb, one-line help) of every verb module, read from its source, not imported.

    `netdwg --help` then costs no verb's imports (apply, status and guard load
    pyroute2-era host code and asyncio at import). None when a module's
    register() does not call add_parser("verb", help="...") with literal strings:
    the caller then imports the modules as usual.
    """
    import ast
    import importlib.util
    import pkgutil
    from pathlib import Path

    found = []
    for info in sorted(pkgutil.iter_modules(sys.modules[__name__].__path__), key=_verb_rank):
        if info.name.startswith("_"):
            continue
        spec = importlib.util.find_spec(f"{__name__}.{info.name}")
        try:
            tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        except (OSError, SyntaxError, TypeError, ValueError, AttributeError):
            return None
        register = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "register"), None)
        if register is None:
            continue  # not a verb module (as _verb_modules skips it)
        summary = _added_verb(register)
        if summary is None:
            return None
        found.append(summary)
    return found


def _added_verb(register) -> tuple[str, str] | None:
    import ast

    if not register.args.args:
        return None
    subparsers = register.args.args[0].arg
    for call in ast.walk(register):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "add_parser"
                and isinstance(call.func.value, ast.Name) and call.func.value.id == subparsers):
            name = call.args[0] if call.args else None
            help_text = next((k.value for k in call.keywords if k.arg == "help"), None)
            if (isinstance(name, ast.Constant) and isinstance(name.value, str)
                    and isinstance(help_text, ast.Constant) and isinstance(help_text.value, str)):
                return name.value, help_text.value
            return None
    return None


def _verb_modules(only: str | None = None):
    from importlib import import_module

    if only is not None:  # named on the command line: no directory scan (pkgutil is a costly import)
        if not only.startswith("_") and _is_module(only):
            module = import_module(f"{__name__}.{only}")
            if hasattr(module, "register"):
                yield module
        return
    import pkgutil

    for info in sorted(pkgutil.iter_modules(sys.modules[__name__].__path__), key=_verb_rank):
        if info.name.startswith("_"):
            continue
        module = import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            yield module


def _verb_names(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def _verb_rank(info) -> tuple[int, str]:
    name = info.name.rstrip("_")  # import_ is the verb "import"
    return (VERB_ORDER.index(name) if name in VERB_ORDER else len(VERB_ORDER), name)


def _verb_module_named(argv: Sequence[str]) -> str | None:
    """The module of the verb on the command line, when a module has that name.

    Then only that module is imported, not every other verb (asyncio, renderers, the guard).
    """
    if not argv or argv[0].startswith("-"):
        return None
    for name in (argv[0], argv[0] + "_"):  # import_ holds the verb "import"
        if name.isidentifier() and not name.startswith("_") and _is_module(name):
            return name
    return None


def _is_module(name: str) -> bool:
    """A module NAME.py or package NAME/ in this package (what pkgutil.iter_modules would list).

    Looked up by path rather than by pkgutil (which is for listing every verb).
    """
    for directory in sys.modules[__name__].__path__:
        if (os.path.isfile(os.path.join(directory, name + ".py"))
                or os.path.isfile(os.path.join(directory, name, "__init__.py"))):
            return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C, even while the verb modules are imported
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    only = _verb_module_named(argv)
    # No verb module named: top-level help, --version or a typo; list verbs without importing them.
    parser = build_parser(only, light=only is None)
    if only is None and argv and argv[0] in _verb_names(parser):
        parser = build_parser()  # a verb whose module has another name
    if argv and not argv[0].startswith("-"):
        verbs = _verb_names(parser)
        if argv[0] not in verbs:  # argparse would list every choice; a guess helps more
            import difflib

            guess = difflib.get_close_matches(argv[0], verbs, n=1)
            print(f"{PROG}: error: unknown command '{argv[0]}'\n  fix: "
                  + (f"did you mean '{guess[0]}'? " if guess else "") + f"'{PROG} --help' lists the commands",
                  file=sys.stderr)
            return EXIT_ERROR
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    # A one-shot verb builds hundreds of thousands of small acyclic values (a 10,000-host
    # topology and its compiled hosts, a 10,000-peer .netdev) that live until it exits: the
    # cyclic GC would only rescan them, a large share of lint, render and apply time on such
    # inputs (bench/). So it waits until the verb returns (restored: tests call main()
    # in-process). Not for the guard daemon and the lab, which run on and make cycles
    # (asyncio, threads).
    pause_gc = gc.isenabled() and argv[0] not in LONG_RUNNING_VERBS
    if pause_gc:
        gc.disable()
    try:
        return int(args.func(args) or 0)
    except NetdwgError as err:
        report_error(err, getattr(args, "json", False))
        return err.exit_code
    except BrokenPipeError:  # `netdwg ... | head`: not an error; keep Python quiet at exit too
        _silence_stdout()
        return 0
    except OSError as err:
        if err.filename is None:
            raise
        # A file the user named (or a directory we write into) the verb did not check first.
        denied = err.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
        wrapped = NetdwgError(f"{err.filename}: {err.strerror}",
                              fix="run as root, or choose a path you may use" if denied else "check the path")
        wrapped.exit_code = EXIT_NOPERM if denied else EXIT_ERROR
        report_error(wrapped, getattr(args, "json", False))
        return wrapped.exit_code
    except InternalError:
        raise
    except Exception:  # a bug: show it, with the exit code that says so
        import traceback

        traceback.print_exc()
        print(f"{PROG}: internal error (a bug in netdwg {__version__}); please report it", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if pause_gc:
            gc.enable()


def report_error(err: NetdwgError, as_json: bool = False) -> None:
    """A user's mistake: what, where (file:line) and the fix; JSON on stdout with --json."""
    diagnostics = getattr(err, "diagnostics", ()) if isinstance(err, ConfigError) else ()
    if as_json:
        import json

        print(json.dumps({"error": err.message, "fix": err.fix,
                          "file": err.span.path if err.span else None,
                          "line": err.span.line if err.span else None,
                          "diagnostics": [d.to_json() for d in diagnostics],
                          "exit": err.exit_code}, indent=2))
        return
    for d in diagnostics:  # each already says file:line: error: ... and its fix
        print(d.format(), file=sys.stderr)
    where = f"{err.span}: " if err.span and not err.message.startswith(f"{err.span.path}:") else ""
    text = f"{PROG}: error: {where}{err.message}"
    if err.fix:
        text += f"\n  fix: {err.fix}"
    print(text, file=sys.stderr)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
