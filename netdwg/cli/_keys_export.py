"""`netdwg keys export --host H --out FILE`: the secrets store host H needs, and nothing more.

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

Run it where the full store is (where keys are generated): missing keys and
PSKs are generated and saved there first. An exported store is never
completed on the host: when the topology gains a peer of HOST, export again.
"""

EPILOG = """\
examples:
  netdwg keys export --host oslo --out /tmp/oslo.secrets
  scp -p /tmp/oslo.secrets root@oslo:/etc/netdwg/netdwg.secrets   (keep mode 0600, owner root)
"""


def register_action(actions) -> None:
    parser = actions.add_parser("export", help="write the store one host needs (its key, its PSKs, public keys)",
                                description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_topology_argument(parser)
    parser.add_argument("--host", metavar="HOST", required=True, help="the host the store is for")
    parser.add_argument("--out", metavar="FILE", required=True, type=Path, help="where to write it (mode 0600)")
    parser.add_argument("--json", action="store_true", help="print what was exported as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from netdwg.apply.writes import save_secrets
    from netdwg.errors import NetdwgError
    from netdwg.topology.secrets import export_secrets

    # The host name first: a typo must not generate (and save) missing secrets.
    topology = prepare_topology(args.topology, complete=False).topology
    if not topology.has_host(args.host):
        raise unknown_host(args.host, (h.name for h in topology.hosts), args.topology)
    if args.out.is_dir():
        raise NetdwgError(f"{args.out} is a directory", fix=f"name the file, e.g. {args.out / args.host}.secrets")
    said: list[str] = []
    prepared = prepare_topology(args.topology, complete=True, announce=said.append)
    if args.out.absolute() == prepared.secrets_path.absolute():
        raise NetdwgError(f"{args.out} is the full store itself", fix="write the export to another file")
    exported = export_secrets(prepared.topology, prepared.secrets, args.host)
    save_secrets(args.out, exported)
    if args.json:
        print(json.dumps({"host": args.host, "out": str(args.out), "private_keys": sorted(exported.private_keys),
                          "preshared_keys": sorted(exported.preshared_keys),
                          "public_keys": sorted(exported.public_keys), "generated": list(prepared.generated)}))
        return 0
    for line in said:
        print(line)
    own = "its private key" if exported.private_keys else "no private key (it keeps its own)"
    print(f"[#] wrote {args.out} (mode 0600): {own}, {len(exported.preshared_keys)} preshared key(s), "
          f"{len(exported.public_keys)} public key(s)")
    return 0
