"""`netdwg keys genkey|pubkey|genpsk`: WireGuard keys, as `wg` makes them.

The actions are sub-commands of ``keys``. More actions (``netdwg keys rotate
HOST``) are added without editing this file: a module ``netdwg/cli/_keys_<name>.py``
(the leading underscore keeps it out of the top-level verbs) that defines
``register_action(actions)`` is found and called with the sub-subparsers; it
calls ``actions.add_parser(...)`` and ``set_defaults(func=run)`` as verbs do.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import stat
import sys
import textwrap

from netdwg.errors import NetdwgError, Span

# netdwg.keys (cryptography) is imported inside the actions: `netdwg --help` stays fast.

DESCRIPTION = """\
Make WireGuard keys exactly as wg(8) does: genkey prints a new private key,
pubkey reads a private key on stdin and prints its public key, genpsk prints a
new preshared key. Keys are 32 bytes in base64; any tool that reads wg's keys
reads these. For the topology's own secrets store, use generate (fill in
missing keys and PSKs), rotate HOST (a new key; prints who must re-apply) and
export --host HOST --out FILE (the store HOST needs: its own key only; with
--out-dir DIR, every host's store as DIR/HOST.secrets in one run).

A private key or PSK is never printed to a terminal: send it to a file or a
pipe. Like wg, genkey and genpsk warn when the file they write can be read by
others; set the umask to 077 first.
"""

EPILOG = """\
examples:
  (umask 077; netdwg keys genkey > /etc/wireguard/wg0.key)
  netdwg keys pubkey < /etc/wireguard/wg0.key > /etc/wireguard/wg0.pub
  netdwg keys genkey | tee /etc/wireguard/wg0.key | netdwg keys pubkey
  (umask 077; netdwg keys genpsk > /etc/wireguard/hub-oslo.psk)
  netdwg keys rotate ben --topology /etc/netdwg/netdwg.conf
  netdwg keys export --out-dir /srv/fleet/exports   every host's store: exports/HOST.secrets

exit codes: 0 ok, 2 bad input (not a key) or refusing to print a secret to a terminal.
"""

# wg(8) genkey/genpsk, word for word (wireguard-tools src/genkey.c).
WORLD_ACCESSIBLE_WARNING = "Warning: writing to world accessible file.\nConsider setting the umask to 077 and trying again.\n"


def register(subparsers) -> None:
    parser = subparsers.add_parser("keys", help="WireGuard keys: genkey, pubkey, genpsk; generate, rotate, export",
                                   description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="keys_action", metavar="ACTION")
    parser.set_defaults(func=lambda args: _usage(parser))
    for name, help_text, more, run in (
            ("genkey", "print a new private key", " Like `wg genkey`, it writes only to a file or a pipe "
             "and warns when the file may be read by others.", run_genkey),
            ("pubkey", "read a private key on stdin, print its public key", " Like `wg pubkey`: only "
             "whitespace may follow the key; a bad key is an error that never echoes the input.", run_pubkey),
            ("genpsk", "print a new preshared key", " Like `wg genpsk`, it writes only to a file or a pipe "
             "and warns when the file may be read by others.", run_genpsk)):
        description = textwrap.fill(help_text[0].upper() + help_text[1:] + "." + more, 79)
        action = actions.add_parser(name, help=help_text, description=description,
                                    epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
        action.set_defaults(func=run)
    for module in _action_modules():
        module.register_action(actions)


def _action_modules():
    package = importlib.import_module("netdwg.cli")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_keys_"):
            module = importlib.import_module(f"netdwg.cli.{info.name}")
            if hasattr(module, "register_action"):
                yield module


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_genkey(args: argparse.Namespace) -> int:
    from netdwg.keys import genkey

    _write_secret(genkey().reveal_base64(), "private key")
    return 0


def run_genpsk(args: argparse.Namespace) -> int:
    from netdwg.keys import genpsk

    _write_secret(genpsk().reveal_base64(), "preshared key")
    return 0


def run_pubkey(args: argparse.Namespace) -> int:
    from netdwg.errors import ParseError
    from netdwg.keys import PrivateKey, pubkey

    # wg pubkey reads the base64 key and allows only whitespace after it.
    data = sys.stdin.buffer.read(4096)
    if not data.strip():
        raise ParseError("no private key on stdin", Span("<stdin>"),
                         fix="pipe one in: netdwg keys pubkey < /etc/wireguard/wg0.key")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = "?"
    private = PrivateKey.from_base64(text, Span("<stdin>", 1))  # ParseError never echoes a private key
    sys.stdout.write(pubkey(private).base64 + "\n")
    sys.stdout.flush()
    return 0


def _write_secret(text: str, what: str) -> None:
    out = sys.stdout
    fd = out.fileno()
    if os.isatty(fd):
        raise NetdwgError(f"refusing to print a {what} to a terminal", Span("<stdout>"),
                          fix="send it to a file or a pipe, e.g. (umask 077; netdwg keys genkey > wg0.key)")
    info = os.fstat(fd)
    if stat.S_ISREG(info.st_mode) and info.st_mode & stat.S_IRWXO:
        sys.stderr.write(WORLD_ACCESSIBLE_WARNING)
    out.write(text + "\n")
    out.flush()


__all__ = ["register", "run_genkey", "run_pubkey", "run_genpsk", "WORLD_ACCESSIBLE_WARNING"]
