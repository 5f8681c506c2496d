"""wg-quick .conf: lossless round trip, strip equal to the real wg-quick, the
typed view, and errors that agree with the real `wg` parser."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from netdwg.errors import ConfigError, ParseError, Severity
from netdwg.keys import genkey, genpsk
from netdwg.wgquick import (LineKind, WgQuickConfig, WgQuickSettings, check_wgquick, format_wgquick, load_wgquick,
                            parse_wgquick_file, render_wgquick, strip)
from netdwg.wireguard import Endpoint, WgDevice, WgPeer

CORPUS = Path(__file__).resolve().parents[1] / "data" / "wg-quick"
CORPUS_FILES = sorted(CORPUS.glob("*.conf"))
needs_wgquick = pytest.mark.skipif(not shutil.which("wg-quick") or os.geteuid() != 0,
                                   reason="needs wg-quick and root (wg-quick strip re-execs with sudo)")
needs_wg = pytest.mark.skipif(not shutil.which("wg"), reason="needs wg")
PUB = "7kvBXBelMiBAzO8Pryc5S7sbbPFS4TcXGK+Mt4LFdlo="


def real_strip(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "ndwq0.conf"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    path.chmod(0o600)
    return subprocess.run(["wg-quick", "strip", str(path)], capture_output=True, timeout=20)


def real_wg_accepts(tmp_path: Path, text: str) -> tuple[bool, str]:
    """Run the real wg config parser: `wg setconf` parses the whole file before it
    looks for the device, so a missing device means the file parsed."""
    path = tmp_path / "setconf.conf"
    path.write_text(text)
    out = subprocess.run(["wg", "setconf", "ndwnodev0", str(path)], capture_output=True, text=True, timeout=20)
    parsed = "Unable to modify interface" in out.stderr
    return parsed, out.stderr


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_round_trips_byte_for_byte(path):
    text = path.read_text()
    assert parse_wgquick_file(text, str(path)).format() == text


@needs_wgquick
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_strip_equals_real_wg_quick_strip_on_corpus(path, tmp_path):
    text = path.read_text()
    real = real_strip(tmp_path, text)
    assert real.returncode == 0
    assert strip(text).encode() == real.stdout


ODD = [
    "",
    "\n",
    "[Interface]",
    "[interface]\naddress = 10.0.0.1/24\nmtu=1400\n",
    "  [Interface]  # c\n\tAddress = 1.2.3.4/32 # trailing\nPrivateKey = x\n",
    "[Interface]\nPostUp = echo a=b # not a comment? it is\n[Peer]\nAddress = kept in peer\n",
    "[Interface]\r\nDNS = 1.1.1.1\r\nTable = off\r\n[Peer]\r\nPublicKey = k\r\n",
    "[Interface]\nSaveConfig = TRUE\n",
    "# only comment",
    "x\n   \n\t\n",
    "[Interface]\nAddress\n= 5\n=\n#\n",
    "[Interface]\n[Foo]\nAddress = 1\n[INTERFACE]\nDNS = x\n",
    "[Interface]\nPrivateKey = a\0b\nAddress = 1\n  x  y  \n[Peer]\r\nfoo\n  ",
    "[Interface] = 1\nMTU = 2\n",
    "[Interfacé]\nMTU = 1\n",
]


@pytest.mark.parametrize("text", ODD)
def test_odd_files_round_trip(text):
    assert parse_wgquick_file(text).format() == text


@needs_wgquick
@pytest.mark.parametrize("text", ODD)
def test_strip_equals_real_on_odd_files(text, tmp_path):
    real = real_strip(tmp_path, text)
    assert real.returncode == 0, real.stderr
    assert strip(text).encode() == real.stdout


@needs_wgquick
def test_strip_fails_where_wg_quick_dies(tmp_path):
    text = "[Interface]\nSaveConfig = maybe\n"
    real = real_strip(tmp_path, text)
    assert real.returncode == 1 and b"neither true nor false" in real.stderr
    with pytest.raises(ParseError, match="neither true nor false"):
        strip(text)


def test_typed_view_of_corpus_ana():
    config = load_wgquick((CORPUS / "ana.conf").read_text(), str(CORPUS / "ana.conf"))
    quick = config.settings
    assert config.device.name == "ana"
    assert quick.addresses == (ipaddress.ip_interface("10.99.0.4/16"), ipaddress.ip_interface("fd99:1::4/64"))
    assert quick.dns == (ipaddress.ip_address("10.99.0.1"),) and quick.dns_search == ("harbor.internal",)
    assert (quick.mtu, quick.table) == (1380, "auto")
    assert quick.post_up == ('logger -t wg "%i up"',) and quick.pre_down == ('logger -t wg "%i down"',)
    (peer,) = config.device.peers
    assert peer.name == "relay" and peer.persistent_keepalive == 25
    assert peer.endpoint == Endpoint("198.51.100.10", 51820)
    assert [str(n) for n in peer.allowed_ips] == ["10.99.0.0/16", "fd99:1::/64", "172.20.10.0/24", "172.20.20.0/24"]


def test_typed_view_of_corpus_oslo_keeps_hook_order():
    config = load_wgquick((CORPUS / "oslo-gw.conf").read_text(), "oslo-gw.conf")
    assert config.settings.table == "off" and config.settings.save_config is False
    assert config.settings.pre_up == ("sysctl -w net.ipv4.ip_forward=1",)
    assert len(config.settings.post_up) == 3 and config.settings.post_up[0].startswith("ip -4 route add 10.99")
    assert config.device.peers[0].endpoint == Endpoint("relay.example.net", 51820)


def test_wg_keys_are_case_and_space_insensitive_like_wg():
    text = f"[INTERFACE]\nlisten port = 51820\nfwmark=0x51\n[peer]\npublickey={PUB}\nallowedips = 10.0.0.0/8 , fd00::/64\n"
    config = load_wgquick(text, "wg0.conf")
    assert config.device.listen_port == 51820 and config.device.fwmark == 0x51
    assert [str(n) for n in config.device.peers[0].allowed_ips] == ["10.0.0.0/8", "fd00::/64"]


def _model(name: str = "wg7") -> WgQuickConfig:
    device = WgDevice(name, private_key=genkey(), listen_port=51820, fwmark=0x51, peers=(
        WgPeer(genkey().public_key(), (ipaddress.ip_network("10.0.0.2/32"), ipaddress.ip_network("fd00::/64")),
               genpsk(), Endpoint("2001:db8::1", 51821), 25, "oslo"),
        WgPeer(genkey().public_key(), (ipaddress.ip_network("172.20.0.0/16"),), endpoint=Endpoint("relay.example.net", 1)),
    ))
    return WgQuickConfig(device, WgQuickSettings(
        addresses=(ipaddress.ip_interface("10.0.0.1/24"),), dns=(ipaddress.ip_address("10.0.0.53"),),
        dns_search=("example.net",), mtu=1420, table="off", pre_up=("true",), post_up=("ip route add 1.2.3.0/24 dev %i",),
        save_config=True))


def test_load_of_format_is_the_model():
    model = _model()
    assert load_wgquick(format_wgquick(model), "/etc/wireguard/wg7.conf") == model


@needs_wg
def test_written_file_is_accepted_by_real_wg_after_strip(tmp_path):
    # wg resolves host names while parsing: give it an address so the test needs no DNS.
    model = _model()
    peers = (model.device.peers[0], replace(model.device.peers[1], endpoint=Endpoint("198.51.100.7", 1)))
    model = replace(model, device=replace(model.device, peers=peers))
    parsed, stderr = real_wg_accepts(tmp_path, strip(format_wgquick(model)))
    assert parsed, stderr


def test_render_is_private_and_secret():
    rendered = render_wgquick(_model())
    assert str(rendered.path) == "/etc/wireguard/wg7.conf" and rendered.mode == 0o600 and rendered.secret


CASES = [  # (text, real wg accepts it after strip, netdwg diagnostic code or None)
    (f"[Interface]\nFooBar = 1\n", False, "WGQ004"),
    (f"[Peer]\nAllowedIPs = 10.0.0.0/8\n", False, "WGQ005"),
    (f"[Peer]\nPublicKey = {PUB}\nAllowedIPs =\n", False, "WGQ001"),
    (f"[Peer]\nPublicKey = {PUB}\nAllowedIPs = 10.0.0.0/8,\n", False, "WGQ001"),
    (f"[Peer]\nPublicKey = {PUB}\nAllowedIPs = fd00::1/200\n", False, "WGQ001"),
    (f"[Peer]\nPublicKey = {PUB}\nAllowedIPs = 10.0.0.1\n", True, None),
    (f"[Peer]\nPublicKey = {PUB}\nAllowedIPs = 10.0.0.1/24\n", True, "WGQ007"),
    (f"[Peer]\nPublicKey = {PUB}\nPersistentKeepalive = off\n", True, None),
    (f"[Peer]\nPublicKey = {PUB}\nPersistentKeepalive = 65536\n", False, "WGQ001"),
    (f"[Peer]\nPublicKey = {PUB[:-2]}\n", False, "WGQ001"),
    (f"[Peer]\nPublicKey = {PUB}\nEndpoint = 192.0.2.1\n", False, "WGQ001"),
    (f"[Peer]\nPublicKey = {PUB}\nEndpoint = [2001:db8::1]:51820\n", True, None),
    ("[Interface]\nFwMark = 0x10\n", True, None),
    ("[Interface]\nFwMark = 4294967296\n", False, "WGQ001"),
    ("[Interface]\nFwMark = 1x\n", False, "WGQ001"),
    ("[Interface]\nListenPort = -1\n", False, "WGQ001"),
    ("[Interface]\nListenPort = 0\n", True, None),
    ("ListenPort = 1\n", False, "WGQ003"),
    ("[Peers]\n", False, "WGQ002"),
    ("[ Interface ]\nAddress = 10.0.0.1/24\n", False, "WGQ004"),
    ("[ Interface ]\nListenPort = 5\n", True, "WGQ002"),  # wg is fine, but wg-quick keys would not be
    (f"[Peer]\nPublicKey = {PUB}\nPrivateKey = {PUB}\n", False, "WGQ004"),
]


@needs_wg
@pytest.mark.parametrize("text,accepted,code", CASES)
def test_diagnostics_agree_with_real_wg(text, accepted, code, tmp_path):
    parsed, stderr = real_wg_accepts(tmp_path, strip(text))
    assert parsed == accepted, stderr
    found = check_wgquick(text, "/etc/wireguard/wg0.conf")
    errors = [d for d in found if d.severity is Severity.ERROR]
    assert bool(errors) == (not accepted)
    if code:
        assert code in [d.code for d in found]
        assert all(d.span.line >= 1 for d in found)


def test_unknown_key_suggests_the_right_one():
    found = check_wgquick("[Interface]\nAdress = 10.0.0.1/24\n[Peer]\nPublicKey = %s\nAllowedIP = 10.0.0.0/8\n" % PUB,
                          "wg0.conf")
    assert [(d.span.line, d.fix) for d in found] == [(2, "did you mean Address?"), (5, "did you mean AllowedIPs?")]


def test_key_in_wrong_section_says_so():
    (diag,) = check_wgquick(f"[Peer]\nPublicKey = {PUB}\nListenPort = 5\n", "wg0.conf")
    assert diag.span.line == 3 and "belongs in [Interface]" in diag.fix


def test_load_collects_every_error():
    with pytest.raises(ConfigError) as err:
        load_wgquick("[Interface]\nMTU = big\nAddress = nope\n[Peer]\nEndpoint = x\n", "wg0.conf")
    assert [d.span.line for d in err.value.diagnostics] == [2, 3, 5, 4]


def test_world_accessible_file_with_private_key_warns_like_wg_quick():
    text = f"[Interface]\nPrivateKey = {genkey().reveal_base64()}\n"
    (diag,) = check_wgquick(text, "/etc/wireguard/wg0.conf", mode=0o644)
    assert diag.severity is Severity.WARNING and "world accessible" in diag.message and "PrivateKey" in diag.message
    assert check_wgquick(text, "/etc/wireguard/wg0.conf", mode=0o600) == []


def test_bad_file_name_warns():
    (diag,) = check_wgquick("[Interface]\n", "/tmp/this-name-is-too-long.conf")
    assert diag.code == "WGQ010"


def test_private_key_never_in_diagnostics():
    key = genkey().reveal_base64()
    found = check_wgquick(f"[Interface]\nPrivateKey = {key[:40]}\n", "wg0.conf")
    assert found and all(key[:40] not in d.format() for d in found)


def test_a_10_mb_line_gives_a_short_diagnostic_with_its_line():
    text = "[Interface]\nPostUp = true\n" + "A" * (10 * 1024 * 1024) + " = 1\n"
    (diag,) = check_wgquick(text, "wg0.conf")
    assert diag.span.line == 3 and len(diag.format()) < 400
    assert parse_wgquick_file(text).lines[2].kind is LineKind.KEY


def test_same_prefix_on_two_peers_warns_at_the_later_peer():
    other = genkey().public_key()
    text = (f"[Interface]\n[Peer]\nPublicKey = {PUB}\nAllowedIPs = 10.0.0.0/24\n"
            f"[Peer]\nPublicKey = {other}\nAllowedIPs = 10.0.0.0/24, 10.0.1.0/24\n")
    (diag,) = check_wgquick(text, "wg0.conf")
    assert (diag.code, diag.span.line, diag.severity) == ("WGQ009", 5, Severity.WARNING)
    assert PUB in diag.message


def test_save_config_true_warns():
    (diag,) = check_wgquick("[Interface]\nSaveConfig = true\n", "wg0.conf")
    assert diag.code == "WGQ008" and diag.span.line == 2


@needs_wgquick
@pytest.mark.parametrize("file_mode,dir_mode", [(0o644, 0o755), (0o644, 0o700), (0o600, 0o755), (0o604, 0o701),
                                                (0o640, 0o755)])
def test_world_accessible_warning_agrees_with_real_wg_quick(tmp_path, file_mode, dir_mode):
    from netdwg.cli.check import check_path

    folder = tmp_path / "etc-wireguard"
    folder.mkdir()
    conf = folder / "ndwq1.conf"
    conf.write_text(f"[Interface]\nPrivateKey = {genkey().reveal_base64()}\n")
    conf.chmod(file_mode)
    folder.chmod(dir_mode)
    real = subprocess.run(["wg-quick", "strip", str(conf)], capture_output=True, text=True, timeout=20)
    ours = [d.code for d in check_path(str(conf)).diagnostics]
    assert ("is world accessible" in real.stderr) == ("WGQ011" in ours)
