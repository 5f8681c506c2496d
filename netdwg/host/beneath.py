"""Opening a directory beneath another without leaving it: no `..`, no symbolic link followed.

The resolution the one atomic writer (netdwg/host/files.py) stands on: openat2 with
RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel has it (Linux 5.6+; Python
has no os.openat2, so the syscall itself), else one component at a time with
O_NOFOLLOW relative to the parent's descriptor (`Tree.open_directory`).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

from netdwg.errors import NetdwgError, Span

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_BENEATH = 0x02, 0x04, 0x08
# Python has no os.openat2: the syscall itself, number 437 on x86_64 and aarch64 alike (asm-generic).
_OPENAT2 = {"x86_64": 437, "aarch64": 437}.get(os.uname().machine)
_syscall = None


def openat2_dir(dir_fd: int, relative: str) -> int | None:
    """openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) of a directory; None where the kernel lacks it."""
    global _OPENAT2, _syscall
    if _OPENAT2 is None:
        return None
    import ctypes  # here: only a command that opens a tree pays for it

    if _syscall is None:
        _syscall = ctypes.CDLL(None, use_errno=True).syscall
        _syscall.restype = ctypes.c_long
    how = (ctypes.c_uint64 * 3)(DIR_FLAGS, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
    fd = _syscall(ctypes.c_long(_OPENAT2), ctypes.c_int(dir_fd), os.fsencode(relative),  # struct open_how
                  ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
    if fd >= 0:
        return fd
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EPERM):  # before 5.6, or a seccomp filter that does not know it
        _OPENAT2 = None
        return None
    raise OSError(code, os.strerror(code), relative)


def relative_parts(path: str | PurePosixPath) -> tuple[str, ...]:
    """The components of `path` inside a tree ("/etc/x" under --root is "etc", "x"); `.`/`..` refused."""
    text = str(path)
    parts = tuple(part for part in text.split("/") if part)
    if "\0" in text or any(part in (".", "..") for part in parts):
        raise NetdwgError(f"refusing to write {text!r}: a '.' or '..' component would leave the directory",
                          fix="name the file without '.' or '..' (interface and host names are plain names)")
    return parts


def split(relative: str | PurePosixPath) -> tuple[tuple[str, ...], str]:
    """(directories, file name) of a file's path inside a tree."""
    parts = relative_parts(relative)
    if not parts:
        raise NetdwgError(f"refusing to write {str(relative)!r}: it names the directory itself, not a file")
    return parts[:-1], parts[-1]


def link_error(place: Path, kind: str) -> NetdwgError:
    if kind == "link":
        return NetdwgError(f"{place}: a symbolic link; netdwg does not follow links inside the directories "
                           "it writes (it could lead outside)", Span(str(place)),
                           fix=f"replace {place} with the real directory or file, or write elsewhere")
    return NetdwgError(f"{place}: not a directory", Span(str(place)), fix=f"move {place} away, or write elsewhere")


def kind_of(dir_fd: int, name: str) -> str:
    try:
        mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return "missing"
    return "link" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode) else "other"
