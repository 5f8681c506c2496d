"""Atomic permission-first writes, backups, the manifest and stale temp files."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

import pytest

from netdwg.host.files import TMP_MARK, RootFiles, restore_file
from netdwg.rendered import RenderedFile

NETDEV = PurePosixPath("/etc/systemd/network/50-wg0.netdev")
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")


def test_a_file_is_written_under_the_root_with_its_mode(tmp_path: Path):
    files = RootFiles(tmp_path)
    files.write(RenderedFile(NETDEV, "[NetDev]\nName=wg0\n", 0o640, "root", "root", True))
    target = tmp_path / "etc/systemd/network/50-wg0.netdev"
    assert target.read_text() == "[NetDev]\nName=wg0\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["50-wg0.netdev"]  # no temp file left


@root_only
def test_secret_files_get_the_systemd_network_group(tmp_path: Path):
    files = RootFiles(tmp_path)
    files.write(RenderedFile(NETDEV, "x\n", 0o640, "root", "systemd-network", True))
    state = files.read(NETDEV)
    assert (state.mode, state.owner, state.group) == (0o640, "root", "systemd-network")


def test_a_replace_never_shows_a_partial_file_and_keeps_the_inode_unshared(tmp_path: Path):
    files = RootFiles(tmp_path)
    files.write(RenderedFile(NETDEV, "old\n", 0o640))
    target = tmp_path / "etc/systemd/network/50-wg0.netdev"
    handle = open(target)  # a reader holding the old file keeps reading the old content
    files.write(RenderedFile(NETDEV, "new\n" * 10000, 0o640))
    assert handle.read() == "old\n"
    handle.close()
    assert target.read_text() == "new\n" * 10000


def test_the_temp_file_has_the_final_mode_before_any_byte_is_written(tmp_path: Path, monkeypatch):
    # Observe the temp file at the moment of the first write: it must already be 0640, empty.
    seen = []
    real_write = os.write

    def spy(fd, data):
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    RootFiles(tmp_path).write(RenderedFile(NETDEV, "PrivateKey=x\n", 0o640))
    assert seen and set(seen) == {0o640}


def test_two_runs_in_one_second_keep_their_own_backups(tmp_path: Path):
    first, second = RootFiles(tmp_path), RootFiles(tmp_path)
    first.write(RenderedFile(NETDEV, "one\n", 0o600))
    copy_one = first.backup(first.read(NETDEV))
    first.write(RenderedFile(NETDEV, "two\n", 0o600))
    copy_two = second.backup(second.read(NETDEV))  # same process, same second: was EEXIST
    assert copy_one.parent != copy_two.parent
    assert (copy_one.read_text(), copy_two.read_text()) == ("one\n", "two\n")


def test_backup_and_restore_bring_back_content_and_mode(tmp_path: Path):
    files = RootFiles(tmp_path)
    files.write(RenderedFile(NETDEV, "old\n", 0o600))
    before = files.read(NETDEV)
    copy = files.backup(before)
    files.write(RenderedFile(NETDEV, "new\n", 0o644))
    assert copy.read_text() == "old\n" and copy.is_relative_to(tmp_path / "var/lib/netdwg/backups")
    restore_file(files, before)
    after = files.read(NETDEV)
    assert (after.text, after.mode) == ("old\n", 0o600)


def test_the_manifest_round_trips_and_is_private(tmp_path: Path):
    files = RootFiles(tmp_path)
    assert files.managed() == ()
    paths = (NETDEV, PurePosixPath("/etc/sysctl.d/60-netdwg.conf"))
    files.set_managed(paths)
    assert set(files.managed()) == set(paths)
    assert stat.S_IMODE((tmp_path / "var/lib/netdwg/managed-files").stat().st_mode) == 0o600


def test_temp_files_of_a_killed_run_are_swept_but_not_a_live_ones(tmp_path: Path):
    files = RootFiles(tmp_path)
    files.write(RenderedFile(NETDEV, "x\n", 0o640))
    directory = tmp_path / "etc/systemd/network"
    dead = directory / f".50-wg0.netdev{TMP_MARK}999999999"
    mine = directory / f".50-wg0.netdev{TMP_MARK}{os.getpid()}"
    dead.write_text("half")
    mine.write_text("busy")
    swept = files.sweep_temp_files((NETDEV,))
    assert swept == [dead] and not dead.exists() and mine.exists()


def test_removing_a_file(tmp_path: Path):
    files = RootFiles(tmp_path)
    files.write(RenderedFile(NETDEV, "x\n"))
    files.remove(NETDEV)
    assert files.read(NETDEV) is None
    files.remove(NETDEV)  # idempotent: a rerun after a crash must not fail here
