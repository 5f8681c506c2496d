"""`netdwg render`, `netdwg show`, `netdwg qr` as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import stat

import pytest

from netdwg.cli import main
from netdwg.render.qr import qr_matrix, qr_png, qr_terminal
from netdwg.topology.secrets import load_secrets
from golden_support import GOLDEN


@pytest.fixture
def topo(tmp_path):
    path = tmp_path / "harbor.conf"
    shutil.copy(GOLDEN / "hub-spokes" / "topology.conf", path)
    return path


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_first_render_creates_the_secrets_store_and_announces_it(topo, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["render", "--topology", str(topo), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "[#] generated private key of relay" in captured.err
    assert "[#] generated preshared key oslo <-> relay" in captured.err
    assert "private key of bergen" not in captured.err  # bergen keeps its own key
    secrets_path = tmp_path / "harbor.secrets"
    assert mode(secrets_path) == 0o600
    secrets = load_secrets(secrets_path)
    assert set(secrets.private_keys) == {"relay", "oslo", "ana", "ben"}
    # One subdirectory per host, final modes, and the LAN router's route printed.
    assert mode(out / "relay/etc/systemd/network/50-wg-harbor.netdev") == 0o640
    assert mode(out / "ben/etc/wireguard/wg-harbor.conf") == 0o600
    assert mode(out / "bergen/etc/netplan/60-netdwg-wg-harbor.yaml") == 0o600
    assert "ip route add 10.99.0.0/16 via 172.20.20.2" in captured.out
    first = (out / "oslo/etc/systemd/network/50-wg-harbor.netdev").read_text()
    # A second render generates nothing and writes the same keys.
    assert main(["render", "--topology", str(topo), "--out", str(out)]) == 0
    assert "generated" not in capsys.readouterr().err
    assert (out / "oslo/etc/systemd/network/50-wg-harbor.netdev").read_text() == first
    assert secrets.private_keys["oslo"].reveal_base64() in first


def test_render_one_host_in_another_format(topo, tmp_path, capsys):
    out = tmp_path / "ana"
    assert main(["render", "--topology", str(topo), "--host", "ana", "--format", "wg-quick", "--out", str(out)]) == 0
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["etc/netdwg/guard.conf", "etc/wireguard/wg-harbor.conf"]
    capsys.readouterr()
    assert main(["render", "--topology", str(topo), "--json", "--key-files", "--host", "relay", "--out",
                 str(tmp_path / "r")]) == 0
    report = json.loads(capsys.readouterr().out)
    keyfile = next(f for f in report["files"] if f["path"] == "/etc/netdwg/keys/wg-harbor.key")
    assert (keyfile["mode"], keyfile["group"], keyfile["secret"]) == ("0640", "systemd-network", True)


def test_show_redacts_every_secret(topo, tmp_path, capsys):
    main(["render", "--topology", str(topo), "--out", str(tmp_path / "o")])
    secrets = load_secrets(tmp_path / "harbor.secrets")
    capsys.readouterr()
    for args in (["show", "--topology", str(topo), "relay"], ["show", "--topology", str(topo), "relay", "--json"]):
        assert main(args) == 0
        text = capsys.readouterr().out
        for key in list(secrets.private_keys.values()) + list(secrets.preshared_keys.values()):
            assert key.reveal_base64() not in text
        assert str(secrets.private_keys["oslo"].public_key()) in text  # public keys are shown
    info = json.loads(text)
    assert [p["name"] for p in info["interfaces"][0]["peers"]] == ["oslo", "bergen", "ana", "ben"]
    assert info["interfaces"][0]["peers"][0]["preshared_key"] == "set"


def test_show_unknown_host_is_a_clean_error(topo, tmp_path, capsys):
    main(["render", "--topology", str(topo), "--out", str(tmp_path / "o")])
    capsys.readouterr()
    assert main(["show", "--topology", str(topo), "nobody"]) == 2
    err = capsys.readouterr().err
    assert "no host 'nobody'" in err and "fix: one of: relay, oslo" in err and "Traceback" not in err


def test_missing_topology_is_a_clean_error(tmp_path, capsys):
    assert main(["render", "--topology", str(tmp_path / "none.conf"), "--out", str(tmp_path)]) == 2
    assert "no such topology file" in capsys.readouterr().err


def test_qr_png_holds_the_conf_and_is_private(topo, tmp_path, capsys):
    from PIL import Image

    png = tmp_path / "ben.png"
    assert main(["qr", "--topology", str(topo), "ben", "--png", str(png), "--scale", "3"]) == 0
    assert mode(png) == 0o600
    from netdwg.render.wgquick import conf_text
    from netdwg.topology.compile import compile_host
    from netdwg.topology.prepare import prepare

    prepared = prepare(topo)
    text = conf_text(compile_host(prepared.topology, prepared.secrets, "ben").interfaces[0])
    matrix = qr_matrix(text)
    image = Image.open(png).convert("L")
    assert image.size == (len(matrix) * 3, len(matrix) * 3)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            assert (image.getpixel((x * 3 + 1, y * 3 + 1)) < 128) == dark


def test_qr_matrix_is_the_qrcode_librarys_and_terminal_output_covers_it():
    import qrcode

    text = "[Interface]\nPrivateKey = x\n"
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=4)
    code.add_data(text.encode())
    code.make(fit=True)
    assert qr_matrix(text) == tuple(tuple(r) for r in code.get_matrix())
    lines = qr_terminal(text).splitlines()
    assert len(lines) == (len(qr_matrix(text)) + 1) // 2 and all(len(line) == len(qr_matrix(text)) for line in lines)
    assert qr_png(text, 1).startswith(b"\x89PNG\r\n\x1a\n")


def test_qr_refuses_a_conf_too_large_for_a_code():
    from netdwg.errors import NetdwgError

    with pytest.raises(NetdwgError) as err:
        qr_matrix("x" * 5000)
    assert "too large" in err.value.message


def test_render_refuses_a_topology_with_lint_errors_unless_forced(topo, tmp_path, capsys):
    text = topo.read_text().replace("address = 10.99.0.5", "address = 10.99.0.4")  # ben takes ana's address
    topo.write_text(text)
    out = tmp_path / "out"
    assert main(["render", "--topology", str(topo), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nothing rendered" in err and "10.99.0.4" in err
    assert not out.exists()
    assert main(["render", "--topology", str(topo), "--out", str(out), "--force"]) == 0
    assert (out / "ben/etc/wireguard/wg-harbor.conf").exists()


def test_render_reads_the_topology_once_and_creates_each_directory_once(topo, tmp_path, monkeypatch):
    import netdwg.topology.prepare as prepare_module

    loads, mkdirs = [], []
    real_load, real_mkdir = prepare_module.load_topology, os.mkdir
    monkeypatch.setattr(prepare_module, "load_topology", lambda path: loads.append(path) or real_load(path))

    def mkdir(path, *args, dir_fd=None, **kwargs):  # a name in a directory opened by descriptor, or a path
        mkdirs.append(os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path) if dir_fd is not None else str(path))
        return real_mkdir(path, *args, dir_fd=dir_fd, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    out = tmp_path / "one"
    assert main(["render", "-t", str(topo), "--host", "ben", "--out", str(out)]) == 0
    assert len(loads) == 1  # not once to check --host and again to render
    assert (out / "etc" / "wireguard").is_dir()
    loads.clear(), mkdirs.clear()
    out = tmp_path / "all"
    assert main(["render", "-t", str(topo), "--out", str(out)]) == 0
    assert len(loads) == 1
    made = {str(p) for p in out.rglob("*") if p.is_dir()} | {str(out)}
    assert len(mkdirs) == len(set(mkdirs)) and set(mkdirs) <= made  # no directory asked for twice


@pytest.mark.root
def test_render_as_nobody_beside_a_root_only_directory_names_the_store(request):
    """Generating the store's keys needs a write beside the topology: refused, it is exit 77 naming the store."""
    import subprocess
    from pathlib import Path

    from netdwg.errors import EXIT_NOPERM

    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="ndwrender", dir="/tmp"))  # pytest's tmp_path is 0700 root's
    request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
    shutil.copy(GOLDEN / "hub-spokes" / "topology.conf", shared / "harbor.conf")
    (shared / "out").mkdir()
    os.chown(shared / "out", 65534, 65534)
    shared.chmod(0o755)  # nobody may read in it, not write
    (shared / "harbor.conf").chmod(0o644)
    netdwg = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "netdwg"
    done = subprocess.run([str(netdwg), "render", "-t", str(shared / "harbor.conf"), "--out", str(shared / "out")],
                          capture_output=True, text=True, timeout=60, user=65534, group=65534, extra_groups=[],
                          env={"PATH": "/usr/bin:/bin", "HOME": str(shared), "LANG": "C.UTF-8"})
    assert done.returncode == EXIT_NOPERM, done.stderr
    assert f"{shared / 'harbor.secrets'}:" in done.stderr and "run as root" in done.stderr
    assert "Traceback" not in done.stderr and "/.harbor.secrets." not in done.stderr
    assert sorted(p.name for p in shared.iterdir()) == ["harbor.conf", "out"] and not any((shared / "out").iterdir())
