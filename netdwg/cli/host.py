"""`netdwg host add|set|remove`: edit the topology file, keeping comments, order and layout."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

from netdwg.cli._common import write_or_explain
from netdwg.errors import NetdwgError, Severity, Span
from netdwg.topology.inputs import add_topology_argument, read_text_file

DESCRIPTION = """\
Add a host to, set keys of one (or of many: set --from FILE), or remove one
from, the topology file. Only the lines that must change are touched: your
comments, order and indentation stay. `remove` also drops the host from every
allow/reach list and removes site pairs it ends; with --forget-keys its
private key and PSKs leave the secrets store too. The result is linted first;
it is not written when it has errors (--force writes anyway), and --dry-run
only shows the diff.
"""

EPILOG = """\
examples:
  netdwg host add cy role=roaming address=10.99.0.6 backend=wg-quick reach=oslo
  netdwg host add lyon role=site address=10.99.0.7 lan=172.20.30.0/24 \\
      lan_address=172.20.30.2 return_path=static-route
  netdwg host remove ben --forget-keys
  netdwg host set ana public_key=$(ssh ana cat /etc/netdwg/keys/wg0.pub)   # ana keeps its own key
  echo '{"ana": {"public_key": "..."}, "ben": {"public_key": "..."}}' | netdwg host set --from -
  netdwg host set --from gathered-keys.json --dry-run   # many hosts: one lint, one write
  netdwg host add cy role=roaming address=10.99.0.6 --dry-run
  netdwg host remove ben --json | jq -r .diff

