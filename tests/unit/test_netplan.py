"""netplan wireguard tunnels: read the corpus, write files the real `netplan
generate` (0.106) accepts and turns into the expected .netdev, and report the
errors netplan reports."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from netdwg.errors import ConfigError, Severity
from netdwg.keys import genkey, genpsk
from netdwg.netplan import NetplanRoute, NetplanTunnel, check_netplan, format_netplan, load_netplan, render_netplan
from netdwg.wireguard import Endpoint, WgDevice, WgPeer

CORPUS = Path(__file__).resolve().parents[1] / "data" / "netplan"
needs_netplan = pytest.mark.skipif(not shutil.which("netplan"), reason="netplan.io is not installed")


def netplan_generate(tmp_path: Path, text: str) -> tuple[subprocess.CompletedProcess, Path]:
    root = tmp_path / "root"
    (root / "etc/netplan").mkdir(parents=True, exist_ok=True)
    conf = root / "etc/netplan/60-netdwg.yaml"
    conf.write_text(text)
    conf.chmod(0o600)
    out = subprocess.run(["netplan", "generate", "--root-dir", str(root)], capture_output=True, text=True, timeout=60)
    return out, root / "run/systemd/network"


def test_corpus_relay_reads_into_values():
    (tunnel,) = load_netplan((CORPUS / "60-relay.yaml").read_text(), "60-relay.yaml")
    device = tunnel.device
    assert device.name == "wg-harbor" and device.listen_port == 51820 and device.private_key is None
    assert tunnel.private_key_file == PurePosixPath("/etc/netplan/keys/relay.key")
    assert tunnel.mtu == 1380
    assert tunnel.addresses == (ipaddress.ip_interface("10.99.0.1/16"), ipaddress.ip_interface("fd99:1::1/64"))
    assert tunnel.routes == (NetplanRoute(ipaddress.ip_network("172.20.10.0/24"), ipaddress.ip_address("10.99.0.2")),)
    oslo, ana = device.peers
    assert oslo.public_key.base64 == "7yISxGpNMoRk0R5yYEzNsX6oTM3xf4NfvzW78vtYtH4="
    assert oslo.preshared_key is not None and oslo.persistent_keepalive == 25
    assert [str(n) for n in ana.allowed_ips] == ["10.99.0.4/32", "fd99:1::4/128"] and ana.preshared_key is None


def _tunnel(key_files: bool = False) -> NetplanTunnel:
    a, b = genkey().public_key(), genkey().public_key()
    device = WgDevice("wg-test", None if key_files else genkey(), 51820, 42, (
        WgPeer(a, (ipaddress.ip_network("10.10.0.0/24"), ipaddress.ip_network("fd00:10::/64")),
               None if key_files else genpsk(), Endpoint("198.51.100.7", 51820), 25, "oslo"),
        WgPeer(b, (ipaddress.ip_network("10.10.1.0/24"),), endpoint=Endpoint("2001:db8::1", 51821)),
    ))
    return NetplanTunnel(device, (ipaddress.ip_interface("10.10.0.1/24"),),
                         (NetplanRoute(ipaddress.ip_network("172.20.0.0/16"), ipaddress.ip_address("10.10.0.2"), 100),),
                         1420,
                         PurePosixPath("/etc/netdwg/keys/wg-test.key") if key_files else None,
                         ((a, PurePosixPath("/etc/netdwg/keys/oslo.psk")),) if key_files else ())


@pytest.mark.parametrize("key_files", [False, True])
def test_load_of_format_is_the_model(key_files):
    tunnel = _tunnel(key_files)
    assert load_netplan(format_netplan([tunnel], header="managed by netdwg"), "x.yaml") == (tunnel,)


@needs_netplan
@pytest.mark.parametrize("key_files", [False, True])
def test_real_netplan_generate_accepts_what_we_write(tmp_path, key_files):
    tunnel = _tunnel(key_files)
    out, network_dir = netplan_generate(tmp_path, format_netplan([tunnel]))
    assert out.returncode == 0, out.stderr
    netdev = (network_dir / "10-netplan-wg-test.netdev").read_text()
    network = (network_dir / "10-netplan-wg-test.network").read_text()
    device = tunnel.device
    if key_files:
        assert "PrivateKeyFile=/etc/netdwg/keys/wg-test.key" in netdev
        assert "PresharedKeyFile=/etc/netdwg/keys/oslo.psk" in netdev
    else:
        assert f"PrivateKey={device.private_key.reveal_base64()}" in netdev
        assert f"PresharedKey={device.peers[0].preshared_key.reveal_base64()}" in netdev
    assert "ListenPort=51820" in netdev and "FwMark=42" in netdev
    for peer in device.peers:
        assert f"PublicKey={peer.public_key.base64}" in netdev
        assert f"Endpoint={peer.endpoint}" in netdev
    assert "AllowedIPs=10.10.0.0/24,fd00:10::/64" in netdev and "PersistentKeepalive=25" in netdev
    assert "Address=10.10.0.1/24" in network
    assert "Destination=172.20.0.0/16" in network and "Gateway=10.10.0.2" in network and "Metric=100" in network
    assert "MTUBytes=1420" in netdev or "MTUBytes=1420" in network


@needs_netplan
def test_rendered_file_is_private_so_netplan_does_not_warn(tmp_path):
    rendered = render_netplan([_tunnel()])
    assert rendered.mode == 0o600 and rendered.secret
    out, _ = netplan_generate(tmp_path, rendered.text)
    assert out.returncode == 0 and "too open" not in out.stderr


GOOD_KEY = "cCooyHcL8TLpGa3GB5PiVMEVZS8M9+drMIdY0cq7xFM="
PEER = "7kvBXBelMiBAzO8Pryc5S7sbbPFS4TcXGK+Mt4LFdlo="
ONE_PEER = f"      peers:\n        - keys: {{public: {PEER}}}\n          allowed-ips: [10.0.0.0/8]\n"
CASES = [  # yaml body of tunnel wg9, netplan's message fragment (None = accepted), our code
    (f"      key: {GOOD_KEY}\n" + ONE_PEER, None, None),
    (f"      keys: {{private: {GOOD_KEY}}}\n" + ONE_PEER, None, None),
    (f"      key: {GOOD_KEY}\n", "at least one peer is required", "NPL006"),
    ("      port: 1\n" + ONE_PEER, "missing 'key' property", "NPL004"),
    (f"      key: {GOOD_KEY}\n      mark: 0x51\n" + ONE_PEER, "invalid unsigned int value '0x51'", "NPL001"),
    (f"      key: {GOOD_KEY}\n      peers:\n        - keys: {{public: abc}}\n          allowed-ips: [10.0.0.0/8]\n",
     "invalid wireguard public key", "NPL001"),
    (f"      key: {GOOD_KEY}\n      peers:\n        - keys: {{public: {PEER}}}\n", "'to' is required", "NPL007"),
    (f"      key: {GOOD_KEY}\n" + ONE_PEER + "          bogus: 1\n",
     "unknown key 'bogus'", "NPL003"),
    (f"      key: {GOOD_KEY}\n      peers:\n        - keys: {{public: {PEER}}}\n          allowed-ips: [10.0.0.0/8]\n"
     f"          keepalive: 25\n          endpoint: \"[2001:db8::1]:51821\"\n", None, None),
]


@needs_netplan
@pytest.mark.parametrize("body,netplan_says,code", CASES)
def test_errors_agree_with_real_netplan(tmp_path, body, netplan_says, code):
    text = f"network:\n  version: 2\n  tunnels:\n    wg9:\n      mode: wireguard\n{body}"
    out, _ = netplan_generate(tmp_path, text)
    found = check_netplan(text, "60-netdwg.yaml")
    errors = [d for d in found if d.severity is Severity.ERROR]
    if netplan_says is None:
        assert out.returncode == 0, out.stderr
        assert errors == []
    else:
        assert out.returncode != 0 and netplan_says in out.stderr
        assert code in [d.code for d in errors]
        # netplan reports file:line:col; for syntax-level errors ours agree. (For
        # a bad key netplan points at the tunnel, we point at the key itself.)
        if code in ("NPL001", "NPL003", "NPL004", "NPL006", "NPL007") and "public key" not in netplan_says:
            where = next(line for line in out.stderr.splitlines() if line.startswith(str(tmp_path)))
            _, line, col, _ = where.split(":", 3)
            assert (int(line), int(col)) in [(d.span.line, d.span.col) for d in errors]


def test_other_tunnel_modes_are_ignored():
    text = "network:\n  tunnels:\n    gre1:\n      mode: gre\n      remote: 192.0.2.1\n"
    assert load_netplan(text) == () and check_netplan(text) == []


def test_bad_yaml_names_line_and_column():
    (diag,) = check_netplan("network:\n  tunnels: [\n", "bad.yaml")
    assert diag.span.path == "bad.yaml" and diag.span.line == 3 and diag.severity is Severity.ERROR


def test_load_raises_with_every_error():
    text = "network:\n  tunnels:\n    wg0:\n      mode: wireguard\n      port: x\n      mark: -1\n"
    with pytest.raises(ConfigError) as err:
        load_netplan(text, "a.yaml")
    # missing key and no peers are both reported at the tunnel (line 4), as netplan does
    assert sorted(d.span.line for d in err.value.diagnostics) == [4, 4, 5, 6]


def test_world_readable_yaml_warns_like_netplan():
    found = check_netplan(f"network:\n  tunnels:\n    wg0:\n      mode: wireguard\n      key: {GOOD_KEY}\n" + ONE_PEER,
                          "a.yaml", mode=0o644)
    assert [d.code for d in found] == ["NPL010"]


def test_private_key_never_in_diagnostics():
    bad = GOOD_KEY[:40]
    found = check_netplan(f"network:\n  tunnels:\n    wg0:\n      mode: wireguard\n      key: {bad}\n", "a.yaml")
    assert found and all(bad not in d.format() for d in found)


@needs_netplan
def test_inline_key_starting_with_slash_stays_a_key_as_netplan_reads_it(tmp_path):
    # One key in 64 starts with "/"; netplan 0.106 still reads a valid base64 key inline.
    from netdwg.keys import PresharedKey, PrivateKey

    slash_key, slash_psk = PrivateKey(b"\xfc" + bytes(31)), PresharedKey(b"\xfd" + bytes(31))
    assert slash_psk.reveal_base64().startswith("/")
    tunnel = NetplanTunnel(WgDevice("wg-s", slash_key, peers=(
        WgPeer(genkey().public_key(), (ipaddress.ip_network("10.0.0.0/8"),), slash_psk),)))
    text = format_netplan([tunnel])
    assert load_netplan(text) == (tunnel,)
    out, network_dir = netplan_generate(tmp_path, text)
    netdev = (network_dir / "10-netplan-wg-s.netdev").read_text()
    assert f"PresharedKey={slash_psk.reveal_base64()}" in netdev and "PresharedKeyFile" not in netdev


@needs_netplan
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o602, 0o601, 0o600])
def test_too_open_warning_agrees_with_real_netplan(tmp_path, mode):
    (tmp_path / "etc/netplan").mkdir(parents=True)
    conf = tmp_path / "etc/netplan/60.yaml"
    conf.write_text("network:\n  version: 2\n")
    conf.chmod(mode)
    real = subprocess.run(["netplan", "get", "--root-dir", str(tmp_path), "all"], capture_output=True, text=True,
                          timeout=60)
    ours = check_netplan(conf.read_text(), str(conf), mode=mode)
    assert ("too open" in real.stderr) == any(d.code == "NPL010" for d in ours)
