"""The one atomic writer: every file netdwg writes, renames or removes goes through a `Tree`.

A `Tree` is a directory netdwg writes beneath (`apply --root` or "/", the
state directory and its backups, `render --out`, the directory of the
secrets store or of the topology file) and never leaves:

* a path with a `.` or `..` component is refused, before anything is opened;
* no symbolic link below the tree's directory is followed: directories are
  opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the kernel
  has it (Linux 5.6+), else one component at a time with O_NOFOLLOW relative
  to the parent's descriptor; a link met there, or at the file itself, is an
  error naming it. The directory the caller named may itself be reached
  through links: it is the user's choice, not something found inside.

A write creates a temp file in the target's directory with the final mode
and owner *before* any byte lands in it (so a key is never readable by
others, not even for a moment), writes, fsyncs, renames it over the target
through the directory's descriptor and fsyncs the directory: a crash leaves
the old file or the new one, never a mix (wg-quick's umask 077 + mv,
netplan's CONSISTENT flag). On every failure (no space while writing, a
read-only or cross-device rename, an exception or signal in between) the
temp file is removed before the error is raised; only a kill -9 can leave one,
and the next apply sweeps it (`RootFiles.sweep_temp_files`).
"""

from __future__ import annotations

import errno
import grp
import itertools
import os
import pwd
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from netdwg.errors import ApplyError, NetdwgError, NotPermittedError, Span
from netdwg.host.beneath import DIR_FLAGS, kind_of, link_error, openat2_dir, relative_parts, split
from netdwg.plan.model import FileState
from netdwg.rendered import RenderedFile

TMP_MARK = ".netdwg-tmp."
MANIFEST = "managed-files"
PENDING = "pending-live-steps"