then: netdwg render (and netdwg apply on the hosts whose files changed).
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("host", help="add, change or remove a host in the topology file",
                                   description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="host_command", metavar="add|set|remove")
    add = verbs.add_parser("add", help="add a host section", description="Add [[NAME]] with KEY=VALUE settings "
                           "(the keys of a host section; see netdwg.conf(5)).", epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    add.add_argument("name", metavar="NAME")
    add.add_argument("settings", nargs="*", metavar="KEY=VALUE", help="e.g. role=roaming address=10.99.0.6")
    set_ = verbs.add_parser("set", help="set keys of a host section (or of many, --from)",
                            description="Set KEY=VALUE in [[NAME]]: a key already there keeps its line and\n"
                                        "comment, a new one goes after the section's last key. With --from, the\n"
                                        "settings of many hosts at once (one lint, one write: a fleet tool\n"
                                        "records every gathered public key in one call).", epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    set_.add_argument("name", metavar="NAME", nargs="?")
    set_.add_argument("settings", nargs="*", metavar="KEY=VALUE", help="e.g. public_key=BASE64")
    set_.add_argument("--from", dest="from_file", metavar="FILE",
                      help='a JSON object {"HOST": {"KEY": "VALUE", ...}, ...} instead of NAME KEY=VALUE ("-": stdin)')
    remove = verbs.add_parser("remove", help="remove a host and every reference to it",
                              description="Remove [[NAME]], its name from allow/reach lists and pairs it ends.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("--forget-keys", action="store_true", help="also drop its key and PSKs from the secrets store")
    for sub in (add, set_, remove):
        add_topology_argument(sub)
        sub.add_argument("--dry-run", "-n", action="store_true", help="show the diff, write nothing")
        sub.add_argument("--force", action="store_true", help="write even when lint finds errors")
        sub.add_argument("--json", action="store_true", help="print what changed (and the diff) as JSON")
        sub.set_defaults(func=run)
    parser.set_defaults(func=lambda args: (parser.print_help(sys.stderr), 2)[1])  # a usage error: add or remove?


def _many(args) -> dict[str, dict[str, str]]:
    """What `host set` sets: NAME KEY=VALUE..., or --from's JSON object of hosts and their settings."""
    if args.from_file is None:
        if not args.name or not args.settings:
            raise NetdwgError("host set needs NAME KEY=VALUE..., or --from FILE",
                              fix="e.g. netdwg host set ana public_key=BASE64")
        return {args.name: _settings(args.settings)}
    if args.name or args.settings:
        raise NetdwgError("host set takes NAME KEY=VALUE... or --from FILE, not both", fix="drop one of them")
    where = "standard input" if args.from_file == "-" else args.from_file
    span = None if args.from_file == "-" else Span(str(args.from_file))
    text = sys.stdin.read() if args.from_file == "-" else read_text_file(args.from_file, "settings file")
    try:
        data = json.loads(text)
    except ValueError as err:
        raise NetdwgError(f"--from {where}: not JSON ({err})", span,
                          fix='give an object of hosts, e.g. {"ana": {"public_key": "BASE64"}}') from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) and all(isinstance(x, str) for x in v.values())
                                             for v in data.values()):
        raise NetdwgError(f"--from {where}: expected an object of hosts, each an object of strings",
                          span, fix='e.g. {"ana": {"public_key": "BASE64"}}')
    return {str(name): {k.strip(): v.strip() for k, v in values.items()} for name, values in data.items()}


def _settings(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise NetdwgError(f"expected KEY=VALUE, got {pair!r}",
                              fix="write each setting as KEY=VALUE, e.g. role=roaming address=10.99.0.6")
        out[key.strip()] = value.strip()
    return out


def run(args) -> int:
    from netdwg.lint import run_lint
    from netdwg.apply.writes import write_topology
    from netdwg.topology.edit import add_host, remove_host
    from netdwg.topology.load import parse_topology

    path = Path(args.topology)
    if args.host_command == "add" and not path.exists():
        raise NetdwgError("no such topology file", Span(str(path)),
                          fix="pass --topology FILE, or create it with a [network] section first (see netdwg.conf(5))")
    text = read_text_file(path)
    if args.host_command == "add":
        edit = add_host(text, args.name, _settings(args.settings), str(path))
    elif args.host_command == "set":
        edit = _set_many(text, _many(args), str(path))
    else:
        edit = remove_host(text, args.name, str(path))
    diagnostics = run_lint(parse_topology(edit.text, str(path)))
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    diff = "".join(difflib.unified_diff(text.splitlines(keepends=True), edit.text.splitlines(keepends=True),
                                        f"a/{path.name}", f"b/{path.name}"))
    write = not args.dry_run and (not errors or args.force) and edit.text != text
    if write:
        write_or_explain(lambda: write_topology(path, edit.text), path)
    forgotten = _forget(path, edit.text, args.name) if write and args.host_command == "remove" and args.forget_keys \
        else None
    if args.json:
        print(json.dumps({"topology": str(path), "host": args.name, "written": write, "changes": list(edit.changes),
                          "forgot_keys_in": str(forgotten) if forgotten else None, "diff": diff,
                          "diagnostics": [d.to_json() for d in diagnostics if d.severity is not Severity.INFO]},
                         indent=2))
        return 2 if errors and not (write and args.force) else 0
    for d in diagnostics:
        if d.severity is not Severity.INFO:
            print(d.format(), file=sys.stderr)
    if args.dry_run:
        sys.stdout.write(diff)
        return 2 if errors else 0
    if not edit.changes:
        print(f"[#] {path}: nothing to change")
        return 0
    if not write:
        print(f"netdwg: not written: the edit leaves {len(errors)} lint error(s) (fix them, or use --force)",
              file=sys.stderr)
        return 2
    for change in edit.changes:
        print(f"[#] {change}")
    if forgotten:
        print(f"[#] removed the key and PSKs of '{args.name}' from {forgotten}")
    return 0


def _set_many(text: str, hosts: dict[str, dict[str, str]], path: str):
    """`set_host_values` for each host in turn: one edit, its changes in order."""
    from netdwg.topology.edit import Edit, set_host_values

    changes: list[str] = []
    for name, values in hosts.items():
        edit = set_host_values(text, name, values, path)
        text = edit.text
        changes += edit.changes
    return Edit(text, tuple(changes))


def _forget(path: Path, text: str, name: str) -> Path | None:
    """Drop `name`'s key and PSKs from the secrets store; the store's path, or None when there is none."""
    from netdwg.topology.load import parse_topology
    from netdwg.apply.writes import save_secrets
    from netdwg.topology.secrets import default_secrets_path, forget_host, load_secrets

    store = default_secrets_path(parse_topology(text, str(path)))
    if not store.exists():
        return None
    secrets = load_secrets(store)
    write_or_explain(lambda: save_secrets(store, forget_host(secrets, name)), store, "the secrets store")
    return store
