"""The files and directories a verb names, checked before anything is read or written;
the --topology option and its default; the error for an unknown host name; the topology
and its store loaded after those checks.

Used by the CLI verbs and by plan/apply/status (netdwg.apply), so it lives in the
topology layer both of them stand on. Kept free of heavy imports (configobj,
cryptography, the renderers): `netdwg --help` imports every verb module, and
the apply path imports this; the loaders are imported where they are called.
"""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from netdwg.errors import ConfigError, NetdwgError, NotPermittedError, ParseError, Span
from netdwg.topology.model import DEFAULT_TOPOLOGY


def add_topology_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topology", "-t", metavar="FILE", default=DEFAULT_TOPOLOGY,
                        help=f"the topology file (default {DEFAULT_TOPOLOGY})")


def check_input_file(path: str | Path, what: str = "topology file") -> Path:
    """Fail with a clear NetdwgError unless `path` is a regular file this user may read.

    The loaders behind the verbs report a missing file well but not a directory,
    a FIFO (reading it would block) or a file only root may read.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        default = f", or create {DEFAULT_TOPOLOGY}" if what == "topology file" else ""
        raise NetdwgError(f"no such {what}", Span(str(path)),
                          fix=f"check the path; pass --topology FILE{default} (see netdwg.conf(5))"
                          if what == "topology file" else "check the path") from None
    except NotADirectoryError:
        raise NetdwgError(f"no such {what} (a part of the path is a file)", Span(str(path)),
                          fix="check the path") from None
    except PermissionError:
        raise NotPermittedError(f"cannot reach the {what}: permission denied", Span(str(path)),
                                fix="run as root, or as a user who may read that directory") from None
    if stat.S_ISDIR(info.st_mode):
        inside = sorted(p.name for p in path.glob("*.conf"))[:3]
        hint = f" e.g. {path / inside[0]}" if inside else ""
        raise NetdwgError(f"is a directory, not a {what}", Span(str(path)),
                          fix=f"name the file itself{hint}")
    if not stat.S_ISREG(info.st_mode):
        raise NetdwgError(f"not a regular file (a FIFO, socket or device), not a {what}", Span(str(path)),
                          fix="name the configuration file itself")
    if not os.access(path, os.R_OK):
        raise NotPermittedError(f"cannot read the {what}: permission denied", Span(str(path)),
                                fix="run as root, or as a member of the file's group")
    return path


def read_text_file(path: str | Path, what: str = "topology file") -> str:
    """The UTF-8 text of a checked input file; binary data is an error with its line."""
    path = check_input_file(path, what)
    data = path.read_bytes()
    nul = data.find(b"\0")
    if nul >= 0:
        raise ParseError("binary data (a NUL byte); this is not a text file",
                         Span(str(path), data.count(b"\n", 0, nul) + 1), fix="check that the right file was named")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ParseError("invalid UTF-8; this is not a text file", Span(str(path), data.count(b"\n", 0, err.start) + 1),
                         fix="save the file as UTF-8 text") from None


def check_output_dir(path: str | Path, option: str = "--out") -> Path:
    """Fail before anything is generated when `path` cannot be (or become) a writable directory."""
    path = Path(path)
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise NetdwgError("is not a directory" if existing == path else f"{existing} is not a directory",
                          Span(str(path)), fix=f"choose another {option} directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "" if existing == path else f" {existing}"
        raise NotPermittedError(f"cannot write into{where or ' it'}: permission denied", Span(str(path)),
                                fix=f"choose another {option} directory, or run as root")
    return path


def unknown_host(name: str, hosts: Iterable[str], topology_path: str | Path) -> ConfigError:
    """The error for a host name the topology does not have, with a guess and the list."""
    import difflib

    names = list(hosts)
    guess = difflib.get_close_matches(name, names, n=1)
    listed = ", ".join(names) if names else "none"
    fix = f"did you mean '{guess[0]}'? one of: {listed}" if guess else f"one of: {listed}"
    return ConfigError(f"no host '{name}' in the topology", span=Span(str(topology_path)), fix=fix)


def load_prepared(path: str | Path):
    """`netdwg.topology.prepare.prepare` after the topology file's own checks: the topology and
    its secrets store as they are (completing the store is a write: netdwg.apply.writes).

    A store a non-root user cannot read is exit 77 naming the store: `load_secrets` raises that.
    """
    from netdwg.topology.prepare import prepare

    read_text_file(path)
    return prepare(path)
