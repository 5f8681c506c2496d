"""Every verb that writes goes through the one atomic writer and stays inside its directory.

render --out, the secrets store beside the topology, the topology file itself (host add),
qr --png: a symbolic link met inside is an error naming it (exit 2), nothing lands outside;
and no module but netdwg/host/files.py writes, renames or replaces files itself.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath

import pytest

from netdwg.apply.writes import write_rendered
from netdwg.cli import main
from netdwg.errors import NetdwgError
from netdwg.rendered import RenderedFile
from netdwg.topology.secrets import Secrets, format_secrets
from golden_support import GOLDEN

PACKAGE = Path(__file__).resolve().parents[2] / "netdwg"


@pytest.fixture
def topo(tmp_path):
    path = tmp_path / "net" / "harbor.conf"
    path.parent.mkdir()
    shutil.copy(GOLDEN / "hub-spokes" / "topology.conf", path)
    return path


def files_in(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if not p.is_dir() or p.is_symlink())


def test_render_out_does_not_follow_a_symlinked_directory_inside_it(topo, tmp_path, capsys):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (out / "relay").mkdir(parents=True)
    (out / "relay" / "etc").symlink_to(outside)
    assert main(["render", "-t", str(topo), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out}/relay/etc: a symbolic link" in err and "fix: replace" in err
    assert files_in(outside) == []


def test_render_with_host_does_not_follow_a_link_higher_up(topo, tmp_path, capsys):
    out, outside = tmp_path / "out", tmp_path / "outside"
    (outside / "systemd").mkdir(parents=True)
    out.mkdir()
    (out / "etc").symlink_to("../outside")
    assert main(["render", "-t", str(topo), "--host", "relay", "--out", str(out)]) == 2
    assert f"{out}/etc: a symbolic link" in capsys.readouterr().err
    assert files_in(outside) == []


@pytest.mark.parametrize("path", ["/etc/systemd/network/../../../../x.netdev", "/etc/wireguard/../../../x.conf"])
def test_rendered_paths_with_dot_dot_are_refused(tmp_path, path):
    out = tmp_path / "deep" / "out"
    with pytest.raises(NetdwgError, match=r"'\.\.'"):
        write_rendered(out, [RenderedFile(PurePosixPath(path), "PrivateKey=x\n", 0o600, secret=True)])
    assert files_in(tmp_path) == []


def test_a_host_name_with_dot_dot_cannot_lead_render_out_elsewhere(tmp_path):
    with pytest.raises(NetdwgError, match=r"'\.\.'"):
        write_rendered(tmp_path / "out", [RenderedFile(PurePosixPath("/etc/x"), "x\n")], below="../escaped")
    assert not (tmp_path / "escaped").exists()


def test_a_symlinked_secrets_store_is_not_written_through(topo, tmp_path, capsys):
    victim = tmp_path / "victim"
    victim.write_text(format_secrets(Secrets()))
    victim.chmod(0o600)
    store = topo.with_suffix(".secrets")
    store.symlink_to(victim)
    assert main(["keys", "generate", "-t", str(topo)]) == 2
    assert f"{store}: a symbolic link" in capsys.readouterr().err
    assert victim.read_text() == format_secrets(Secrets()) and store.is_symlink()


def test_host_add_does_not_replace_a_symlinked_topology_file(tmp_path, capsys):
    real = tmp_path / "repo" / "harbor.conf"
    real.parent.mkdir()
    shutil.copy(GOLDEN / "hub-spokes" / "topology.conf", real)
    link = tmp_path / "harbor.conf"
    link.symlink_to(real)
    before = real.read_text()
    assert main(["host", "add", "zed", "role=roaming", "address=10.99.0.77", "-t", str(link)]) == 2
    assert f"{link}: a symbolic link" in capsys.readouterr().err
    assert real.read_text() == before and link.is_symlink()


# One writer: the other modules compute texts; only netdwg/host/files.py touches the disk to write.
WRITES = re.compile(r"os\.replace\(|os\.rename\(|mkstemp\(|NamedTemporaryFile\(|\.write_text\(|\.write_bytes\(|O_CREAT"
                    r"|os\.fdopen\([^)]*\"w")
NOT_FILE_WRITES = {
    "host/files.py": "the one atomic writer",
    "host/sysctl_live.py": "sets kernel values under /proc/sys, not a file",
    "lab/sandbox.py": "moves the lab's log directory aside",
}


def test_no_module_but_the_writer_writes_files():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = str(path.relative_to(PACKAGE))
        if name in NOT_FILE_WRITES:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if WRITES.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"netdwg/{name}:{number}: {line.strip()}")
    assert offenders == []


def test_a_secrets_path_with_dot_dot_is_refused_before_anything_is_written(topo, tmp_path, capsys):
    topo.write_text(topo.read_text().replace("[network]\n", "[network]\nsecrets = ../../escaped.secrets\n", 1))
    assert main(["keys", "generate", "-t", str(topo)]) == 2
    err = capsys.readouterr().err
    assert "secrets = ../../escaped.secrets: a '..' component" in err and f"{topo}:" in err
    assert not (tmp_path.parent / "escaped.secrets").exists() and files_in(tmp_path) == ["net/harbor.conf"]
