"""apply --confirm survives kill -9: the pending-confirmation record, on a directory tree (--root).

The live half (device, networkd, sysctl) is tests/integration/test_apply_faults.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from test_plan_cli import REPO, rendered

from netdwg.cli import main

NETDEV = "etc/systemd/network/50-wg0.netdev"


def tree(root: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(root)): (p.read_text(), p.stat().st_mode & 0o777)
            for p in sorted(root.rglob("*")) if p.is_file() and "var/lib/netdwg" not in str(p)}


def start_confirm(source: Path, root: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "netdwg", "apply", "--from", str(source), "--root", str(root),
                             "--confirm", "300"], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    for line in proc.stderr:
        if b"press Enter" in line:
            return proc
    raise AssertionError(f"apply --confirm never waited: {proc.communicate()}")


def test_kill_9_while_waiting_is_reverted_by_the_next_plan(tmp_path, capsys):
    old_source, _ = rendered(tmp_path, peers=1)
    new_source, secrets = rendered(tmp_path, peers=3)
    (new_source / "etc/sysctl.d").mkdir(parents=True)
    (new_source / "etc/sysctl.d/60-netdwg.conf").write_text("net.ipv4.ip_forward = 1\n")  # a file the old set lacks
    root = tmp_path / "image"
    assert main(["apply", "--from", str(old_source), "--root", str(root)]) == 0
    before = tree(root)
    proc = start_confirm(new_source, root)
    record = root / "var/lib/netdwg/pending-confirmation"
    assert record.exists() and oct(record.stat().st_mode & 0o777) == oct(0o600)
    assert json.loads(record.read_text())["pid"] == proc.pid
    assert tree(root) != before  # the change is in place while it waits
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    capsys.readouterr()
    assert main(["plan", "--from", str(new_source), "--root", str(root)]) == 1  # the new change is pending again
    out = capsys.readouterr()
    assert f"(pid {proc.pid}) ended before its change was confirmed: reverting it" in out.err
    assert tree(root) == before  # every file back, the new one gone, modes as they were
    assert not record.exists()
    for secret in secrets:
        assert secret not in out.out + out.err
    assert main(["apply", "--recover", "--root", str(root)]) == 0
    assert "nothing to recover" in capsys.readouterr().out


def test_apply_recover_reverts_and_an_apply_is_refused_while_another_waits(tmp_path, capsys):
    old_source, _ = rendered(tmp_path, peers=1)
    new_source, _ = rendered(tmp_path, peers=2)
    root = tmp_path / "image"
    assert main(["apply", "--from", str(old_source), "--root", str(root)]) == 0
    before = tree(root)
    proc = start_confirm(new_source, root)
    try:
        # The waiting process is alive: another apply must not muddle its revert; plan only notes it.
        assert main(["apply", "--from", str(old_source), "--root", str(root)]) == 2
        err = capsys.readouterr().err
        assert f"(pid {proc.pid}) is waiting for confirmation" in err and "fix: confirm it" in err
        assert main(["plan", "--from", str(new_source), "--root", str(root)]) == 0
        assert "is waiting for confirmation" in capsys.readouterr().err
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert main(["apply", "--recover", "--root", str(root)]) == 0
    out = capsys.readouterr()
    assert "reverting it" in out.err and "reverted the unconfirmed change" in out.out
    assert tree(root) == before


def test_confirmed_in_time_leaves_no_record(tmp_path):
    old_source, _ = rendered(tmp_path, peers=1)
    new_source, _ = rendered(tmp_path, peers=2)
    root = tmp_path / "image"
    assert main(["apply", "--from", str(old_source), "--root", str(root)]) == 0
    proc = start_confirm(new_source, root)
    out, err = proc.communicate(b"\n", timeout=30)
    assert proc.returncode == 0 and b"applied" in out
    assert not (root / "var/lib/netdwg/pending-confirmation").exists()
    assert (root / NETDEV).read_text() == (new_source / NETDEV).read_text()
