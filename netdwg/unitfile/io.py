"""The one place the unit-file library reads the host: a file's bytes and mode, its drop-ins, key files."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from netdwg.errors import NotPermittedError, ParseError, Span
from netdwg.unitfile.syntax import UnitFile, parse_unit
from netdwg.values import MAX_FILE_BYTES, check_size


def read_unit_bytes(path: Path | str, shown: str | None = None) -> tuple[bytes, int]:
    """The file's bytes and its permission bits, with user-facing errors."""
    shown = shown or str(path)
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode & 0o7777
            data = f.read(MAX_FILE_BYTES + 1)  # a larger file is refused unread (netdwg.values)
    except PermissionError:
        raise NotPermittedError(f"cannot read {shown}: permission denied", Span(shown),
                                fix="run as root, or as a member of the file's group") from None
    except IsADirectoryError:
        raise ParseError(f"{shown} is a directory, not a unit file", Span(shown)) from None
    except OSError as err:
        what = "no such file" if err.errno == errno.ENOENT else err.strerror
        raise ParseError(f"cannot read {shown}: {what}", Span(shown)) from None
    check_size(shown, len(data), MAX_FILE_BYTES, "a unit file")  # long lines: the parser's own LONG_LINE_MAX
    return data, mode


def load_unit(path: Path | str, shown: str | None = None) -> UnitFile:
    """Read and parse one unit file; ``shown`` is the path used in messages and spans."""
    data, _mode = read_unit_bytes(path, shown)
    return parse_unit(data, shown or str(path))


def dropin_paths(path: Path | str) -> list[Path]:
    """The drop-ins beside a main unit file (``NAME.d/*.conf``), in the order networkd reads them."""
    directory = Path(f"{path}.d")
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".conf"))
    except OSError:
        return []
    return [directory / name for name in names]


def read_key_file(path: str) -> tuple[bytes | None, int, str]:
    """A PrivateKeyFile=/PresharedKeyFile= as networkd reads it: (bytes or None, mode, why not).

    Only regular files are read (networkd also connects to an AF_UNIX socket there;
    that is not something a check should do). At most 64 KiB: a key file is 45 bytes.
    """
    try:
        st = os.stat(path)
    except OSError as err:
        return None, 0, "no such file" if err.errno == errno.ENOENT else err.strerror
    if not stat.S_ISREG(st.st_mode):
        return None, st.st_mode & 0o7777, "not a regular file"
    try:
        with open(path, "rb") as f:
            return f.read(64 * 1024 + 1), st.st_mode & 0o7777, ""
    except OSError as err:
        return None, st.st_mode & 0o7777, err.strerror or "cannot read"
