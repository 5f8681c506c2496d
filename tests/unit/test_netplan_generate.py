"""The netplan reader agrees with real `netplan generate`: what load_netplan sees
in a YAML file is what the .netdev/.network netplan writes from it say (read
back with netdwg.unitfile)."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path, PurePosixPath

import pytest

from netdwg.keys import genkey, genpsk
from netdwg.netplan import NetplanRoute, NetplanTunnel, format_netplan, load_netplan
from netdwg.wireguard import Endpoint, WgDevice, WgPeer

CORPUS = Path(__file__).resolve().parents[1] / "data" / "netplan"
pytestmark = pytest.mark.skipif(not shutil.which("netplan"), reason="netplan.io is not installed")


def generated_views(tmp_path: Path, text: str, name: str):
    """Run netplan generate; return (device, network view, routes, key files read) from its output."""
    from netdwg.unitfile import effective_unit, parse_unit
    from netdwg.unitfile.views import network_view, route_views, to_wg_device

    root = tmp_path / "root"
    (root / "etc/netplan").mkdir(parents=True)
    conf = root / "etc/netplan/60.yaml"
    conf.write_text(text)
    conf.chmod(0o600)
    out = subprocess.run(["netplan", "generate", "--root-dir", str(root)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    network_dir = root / "run/systemd/network"
    read: dict[PurePosixPath, str] = {}
    stand_in = {}

    def read_secret(path, span):  # key files do not exist here: hand out a stand-in and remember the path
        stand_in.setdefault(PurePosixPath(path), (genkey() if "key" in str(path) else genpsk()).reveal_base64())
        read[PurePosixPath(path)] = stand_in[PurePosixPath(path)]
        return stand_in[PurePosixPath(path)]

    netdev = effective_unit(parse_unit((network_dir / f"10-netplan-{name}.netdev").read_text(), "x.netdev"))
    network = effective_unit(parse_unit((network_dir / f"10-netplan-{name}.network").read_text(), "x.network"))
    return to_wg_device(netdev, read_secret), network_view(network), route_views(network), read


def _same_peers(ours: WgDevice, theirs: WgDevice, psk_files: dict, read: dict) -> None:
    assert [p.public_key for p in ours.peers] == [p.public_key for p in theirs.peers]
    for mine, generated in zip(ours.peers, theirs.peers):
        assert set(mine.allowed_ips) == set(generated.allowed_ips)
        assert mine.endpoint == generated.endpoint
        assert mine.persistent_keepalive == generated.persistent_keepalive
        if mine.public_key in psk_files:
            assert psk_files[mine.public_key] in read and generated.preshared_key is not None
        else:
            assert mine.preshared_key == generated.preshared_key


def test_corpus_relay_reads_as_netplan_generates_it(tmp_path):
    text = (CORPUS / "60-relay.yaml").read_text()
    (tunnel,) = load_netplan(text, "60-relay.yaml")
    device, network, routes, read = generated_views(tmp_path, text, "wg-harbor")
    assert tunnel.private_key_file in read  # netplan wrote PrivateKeyFile= for the /path value
    assert device.listen_port == tunnel.device.listen_port and device.fwmark == tunnel.device.fwmark
    _same_peers(tunnel.device, device, dict(tunnel.psk_files), read)
    assert set(network.addresses) == set(tunnel.addresses)
    assert [(r.destination, r.gateway) for r in routes] == [(r.to, r.via) for r in tunnel.routes]


def test_written_model_reads_as_netplan_generates_it(tmp_path):
    a, b, c = (genkey().public_key() for _ in range(3))
    tunnel = NetplanTunnel(
        WgDevice("wg-gen", genkey(), 51821, 7, (
            WgPeer(a, (ipaddress.ip_network("10.1.0.0/24"), ipaddress.ip_network("fd01::/64")), genpsk(),
                   Endpoint("198.51.100.9", 51820), 15),
            WgPeer(b, (ipaddress.ip_network("10.2.0.0/24"),), endpoint=Endpoint("2001:db8::9", 1)),
            WgPeer(c, (ipaddress.ip_network("0.0.0.0/0"),), endpoint=Endpoint("relay.example.net", 51820)),
        )),
        (ipaddress.ip_interface("10.1.0.1/24"), ipaddress.ip_interface("fd01::1/64")),
        (NetplanRoute(ipaddress.ip_network("172.16.0.0/12"), ipaddress.ip_address("10.1.0.2"), 50),),
        1400, None, ((b, PurePosixPath("/etc/netdwg/keys/b.psk")),))
    tunnel = replace(tunnel, device=replace(tunnel.device, peers=tuple(
        replace(p, preshared_key=None) if p.public_key == b else p for p in tunnel.device.peers)))
    text = format_netplan([tunnel])
    assert load_netplan(text) == (tunnel,)
    device, network, routes, read = generated_views(tmp_path, text, "wg-gen")
    assert device.private_key == tunnel.device.private_key
    assert (device.listen_port, device.fwmark) == (51821, 7)
    _same_peers(tunnel.device, device, dict(tunnel.psk_files), read)
    assert set(network.addresses) == set(tunnel.addresses)
    assert [(r.destination, r.gateway, r.metric) for r in routes] == [(ipaddress.ip_network("172.16.0.0/12"),
                                                                        ipaddress.ip_address("10.1.0.2"), 50)]
