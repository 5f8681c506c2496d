"""Writes stay inside their directory: no `..`, no symbolic link followed, no temp file left on failure.

Every case runs twice: with openat2 (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and with the
component-by-component O_NOFOLLOW walk used where the kernel lacks it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path, PurePosixPath

import pytest

from netdwg.errors import NetdwgError
from netdwg.host import beneath, files as files_module
from netdwg.host.files import RootFiles, Tree
from netdwg.keys import genkey
from netdwg.rendered import RenderedFile

NETDEV = PurePosixPath("/etc/systemd/network/50-wg0.netdev")


@pytest.fixture(params=["openat2", "walk"])
def resolver(request, monkeypatch):
    if request.param == "walk":
        monkeypatch.setattr(beneath, "_OPENAT2", None)
    elif beneath._OPENAT2 is None:
        pytest.skip("no openat2 on this machine")
    return request.param


@pytest.fixture
def layout(tmp_path: Path):
    """A root and, beside it, a directory it must never touch."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    return root, outside


def everything(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file() and not p.is_symlink()}


def key_file(text: str = "") -> RenderedFile:
    key = genkey().reveal_base64()
    return RenderedFile(NETDEV, f"[NetDev]\nName=wg0\n\n[WireGuard]\nPrivateKey={key}\n{text}", 0o640, secret=True)


@pytest.mark.parametrize("path", ["/etc/systemd/network/../../../../outside/x.netdev", "/etc/../../outside/x",
                                  "../outside/x", "etc/./x"])
def test_a_path_with_dot_components_is_refused_before_anything_is_written(resolver, layout, path):
    root, outside = layout
    with pytest.raises(NetdwgError, match=r"'\.' or '\.\.'"):
        Tree(root).write(path, b"PrivateKey=secret\n", 0o600)
    assert everything(outside) == {} and everything(root) == {}


def test_a_symlinked_directory_inside_the_root_is_an_error_naming_it(resolver, layout):
    root, outside = layout
    (root / "etc/systemd").mkdir(parents=True)
    (root / "etc/systemd/network").symlink_to(outside)
    with pytest.raises(NetdwgError) as caught:
        RootFiles(root).write(key_file())
    assert f"{root}/etc/systemd/network: a symbolic link" in str(caught.value)
    assert everything(outside) == {}


def test_a_relative_symlink_higher_up_is_not_followed_either(resolver, layout):
    root, outside = layout
    (root / "etc").symlink_to("../outside")
    with pytest.raises(NetdwgError, match=f"{root}/etc: a symbolic link"):
        RootFiles(root).write(key_file())
    assert everything(outside) == {} and not (outside / "systemd").exists()


def test_a_symlink_at_the_file_itself_is_neither_written_through_nor_replaced(resolver, layout):
    root, outside = layout
    (outside / "victim").write_text("precious\n")
    (root / "etc/systemd/network").mkdir(parents=True)
    link = root / "etc/systemd/network/50-wg0.netdev"
    link.symlink_to(outside / "victim")
    files = RootFiles(root)
    with pytest.raises(NetdwgError, match=f"{link}: a symbolic link"):
        files.write(key_file())
    with pytest.raises(NetdwgError, match=f"{link}: a symbolic link"):
        files.read(NETDEV)
    assert (outside / "victim").read_text() == "precious\n" and link.is_symlink()


def test_remove_through_a_symlinked_directory_deletes_nothing_outside(resolver, layout):
    root, outside = layout
    (outside / "50-wg0.netdev").write_text("theirs\n")
    (root / "etc/systemd").mkdir(parents=True)
    (root / "etc/systemd/network").symlink_to(outside)
    with pytest.raises(NetdwgError, match="a symbolic link"):
        RootFiles(root).remove(NETDEV)
    assert (outside / "50-wg0.netdev").read_text() == "theirs\n"


def test_backups_and_the_state_directory_do_not_follow_links(resolver, layout):
    root, outside = layout
    files = RootFiles(root)
    files.write(key_file())
    (root / "var/lib").mkdir(parents=True)
    (root / "var/lib/netdwg").symlink_to(outside)
    with pytest.raises(NetdwgError, match=f"{root}/var/lib/netdwg: a symbolic link"):
        files.backup(files.read(NETDEV))
    with pytest.raises(NetdwgError, match="a symbolic link"):
        files.set_managed((NETDEV,))
    assert everything(outside) == {}


def test_an_explicit_state_directory_keeps_its_backups_inside(resolver, layout):
    root, outside = layout
    state = root.parent / "state"
    state.mkdir()
    (state / "backups").symlink_to(outside)
    files = RootFiles(root, state)
    files.write(key_file())
    with pytest.raises(NetdwgError, match=f"{state}/backups: a symbolic link"):
        files.backup(files.read(NETDEV))
    assert everything(outside) == {}


def test_sweeping_temp_files_does_not_follow_a_linked_directory(resolver, layout):
    root, outside = layout
    (outside / f".50-wg0.netdev{files_module.TMP_MARK}999999999").write_text("theirs")
    (root / "etc/systemd").mkdir(parents=True)
    (root / "etc/systemd/network").symlink_to(outside)
    with pytest.raises(NetdwgError, match="a symbolic link"):
        RootFiles(root).sweep_temp_files((NETDEV,))
    assert len(everything(outside)) == 1


