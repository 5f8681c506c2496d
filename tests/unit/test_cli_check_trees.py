"""`netdwg check DIR` on a directory of host trees, as `netdwg render --out DIR` lays them out: every
host's files are found and checked (across hosts too); a directory with nothing to check fails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from netdwg.cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def host_trees(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(GOLDEN / "hub-spokes" / "expected", out)
    for path in out.rglob("*"):
        if path.is_file():
            path.chmod(0o600)
    return out


def test_a_directory_of_host_trees_is_checked_file_by_file(tmp_path, capsys):
    out = host_trees(tmp_path)
    assert main(["check", "--json", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    checked = sorted(str(Path(f["path"]).relative_to(out)) for f in report["files"])
    assert checked == [
        "ana/etc/systemd/network/50-wg-harbor.netdev", "ana/etc/systemd/network/50-wg-harbor.network",
        "ben/etc/wireguard/wg-harbor.conf",
        "bergen/etc/netplan/60-netdwg-wg-harbor.yaml", "bergen/etc/sysctl.d/60-netdwg.conf",
        "oslo/etc/sysctl.d/60-netdwg.conf", "oslo/etc/systemd/network/50-wg-harbor.netdev",
        "oslo/etc/systemd/network/50-wg-harbor.network",
        "relay/etc/sysctl.d/60-netdwg.conf", "relay/etc/systemd/network/50-wg-harbor.netdev",
        "relay/etc/systemd/network/50-wg-harbor.network"]
    assert {f["kind"] for f in report["files"]} == {"unit", "wg-quick", "netplan", "sysctl"}
    assert report["diagnostics"] == []  # guard.conf, netdwg.nft and lan-router-routes.txt are not checked as these


def test_host_trees_are_checked_across_hosts(tmp_path, capsys):
    out = host_trees(tmp_path)
    ben = out / "ben/etc/wireguard/wg-harbor.conf"
    psk = next(line for line in ben.read_text().splitlines() if line.startswith("PresharedKey"))
    ben.write_text(ben.read_text().replace(psk + "\n", ""))
    assert main(["check", str(out)]) == 2
    printed = capsys.readouterr().out
    assert "NDW031" in printed and "only one end has a preshared key" in printed and "relay/etc" in printed


def test_a_directory_with_nothing_to_check_is_an_error(tmp_path, capsys):
    (tmp_path / "a" / "etc" / "netdwg").mkdir(parents=True)
    (tmp_path / "a" / "etc" / "netdwg" / "guard.conf").write_text("[guard]\ninterface = wg0\n")
    (tmp_path / "empty").mkdir()
    for directory in (tmp_path / "a", tmp_path / "empty"):
        assert main(["check", str(directory)]) == 2
        printed = capsys.readouterr().out
        assert "CHK004" in printed and "no unit, sysctl, wg-quick or netplan files" in printed
