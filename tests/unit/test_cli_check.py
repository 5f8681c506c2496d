"""`netdwg check` through the real command line: kinds, exit codes, JSON, and bad
input that must give file:line and never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netdwg.cli.check import classify
from netdwg.keys import genkey

CORPUS = Path(__file__).resolve().parents[1] / "data"
PUB = "7kvBXBelMiBAzO8Pryc5S7sbbPFS4TcXGK+Mt4LFdlo="


def test_real_process_exit_code_and_no_traceback(tmp_path):
    path = write(tmp_path / "wg0.conf", b"[Interface]\nPrivateKey = \x00\xff\n")
    out = subprocess.run([sys.executable, "-m", "netdwg", "check", path], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stdout.startswith(f"{path}:2: error: binary data")


def write(path: Path, text: str | bytes, mode: int = 0o600) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    path.chmod(mode)
    return str(path)


@pytest.mark.parametrize("path,expected", [
    ("/etc/systemd/network/30-wg.netdev", "unit"),
    ("/etc/systemd/network/30-wg.network", "unit"),
    ("/etc/systemd/network/10-eth.link", "unit"),
    ("/etc/systemd/network/30-wg.netdev.d/50-peer.conf", "unit"),
    ("/etc/sysctl.d/99-forward.conf", "sysctl"),
    ("/etc/sysctl.conf", "sysctl"),
    ("/etc/netplan/60-wg.yaml", "netplan"),
])
def test_classify_by_path(path, expected):
    assert classify(path, b"") == expected


def test_classify_other_conf_by_content():
    # a named .conf outside the known places: wg-quick when it has its sections (wg-quick takes a path)
    assert classify("/tmp/wg0.conf", b"# x\n[Interface]\nPrivateKey = k\n") == "wg-quick"
    assert classify("/tmp/peer.conf", b"  [peer]\n") == "wg-quick"
    assert classify("/tmp/other.conf", b"[Unit]\nDescription=x\n") is None
    # never sysctl from the content alone: a DHCP server's or D-Bus's .conf has no section either
    assert classify("/tmp/forward.conf", b"net.ipv4.ip_forward = 1\n") is None
    assert classify("/tmp/dhcpd.conf", b"default-lease-time 600;\n") is None
    # found in a directory (no content given): only the name and place count
    assert classify("/tmp/wg0.conf") is None
    assert classify("/etc/wireguard/wg0.conf") == "wg-quick"


def test_clean_files_exit_0(netdwg, tmp_path):
    files = [write(tmp_path / "wg0.conf", (CORPUS / "wg-quick/ana.conf").read_text()),
             write(tmp_path / "sysctl.d/10-f.conf", (CORPUS / "sysctl/10-netdwg-forward.conf").read_text(), 0o644),
             write(tmp_path / "40-oslo-gw.netdev", (CORPUS / "networkd/40-oslo-gw.netdev").read_text(), 0o644),
             write(tmp_path / "60.yaml", (CORPUS / "netplan/60-relay.yaml").read_text())]
    out = netdwg("check", *files)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout == "" and "4 file(s) checked: 0 error(s), 0 warning(s)" in out.stderr


def test_warnings_exit_0_or_1_with_strict(netdwg, tmp_path):
    path = write(tmp_path / "wg0.conf", f"[Interface]\nPrivateKey = {genkey().reveal_base64()}\n", 0o644)
    os.chmod(tmp_path, 0o755)
    out = netdwg("check", path)
    assert out.returncode == 0
    assert f"{path}: warning: holds a PrivateKey and is world accessible" in out.stdout
    assert netdwg("check", "--strict", path).returncode == 1


def test_errors_exit_2_with_file_line_severity_message(netdwg, tmp_path):
    path = write(tmp_path / "wg0.conf", f"[Interface]\nAdress = 10.0.0.1/24\n[Peer]\nPublicKey = {PUB}\n")
    out = netdwg("check", path)
    assert out.returncode == 2
    assert out.stdout.splitlines()[0] == f"{path}:2: error: unknown key 'Adress' in [Interface] [WGQ004]"
    assert "fix: did you mean Address?" in out.stdout


def test_json_output(netdwg, tmp_path):
    path = write(tmp_path / "sysctl.d/10-x.conf", "a = 1\nnot an assignment\n")
    out = netdwg("check", "--json", path)
    doc = json.loads(out.stdout)
    assert out.returncode == doc["exit"] == 2
    assert doc["files"] == [{"path": path, "kind": "sysctl"}]
    (diag,) = doc["diagnostics"]
    assert (diag["file"], diag["line"], diag["severity"], diag["code"]) == (path, 2, "error", "SYS003")


def test_unit_files_go_to_the_unitfile_checker_with_systemd_version(netdwg, tmp_path):
    path = write(tmp_path / "30-wg.netdev",
                 "[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKeyFile=/k\nRouteTable=main\n", 0o644)
    assert netdwg("check", "--strict", path).returncode == 0
    old = netdwg("check", "--strict", "--systemd-version", "249", path)
    assert old.returncode == 1 and f"{path}:6: warning:" in old.stdout and "RouteTable" in old.stdout


def test_directory_checks_units_and_dropins(netdwg, tmp_path):
    write(tmp_path / "net/30-wg.netdev", "[NetDev]\nName=wg0\nKind=wireguard\n", 0o644)
    write(tmp_path / "net/30-wg.netdev.d/50-x.conf", "[WireGuardPeer]\nPublicKy=x\n", 0o644)
    out = netdwg("check", "--json", str(tmp_path / "net"))
    doc = json.loads(out.stdout)
    assert [f["kind"] for f in doc["files"]] == ["unit", "unit"]
    assert any(d["line"] == 2 and "PublicKy" in d["message"] for d in doc["diagnostics"])


def test_unknown_kind_and_missing_file_are_diagnostics_not_crashes(netdwg, tmp_path):
    other = write(tmp_path / "thing.txt", "hello\n")
    out = netdwg("check", other, str(tmp_path / "missing.netdev"))
    assert out.returncode == 2
    assert f"{other}: error: cannot tell what kind of file this is" in out.stdout
    assert f"{tmp_path / 'missing.netdev'}: error:" in out.stdout and "Traceback" not in out.stderr


# ---- bad input, through the CLI: a clear error naming file and line, never a traceback

BIG = "x" * (10 * 1024 * 1024)
BAD_INPUTS = {
    "truncated-wgquick": ("wg0.conf", f"[Interface]\nPrivateKey = {PUB[:20]}", 2),
    "truncated-section": ("wg0.conf", "[Interface]\nAddress = 10.0.0.1/24\n[Pe", 3),
    "binary-wgquick": ("wg0.conf", b"[Interface]\nPrivateKey = \x00\xff\xfe\n", 2),
    "binary-sysctl": ("sysctl.d/10-x.conf", b"a = 1\nb = \x89PNG\r\n", 2),
    "binary-netplan": ("60.yaml", b"network:\n  tunnels: \x00\n", 2),
    "utf8-sysctl": ("sysctl.d/10-x.conf", b"a = 1\n\n\xff\xfe = 1\n", 3),
    "10mb-line-wgquick": ("wg0.conf", f"[Interface]\nPostUp = true\n{BIG} = 1\n", 3),
    "10mb-line-sysctl": ("sysctl.d/10-x.conf", f"a = 1\n{BIG}\n", 2),
    "10mb-line-netplan": ("60.yaml", f"network:\n  tunnels:\n    wg0:\n      mode: wireguard\n      key: {BIG}\n", 5),
    "bad-key-wgquick": ("wg0.conf", f"[Interface]\n[Peer]\nPublicKey = {PUB[:-3]}==\n", 3),
    "bad-key-netplan": ("60.yaml", "network:\n  tunnels:\n    wg0:\n      mode: wireguard\n      key: abc\n"
                        f"      peers: [{{keys: {{public: {PUB}}}, allowed-ips: [10.0.0.0/8]}}]\n", 5),
    "unknown-section-wgquick": ("wg0.conf", "[Interface]\n[Peers]\n", 2),
    "truncated-netplan": ("60.yaml", "network:\n  tunnels:\n    wg0: {mode: wireguard, key: [\n", 4),
    "truncated-unit": ("30-wg.netdev", "[NetDev]\nName=wg0\n[WireGuard", 3),
    "binary-unit": ("30-wg.netdev", b"[NetDev]\nName=\x00\x01\x02\n", 2),
    "10mb-line-unit": ("30-wg.netdev", f"[NetDev]\nName=wg0\nDescription={BIG}\n", 3),
    "bad-key-unit": ("30-wg.netdev", "[NetDev]\nName=wg0\nKind=wireguard\n[WireGuardPeer]\nPublicKey=abc\n", 5),
    "unknown-section-unit": ("30-wg.network", "[Match]\nName=wg0\n[Netwerk]\nAddress=10.0.0.1/24\n", 3),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_names_file_and_line_without_traceback(netdwg, case, tmp_path):
    name, content, line = BAD_INPUTS[case]
    path = write(tmp_path / name, content)
    out = netdwg("check", path)
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    # networkd ignores an unknown section with a warning; everything else here is an error
    assert out.returncode == (0 if case == "unknown-section-unit" else 2)
    assert f"{path}:{line}:" in out.stdout, out.stdout[:2000]
    assert len(out.stdout) < 5000  # a 10 MB line is never echoed back


def test_sysctl_files_checked_together_report_overrides(netdwg, tmp_path):
    for name in ("10-netdwg-forward.conf", "99-local-override.conf"):
        write(tmp_path / "sysctl.d" / name, (CORPUS / "sysctl" / name).read_text(), 0o644)
    out = netdwg("check", str(tmp_path / "sysctl.d"))
    assert out.returncode == 0
    assert f"{tmp_path}/sysctl.d/10-netdwg-forward.conf:2: info: net.ipv4.ip_forward = '1' here has no effect" \
        in out.stdout


def test_fifo_and_device_are_refused_without_blocking(netdwg, tmp_path):
    fifo = tmp_path / "wg0.conf"
    os.mkfifo(fifo)
    out = netdwg("check", str(fifo), "/dev/zero")
    assert out.returncode == 2
    assert f"{fifo}: error: not a regular file" in out.stdout and "/dev/zero: error: not a regular file" in out.stdout
