"""Diagnostics: unknown sections and keys (with suggestions), versions, modes, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netdwg.errors import Severity
from netdwg.keys import genkey
from netdwg.unitfile import check_unit_file
from netdwg.unitfile.schema import key_since, known_keys, sections_for, unit_kind

CORPUS = Path(__file__).resolve().parents[1] / "data" / "networkd"
KEY = str(genkey().public_key())
PRIV = genkey().reveal_base64()


def _codes(diags):
    return [(d.code, d.span.line) for d in diags]


def _lines_only(diags):
    """Leave out UNIT009 (a .netdev without a private key): these tests are about single lines."""
    return [d for d in diags if d.code != "UNIT009"]


@pytest.mark.parametrize("path", sorted(p for p in CORPUS.rglob("*") if p.is_file()), ids=lambda p: p.name)
def test_corpus_has_no_syntax_or_key_findings(path):
    # mode=0o640 as netdwg writes key-bearing files: then nothing at all is wrong
    assert check_unit_file(path, path.read_text(), mode=0o640) == []


def test_unknown_key_in_networkd_words_with_suggestion():
    text = f"[NetDev]\nName=wg0\nKind=wireguard\n[WireGuardPeer]\nPublicKey={KEY}\nPublicKeyFile=/x\nAllowedIP=10.0.0.1/32\n"
    diags = _lines_only(check_unit_file("/etc/systemd/network/30-wgt.netdev", text))
    # PublicKeyFile= exists from systemd 257 on (its gperf table): networkd 252's words, then when it came
    assert _codes(diags) == [("UNIT004", 6), ("UNIT003", 7)]
    assert diags[0].message == ("Unknown key 'PublicKeyFile' in section [WireGuardPeer], ignoring. "
                                "(PublicKeyFile= needs systemd 257; the target is systemd 252)")
    assert diags[0].severity is Severity.WARNING
    assert diags[1].fix == "did you mean 'AllowedIPs='?"
    assert diags[0].format().startswith("/etc/systemd/network/30-wgt.netdev:6: warning: Unknown key 'PublicKeyFile'")


def test_unknown_section_and_section_of_another_kind():
    text = "[NetDev]\nName=wg0\nKind=wireguard\n[WireGuardPeers]\nPublicKey=x\n[VLAN]\nId=5\n"
    diags = _lines_only(check_unit_file("a.netdev", text))
    assert [(d.code, d.span.line, d.message) for d in diags] == [
        ("UNIT002", 4, "Unknown section 'WireGuardPeers'. Ignoring."),
        ("UNIT002", 6, "Unknown section 'VLAN'. Ignoring."),
    ]
    assert diags[0].fix == "did you mean [WireGuardPeer]?"


def test_keys_differ_between_network_and_netdev_match():
    assert check_unit_file("a.network", "[Match]\nName=eth0\n") == []
    (diag,) = check_unit_file("a.netdev", "[Match]\nName=eth0\n[NetDev]\nName=d\nKind=dummy\n")
    assert diag.message == "Unknown key 'Name' in section [Match], ignoring."


def test_x_prefixed_sections_and_keys_are_silent():
    assert check_unit_file("a.network", "[X-Mine]\nFoo=1\n[Network]\nX-Note=hello\n") == []


def test_key_newer_than_the_target():
    text = "[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKeyFile=/k\nRouteTable=main\n"
    assert check_unit_file("a.netdev", text, target_version=252) == []
    diags = check_unit_file("a.netdev", text, target_version=241)
    assert _codes(diags) == [("UNIT004", 5), ("UNIT004", 6)]
    assert "needs systemd 242" in diags[0].message and "needs systemd 250" in diags[1].message
    # a key added after 252 warns at 252 and not at 256
    net = "[Network]\nIPv4Forwarding=yes\n"
    (diag,) = check_unit_file("a.network", net)
    assert diag.code == "UNIT004" and "256" in diag.message
    assert check_unit_file("a.network", net, target_version=256) == []


def test_lines_systemd_ignores():
    diags = check_unit_file("a.network", "DNS=192.0.2.1\n[Network]\nfoo\n=bar\n")
    assert [(d.span.line, d.message) for d in diags] == [
        (1, "Assignment outside of section. Ignoring."),
        (3, "Missing '=', ignoring line."),
        (4, "Missing key name before '=', ignoring line."),
    ]


def test_bad_values_are_warnings_at_their_line_like_networkd():
    # networkd logs each at LOG_WARNING and ignores the assignment; the device left without a
    # private key is what it refuses (an error)
    text = (f"[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey=notakey\nListenPort=0\n"
            f"[WireGuardPeer]\nPublicKey={KEY}\nAllowedIPs=10.0.0.0/33\nEndpoint=192.0.2.1\n")
    diags = check_unit_file("a.netdev", text)
    assert diags[-1].code == "UNIT009" and diags[-1].severity is Severity.ERROR
    assert "Missing PrivateKey=" in diags.pop().message
    assert [(d.code, d.severity, d.span.line) for d in diags] == [
        ("UNIT007", Severity.WARNING, 5), ("UNIT007", Severity.WARNING, 6),
        ("UNIT007", Severity.WARNING, 9), ("UNIT007", Severity.WARNING, 10)]
    assert "notakey" not in diags[0].format()  # a (bad) private key is still not echoed
    assert [d.message for d in diags] == [
        "Failed to decode wireguard key provided by PrivateKey=, ignoring assignment",
        "Invalid port specification, ignoring assignment: 0",
        "Network address is invalid, ignoring assignment: 10.0.0.0/33",
        "Unable to find port of endpoint, ignoring assignment: 192.0.2.1",
    ]


def test_peer_without_public_key_is_reported_like_networkd():
    (diag,) = _lines_only(check_unit_file("a.netdev", "[NetDev]\nName=w\nKind=wireguard\n[WireGuardPeer]\n"
                                                      "AllowedIPs=10.0.0.1/32\n"))
    assert diag.span.line == 4
    assert diag.message == ("w: a.netdev: WireGuardPeer section without PublicKey= configured. "
                            "Ignoring [WireGuardPeer] section from line 4.")


def test_continued_line_is_reported_at_its_last_line_like_networkd():
    diags = check_unit_file("a.network", "[Network]\nBogus=a \\\n  b\n")
    assert _codes(diags) == [("UNIT003", 3)]


@pytest.mark.parametrize("mode,count", [(0o644, 2), (0o604, 2), (0o640, 0), (0o600, 0), (0o601, 2), (0o642, 2)])
def test_permissions_of_key_bearing_files(mode, count):
    text = (f"[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey={PRIV}\n"
            f"[WireGuardPeer]\nPublicKey={KEY}\nPresharedKey={PRIV}\n")
    diags = [d for d in check_unit_file("/etc/systemd/network/k.netdev", text, mode=mode)
             if d.code == "UNIT006" and "too permissive" in d.message]
    assert len(diags) == count
    if count:
        assert [d.span.line for d in diags] == [5, 8]
        assert diags[0].message == (f"/etc/systemd/network/k.netdev has {mode:04o} mode that is too permissive, "
                                    "please adjust the ownership and access mode.")
        assert PRIV not in diags[0].format()


def test_permissions_without_keys_are_fine_and_read_from_disk(tmp_path):
    path = tmp_path / "a.netdev"
    path.write_text(f"[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey={PRIV}\n")
    path.chmod(0o644)
    assert _codes(check_unit_file(path)) == [("UNIT006", 5)]
    path.chmod(0o640)
    if os.geteuid() == 0 and _networkd_group() is not None:
        os.chown(path, 0, _networkd_group())
        assert check_unit_file(path) == []
    plain = tmp_path / "b.network"
    plain.write_text("[Match]\nName=eth0\n")
    plain.chmod(0o644)
    assert check_unit_file(plain) == []


@pytest.mark.parametrize("data,line,word", [
    (b"[Match]\nName=eth0\n\x00\x00\x00", 3, "binary"),
    (b"[Match]\n\xc3\x28\n", 2, "UTF-8"),
    (b"[NetDev]\nName=wg0\n[WireGuardPe", 3, "section header"),
    (b"[Network]\nDescription=" + b"y" * (10 * 1024 * 1024) + b"\n", 2, "too long"),
])
def test_bad_input_becomes_one_error_diagnostic(tmp_path, data, line, word):
    path = tmp_path / "bad.network"
    path.write_bytes(data)
    (diag,) = check_unit_file(path)
    assert diag.code == "UNIT001" and diag.severity is Severity.ERROR
    assert diag.span.path == str(path) and diag.span.line == line and word in diag.message


def test_missing_file_is_a_diagnostic_not_a_traceback(tmp_path):
    (diag,) = check_unit_file(tmp_path / "nope.network")
    assert diag.code == "UNIT001" and "no such file" in diag.message


def test_truncated_continuation_is_a_warning():
    diags = _lines_only(check_unit_file("a.netdev", f"[NetDev]\nName=w\nKind=wireguard\n[WireGuardPeer]\n"
                                                    f"PublicKey={KEY}\nAllowedIPs=10.0.0.1/32 \\"))
    assert [d.code for d in diags] == ["UNIT008"] and diags[0].span.line == 6


def test_schema_facts():
    assert unit_kind("/etc/systemd/network/30-x.netdev.d/50-a.conf") == "netdev"
    assert unit_kind("99-default.link") == "link"
    assert sections_for("netdev", "wireguard") == {"Match", "NetDev", "WireGuard", "WireGuardPeer"}
    assert known_keys("netdev", "WireGuardPeer") == {"PublicKey", "PresharedKey", "PresharedKeyFile", "AllowedIPs",
                                                     "Endpoint", "PersistentKeepalive", "RouteTable", "RouteMetric"}
    assert "PrivateKeyFile" not in known_keys("netdev", "WireGuard", 241)
    assert key_since("netdev", "WireGuard", "FirewallMark") == 243
    assert "MACAddressPolicy" in known_keys("link", "Link")


def _networkd_group() -> int | None:
    import grp

    try:
        return grp.getgrnam("systemd-network").gr_gid
    except KeyError:
        return None


@pytest.mark.skipif(os.geteuid() != 0 or _networkd_group() is None, reason="needs root and a systemd-network group")
def test_a_file_networkd_cannot_read_is_reported(tmp_path):
    path = tmp_path / "c.netdev"
    path.write_text(f"[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey={PRIV}\n")
    path.chmod(0o600)
    os.chown(path, 0, 0)
    # root:root 0600: networkd 252 (user systemd-network) says "Permission denied" and drops the file
    assert [d.message.split(" (")[0] for d in check_unit_file(path)] == [
        f"Failed to open configuration file '{path}': Permission denied"]
    os.chown(path, 0, _networkd_group())
    path.chmod(0o640)
    assert check_unit_file(path) == []


def test_device_networkd_would_ignore(tmp_path):
    path = tmp_path / "50-wg0.netdev"
    path.write_text("[NetDev]\nName=wg0\nKind=wireguard\n\n[WireGuard]\nListenPort=51820\n")
    path.chmod(0o640)
    if os.geteuid() == 0 and _networkd_group() is not None:
        os.chown(path, 0, _networkd_group())
    (diag,) = [d for d in check_unit_file(path, mode=0o640) if "Permission denied" not in d.message]
    assert diag.code == "UNIT009" and diag.span.line == 5
    assert diag.message == f"wg0: {path}: Missing PrivateKey= or PrivateKeyFile=, Ignoring network device."
    # a drop-in in the file's own NAME.d/ supplies the key: then all is well
    key = tmp_path / "wg0.key"
    key.write_text(PRIV)
    key.chmod(0o644)
    dropins = tmp_path / "50-wg0.netdev.d"
    dropins.mkdir()
    (dropins / "10-key.conf").write_text(f"[WireGuard]\nPrivateKeyFile={key}\n")
    # ... and the key file it names is read as networkd reads it: with the main file (networkd
    # reads the key while loading the device) and when the drop-in itself is checked
    diags = [d for d in check_unit_file(path, mode=0o640) if "Permission denied" not in d.message]
    assert [(d.code, d.span.path, d.span.line) for d in diags] == [("UNIT006", str(dropins / "10-key.conf"), 2)]
    diags = [d for d in check_unit_file(dropins / "10-key.conf", mode=0o640) if "Permission denied" not in d.message]
    assert [(d.code, d.span.line) for d in diags] == [("UNIT006", 2)]
    assert diags[0].message == f"{key} has 0644 mode that is too permissive, please adjust the ownership and access mode."
    key.chmod(0o640)
    assert [d for d in check_unit_file(dropins / "10-key.conf", mode=0o640) if "Permission denied" not in d.message] == []


def test_netdev_without_name_or_kind():
    codes = [d.message for d in check_unit_file("x.netdev", "[NetDev]\nDescription=nothing\n")]
    assert codes == ['NetDev without Name= configured in "x.netdev", ignoring.',
                     'NetDev has no Kind= configured in "x.netdev", ignoring.']


def test_the_same_peer_twice():
    text = (f"[NetDev]\nName=w\nKind=wireguard\n[WireGuard]\nPrivateKeyFile=/k\n"
            f"[WireGuardPeer]\nPublicKey={KEY}\nAllowedIPs=10.0.0.1/32\n[WireGuardPeer]\nPublicKey={KEY}\n")
    (diag,) = check_unit_file("d.netdev", text)
    assert diag.code == "UNIT010" and diag.span.line == 10 and "line 7" in diag.message
