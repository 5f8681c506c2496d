"""Real file-system faults under netdwg's one atomic writer: no temp file, so no key, is left behind.

Each case runs in its own private mount namespace (`unshare -m`) on a small tmpfs that
vanishes with it: ENOSPC while writing, a read-only file system, a rename the kernel refuses
(the target is a mount point), and a whole `netdwg apply --root` on a full disk. The
injected rename errors (EROFS, EXDEV) are in tests/unit/test_host_files_confined.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.root

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NETDEV = "etc/systemd/network/50-wg0.netdev"


def in_namespace(scenario: str, root: Path, *more: str) -> dict:
    result = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable,
                             str(HERE / "faults_in_namespace.py"), scenario, str(root), *more],
                            capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(REPO), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("scenario, says", [
    ("enospc", "no space left on the file system; the old file is unchanged"),
    ("erofs", "read-only file system; the old file is unchanged"),
    ("ebusy", "the old file is unchanged"),
])
def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, scenario, says):
    report = in_namespace(scenario, tmp_path / "root")
    assert report["error"] is not None and f"cannot write {tmp_path}/root/{NETDEV}" in report["error"]
    assert says in report["error"]
    assert list(report["left"]) == [NETDEV]  # nothing beside it: no temp file
    assert report["left"][NETDEV] == {"holds_new_key": False, "text": "old\n"}


def test_apply_on_a_full_disk_fails_rolls_back_and_leaves_no_key(tmp_path):
    report = in_namespace("apply-enospc", tmp_path / "root")
    assert report["first"] == 0
    assert report["rc"] == 2, report["error"]
    assert "no space left on the file system" in report["error"]
    assert not any(entry["holds_new_key"] for entry in report["left"].values()), report["left"]
    assert sorted(report["left"]) == [NETDEV, "etc/systemd/network/50-wg0.network"]
    assert "# old" in report["left"]["etc/systemd/network/50-wg0.network"]["text"]
    assert "PrivateKey=" in report["kept"]


def test_render_out_on_a_full_disk_leaves_no_temp_file_and_no_key(tmp_path):
    import shutil

    from golden_support import GOLDEN

    topology = tmp_path / "net" / "harbor.conf"
    topology.parent.mkdir()
    shutil.copy(GOLDEN / "hub-spokes" / "topology.conf", topology)
    report = in_namespace("render-enospc", tmp_path / "out", str(topology))
    assert report["rc"] == 2 and "no space left on the file system" in report["error"], report["error"]
    assert report["keys"] >= 8  # the private keys and PSKs the render would have written
    assert not any(entry["holds_new_key"] for entry in report["left"].values()), report["left"]
    assert not any(".netdwg-tmp." in name for name in report["left"]), report["left"]