class Tree:
    """A directory netdwg writes, renames and removes beneath, and never outside."""

    def __init__(self, base: str | os.PathLike, dir_mode: int = 0o755) -> None:
        self.base = Path(base)
        self.dir_mode = dir_mode  # for directories the tree creates (0700 for the state directory)

    def path(self, relative: str | PurePosixPath) -> Path:
        return self.base.joinpath(*relative_parts(relative))

    @contextmanager
    def directory(self, parts: tuple[str, ...], create: bool) -> Iterator[int | None]:
        """A descriptor of base/parts (created when `create`), None when it does not exist."""
        fd = self.open_directory(parts, create)
        try:
            yield fd
        finally:
            if fd is not None:
                os.close(fd)

    def open_directory(self, parts: tuple[str, ...], create: bool) -> int | None:
        try:
            try:
                base_fd = os.open(self.base, DIR_FLAGS)
            except FileNotFoundError:
                if not create:
                    return None
                os.makedirs(self.base, mode=self.dir_mode, exist_ok=True)  # once: later writes find it
                base_fd = os.open(self.base, DIR_FLAGS)
        except (NotADirectoryError, FileExistsError):
            raise link_error(self.base, "other") from None
        try:
            return self._open_below(base_fd, parts, create)
        finally:
            os.close(base_fd)

    def _open_below(self, base_fd: int, parts: tuple[str, ...], create: bool) -> int | None:
        if not parts:
            return os.dup(base_fd)
        try:
            fd = openat2_dir(base_fd, "/".join(parts))
            if fd is not None:
                return fd
        except OSError:
            pass  # missing, a link, not a directory: the walk creates it or names what it met
        fd = os.dup(base_fd)
        try:
            for depth, name in enumerate(parts, 1):
                try:
                    below = os.open(name, DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        os.close(fd)
                        return None
                    try:
                        os.mkdir(name, self.dir_mode, dir_fd=fd)
                    except FileExistsError:
                        pass  # made meanwhile by someone else: opened below, still without following links
                    below = os.open(name, DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as err:
                    if err.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    raise link_error(self.base.joinpath(*parts[:depth]), kind_of(fd, name)) from None
                os.close(fd)
                fd = below
            return fd
        except BaseException:
            os.close(fd)
            raise

    def write(self, relative: str | PurePosixPath, data: bytes, mode: int,
              ids: tuple[int, int] | None = None) -> Path:
        """Atomically replace base/relative with `data` (mode and owner final before the first byte)."""
        return self.write_many([(relative, data, mode, ids)])[0]

    def write_many(self, files: list[tuple[str | PurePosixPath, bytes, int, tuple[int, int] | None]]) -> list[Path]:
        """Write each (relative, data, mode, ids) as `write` does.

        One file: its temp file and then its directory are fsynced. More: every
        temp file is written (each descriptor closed at once), the file system is
        synced once (syncfs), the temp files are renamed, and it is synced once
        more: the same order (data on disk before the rename, the rename on disk
        before returning) without two fsyncs per file, which made a 10,000-laptop
        `render --out` (16,895 files) wait minutes on a busy disk. On a failure
        every temp file not yet renamed is removed; those renamed stay whole.
        """
        one = len(files) == 1
        staged: list[_Staged] = []
        done: list[Path] = []
        try:
            for relative, data, mode, ids in files:
                staged.append(self._stage(relative, data, mode, ids, fsync=one))
            if not one:
                _sync_filesystem(self.base)
            for item in staged:
                done.append(self._commit(item, fsync=one))
        except BaseException as err:
            pending = staged[len(done):]
            left = [problem for item in pending if (problem := self._discard(item)) is not None]
            if isinstance(err, NetdwgError):
                raise  # from _stage, which removed its own temp file and named the file
            if isinstance(err, OSError):  # a rename or the sync: pending[0] is the file being renamed
                raise _write_error(pending[0].target if pending else self.base, err, left[0] if left else None) from None
            if left:
                raise left[0] from err
            raise
        if not one:
            _sync_filesystem(self.base)
        return done

    def _stage(self, relative: str | PurePosixPath, data: bytes, mode: int, ids: tuple[int, int] | None,
               fsync: bool) -> "_Staged":
        """The temp file beside base/relative, final owner and mode first, then the data."""
        dirs, name = split(relative)
        staged = _Staged(dirs, name, f".{name}{TMP_MARK}{os.getpid()}", self.base.joinpath(*dirs, name))
        try:
            dir_fd = self.open_directory(dirs, create=True)
        except NetdwgError:
            raise
        except OSError as err:  # no directory to write in: the error names the file
            raise _write_error(staged.target, err, None) from None
        try:
            if (kind := kind_of(dir_fd, name)) in ("link", "dir"):
                raise link_error(staged.target, kind)
            try:
                fd = os.open(staged.tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                             dir_fd=dir_fd)
            except OSError as err:
                raise _write_error(staged.target, err, None) from None
            try:
                if ids is not None:  # permission first: owner and mode are final before the first byte
                    os.fchown(fd, *ids)
                os.fchmod(fd, mode)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                if fsync:
                    os.fsync(fd)
            except BaseException as err:  # ENOSPC, a signal: the temp file may hold part of a key
                left = _remove_temp(dir_fd, staged.tmp, staged.temp_path)
                if isinstance(err, OSError):
                    raise _write_error(staged.target, err, left) from None
                if left is not None:
                    raise left from err
                raise
            finally:
                os.close(fd)
        finally:
            os.close(dir_fd)
        return staged

    def _commit(self, staged: "_Staged", fsync: bool) -> Path:
        with self.directory(staged.dirs, create=False) as dir_fd:
            if dir_fd is None:  # its directory went away since the temp file was written there
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(staged.target.parent))
            os.rename(staged.tmp, staged.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            if fsync:
                os.fsync(dir_fd)
        return staged.target

    def _discard(self, staged: "_Staged") -> NetdwgError | None:
        try:
            with self.directory(staged.dirs, create=False) as dir_fd:
                return None if dir_fd is None else _remove_temp(dir_fd, staged.tmp, staged.temp_path)
        except (OSError, NetdwgError) as err:
            return NetdwgError(f"could not remove the temporary file {staged.temp_path} ({err}); it may hold a key",
                               Span(str(staged.temp_path)), fix=f"remove it by hand: rm -f {staged.temp_path}")

    def read(self, relative: str | PurePosixPath) -> tuple[bytes, os.stat_result] | None:
        """The bytes and lstat of base/relative, None when it does not exist (a link is an error)."""
        dirs, name = split(relative)
        with self.directory(dirs, create=False) as dir_fd:
            if dir_fd is None:
                return None
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
            except FileNotFoundError:
                return None
            except OSError as err:
                if err.errno != errno.ELOOP:
                    raise
                raise link_error(self.base.joinpath(*dirs, name), "link") from None
            with os.fdopen(fd, "rb") as handle:
                return handle.read(), os.fstat(handle.fileno())

    def remove(self, relative: str | PurePosixPath) -> bool:
        """Remove base/relative (a link itself, never what it points to); False when it was not there."""
        dirs, name = split(relative)
        with self.directory(dirs, create=False) as dir_fd:
            if dir_fd is None:
                return False
            try:
                os.unlink(name, dir_fd=dir_fd)
            except FileNotFoundError:
                return False
            os.fsync(dir_fd)
            return True

    def names(self, relative: str | PurePosixPath = "") -> list[str]:
        """The entries of a directory of the tree ([] when it does not exist)."""
        with self.directory(relative_parts(relative), create=False) as dir_fd:
            return [] if dir_fd is None else os.listdir(dir_fd)

    def remove_tree(self, relative: str | PurePosixPath) -> None:
        """Remove a directory and everything in it, by descriptor: links inside are removed, not followed."""
        import shutil  # here: shutil brings bz2 and lzma, which every apply's start would pay for

        dirs, name = split(relative)
        with self.directory(dirs, create=False) as dir_fd:
            if dir_fd is not None and kind_of(dir_fd, name) == "dir":
                shutil.rmtree(name, dir_fd=dir_fd)


@dataclass(frozen=True, slots=True)
class _Staged:
    """A temp file written beside its target, not yet renamed over it."""

    dirs: tuple[str, ...]
    name: str
    tmp: str
    target: Path

    @property
    def temp_path(self) -> Path:
        return self.target.with_name(self.tmp)


def _sync_filesystem(path: Path) -> None:
    """syncfs(2) of the file system holding `path` (sync(2) where libc lacks it)."""
    import ctypes  # here: only a batch write pays for it

    fd = os.open(path, DIR_FLAGS)
    try:
        syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _remove_temp(dir_fd: int, tmp: str, shown: Path) -> NetdwgError | None:
    """Remove a temp file that was not renamed, emptied first in case its name must stay.

    An error saying where it is when even the unlink fails (a file system that went read-only).
    Only this run's temp file is touched (the name carries the pid); once renamed, it is gone.
    """
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        pass  # renamed already (a signal right after the rename), or not writable: the unlink says
    else:
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass  # the unlink below may still work
        finally:
            os.close(fd)
    try:
        os.unlink(tmp, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except OSError as err:
        return NetdwgError(f"could not remove the temporary file {shown} ({err.strerror}); it may hold a key",
                           Span(str(shown)), fix=f"remove it by hand: rm -f {shown}")
    return None


def _write_error(target: Path, err: OSError, left: NetdwgError | None) -> NetdwgError:
    kept = "" if left is None else f"; {left.message}"
    if err.errno in (errno.EACCES, errno.EPERM):
        return NotPermittedError(f"cannot write {target}: {err.strerror}{kept}", Span(str(target)),
                                 fix=left.fix if left else "run as root")
    why = {errno.ENOSPC: "no space left on the file system", errno.EDQUOT: "disk quota exceeded",
           errno.EROFS: "read-only file system", errno.EXDEV: "the rename crossed file systems"}
    fixes = {errno.ENOSPC: "free space there and run again", errno.EDQUOT: "free space there and run again",
             errno.EROFS: "remount it read-write, or write elsewhere"}
    return NetdwgError(f"cannot write {target}: {why.get(err.errno, err.strerror)}; the old file is unchanged{kept}",
                       Span(str(target)), fix=left.fix if left else fixes.get(err.errno, "check the directory and run again"))


def _name_of_uid(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _name_of_gid(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


class RootFiles:
    """The `Files` port over a directory tree: "/" on a live host, any DIR with --root."""

    def __init__(self, root: Path, state_dir: Path | None = None) -> None:
        self.root = Path(root)
        self.tree = Tree(self.root)
        # The state directory and its backups hold old keys: root only, whatever the umask.
        self.state = Tree(state_dir, dir_mode=0o700) if state_dir else None
        self.state_dir = Path(state_dir) if state_dir else self.root / "var/lib/netdwg"
        self.backup_dir: Path | None = None
        self.is_root_user = os.geteuid() == 0

    def _state(self, name: str) -> tuple[Tree, str]:
        """The tree and path of a file in the state directory (under --root unless --state-dir)."""
        if self.state is not None:
            self._private(self.state, "")
            return self.state, name
        self._private(self.tree, "var/lib/netdwg")
        return self.tree, f"var/lib/netdwg/{name}"

    def _private(self, tree: Tree, relative: str) -> None:
        with tree.directory(relative_parts(relative), create=True) as fd:
            os.fchmod(fd, 0o700)

    def host_path(self, path: PurePosixPath) -> Path:
        return self.tree.path(path)

    def read(self, path: PurePosixPath) -> FileState | None:
        try:
            found = self.tree.read(path)
        except PermissionError as err:
            raise NotPermittedError(f"cannot read {self.host_path(path)}: {err.strerror}", fix="run as root") from None
        if found is None:
            return None
        data, st = found
        return FileState(PurePosixPath(path), data.decode("utf-8", errors="replace"), stat.S_IMODE(st.st_mode),
                         _name_of_uid(st.st_uid), _name_of_gid(st.st_gid))

    def _ids(self, file: RenderedFile) -> tuple[int, int] | None:
        if not self.is_root_user:
            return None  # an image build as a normal user: modes are right, owners are fixed at install
        try:
            return pwd.getpwnam(file.owner).pw_uid, grp.getgrnam(file.group).gr_gid
        except KeyError as err:
            raise ApplyError(f"{file.path}: unknown user or group {err.args[0]!r}",
                             fix="install systemd (it creates the systemd-network user and group) or fix the renderer") from None

    def write(self, file: RenderedFile) -> None:
        self.write_bytes(file.path, file.text.encode("utf-8"), file.mode, self._ids(file))

    def write_bytes(self, path: PurePosixPath, data: bytes, mode: int, ids: tuple[int, int] | None) -> None:
        self.tree.write(path, data, mode, ids)

    def remove(self, path: PurePosixPath) -> None:
        self.tree.remove(path)

    def sweep_temp_files(self, paths: tuple[PurePosixPath, ...]) -> list[Path]:
        """Remove temp files a killed run left next to these paths."""
        swept = []
        for directory in {PurePosixPath(p).parent for p in paths}:
            for name in self.tree.names(directory):
                if TMP_MARK in name and not _pid_alive(name.rsplit(".", 1)[-1]):
                    self.tree.remove(directory / name)
                    swept.append(self.tree.path(directory / name))
        return swept

    # The manifest: which files netdwg wrote, so a file the topology drops is removed.
    def managed(self) -> tuple[PurePosixPath, ...]:
        found = self._read_state(MANIFEST)
        return tuple(PurePosixPath(line) for line in found.splitlines() if line.startswith("/")) if found else ()

    def _read_state(self, name: str) -> str | None:
        tree, relative = (self.state, name) if self.state is not None else (self.tree, f"var/lib/netdwg/{name}")
        found = tree.read(relative)
        return None if found is None else found[0].decode("utf-8", errors="replace")

    def set_managed(self, paths: tuple[PurePosixPath, ...]) -> None:
        self.write_state(MANIFEST, "".join(f"{p}\n" for p in sorted(set(paths), key=str)).encode())

    def write_state(self, name: str, data: bytes) -> None:
        """A file of the state directory (0600 in the 0700 directory)."""
        tree, relative = self._state(name)
        tree.write(relative, data, 0o600)

    def remove_state(self, name: str) -> None:
        tree, relative = (self.state, name) if self.state is not None else (self.tree, f"var/lib/netdwg/{name}")
        tree.remove(relative)

    # Live steps promised before the files changed (see Transaction): survives a kill -9.
    def pending(self) -> tuple[tuple[str, str], ...]:
        text = self._read_state(PENDING) or ""
        return tuple(tuple(line.split(" ", 1)) if " " in line else (line, "") for line in text.splitlines() if line)

    def set_pending(self, steps: tuple[tuple[str, str], ...]) -> None:
        if not steps:
            self.remove_state(PENDING)
            return
        self.write_state(PENDING, "".join(f"{kind} {name}\n" for kind, name in sorted(set(steps))).encode())

    # Backups: a copy of every file before apply replaces or removes it.
    def _backup_relative(self, path: PurePosixPath) -> str:
        if self.backup_dir is None:
            stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
            tree, backups = self._state("backups")
            self._private(tree, backups)
            with tree.directory(relative_parts(backups), create=True) as fd:
                # two runs in one process within one second (a library caller, --confirm then apply)
                # get their own directories: the second never shares or fails on the first's
                for run in itertools.count(1):
                    name = stamp if run == 1 else f"{stamp}-{run}"
                    try:
                        os.mkdir(name, 0o700, dir_fd=fd)
                        break
                    except FileExistsError:
                        continue
                stamp = name
            self.backup_dir = self.state_dir / "backups" / stamp
            _prune_backups(tree, backups, keep=10)
        return f"backups/{self.backup_dir.name}/{'/'.join(relative_parts(path))}"

    def backup_path(self, path: PurePosixPath) -> Path:
        """Where this run keeps (or will keep) the copy of `path`; creates the run's backup directory."""
        return self.state_dir / self._backup_relative(path)

    def backup(self, state: FileState) -> Path:
        """Copy the file atomically (a pending --confirm revert may read it after a kill -9)."""
        tree, relative = self._state(self._backup_relative(state.path))
        found = self.tree.read(state.path)
        if found is None:
            raise ApplyError(f"{self.host_path(state.path)} went away while apply ran", fix="run netdwg apply again")
        Tree(tree.base, dir_mode=0o700).write(relative, found[0], 0o600)
        return self.backup_path(state.path)


def _pid_alive(text: str) -> bool:
    if not text.isdigit():
        return False
    if int(text) == os.getpid():
        return True
    return os.path.exists(f"/proc/{text}")


def _prune_backups(tree: Tree, backups: str, keep: int) -> None:
    runs = sorted(tree.names(backups))
    for old in runs[:-keep] if len(runs) > keep else ():
        tree.remove_tree(f"{backups}/{old}")


def restore_file(files: RootFiles, state: FileState, data: bytes | None = None) -> None:
    """Put a file back as observed before apply (content, mode, owner); `data`: its exact bytes when known."""
    try:
        ids = (pwd.getpwnam(state.owner).pw_uid, grp.getgrnam(state.group).gr_gid) if files.is_root_user else None
    except KeyError:
        ids = None
    files.write_bytes(state.path, state.text.encode("utf-8") if data is None else data, state.mode, ids)
