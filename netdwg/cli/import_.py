"""`netdwg import`: adopt an existing network from its hand-written host files."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from netdwg.errors import EXIT_WARNINGS, ConfigError, NetdwgError, Severity, Span
from netdwg.topology.inputs import check_output_dir

DESCRIPTION = """\
Build a topology file, and its secrets store beside it (mode 0600), from the
WireGuard files you already have: systemd-networkd .netdev/.network (with
.netdev.d drop-ins), wg-quick .conf and netplan YAML, of several hosts.

Give each host's files as a tree (HOST/etc/...; the directory name is the
host name), as HOST=DIR, or as single files (HOST=FILE, or the name is taken
from the tree or the file name). Key files named by PrivateKeyFile=,
PresharedKeyFile= or a wg-quick `PostUp = wg set %i private-key FILE` are
read under the host's tree. Addresses written /32 take the pool their peers
route; a wg-quick `Table = off` file is routed by its PostUp
`ip route add ... dev %i` lines. A host whose private key
is not among the files keeps its own key: its public key goes into the
topology. The two ends of every peering must agree on the PSK.

Afterwards the topology is compiled and compared with the files: netdwg
prints anything re-rendering would change (exit 1), so you know before you
apply that every host keeps its peers, keys, PSKs, AllowedIPs, endpoints,
keepalive, addresses, the prefixes routed into the tunnel, and MTU.
"""

EPILOG = """\
examples:
  netdwg import relay/ oslo/ ana/ --out /etc/netdwg/netdwg.conf
  netdwg import relay=/srv/backup/relay oslo=/srv/backup/oslo ben=./ben-phone.conf --out net.conf
  netdwg import hosts/* --out net.conf --name harbor --json

then: netdwg lint --topology net.conf, and netdwg render --topology net.conf --out DIR to review.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("import", help="build a topology from existing host files",
                                   description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="FILE|DIR|HOST=PATH", help="each host's files")
    parser.add_argument("--out", "-o", required=True, metavar="TOPOLOGY", help="the topology file to write")
    parser.add_argument("--name", default=None, help="the network's name (default: the output file's stem)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing topology and secrets store")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.set_defaults(func=run)


def run(args) -> int:
    from netdwg.cli._common import read_local_key, this_host_name
    from netdwg.lint import run_lint
    from netdwg.topology.compile import compile_topology
    from netdwg.apply.writes import save_secrets, write_topology
    from netdwg.topology.importer import compare_hosts, import_hosts
    from netdwg.topology.importer_files import parse_spec, read_hosts
    from netdwg.topology.load import parse_topology
    from netdwg.topology.secrets import default_secrets_path

    out = Path(args.out)
    if out.is_dir():
        raise NetdwgError(f"{out} is a directory", fix=f"name the topology file to write, e.g. {out / 'netdwg.conf'}")
    check_output_dir(out.parent, "--out")
    for spec in args.inputs:
        path = parse_spec(spec)[1]
        if path.is_dir() and not any(p.is_file() for p in path.rglob("*")):
            raise NetdwgError(f"{path}: an empty directory", fix="name a host's tree (HOST/etc/...) or its files")
    hosts = read_hosts(args.inputs, this_host_name(), read_local_key)
    if not hosts:
        raise NetdwgError("no host files given", fix="name each host's files or tree, e.g. relay/ oslo/")
    for host in hosts:
        if not host.interfaces:  # else the importer's complaint (no private key) would mislead
            named = ", ".join(host.files[:3]) + (" ..." if len(host.files) > 3 else "") if host.files else "nothing"
            raise NetdwgError(f"host '{host.name}': no WireGuard interface in {named}",
                              fix="give each host's .netdev/.network, wg-quick .conf or netplan .yaml "
                                  "(a HOST/etc/... tree, or HOST=FILE)")
    imported = import_hosts(hosts, args.name or out.stem)
    try:
        topology = parse_topology(imported.text, str(out))
    except ConfigError as err:  # a value of the host files that no consumer takes (netdwg.values): nothing written
        raise ConfigError(f"the files given hold values netdwg refuses; {out} was not written",
                          tuple(replace(d, subject=d.subject or "imported", span=Span(f"{out} (not written)",
                                                                                      d.span.line if d.span else 0))
                                for d in err.diagnostics)) from None
    store = default_secrets_path(topology)
    for target in (out, store):
        if target.exists() and not args.force:
            raise NetdwgError(f"{target} exists", fix="choose another --out, or pass --force to overwrite it")
    differences = compare_hosts(hosts, compile_topology(topology, imported.secrets))
    diagnostics = [d for d in run_lint(topology) if d.severity is not Severity.INFO]
    write_topology(out, imported.text)
    save_secrets(store, imported.secrets)
    ignored = [f for h in hosts for f in h.ignored]
    if args.json:
        print(json.dumps({
            "topology": str(out), "secrets": str(store),
            "hosts": [{"name": h.name, "role": str(h.role), "backend": str(h.backend)} for h in topology.hosts],
            "pairs": [p.name for p in topology.pairs], "notes": list(imported.notes),
            "differences": list(differences), "ignored_files": ignored,
            "diagnostics": [d.to_json() for d in diagnostics]}, indent=2))
    else:
        roles = ", ".join(f"{h.name} ({h.role})" for h in topology.hosts)
        print(f"[#] wrote {out}: {len(topology.hosts)} hosts: {roles}"
              + (f"; site pairs: {', '.join(p.name for p in topology.pairs)}" if topology.pairs else ""))
        print(f"[#] wrote {store} (mode 0600): {len(imported.secrets.private_keys)} private keys, "
              f"{len(imported.secrets.preshared_keys)} preshared keys")
        for note in imported.notes:
            print(f"note: {note}")
        for path in ignored:
            print(f"note: {path}: not a WireGuard file netdwg reads; ignored")
        for d in diagnostics:
            print(d.format(), file=sys.stderr)
        for line in differences:
            print(f"differs: {line}", file=sys.stderr)
        if not differences:
            print("every host keeps its peers, keys, PSKs, AllowedIPs, endpoints, keepalive, addresses, "
                  "routes and MTU")
    return EXIT_WARNINGS if differences else 0
