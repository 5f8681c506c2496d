"""The plan/apply verbs on a directory tree (--root): image building without touching the host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netdwg.cli import main
from netdwg.errors import EXIT_NOPERM
from netdwg.keys import genkey, genpsk

REPO = Path(__file__).resolve().parents[2]


def rendered(tmp_path: Path, peers: int = 1) -> tuple[Path, list[str]]:
    key, secrets = genkey(), []
    secrets.append(key.reveal_base64())
    lines = ["[NetDev]", "Name=wg0", "Kind=wireguard", "", "[WireGuard]", f"PrivateKey={key.reveal_base64()}"]
    for i in range(peers):
        psk = genpsk().reveal_base64()
        secrets.append(psk)
        lines += ["", "[WireGuardPeer]", f"# site{i}", f"PublicKey={genkey().public_key()}",
                  f"PresharedKey={psk}", f"AllowedIPs=10.99.0.{i + 2}/32"]
    out = tmp_path / f"rendered{peers}"
    (out / "etc/systemd/network").mkdir(parents=True)
    (out / "etc/systemd/network/50-wg0.netdev").write_text("\n".join(lines) + "\n")
    (out / "etc/wireguard").mkdir(parents=True)
    (out / "etc/wireguard/wg1.conf").write_text(
        f"[Interface]\nPrivateKey={key.reveal_base64()}\nAddress=10.98.0.1/24\n\n"
        f"[Peer]\nPublicKey={genkey().public_key()}\nAllowedIPs=10.98.0.2/32\n")
    return out, secrets


def test_root_mode_writes_the_tree_with_modes_and_a_rerun_does_nothing(tmp_path, capsys):
    source, secrets = rendered(tmp_path)
    root = tmp_path / "image"
    assert main(["plan", "--from", str(source), "--root", str(root)]) == 1
    planned = capsys.readouterr().out
    assert main(["apply", "--from", str(source), "--root", str(root)]) == 0
    applied = capsys.readouterr()
    netdev = root / "etc/systemd/network/50-wg0.netdev"
    assert netdev.read_text() == (source / "etc/systemd/network/50-wg0.netdev").read_text()
    assert oct(netdev.stat().st_mode & 0o777) == oct(0o640)
    assert oct((root / "etc/wireguard/wg1.conf").stat().st_mode & 0o777) == oct(0o600)
    assert main(["plan", "--from", str(source), "--root", str(root)]) == 0
    again = capsys.readouterr().out
    assert again.startswith("Nothing to do")
    for secret in secrets:
        assert secret not in planned + applied.out + applied.err + again


def test_root_mode_removes_what_it_no_longer_manages_and_plans_json(tmp_path, capsys):
    source, _ = rendered(tmp_path)
    root = tmp_path / "image"
    assert main(["apply", "--from", str(source), "--root", str(root)]) == 0
    (source / "etc/wireguard/wg1.conf").unlink()
    capsys.readouterr()
    assert main(["plan", "--from", str(source), "--root", str(root), "--json"]) == 1
    plan = json.loads(capsys.readouterr().out)
    assert [(f["action"], f["path"]) for f in plan["files"]] == [("remove", "/etc/wireguard/wg1.conf")]
    assert plan["peers"] == [] and plan["networkd"] is None  # --root never plans live steps
    assert main(["apply", "--from", str(source), "--root", str(root)]) == 0
    assert not (root / "etc/wireguard/wg1.conf").exists()


def test_missing_source_and_bad_input_are_clear_errors(tmp_path, capsys):
    assert main(["plan", "--root", str(tmp_path)]) == 2
    assert "pass --from DIR" in capsys.readouterr().err
    bad = tmp_path / "bad/etc/systemd/network"
    bad.mkdir(parents=True)
    (bad / "50-wg0.netdev").write_text("[NetDev]\nName=wg0\nKind=wireguard\n[WireGuardPeer]\nPublicKey=nope\n")
    assert main(["plan", "--from", str(tmp_path / "bad"), "--root", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "50-wg0.netdev" in err and "invalid public key 'nope'" in err and "Traceback" not in err


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become nobody")
def test_a_live_apply_as_non_root_says_so_and_exits_77(tmp_path):
    source, _ = rendered(tmp_path)
    source.chmod(0o755)
    for path in source.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    tmp_path.chmod(0o755)
    result = subprocess.run([sys.executable, "-m", "netdwg", "apply", "--from", str(source)],
                            capture_output=True, text=True, user="nobody", cwd="/",
                            env={"PYTHONPATH": str(REPO), "PATH": os.environ["PATH"]})
    assert result.returncode == EXIT_NOPERM
    assert "needs root" in result.stderr and "--root DIR" in result.stderr
