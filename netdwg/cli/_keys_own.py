"""`netdwg keys own`: the private key a host keeps itself (`public_key =` in the topology).

Found by `netdwg/cli/keys.py` (modules named `_keys_*` with `register_action`).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from netdwg.errors import NetdwgError, ParseError, Span

KEY_DIR = Path("/etc/netdwg/keys")  # where the topology's renderers point PrivateKeyFile= (netdwg.topology.hostconfig)

DESCRIPTION = """\
On a host that keeps its own private key (the topology sets its public_key):
create /etc/netdwg/keys/IF.key if it is missing, or replace it with --rotate,
and print the public key. The private key is never printed. Use the printed
public key where the topology is: netdwg host set HOST public_key=KEY.
The file is 0600 root, or 0640 root:GROUP with --group (networkd reads
PrivateKeyFile= as systemd-network).
"""

EPILOG = """\
examples:
  netdwg keys own --interface wg0 --group systemd-network    # networkd and netplan hosts
  netdwg keys own --interface wg0                            # wg-quick hosts
  netdwg keys own --interface wg0 --rotate --json
"""


def register_action(actions) -> None:
    parser = actions.add_parser("own", help="create (or --rotate) this host's own key; print its public key",
                                description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interface", "-i", metavar="IF", default="wg0", help="the WireGuard interface (default wg0)")
    parser.add_argument("--rotate", action="store_true", help="replace an existing key with a new one")
    parser.add_argument("--group", metavar="GROUP", help="0640 root:GROUP instead of 0600 root")
    parser.add_argument("--key-dir", metavar="DIR", type=Path, default=KEY_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help='print {"public_key", "created", "rotated", "path"}')
    parser.set_defaults(func=run)


def run(args) -> int:
    from netdwg.apply.writes import write_host_key
    from netdwg.keys import PrivateKey, genkey, pubkey
    from netdwg.values import ValueRefused, check_interface

    try:
        check_interface(args.interface, "--interface")
    except ValueRefused as err:
        raise NetdwgError(f"--interface: {err}", fix="name the interface as the topology does, e.g. wg0") from None
    path = args.key_dir / f"{args.interface}.key"
    private = None
    if not args.rotate:
        try:
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            pass
        except (UnicodeDecodeError, OSError) as err:
            raise NetdwgError(f"{path}: cannot read the key: {getattr(err, 'strerror', None) or 'not a key'}",
                              Span(str(path)), fix="run as root, or --rotate to replace it") from None
        else:
            try:
                private = PrivateKey.from_base64(text, Span(str(path), 1))
            except ParseError:
                raise ParseError(f"{path}: not a WireGuard private key", Span(str(path), 1),
                                 fix="--rotate replaces it with a new key") from None
    made = private is None
    if made:
        private = genkey()
        write_host_key(path, (private.reveal_base64() + "\n").encode("ascii"), args.group)
    elif _access_differs(path, args.group):  # e.g. the backend changed: the same key, the mode it needs now
        write_host_key(path, (private.reveal_base64() + "\n").encode("ascii"), args.group)
    public = pubkey(private).base64
    if args.json:
        print(json.dumps({"public_key": public, "created": made and not args.rotate, "rotated": bool(args.rotate),
                          "path": str(path)}))
    else:
        print(public)
    return 0


def _access_differs(path: Path, group: str | None) -> bool:
    import grp

    st = os.stat(path)
    if group is None:
        return st.st_mode & 0o777 != 0o600 or st.st_uid != 0
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        return True  # write_host_key says the group is missing
    return st.st_mode & 0o777 != 0o640 or (st.st_uid, st.st_gid) != (0, gid)
