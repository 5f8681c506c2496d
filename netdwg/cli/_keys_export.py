"""`netdwg keys export --host H --out FILE`: the secrets store host H needs, and nothing more;
`--out-dir DIR`: every host's (or each --host's) store as DIR/HOST.secrets, in one run.

Found by `netdwg/cli/keys.py` (modules named `_keys_*` with `register_action`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from netdwg.cli._common import prepare_topology
from netdwg.topology.inputs import add_topology_argument, unknown_host

DESCRIPTION = """\
Write the secrets store host HOST needs to lint, render --host, plan and
apply itself: its own private key, the preshared keys of its own pairs and
every host's public key ([public_keys]), mode 0600. Ship FILE to HOST as the
store beside its copy of the topology (<name>.secrets, or [network]
secrets = PATH). No other host's private key or PSK is in it, so a host that
is lost or stolen gives away its own tunnels only.

With --out-dir DIR, the store of every host (or of each --host given) is
written as DIR/HOST.secrets in one run: what a fleet tool pushes to each host.

Run it where the full store is (where keys are generated): missing keys and
PSKs are generated and saved there first. An exported store is never
completed on the host: when the topology gains a peer of HOST, export again.
"""

EPILOG = """\
examples:
  netdwg keys export --host oslo --out /tmp/oslo.secrets
  scp -p /tmp/oslo.secrets root@oslo:/etc/netdwg/netdwg.secrets   (keep mode 0600, owner root)
  netdwg keys export --out-dir /srv/fleet/exports --json            every host: exports/HOST.secrets
"""


def register_action(actions) -> None:
    parser = actions.add_parser("export", help="write the store one host needs (its key, its PSKs, public keys)",
                                description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_topology_argument(parser)
    parser.add_argument("--host", metavar="HOST", action="append",
                        help="the host the store is for (with --out-dir: repeat it, or leave it out for every host)")
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", metavar="FILE", type=Path, help="where to write it (mode 0600)")
    out.add_argument("--out-dir", metavar="DIR", type=Path,
                     help="write each host's store as DIR/HOST.secrets (DIR made 0700 if missing)")
    parser.add_argument("--json", action="store_true", help="print what was exported as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from netdwg.apply.writes import save_secrets
    from netdwg.errors import NetdwgError
    from netdwg.topology.inputs import check_output_dir
    from netdwg.topology.secrets import export_secrets

    if args.out is not None and len(args.host or ()) != 1:
        raise NetdwgError("--out writes one host's store: name it with one --host",
                          fix="--host HOST --out FILE, or --out-dir DIR for many hosts")
    # The host names first: a typo must not generate (and save) missing secrets.
    topology = prepare_topology(args.topology, complete=False).topology
    hosts = args.host or [h.name for h in topology.hosts]
    for host in hosts:
        if not topology.has_host(host):
            raise unknown_host(host, (h.name for h in topology.hosts), args.topology)
    if args.out is not None and args.out.is_dir():
        raise NetdwgError(f"{args.out} is a directory", fix=f"name the file, e.g. {args.out / hosts[0]}.secrets")
    if args.out_dir is not None:
        check_output_dir(args.out_dir, "--out-dir")
    targets = {host: args.out if args.out is not None else args.out_dir / f"{host}.secrets" for host in hosts}
    said: list[str] = []
    prepared = prepare_topology(args.topology, complete=True, announce=said.append)
    for host, out in targets.items():
        if out.absolute() == prepared.secrets_path.absolute():
            raise NetdwgError(f"{out} is the full store itself", fix="write the export to another file")
    exported = {host: export_secrets(prepared.topology, prepared.secrets, host) for host in hosts}
    for host, out in targets.items():
        save_secrets(out, exported[host])
    if args.json:
        rows = [{"host": host, "out": str(targets[host]), "private_keys": sorted(e.private_keys),
                 "preshared_keys": sorted(e.preshared_keys), "public_keys": sorted(e.public_keys)}
                for host, e in exported.items()]
        generated = list(prepared.generated)
        print(json.dumps(dict(rows[0], generated=generated) if args.out is not None
                         else {"out_dir": str(args.out_dir), "exports": rows, "generated": generated}))
        return 0
    for line in said:
        print(line)
    for host, e in exported.items():
        own = "its private key" if e.private_keys else "no private key (it keeps its own)"
        print(f"[#] wrote {targets[host]} (mode 0600): {own}, {len(e.preshared_keys)} preshared key(s), "
              f"{len(e.public_keys)} public key(s)")
    return 0
