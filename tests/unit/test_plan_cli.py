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
        lines += ["", f"# site{i}", "[WireGuardPeer]", f"PublicKey={genkey().public_key()}",
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


def _netdwg(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netdwg", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)


@pytest.mark.parametrize("args, says", [
    (["plan", "--from", "/nonexistent"], "/nonexistent: no such directory (--from)"),
    (["status", "--from", "afile"], "afile: is a file, not a directory (--from)"),
    (["apply", "--from", "empty", "--root", "image"], "empty: no files in this directory"),
    (["plan", "-t", "/nonexistent"], "/nonexistent: no such topology file"),
    (["plan", "-t", "."], ".: is a directory, not a topology file"),
    (["plan", "-t", "afile"], "afile:1: error: Invalid line"),
    (["plan", "--from", "src", "--root", "afile"], "afile: is a file, not a directory (--root)"),
    (["apply", "--from", "src", "--root", "image", "--state-dir", "afile"], "afile: is not a directory"),
    (["apply", "--recover", "--root", "afile"], "afile: is not a directory"),
    (["apply", "--from", "src", "--confirm", "0"], "'0' is not a positive number of seconds"),
    (["apply", "--from", "src", "--wait", "soon"], "'soon' is not a positive number of seconds"),
    (["plan", "--from", "bad"], "bad/etc/systemd/network/50-wg0.netdev:7: PersistentKeepalive= takes a number"),
])
def test_bad_input_names_the_file_and_a_fix_never_a_traceback(tmp_path, args, says):
    (tmp_path / "afile").write_text("x\n")
    (tmp_path / "empty").mkdir()
    rendered(tmp_path)[0].rename(tmp_path / "src")
    bad = tmp_path / "bad/etc/systemd/network"
    bad.mkdir(parents=True)
    (bad / "50-wg0.netdev").write_text(f"[NetDev]\nName=wg0\nKind=wireguard\n\n[WireGuardPeer]\n"
                                       f"PublicKey={genkey().public_key()}\nPersistentKeepalive=often\n")
    result = _netdwg(*args, cwd=tmp_path)
    assert result.returncode == 2, result
    assert says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert "fix:" in result.stderr or "usage:" in result.stderr


def test_t_is_short_for_topology_and_an_unknown_host_gets_a_guess(tmp_path):
    conf = tmp_path / "net.conf"
    conf.write_text((REPO / "examples/harbor.conf").read_text())
    assert _netdwg("render", "-t", str(conf), "--out", str(tmp_path / "out"), cwd=tmp_path).returncode == 0
    long = _netdwg("plan", "--topology", str(conf), "--host", "oslo", "--root", "image", "--json", cwd=tmp_path)
    short = _netdwg("plan", "-t", str(conf), "--host", "oslo", "--root", "image", "--json", cwd=tmp_path)
    assert long.returncode == short.returncode == 1 and long.stdout == short.stdout
    assert "50-wg-harbor.netdev" in short.stdout
    wrong = _netdwg("status", "-t", str(conf), "--host", "osloo", "--root", "image", cwd=tmp_path)
    assert wrong.returncode == 2 and "no host 'osloo' in the topology" in wrong.stderr
    assert "did you mean 'oslo'?" in wrong.stderr


@pytest.mark.parametrize("verb", ["plan", "apply", "status"])
def test_help_teaches_with_a_description_and_examples(verb, tmp_path):
    text = _netdwg(verb, "--help", cwd=tmp_path).stdout
    assert "--topology FILE, -t FILE" in text
    examples = text.split("examples:", 1)[1].split("exit status", 1)[0]
    count = sum(1 for line in examples.splitlines() if line.strip().startswith("netdwg "))
    assert 2 <= count <= 4, examples
    assert "exit status" in text


def test_a_drop_in_beside_a_managed_unit_is_pointed_out(tmp_path, capsys):
    """networkd merges NAME.netdev.d/*.conf over netdwg's file; apply does not manage it, so plan says so."""
    source, _ = rendered(tmp_path)
    root = tmp_path / "image"
    assert main(["apply", "--from", str(source), "--root", str(root)]) == 0
    capsys.readouterr()
    dropin = root / "etc/systemd/network/50-wg0.netdev.d/mtu.conf"
    dropin.parent.mkdir()
    dropin.write_text("[WireGuard]\nListenPort=4000\n")
    assert main(["plan", "--from", str(source), "--root", str(root), "--json"]) == 0  # nothing to change...
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert ("networkd also reads /etc/systemd/network/50-wg0.netdev.d/mtu.conf after "
            "/etc/systemd/network/50-wg0.netdev: its settings override netdwg's") in " ".join(notes)  # ...but this
    dropin.unlink()
    assert main(["plan", "--from", str(source), "--root", str(root), "--json"]) == 0
    assert not any("also reads" in note for note in json.loads(capsys.readouterr().out)["notes"])