def test_a_named_root_may_itself_be_a_link(resolver, layout):
    # The directory the user names is theirs to choose; only what is met inside is refused.
    root, outside = layout
    named = root.parent / "via-link"
    named.symlink_to(outside)
    RootFiles(named).write(key_file())
    assert (outside / "etc/systemd/network/50-wg0.netdev").is_file()


# Failures between creating the temp file and the rename: the temp file goes, the old file stays.

def assert_no_key_left(root: Path, old: bytes, key_text: str):
    left = everything(root)
    assert left == {"etc/systemd/network/50-wg0.netdev": old}, sorted(left)
    assert not any(key_text.encode() in data for data in left.values())


@pytest.mark.parametrize("code", [errno.EROFS, errno.EXDEV, errno.EBUSY, errno.EIO])
def test_a_failed_rename_leaves_no_temp_file_and_the_old_file(resolver, tmp_path, monkeypatch, code):
    files = RootFiles(tmp_path)
    files.write(RenderedFile(NETDEV, "old\n", 0o640))
    new = key_file()
    real_rename = os.rename

    def failing(src, dst, **kwargs):
        if files_module.TMP_MARK in str(src):
            raise OSError(code, os.strerror(code))
        return real_rename(src, dst, **kwargs)

    monkeypatch.setattr(os, "rename", failing)
    with pytest.raises(NetdwgError, match=f"cannot write {tmp_path}/etc/systemd/network/50-wg0.netdev") as caught:
        files.write(new)
    assert "the old file is unchanged" in str(caught.value)
    assert_no_key_left(tmp_path, b"old\n", new.text)


@pytest.mark.parametrize("fault", [KeyboardInterrupt, SystemExit, MemoryError])
def test_an_exception_between_write_and_rename_leaves_no_temp_file(resolver, tmp_path, monkeypatch, fault):
    files = RootFiles(tmp_path)
    files.write(RenderedFile(NETDEV, "old\n", 0o640))
    new = key_file()
    real_fsync = os.fsync

    def interrupted(fd):
        real_fsync(fd)
        if os.fstat(fd).st_size == len(new.text):  # the temp file, all of the key in it
            raise fault()

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(fault):
        files.write(new)
    assert_no_key_left(tmp_path, b"old\n", new.text)


def test_a_temp_file_that_cannot_be_removed_is_named_in_the_error(resolver, tmp_path, monkeypatch):
    files = RootFiles(tmp_path)
    files.write(RenderedFile(NETDEV, "old\n", 0o640))
    real_rename, real_unlink = os.rename, os.unlink

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "rename", read_only)
    monkeypatch.setattr(os, "unlink", read_only)
    with pytest.raises(NetdwgError) as caught:
        files.write(key_file())
    monkeypatch.setattr(os, "unlink", real_unlink)
    monkeypatch.setattr(os, "rename", real_rename)
    temp = f"{tmp_path}/etc/systemd/network/.50-wg0.netdev{files_module.TMP_MARK}{os.getpid()}"
    assert f"could not remove the temporary file {temp}" in str(caught.value)
    assert f"rm -f {temp}" in caught.value.fix
    assert Path(temp).read_bytes() == b""  # emptied through its descriptor: no key in the name left behind


# Many files at once (render --out): every temp file, one syncfs, the renames, one syncfs.

def test_many_files_are_written_with_their_modes_and_no_temp_file(resolver, tmp_path):
    count = 300
    written = Tree(tmp_path).write_many([(f"h{i}/etc/wireguard/wg0.conf", f"{i}\n".encode(), 0o600, None)
                                         for i in range(count)])
    assert len(written) == count and written[7] == tmp_path / "h7/etc/wireguard/wg0.conf"
    found = everything(tmp_path)
    assert len(found) == count and found["h299/etc/wireguard/wg0.conf"] == b"299\n"
    assert {os.stat(p).st_mode & 0o777 for p in written} == {0o600}


@pytest.mark.parametrize("code", [errno.EXDEV, errno.EROFS])
def test_a_failed_rename_among_many_leaves_no_temp_file(resolver, tmp_path, monkeypatch, code):
    keys = [genkey().reveal_base64() for _ in range(10)]
    real_rename, calls = os.rename, []

    def failing(src, dst, **kwargs):
        calls.append(src)
        if len(calls) == 5:
            raise OSError(code, os.strerror(code))
        return real_rename(src, dst, **kwargs)

    monkeypatch.setattr(os, "rename", failing)
    with pytest.raises(NetdwgError, match=f"cannot write {tmp_path}/h4/wg0.conf"):
        Tree(tmp_path).write_many([(f"h{i}/wg0.conf", f"PrivateKey={k}\n".encode(), 0o600, None)
                                   for i, k in enumerate(keys)])
    left = everything(tmp_path)
    assert sorted(left) == [f"h{i}/wg0.conf" for i in range(4)]  # each file whole and renamed, or not there
    assert not any(k.encode() in data for k in keys[4:] for data in left.values())


def test_an_interrupt_while_writing_many_removes_every_temp_file(resolver, tmp_path, monkeypatch):
    real_write, seen = os.write, []

    def interrupted(fd, data):
        seen.append(fd)
        if len(seen) == 6:
            raise KeyboardInterrupt
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Tree(tmp_path).write_many([(f"h{i}/wg0.conf", b"PrivateKey=x\n", 0o600, None) for i in range(10)])
    assert everything(tmp_path) == {}
