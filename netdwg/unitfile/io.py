"""The one place the unit-file library reads the host: a file's bytes and mode."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from netdwg.errors import NotPermittedError, ParseError, Span
from netdwg.unitfile.syntax import UnitFile, parse_unit


def read_unit_bytes(path: Path | str, shown: str | None = None) -> tuple[bytes, int]:
    """The file's bytes and its permission bits, with user-facing errors."""
    shown = shown or str(path)
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode & 0o7777
            return f.read(), mode
    except PermissionError:
        raise NotPermittedError(f"cannot read {shown}: permission denied", Span(shown),
                                fix="run as root, or as a member of the file's group") from None
    except IsADirectoryError:
        raise ParseError(f"{shown} is a directory, not a unit file", Span(shown)) from None
    except OSError as err:
        what = "no such file" if err.errno == errno.ENOENT else err.strerror
        raise ParseError(f"cannot read {shown}: {what}", Span(shown)) from None


def load_unit(path: Path | str, shown: str | None = None) -> UnitFile:
    """Read and parse one unit file; ``shown`` is the path used in messages and spans."""
    data, _mode = read_unit_bytes(path, shown)
    return parse_unit(data, shown or str(path))
