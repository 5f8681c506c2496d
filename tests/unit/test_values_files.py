"""`netdwg check` and `netdwg import` apply netdwg.values' rules and limits to the files they read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from netdwg.cli import main
from netdwg.errors import ConfigError
from netdwg.values import MAX_FILE_BYTES, MAX_LINE_CHARS

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "hub-spokes" / "expected"
NETDEV = "etc/systemd/network/50-wg-harbor.netdev"


def check(capsys, *paths) -> tuple[int, list[dict]]:
    code = main(["check", "--json", *map(str, paths)])
    return code, json.loads(capsys.readouterr().out)["diagnostics"]


def copy_host(tmp_path: Path, name: str = "relay") -> Path:
    target = tmp_path / name
    shutil.copytree(GOLDEN / name, target)
    return target


def test_a_golden_file_is_clean(tmp_path, capsys):
    code, found = check(capsys, copy_host(tmp_path) / NETDEV)
    assert code == 0 and not [d for d in found if d["severity"] == "error"]


def test_check_refuses_a_netdev_name_with_path_components(tmp_path, capsys):
    path = copy_host(tmp_path) / NETDEV
    path.write_text(path.read_text().replace("Name=wg-harbor", "Name=../../x"))
    code, found = check(capsys, path)
    assert code == 2
    (diag,) = [d for d in found if d["code"] == "NDW002"]
    assert diag["line"] == 5 and "'../../x'" in diag["message"] and "kernel refuses '/'" in diag["message"]


@pytest.mark.parametrize("char", ["\x1b", "\x85", "\x7f", "\r", "\x0b"])
def test_check_reports_a_control_character_inside_a_line(tmp_path, capsys, char):
    path = copy_host(tmp_path) / NETDEV
    lines = path.read_text().split("\n")
    lines[5] = lines[5] + char + "PostUp = x"
    path.write_text("\n".join(lines))
    code, found = check(capsys, path)
    assert code == 2
    assert [(d["line"], d["code"]) for d in found if d["code"] == "NDW004"] == [(6, "NDW004")]


def test_check_accepts_crlf_and_tabs(tmp_path, capsys):
    path = copy_host(tmp_path) / NETDEV
    path.write_text(path.read_text().replace("\n", "\r\n").replace("Kind=", "Kind=\t"), newline="")
    code, found = check(capsys, path)
    assert not [d for d in found if d["code"] == "NDW004"]


def test_check_refuses_a_file_over_the_limits_unread(tmp_path, capsys):
    big = tmp_path / "etc/systemd/network/big.netdev"
    big.parent.mkdir(parents=True)
    with big.open("w") as handle:
        handle.write(("#" * 999 + "\n") * (MAX_FILE_BYTES // 1000 + 1))
    long = tmp_path / "etc/systemd/network/long.netdev"
    long.write_text("[NetDev]\nName=wg0\nDescription=" + "x" * MAX_LINE_CHARS + "\n")
    code, found = check(capsys, big, long)
    assert code == 2
    assert [(Path(d["file"]).name, d["line"], d["code"]) for d in found] == [
        ("big.netdev", 0, "NDW005"), ("long.netdev", 3, "NDW005")]
    assert "limit of" in found[0]["message"] and found[0]["fix"]


def test_import_refuses_a_file_with_a_control_character(tmp_path, capsys):
    relay = copy_host(tmp_path)
    path = relay / NETDEV
    path.write_text(path.read_text().replace("Kind=wireguard", "Kind=wireguard\x1b[2J"))
    with pytest.raises(ConfigError) as err:
        _import(relay, tmp_path)
    (diag,) = err.value.diagnostics
    assert (diag.code, diag.span.path, diag.span.line) == ("NDW004", str(path), 6)


def _import(*specs_and_tmp):
    from netdwg.topology.importer_files import read_hosts

    *specs, _ = specs_and_tmp
    return read_hosts([str(s) for s in specs])


def test_import_refuses_an_interface_name_no_consumer_takes(tmp_path, capsys):
    hosts = [copy_host(tmp_path, name) for name in ("relay", "oslo")]
    for host in hosts:
        for path in (host / "etc/systemd/network").iterdir():
            path.write_text(path.read_text().replace("wg-harbor", "wg%harbor"))
    out = tmp_path / "out" / "net.conf"
    code = main(["import", *map(str, hosts), "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 2 and not out.exists()
    assert "'wg%harbor'" in captured.out + captured.err and "NDW002" in captured.out + captured.err


def test_import_refuses_an_oversized_file(tmp_path):
    relay = copy_host(tmp_path)
    with (relay / NETDEV).open("a") as handle:
        handle.write(("#" * 999 + "\n") * (MAX_FILE_BYTES // 1000 + 1))
    with pytest.raises(ConfigError) as err:
        _import(relay, tmp_path)
    assert err.value.diagnostics[0].code == "NDW005"


def test_check_refuses_an_oversized_drop_in_of_the_unit_it_checks(tmp_path, capsys):
    path = copy_host(tmp_path) / NETDEV
    dropin = path.parent / (path.name + ".d") / "50-big.conf"
    dropin.parent.mkdir()
    with dropin.open("w") as handle:
        handle.write(("#" * 999 + "\n") * (MAX_FILE_BYTES // 1000 + 1))
    code, found = check(capsys, path)
    assert code == 2
    assert [(Path(d["file"]).name, d["code"]) for d in found if d["severity"] == "error"] == [("50-big.conf", "NDW005")]


def test_sysctl_files_are_read_within_the_limit(tmp_path):
    from netdwg.sysctl import read_sysctl_text

    big = tmp_path / "99-big.conf"
    with big.open("w") as handle:
        handle.write(("#" * 999 + "\n") * (MAX_FILE_BYTES // 1000 + 1))
    with pytest.raises(ConfigError) as err:
        read_sysctl_text(big)
    assert err.value.diagnostics[0].code == "NDW005"


def test_check_refuses_a_netplan_tunnel_name_no_consumer_takes(tmp_path, capsys):
    from golden_support import load_scenario

    from netdwg.render import render_interfaces
    from netdwg.topology.compile import compile_topology

    config = compile_topology(*load_scenario("hub-spokes"))["relay"]
    (yaml_file,) = render_interfaces(config, "netplan")
    path = tmp_path / "60-netdwg.yaml"
    path.write_text(yaml_file.text.replace("wg-harbor:", "../harbor:"))
    path.chmod(0o600)
    code, found = check(capsys, path)
    assert code == 2
    assert [d["code"] for d in found if "'../harbor'" in d["message"]] == ["NDW002"]
