"""`netdwg check FILE...`: check the files admins already have, as the programs
that read them would (systemd-networkd, systemd-sysctl, wg-quick/wg, netplan).

Which checker runs is decided by the name and place, never by the content
alone: ``.netdev``/``.network``/``.link`` and ``*.d/*.conf`` drop-ins are unit
files (a main file is checked with its drop-ins and their key files, as
networkd reads it); files in a ``sysctl.d`` directory or named ``sysctl.conf``
are sysctl; ``.yaml``/``.yml`` are netplan; ``.conf`` files in a ``wireguard``
directory are wg-quick. A ``.conf`` elsewhere is wg-quick only when it is named
on the command line and has an ``[Interface]`` or ``[Peer]`` section (wg-quick
takes a path); in a directory it is left out (a DHCP server's or D-Bus's
``.conf`` is no sysctl file). ``.nmconnection`` files are NetworkManager
keyfiles (netdwg.keyfiles: a WireGuard profile in full, any other profile's
syntax). ``--type`` overrides.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from netdwg.errors import ConfigError, Diagnostic, NetdwgError, Severity, Span, worst_exit_code

KINDS = ("unit", "sysctl", "wg-quick", "netplan", "nm-keyfile")
UNIT_SUFFIXES = (".netdev", ".network", ".link")

DESCRIPTION = """\
Check systemd-networkd unit files (.netdev, .network, .link and their .d/*.conf
drop-ins), sysctl.d files, wg-quick .conf files and netplan YAML. Every finding
is printed as FILE:LINE: SEVERITY: MESSAGE [CODE], with a fix: unknown keys
(with "did you mean"), keys newer than the target systemd, bad keys, addresses
and ports, lines the program would ignore or reject, and key-bearing files that
others can read. Nothing is changed. A directory checks the files in it and,
below it, those of host trees (DIR/HOST/etc/systemd/network, etc/wireguard,
etc/sysctl.d, etc/netplan, as `netdwg render --out DIR` writes them), across
hosts too; a directory with none of them is an error.
"""

EPILOG = """\
examples:
  netdwg check /etc/systemd/network/*.netdev /etc/systemd/network/*.network
  netdwg check /etc/systemd/network              every unit file and drop-in there
  netdwg check out/                              every host tree 'netdwg render --out out/' wrote
  netdwg check /etc/wireguard/wg0.conf /etc/sysctl.d/99-netdwg.conf
  netdwg check --systemd-version 249 hub.netdev  warn about keys newer than v249
  netdwg check --systemd-version 257 /etc/systemd/network   Debian 13's networkd
  netdwg check --systemd-version 258 out/        Arch's networkd: Kind=hsr, no netdevsim
  netdwg check --type sysctl forwarding.conf     when the name does not tell
  netdwg check --json /etc/netplan/*.yaml | jq '.diagnostics[]'

exit codes: 0 clean (warnings allowed), 1 warnings with --strict, 2 errors
(a directory with nothing to check too), 77 a file could not be read
(permission denied).
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("check", help="check unit files, sysctl.d, wg-quick and netplan files",
                                   description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", metavar="FILE", help="files or directories to check")
    parser.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    parser.add_argument("--json", action="store_true", help="print the diagnostics as JSON")
    parser.add_argument("--systemd-version", type=int, default=None, metavar="N",
                        help="the systemd version the unit files are for (default: this host's networkd, "
                             "else 252, Debian 12); picks the key tables of that release (237-260; "
                             "a newer N uses 260's)")
    parser.add_argument("--type", choices=KINDS, dest="kind", help="check every FILE as this kind (default: guessed from each path)")
    parser.set_defaults(func=run)


@dataclass(frozen=True, slots=True)
class Checked:
    path: str
    kind: str
    diagnostics: tuple[Diagnostic, ...]


def run(args: argparse.Namespace) -> int:
    if args.systemd_version is None:
        args.systemd_version = host_systemd_version()
    named = {path for path in args.files if not os.path.isdir(path)}
    paths = expand_paths(args.files, args.kind)
    checked = set(paths)
    results = [Checked(path, "unit", ()) if _main_file(path) in checked and not args.kind
               else check_path(path, args.kind, args.systemd_version, named=path in named) for path in paths]
    # Nothing checked is not a clean result: a wrong directory must not pass a script's `netdwg check`.
    empty = [Diagnostic("CHK004", Severity.ERROR, "no unit, sysctl, wg-quick or netplan files in this directory "
                        "or in the host trees below it", Span(path),
                        fix="name the files, a directory such as /etc/systemd/network, or one holding host trees "
                            "(HOST/etc/...) as 'netdwg render --out DIR' writes them")
             for path in args.files if os.path.isdir(path) and not expand_paths([path], args.kind)]
    # a drop-in is checked with its main file and again when named or found itself: report it once
    diagnostics = list(dict.fromkeys(empty + [d for r in results for d in r.diagnostics]
                                     + _sysctl_overrides(results) + _across_hosts(results)))
    code = worst_exit_code(diagnostics, args.strict)
    if any(d.code == "CHK002" for d in diagnostics) and code == 2:
        code = 77  # a file we may not read: the caller needs root, not a fix
    if args.json:
        json.dump({"systemd_version": args.systemd_version,
                   "files": [{"path": r.path, "kind": r.kind} for r in results],
                   "diagnostics": [d.to_json() for d in diagnostics], "exit": code}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return code
    for d in diagnostics:
        print(d.format())
    counts = {s: sum(d.severity is s for d in diagnostics) for s in Severity}
    print(f"{len(results)} file(s) checked: {counts[Severity.ERROR]} error(s), "
          f"{counts[Severity.WARNING]} warning(s)", file=sys.stderr)
    return code


def host_systemd_version(networkctl: str = "networkctl") -> int:
    """This host's systemd-networkd version ("systemd 257 (257.13-1)" from networkctl, the client
    of the same package); 252 (Debian 12) when there is none or it does not answer."""
    import shutil
    import subprocess

    path = shutil.which(networkctl)
    if path is None:
        return 252
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return 252
    m = re.match(r"systemd (\d+)\b", done.stdout)
    return int(m.group(1)) if done.returncode == 0 and m else 252


def _across_hosts(results: list[Checked]) -> list[Diagnostic]:
    """Between the WireGuard files of several hosts: public-key and PSK mismatches of two ends."""
    from netdwg.cli._common import read_local_key
    from netdwg.lint import check_files

    paths = [r.path for r in results if r.kind in ("unit", "wg-quick", "netplan", "nm-keyfile")
             and not any(d.severity is Severity.ERROR for d in r.diagnostics)]
    # Per-file checks already warn about modes; only the cross-file findings are new here.
    if len(paths) < 2:
        return []
    return list(check_files(read_host_files(paths, read_local_key), permissions=False))


def read_host_files(paths, read_local=None) -> tuple:
    """The host files for `netdwg.lint.check_files`, read here at the edge: each one's interfaces, text
    and the modes of the files it exposes or names as key files. Files that are not regular or do not
    parse are left out (the per-file checks report why). `read_local` reads the key files they name."""
    from netdwg.lint.files import HostFile
    from netdwg.topology.importer_files import read_host

    files = []
    for path in map(Path, paths):
        if not path.is_file():
            continue
        try:
            host = read_host(str(path), [path], read_local)
            text = path.read_text(encoding="utf-8")
        except (NetdwgError, OSError, UnicodeDecodeError):
            continue
        named = [*host.exposed, *(str(i.key_file) for i in host.interfaces if i.key_file)]
        modes = {}
        for name in named:
            try:
                modes[name] = os.stat(name).st_mode
            except OSError:
                continue  # a key file not on this machine
        files.append(HostFile(str(path), host, text, modes))
    return tuple(files)


def _sysctl_overrides(results: list[Checked]) -> list[Diagnostic]:
    """Across the sysctl files checked together: which assignments a later file undoes."""
    from netdwg.sysctl import check_sysctl_overrides, parse_sysctl, read_sysctl_text

    files = []
    for r in results:
        if r.kind == "sysctl" and not any(d.severity is Severity.ERROR for d in r.diagnostics):
            try:
                files.append(parse_sysctl(read_sysctl_text(Path(r.path)), r.path))
            except NetdwgError:
                continue
    return check_sysctl_overrides(files) if len(files) > 1 else []


_DROPIN_DIRS = tuple(s + ".d" for s in UNIT_SUFFIXES)
# Below the directory named, where each kind lives in a host tree (HOST/etc/... as `netdwg render
# --out DIR` lays it out): other .conf and .yaml files there (guard.conf, an application's YAML)
# are not these formats.
_HOME = {".conf": ("wireguard", "sysctl.d"), ".yaml": ("netplan",), ".yml": ("netplan",),
         ".nmconnection": ("system-connections",)}


def _main_file(path: str) -> str | None:
    """For a drop-in (``X.netdev.d/50-a.conf``) the main file beside its directory: it is
    checked with its drop-ins, so the drop-in's findings come from there."""
    p = Path(path)
    if p.suffix == ".conf" and p.parent.name.endswith(_DROPIN_DIRS):
        return str(p.parent.with_name(p.parent.name.removesuffix(".d")))
    return None


def expand_paths(paths: list[str], kind: str | None = None) -> list[str]:
    """Directories become the files in them whose kind the name and place tell (and the files
    of their *.d drop-in directories), sorted; other files there are left out. Below them, the
    unit files, drop-ins, wireguard/*.conf, sysctl.d/*.conf and netplan/*.yaml of every
    subdirectory (a directory of host trees: DIR/HOST/etc/systemd/network/..., DIR/HOST/etc/wireguard/...).
    With ``kind`` (--type) the user has said what the files are: every .conf, .yaml and unit file in it."""
    out: list[str] = []
    for path in paths:
        p = Path(path)
        if not p.is_dir():
            out.append(path)
            continue
        for child in sorted(p.iterdir()):
            if child.is_dir() and child.name.endswith(_DROPIN_DIRS):
                out += [str(f) for f in sorted(child.glob("*.conf"))]
            elif child.is_file() and (classify(str(child)) is not None if kind is None
                                      else child.suffix in (*UNIT_SUFFIXES, ".conf", ".yaml", ".yml",
                                                            ".nmconnection")):
                out.append(str(child))
            elif child.is_dir() and not child.name.startswith("."):
                out += _tree_files(child)
    return out


def _tree_files(top: Path) -> list[str]:
    out: list[str] = []
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(root)
        for name in sorted(files):
            suffix = Path(name).suffix
            if suffix in UNIT_SUFFIXES or (suffix == ".conf" and here.name.endswith(_DROPIN_DIRS)) \
                    or here.name in _HOME.get(suffix, ()):
                out.append(str(here / name))
    return out


def check_path(path: str, kind: str | None = None, systemd_version: int = 252, named: bool = True) -> Checked:
    """Check one file; every failure, even an unreadable file, comes back as a diagnostic.

    ``named``: the user named this file (not found in a directory), so a ``.conf``
    outside the known places may be told wg-quick by its sections."""
    try:
        data, mode = _read(path)
        limits = _limits(path, data)
        if limits:
            return Checked(path, kind or "unknown", limits)
        kind = kind or classify(path, data if named else None)
        if kind is None:
            return Checked(path, "unknown", (Diagnostic(
                "CHK003", Severity.ERROR, "cannot tell what kind of file this is", Span(path),
                fix=f"name it .netdev/.network/.link/.yaml, put it in sysctl.d, or pass --type {{{','.join(KINDS)}}}"),))
        if kind == "unit":
            from netdwg.unitfile import check_unit_file

            return Checked(path, kind, tuple(check_unit_file(path, data, target_version=systemd_version, mode=mode,
                                                             dropins=True)) + _controls(path, data))
        text = _decode(data, path)
        if kind == "sysctl":
            from netdwg.sysctl import check_sysctl

            found = check_sysctl(text, path, in_sysctl_dir=Path(path).parent.name == "sysctl.d")
        elif kind == "wg-quick":
            from netdwg.wgquick import check_wgquick

            found = check_wgquick(text, path, mode=mode & _dir_mode(path))
        elif kind == "nm-keyfile":
            found = _check_keyfile(text, path, mode)
        else:
            from netdwg.netplan import check_netplan

            found = check_netplan(text, path, mode=mode)
        return Checked(path, kind, tuple(found) + _controls(path, data))
    except ConfigError as err:  # a limit of netdwg.values (NDW005) met by a drop-in or key file the check read
        return Checked(path, kind or "unknown", err.diagnostics or (Diagnostic(
            "CHK001", Severity.ERROR, err.message, err.span or Span(path), fix=err.fix),))
    except NetdwgError as err:
        code = "CHK002" if err.exit_code == 77 else "CHK001"
        return Checked(path, kind or "unknown", (Diagnostic(code, Severity.ERROR, err.message, err.span or Span(path),
                                                            fix=err.fix),))


def _limits(path: str, data: bytes) -> tuple[Diagnostic, ...]:
    """The size and line-length limits every file netdwg reads meets (netdwg.values, NDW005)."""
    from netdwg.errors import ConfigError
    from netdwg.values import MAX_FILE_BYTES, check_file

    try:
        check_file(path, data, MAX_FILE_BYTES, "a checked file")
    except ConfigError as err:
        return err.diagnostics
    return ()


def _controls(path: str, data: bytes) -> tuple[Diagnostic, ...]:
    """Control characters inside a line (netdwg.values, NDW004): one reader's line break, another's value."""
    from netdwg.values import control_diagnostics

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return ()  # the kind's own check reports it
    if "\0" in text:
        return ()  # binary data: the kind's own check says so, once
    return tuple(control_diagnostics(path, text))


def classify(path: str, data: bytes | None = None) -> str | None:
    """The kind of file from its name and place; ``data`` (a file the user named) can only make
    a ``.conf`` outside the known places wg-quick, when it has an [Interface] or [Peer] section."""
    p = Path(path)
    if p.suffix in UNIT_SUFFIXES or (p.suffix == ".conf" and p.parent.name.endswith(
            tuple(s + ".d" for s in UNIT_SUFFIXES))):
        return "unit"
    if (p.parent.name == "sysctl.d" and p.suffix == ".conf") or p.name == "sysctl.conf":
        return "sysctl"
    if p.suffix in (".yaml", ".yml"):
        return "netplan"
    if p.suffix == ".nmconnection":
        return "nm-keyfile"
    if p.suffix == ".conf" and p.parent.name == "wireguard":
        return "wg-quick"
    if p.suffix == ".conf" and data is not None:
        head = data[:1024 * 1024].decode("utf-8", "replace")
        sections = re.findall(r"^[ \t]*\[([^\]\n]*)\]", head, re.MULTILINE)
        if any(s.strip().lower() in ("interface", "peer") for s in sections):
            return "wg-quick"
    return None


def _check_keyfile(text: str, path: str, mode: int) -> list[Diagnostic]:
    """A NetworkManager keyfile: a WireGuard profile as NetworkManager reads it (mode and owner
    included), any other profile for its syntax only (netdwg reads no other kind)."""
    from netdwg.keyfiles import check_keyfile_syntax, check_nm_wireguard, parse_keyfile

    keyfile = parse_keyfile(text, path)
    if keyfile.get("connection", "type") != "wireguard":
        return check_keyfile_syntax(keyfile)
    return check_nm_wireguard(text, path, mode=mode, owner_uid=os.stat(path).st_uid)


def _read(path: str) -> tuple[bytes, int]:
    from netdwg.errors import NotPermittedError, ParseError
    from netdwg.values import MAX_FILE_BYTES

    try:
        # stat first: opening a FIFO or a device would block or read forever
        if not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path):
            raise ParseError("not a regular file", Span(path), fix="name the configuration file itself")
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            return f.read(MAX_FILE_BYTES + 1), info.st_mode & 0o7777  # a larger file is refused unread
    except PermissionError:
        raise NotPermittedError("cannot read: permission denied", Span(path),
                                fix="run as root, or as a member of the file's group") from None
    except IsADirectoryError:
        raise ParseError("is a directory", Span(path)) from None
    except FileNotFoundError:
        raise ParseError("no such file", Span(path), fix="check the path") from None
    except OSError as err:
        raise ParseError(f"cannot read: {err.strerror}", Span(path)) from None


def _decode(data: bytes, path: str) -> str:
    from netdwg.errors import ParseError

    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise ParseError(f"binary data (a NUL byte) at line {line}; this is not a text file", Span(path, line),
                         fix="check that the right file was named")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ParseError(f"invalid UTF-8 at line {line}; this is not a text file", Span(path, line),
                         fix="save the file as UTF-8 text") from None


def _dir_mode(path: str) -> int:
    # wg-quick warns only when both the file and its directory let others in.
    try:
        return os.stat(Path(path).resolve().parent).st_mode & 0o7777
    except OSError:
        return 0o7777
