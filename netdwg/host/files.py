"""Files under a root directory: permission-first atomic writes, backups, a manifest.

A write creates a temp file next to the target with the final mode and owner
*before* any byte lands in it (so a key is never readable by others, not even
for a moment), writes, fsyncs, renames over the target and fsyncs the
directory: a crash leaves the old file or the new one, never a mix (wg-quick's
umask 077 + mv, netplan's CONSISTENT flag). Stale temp files of a killed run
are swept on the next one.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import time
from pathlib import Path, PurePosixPath

from netdwg.errors import ApplyError, NotPermittedError
from netdwg.plan.model import FileState
from netdwg.rendered import RenderedFile

TMP_MARK = ".netdwg-tmp."
MANIFEST = "managed-files"
PENDING = "pending-live-steps"


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
        self.state_dir = Path(state_dir) if state_dir else self.root / "var/lib/netdwg"
        self.backup_dir: Path | None = None
        self.is_root_user = os.geteuid() == 0

    def host_path(self, path: PurePosixPath) -> Path:
        return self.root / PurePosixPath(path).relative_to("/")

    def read(self, path: PurePosixPath) -> FileState | None:
        target = self.host_path(path)
        try:
            st = target.lstat()
            data = target.read_bytes()
        except FileNotFoundError:
            return None
        except PermissionError as err:
            raise NotPermittedError(f"cannot read {target}: {err.strerror}", fix="run as root") from None
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
        atomic_write(self.host_path(path), data, mode, ids)

    def remove(self, path: PurePosixPath) -> None:
        target = self.host_path(path)
        target.unlink(missing_ok=True)
        _fsync_dir(target.parent)

    def sweep_temp_files(self, paths: tuple[PurePosixPath, ...]) -> list[Path]:
        """Remove temp files a killed run left next to these paths."""
        swept = []
        for directory in {self.host_path(p).parent for p in paths}:
            if not directory.is_dir():
                continue
            for entry in directory.iterdir():
                if TMP_MARK in entry.name and not _pid_alive(entry.name.rsplit(".", 1)[-1]):
                    entry.unlink(missing_ok=True)
                    swept.append(entry)
        return swept

    # The manifest: which files netdwg wrote, so a file the topology drops is removed.
    def managed(self) -> tuple[PurePosixPath, ...]:
        try:
            text = (self.state_dir / MANIFEST).read_text()
        except FileNotFoundError:
            return ()
        return tuple(PurePosixPath(line) for line in text.splitlines() if line.startswith("/"))

    def set_managed(self, paths: tuple[PurePosixPath, ...]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)
        data = "".join(f"{p}\n" for p in sorted(set(paths), key=str)).encode()
        atomic_write(self.state_dir / MANIFEST, data, 0o600, None)

    # Live steps promised before the files changed (see Transaction): survives a kill -9.
    def pending(self) -> tuple[tuple[str, str], ...]:
        try:
            text = (self.state_dir / PENDING).read_text()
        except FileNotFoundError:
            return ()
        return tuple(tuple(line.split(" ", 1)) if " " in line else (line, "") for line in text.splitlines() if line)

    def set_pending(self, steps: tuple[tuple[str, str], ...]) -> None:
        target = self.state_dir / PENDING
        if not steps:
            if target.exists():
                target.unlink()
                _fsync_dir(self.state_dir)
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)
        atomic_write(target, "".join(f"{kind} {name}\n" for kind, name in sorted(set(steps))).encode(), 0o600, None)

    # Backups: a copy of every file before apply replaces or removes it.
    def backup_path(self, path: PurePosixPath) -> Path:
        """Where this run keeps (or will keep) the copy of `path`; creates the run's backup directory."""
        if self.backup_dir is None:
            stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
            for directory in (self.state_dir, self.state_dir / "backups"):
                directory.mkdir(parents=True, exist_ok=True)
                directory.chmod(0o700)  # backups hold old keys: root only, whatever the umask
            self.backup_dir = self.state_dir / "backups" / stamp
            self.backup_dir.mkdir(mode=0o700)
            _prune_backups(self.state_dir / "backups", keep=10)
        return self.backup_dir / PurePosixPath(path).relative_to("/")

    def backup(self, state: FileState) -> Path:
        """Copy the file atomically (a pending --confirm revert may read it after a kill -9)."""
        copy = self.backup_path(state.path)
        old_umask = os.umask(0o077)  # every directory and copy in the backup tree: root only
        try:
            atomic_write(copy, self.host_path(state.path).read_bytes(), 0o600, None)
        finally:
            os.umask(old_umask)
        return copy


def atomic_write(target: Path, data: bytes, mode: int, ids: tuple[int, int] | None) -> None:
    """Temp file with final owner+mode, write, fsync, rename, fsync the directory."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}{TMP_MARK}{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except PermissionError as err:
        raise NotPermittedError(f"cannot write {target}: {err.strerror}", fix="run as root") from None
    try:
        # Permission first: owner and mode are final before the first byte.
        if ids is not None:
            os.fchown(fd, *ids)
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.rename(tmp, target)
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pid_alive(text: str) -> bool:
    if not text.isdigit():
        return False
    if int(text) == os.getpid():
        return True
    return os.path.exists(f"/proc/{text}")


def _prune_backups(directory: Path, keep: int) -> None:
    runs = sorted(p for p in directory.iterdir() if p.is_dir())
    if len(runs) <= keep:
        return
    import shutil  # here: shutil brings bz2 and lzma (~3.5 ms of every apply's start)

    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def restore_file(files: RootFiles, state: FileState, data: bytes | None = None) -> None:
    """Put a file back as observed before apply (content, mode, owner); `data`: its exact bytes when known."""
    try:
        ids = (pwd.getpwnam(state.owner).pw_uid, grp.getgrnam(state.group).gr_gid) if files.is_root_user else None
    except KeyError:
        ids = None
    files.write_bytes(state.path, state.text.encode("utf-8") if data is None else data, state.mode, ids)
