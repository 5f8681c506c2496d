"""`netdwg render`: every host's files from the topology, into a directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from netdwg.cli._common import prepare_topology
from netdwg.errors import ConfigError, NetdwgError, NotPermittedError
from netdwg.topology.inputs import add_topology_argument, check_output_dir, read_text_file, unknown_host

# The keys of netdwg.render.FORMATS (a unit test keeps them equal): importing the
# renderers here would load all of them, YAML and cryptography for `netdwg --help`.
FORMAT_NAMES = ("netplan", "networkd", "networkmanager", "wg-quick")

DESCRIPTION = """\
Compile the topology and write the files each host gets under DIR: one
subdirectory per host (DIR/HOST/etc/...), or, with --host, that host's files
directly under DIR (DIR/etc/...). Files get their final modes (0600 for
wg-quick and netplan, 0640 for key-bearing .netdev files; chown to
root:systemd-network is left to 'netdwg apply').

The topology is linted first: errors stop the render (--force renders
anyway), warnings are printed. Keys and preshared keys missing from the secrets store (beside the topology,
<name>.secrets, mode 0600) are generated first and announced; existing ones
are never replaced. For a site with return_path = static-route, the route its
LAN router needs is printed at the end.
"""

EPILOG = """\
examples:
  netdwg render --out /tmp/harbor                    every host, its own backend
  netdwg render --host ben --format wg-quick --out .  one host's wg-quick conf
  netdwg render --key-files --out out/               PrivateKeyFile=/PresharedKeyFile= (wg-quick: PostUp
                                                     wg set %i private-key FILE) instead of inline keys
  netdwg render --json --out out/ | jq '.files[]'
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("render", help="write every host's files into a directory",
                                   description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_topology_argument(parser)
    parser.add_argument("--host", metavar="HOST", help="only this host (files directly under DIR)")
    parser.add_argument("--format", choices=FORMAT_NAMES, help="interface files in this format "
                        "(default: each host's own backend)")
    parser.add_argument("--key-files", action="store_true",
                        help="keys in separate files (PrivateKeyFile=, netplan key: /path, wg-quick "
                             "PostUp = wg set %%i private-key FILE)")
    parser.add_argument("--out", metavar="DIR", required=True, type=Path, help="where to write")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")
    parser.add_argument("--force", action="store_true", help="render even when lint finds errors")
    parser.set_defaults(func=run)


def check_lint(topology, configs, force: bool) -> None:
    """Refuse to render a topology the linter finds errors in (warnings are printed, not fatal)."""
    try:
        from netdwg.lint import run_lint
    except ImportError:  # pragma: no cover - the linter ships with netdwg
        return
    from netdwg.errors import Severity

    diagnostics = run_lint(topology, configs)
    for d in diagnostics:
        if d.severity is Severity.WARNING or (force and d.severity is Severity.ERROR):
            print(d.format(), file=sys.stderr)
    errors = tuple(d for d in diagnostics if d.severity is Severity.ERROR)
    if errors and not force:  # the CLI prints each error, then this message
        raise ConfigError(f"{topology.path}: {len(errors)} lint error(s); nothing rendered", errors,
                          fix="fix them (netdwg lint explains each), or render anyway with --force")


def run(args) -> int:
    from netdwg.apply.writes import complete_store, write_rendered
    from netdwg.render import render_host
    from netdwg.render.lanrouter import instructions
    from netdwg.topology.secrets import check_holds

    # Everything the user named is checked before missing secrets are generated and saved;
    # the topology and the store are read once (loading is most of the time of a large topology).
    read_text_file(args.topology)  # a clear error for a directory, binary data, no permission
    check_output_dir(args.out)
    prepared = prepare_topology(args.topology, complete=False)
    if args.host and not prepared.topology.has_host(args.host):
        raise unknown_host(args.host, (h.name for h in prepared.topology.hosts), args.topology)
    prepared = complete_store(prepared, announce=lambda m: print(m, file=sys.stderr), record_public_keys=False)
    hosts = [args.host] if args.host else [h.name for h in prepared.topology.hosts]
    for name in hosts:  # a store exported for one host renders that host only
        check_holds(prepared.secrets, name, prepared.secrets_path)
    configs = prepared.compile()
    check_lint(prepared.topology, configs, args.force)
    written: list[dict] = []
    notes: list[str] = []
    try:
        for name in hosts:
            files = render_host(configs[name], args.format, key_files=args.key_files)
            # With --host straight under DIR, else under DIR/HOST (a '..' in either is refused).
            for file, path in zip(files, write_rendered(args.out, files, below="" if args.host else name)):
                written.append({"host": name, "path": str(file.path), "written": str(path),
                                "mode": f"{file.mode:04o}", "owner": file.owner, "group": file.group,
                                "secret": file.secret})
            text = instructions(configs[name])
            if text:
                notes.append(text)
    except NetdwgError:
        raise  # the writer's own error names the file and the fix
    except PermissionError as err:
        raise NotPermittedError(f"cannot write {err.filename}: permission denied",
                                fix="choose another --out directory") from None
    except OSError as err:
        raise NetdwgError(f"cannot write {err.filename}: {err.strerror}", fix="check --out") from None
    if args.json:
        print(json.dumps({"files": written, "generated": list(prepared.generated),
                          "return_routes": [r.instruction() for n in hosts for r in configs[n].return_routes]},
                         indent=2))
        return 0
    for entry in written:
        print(f"[#] {entry['written']} ({entry['mode']} {entry['owner']}:{entry['group']})")
    for text in notes:
        print()
        print(text, end="")
    return 0
