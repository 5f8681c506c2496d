"""`netdwg qr HOST`: a host's wg-quick configuration as a QR code (terminal or PNG)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from netdwg.cli._common import prepare_topology
from netdwg.errors import ConfigError, NetdwgError
from netdwg.topology.inputs import add_topology_argument, check_output_dir, read_text_file, unknown_host

DESCRIPTION = """\
Show HOST's wg-quick configuration as a QR code, for the WireGuard app on a
phone ("Add tunnel" > "Scan from QR code"). The code holds the private key:
show it only to the phone it is for. --png writes an image instead (mode
0600). Missing keys are generated first, as 'netdwg render' does.
"""

EPILOG = """\
examples:
  netdwg qr ben
  netdwg qr ben --png ben.png --scale 6
  netdwg qr --topology office.conf ana --interface wg-s2s
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("qr", help="a host's wg-quick conf as a QR code", description=DESCRIPTION,
                                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_topology_argument(parser)
    parser.add_argument("host", metavar="HOST")
    parser.add_argument("--interface", metavar="IF", help="which interface (default: the network's)")
    parser.add_argument("--png", metavar="FILE", type=Path, help="write a PNG image instead of printing")
    parser.add_argument("--scale", type=_scale, default=8, metavar="N", help="PNG pixels per module (default 8)")
    parser.add_argument("--invert", action="store_true", help="for terminals with a light background")
    parser.set_defaults(func=run)


def _scale(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of pixels from 1 to 100")
    return value


def run(args) -> int:
    from netdwg.render.qr import qr_png, qr_terminal
    from netdwg.render.wgquick import conf_text
    from netdwg.topology.compile import compile_host
    from netdwg.topology.secrets import check_holds

    # What the user named is checked before missing secrets are generated and saved.
    read_text_file(args.topology)  # a clear error for a directory, binary data, no permission
    if args.png:
        if args.png.is_dir():
            raise NetdwgError(f"{args.png} is a directory", fix=f"name the image file, e.g. {args.png / args.host}.png")
        check_output_dir(args.png.parent, "--png")
    topology = prepare_topology(args.topology, complete=False).topology
    if not topology.has_host(args.host):
        raise unknown_host(args.host, (h.name for h in topology.hosts), args.topology)
    prepared = prepare_topology(args.topology, complete=True, announce=lambda m: print(m, file=sys.stderr))
    check_holds(prepared.secrets, args.host, prepared.secrets_path)
    host = compile_host(prepared.topology, prepared.secrets, args.host)
    if not host.interfaces:
        raise ConfigError(f"host {args.host!r} has no WireGuard interface", fix="give it an address in the pool")
    names = [i.name for i in host.interfaces]
    name = args.interface or names[0]
    if name not in names:
        raise ConfigError(f"host {args.host!r} has no interface {name!r}", fix="one of: " + ", ".join(names))
    text = conf_text(host.interface(name))
    if args.png:
        from netdwg.apply.writes import write_private

        write_private(args.png, qr_png(text, args.scale), "--png")  # 0600 whatever an older file had: a private key
        print(f"[#] wrote {args.png} (0600; it holds {args.host}'s private key)", file=sys.stderr)
        return 0
    sys.stdout.write(qr_terminal(text, invert=args.invert))
    return 0
