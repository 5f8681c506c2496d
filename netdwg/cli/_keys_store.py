"""`netdwg keys generate` and `netdwg keys rotate HOST`: the topology's secrets store.

Found by `netdwg/cli/keys.py` (modules named `_keys_*` with `register_action`).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from types import MappingProxyType

from netdwg.cli._common import prepare_topology, write_or_explain
from netdwg.topology.inputs import add_topology_argument, unknown_host

GENERATE_DESCRIPTION = """\
Complete the secrets store of the topology (beside it, <name>.secrets, mode
0600): a private key for every host that does not keep its own (public_key =
in the topology), and one preshared key per pair of peers, the same on both
ends. Existing keys are never replaced. What is generated is announced by
name, never by value.
"""

ROTATE_DESCRIPTION = """\
Give HOST a new private key (and, with --psks, new preshared keys with each
of its peers). Every file that names the old key changes when rendered again;
netdwg prints the hosts that must re-apply: HOST itself and every host that
has it as a peer. Apply HOST and its peers close together: until both sides
have the new key, their tunnel is down.
"""

EPILOG = """\
examples:
  netdwg keys generate --topology /etc/netdwg/netdwg.conf
  netdwg keys rotate ben                  a lost phone: new key, the hub re-applies
  netdwg keys rotate oslo --psks --json   new key and PSKs; JSON lists who must re-apply
"""


def register_action(actions) -> None:
    generate = actions.add_parser("generate", help="complete the topology's secrets store",
                                  description=GENERATE_DESCRIPTION, epilog=EPILOG,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    rotate = actions.add_parser("rotate", help="a new key for HOST; prints who must re-apply",
                                description=ROTATE_DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    rotate.add_argument("host", metavar="HOST")
    rotate.add_argument("--psks", action="store_true", help="also replace the PSKs HOST shares with its peers")
    for parser, run in ((generate, run_generate), (rotate, run_rotate)):
        add_topology_argument(parser)
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        parser.set_defaults(func=run)


def run_generate(args) -> int:
    said: list[str] = []
    prepared = prepare_topology(args.topology, complete=True, announce=said.append)
    if args.json:
        print(json.dumps({"secrets": str(prepared.secrets_path), "generated": list(prepared.generated)}))
        return 0
    for line in said:
        print(line)
    if not prepared.generated:
        print(f"{prepared.secrets_path}: complete (every host has a key, every peer pair a PSK)")
    return 0


def must_reapply(before, after) -> tuple[str, ...]:
    """Hosts whose compiled configuration differs: they get new files and must apply them."""
    return tuple(name for name in after if before.get(name) != after[name])


def run_rotate(args) -> int:
    from netdwg.topology.compile import compile_topology
    from netdwg.apply.writes import save_secrets
    from netdwg.topology.secrets import complete_secrets, rotate_key

    # The host name first: a typo must not generate (and save) missing secrets.
    topology = prepare_topology(args.topology, complete=False).topology
    if not topology.has_host(args.host):
        raise unknown_host(args.host, (h.name for h in topology.hosts), args.topology)
    said: list[str] = []
    prepared = prepare_topology(args.topology, complete=True, announce=said.append)
    topology, secrets = prepared.topology, prepared.secrets
    before = compile_topology(topology, secrets)
    rotated = rotate_key(topology, secrets, args.host)
    changed = [f"private key of {args.host}"]
    if args.psks:
        kept = {k: v for k, v in rotated.preshared_keys.items() if args.host not in k.split(":")}
        rotated, made = complete_secrets(topology, replace(rotated, preshared_keys=MappingProxyType(kept)))
        changed += list(made)
    write_or_explain(lambda: save_secrets(prepared.secrets_path, rotated), prepared.secrets_path, "the secrets store")
    hosts = must_reapply(before, compile_topology(topology, rotated))
    if args.json:
        print(json.dumps({"host": args.host, "replaced": changed, "secrets": str(prepared.secrets_path),
                          "reapply": list(hosts)}))
        return 0
    for line in said:
        print(line)
    for what in changed:
        print(f"[#] replaced {what}")
    print(f"[#] saved {prepared.secrets_path} (mode 0600)")
    print(f"re-render and apply on: {', '.join(hosts)}")
    print("  (their tunnels to each other are down until both ends have the new key)")
    return 0
