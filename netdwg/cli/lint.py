"""`netdwg lint`: check the topology, every problem at once, with file:line and a fix."""

from __future__ import annotations

import argparse
import json
import sys

from netdwg.errors import ConfigError, Diagnostic, NetdwgError, ParseError, Severity, Span, worst_exit_code
from netdwg.topology.inputs import add_topology_argument, check_input_file

DESCRIPTION = """\
Check the topology file: addresses and overlaps, who can reach whom, NAT and
endpoints, keepalive, forwarding, return paths to the LANs, MASQUERADE and
allow-list coverage, MTU, the roaming conflict, references to unknown hosts.
Every finding is printed at once as FILE:LINE: SEVERITY: MESSAGE [CODE] with a
fix. The topology is also compiled (with throw-away keys) so the generated
firewall and sysctls are checked too; nothing is written.
"""

EPILOG = """\
examples:
  netdwg lint                                  check /etc/netdwg/netdwg.conf
  netdwg lint --topology office.conf --strict  warnings fail too (exit 1)
  netdwg lint --json | jq '.diagnostics[] | select(.severity == "error")'
  netdwg lint --explain NDW022                 what a rule checks, and why

exit codes: 0 clean (or warnings without --strict), 1 warnings with --strict,
2 errors. Codes NDW001-003 are syntax/type errors, NDW010-026 design rules;
see netdwg.conf(5) for each.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("lint", help="check the topology, every problem at once",
                                   description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_topology_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the diagnostics as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    parser.add_argument("--no-compile", action="store_true",
                        help="check the topology only, not the compiled firewall and sysctls")
    parser.add_argument("--explain", metavar="CODE", help="describe a rule (e.g. NDW022) and exit")
    parser.set_defaults(func=run)


def explain(code: str) -> str:
    """The docstring of the rule that reports `code` (a rule's docstring names its codes)."""
    import inspect

    from netdwg.lint import RULES
    from netdwg.lint import files as cross_file
    from netdwg.lint.rules_secrets import check_secrets

    code = code.upper()
    texts = [inspect.getdoc(rule) or "" for rule in (*RULES, check_secrets)] + [inspect.getdoc(cross_file) or ""]
    found = [t for t in texts if code in t]
    if not found:
        raise NetdwgError(f"no lint rule {code}", fix="see 'netdwg lint --help' or netdwg.conf(5) for the codes")
    return "\n\n".join(found)


def lint_file(path: str, compile_too: bool = True):
    """Load and lint a topology file; syntax/type errors come back as diagnostics too.

    A path that is not a readable file raises NetdwgError (nothing to lint); a
    file that is not text comes back as an NDW001 diagnostic, so --json still
    prints its usual document.
    """
    from netdwg.lint import run_lint
    from netdwg.topology import load_topology

    check_input_file(path)
    try:
        topology = load_topology(path)
    except ConfigError as err:  # the loader's diagnostics, in file order like the linter's
        if not err.diagnostics:
            raise
        return tuple(sorted(err.diagnostics, key=lambda d: (d.span.line if d.span else 0, d.code)))
    except ParseError as err:  # binary data, invalid UTF-8
        return (Diagnostic("NDW001", Severity.ERROR, err.message, err.span or Span(str(path)),
                           fix=err.fix or "check that the right file was named: netdwg.conf(5) is UTF-8 text"),)
    compiled = _compile(topology) if compile_too else None
    store, refused = _store(topology)
    return tuple(run_lint(topology, compiled, store)) + refused


def _store(topology) -> tuple[object, tuple[Diagnostic, ...]]:
    """The real secrets store when this user may read it (lint never needs it, but checks it if it can).

    A store netdwg.values refuses (a name no host can have, over the size limit) is reported with
    its file:line diagnostics; one this user may not read, or with an unsafe mode, is left to
    'netdwg keys' and 'render'.
    """
    from netdwg.topology.secrets import default_secrets_path, load_secrets

    path = default_secrets_path(topology)
    try:
        return (load_secrets(path) if path.exists() else None), ()
    except ConfigError as err:
        return None, tuple(err.diagnostics)
    except (NetdwgError, OSError):
        return None, ()


def _compile(topology):
    """Compile with throw-away keys: lint needs the shape of the output, not real secrets."""
    try:
        from netdwg.topology.compile import compile_topology
        from netdwg.topology.secrets import Secrets, complete_secrets

        secrets, _ = complete_secrets(topology, Secrets())
        return compile_topology(topology, secrets)
    except (NetdwgError, KeyError, ValueError, ImportError):
        return None  # the topology rules report what makes it uncompilable


def run(args) -> int:
    if args.explain:
        print(explain(args.explain))
        return 0
    diagnostics = lint_file(args.topology, compile_too=not args.no_compile)
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = sum(d.severity is Severity.WARNING for d in diagnostics)
    if args.json:
        print(json.dumps({"topology": args.topology, "errors": errors, "warnings": warnings,
                          "diagnostics": [d.to_json() for d in diagnostics]}, indent=2))
    else:
        for d in diagnostics:
            print(d.format())
        summary = f"{args.topology}: {errors} error(s), {warnings} warning(s)"
        if not diagnostics:
            summary = f"{args.topology}: no problems found"
        print(summary, file=sys.stderr)
    return worst_exit_code(diagnostics, args.strict)
