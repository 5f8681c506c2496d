"""`netdwg import` infers a site's LAN facts from hand-written files: lan_address and lan_interface
from the gateway's LAN link, return_path from a MASQUERADE (wg-quick PostUp, networkd IPMasquerade=)
or from the gateway serving DHCP on the LAN; the sample corpus (tests/data) imports into a topology lint accepts."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from netdwg.errors import Severity
from netdwg.keys import genkey, genpsk, pubkey
from netdwg.lint import run_lint
from netdwg.topology import parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.importer import compare_hosts, import_hosts
from netdwg.topology.importer_files import read_hosts
from netdwg.topology.model import ReturnPath

CORPUS = Path(__file__).resolve().parents[1] / "data"  # tests/data/README.md
LAN = ipaddress.ip_network("192.168.7.0/24")


def _hub(tmp_path, office_key, psk, lan=LAN) -> str:
    """A hand-written wg-quick hub routing `lan` to the office, and one laptop."""
    hub, laptop = genkey(), genkey()
    path = tmp_path / "gw.conf"
    path.write_text(f"""\
[Interface]
Address = 10.8.0.1/24
ListenPort = 51820
PrivateKey = {hub.reveal_base64()}

[Peer]
PublicKey = {pubkey(office_key)}
PresharedKey = {psk.reveal_base64()}
AllowedIPs = 10.8.0.3/32, {lan}

[Peer]
PublicKey = {pubkey(laptop)}
AllowedIPs = 10.8.0.2/32
""")
    (tmp_path / "laptop.conf").write_text(f"""\
[Interface]
PrivateKey = {laptop.reveal_base64()}
Address = 10.8.0.2/24

[Peer]
PublicKey = {pubkey(hub)}
Endpoint = 203.0.113.8:51820
AllowedIPs = 10.8.0.0/24, {lan}
PersistentKeepalive = 25
""")
    return pubkey(hub)


def _office_networkd(tmp_path, office_key, psk, hub_key, lan_network: str, wg_network_extra: str = "") -> Path:
    net = tmp_path / "office" / "etc" / "systemd" / "network"
    net.mkdir(parents=True)
    (net / "90-wg0.netdev").write_text(f"""\
[NetDev]
Name=wg0
Kind=wireguard

[WireGuard]
PrivateKey={office_key.reveal_base64()}

[WireGuardPeer]
PublicKey={hub_key}
PresharedKey={psk.reveal_base64()}
AllowedIPs=10.8.0.0/24
Endpoint=203.0.113.8:51820
PersistentKeepalive=25
""")
    (net / "90-wg0.network").write_text(f"[Match]\nName=wg0\n\n[Network]\nAddress=10.8.0.3/24\n{wg_network_extra}")
    if lan_network:
        (net / "10-lan.network").write_text(lan_network)
    return tmp_path / "office"


def _import(tmp_path, office: Path):
    hosts = read_hosts([str(tmp_path / "gw.conf"), str(tmp_path / "laptop.conf"), str(office)])
    imported = import_hosts(hosts, "hand")
    topology = parse_topology(imported.text, "hand.conf")
    # whatever was inferred, every host keeps its WireGuard facts
    assert compare_hosts(hosts, compile_topology(topology, imported.secrets)) == ()
    return imported, topology


def _warnings(topology):
    return [d for d in run_lint(topology) if d.severity is not Severity.INFO]


def test_lan_link_address_gives_lan_address_and_interface(tmp_path):
    office, psk = genkey(), genpsk()
    hub = _hub(tmp_path, office, psk)
    tree = _office_networkd(tmp_path, office, psk, hub,
                            "[Match]\nName=eth1\n\n[Network]\nAddress=192.168.7.2/24\nAddress=10.200.0.9/30\n")
    imported, topology = _import(tmp_path, tree)
    [lan] = topology.host("office").lans
    assert lan.prefix == LAN
    assert lan.gateway_address.ip == ipaddress.ip_address("192.168.7.2")
    assert lan.interface == "eth1"
    # no MASQUERADE and not the LAN's router: the LAN router needs the static route netdwg prints
    assert lan.return_path is ReturnPath.STATIC_ROUTE
    assert any("static-route assumed" in n for n in imported.notes)
    assert _warnings(topology) == []


def test_gateway_serving_dhcp_on_the_lan_is_its_router(tmp_path):
    office, psk = genkey(), genpsk()
    hub = _hub(tmp_path, office, psk)
    tree = _office_networkd(tmp_path, office, psk, hub,
                            "[Match]\nName=lan0\n\n[Network]\nAddress=192.168.7.1/24\nDHCPServer=yes\n")
    _, topology = _import(tmp_path, tree)
    [lan] = topology.host("office").lans
    assert lan.return_path is ReturnPath.NONE
    assert lan.router == ipaddress.ip_address("192.168.7.1") == lan.gateway_address.ip
    assert _warnings(topology) == []


def test_ip_masquerade_on_the_tunnel_network_is_the_return_path(tmp_path):
    office, psk = genkey(), genpsk()
    hub = _hub(tmp_path, office, psk)
    tree = _office_networkd(tmp_path, office, psk, hub,
                            "[Match]\nName=eth1\n\n[Network]\nAddress=192.168.7.2/24\n", "IPMasquerade=ipv4\n")
    _, topology = _import(tmp_path, tree)
    [lan] = topology.host("office").lans
    assert lan.return_path is ReturnPath.MASQUERADE and lan.interface == "eth1"
    assert _warnings(topology) == []


def _office_wgquick(tmp_path, office_key, psk, hub_key, post_up: str) -> Path:
    path = tmp_path / "office.conf"
    path.write_text(f"""\
[Interface]
PrivateKey = {office_key.reveal_base64()}
Address = 10.8.0.3/24
{post_up}

[Peer]
PublicKey = {hub_key}
PresharedKey = {psk.reveal_base64()}
Endpoint = 203.0.113.8:51820
AllowedIPs = 10.8.0.0/24
PersistentKeepalive = 25
""")
    return path


def test_wgquick_postup_masquerade_and_lan_address(tmp_path):
    office, psk = genkey(), genpsk()
    hub = _hub(tmp_path, office, psk)
    path = _office_wgquick(tmp_path, office, psk, hub, "PostUp = ip addr add 192.168.7.5/24 dev br-lan; "
                           "iptables -t nat -A POSTROUTING -s 10.8.0.0/24 -o br-lan -j MASQUERADE\n"
                           "PostDown = iptables -t nat -D POSTROUTING -s 10.8.0.0/24 -o br-lan -j MASQUERADE")
    _, topology = _import(tmp_path, path)
    [lan] = topology.host("office").lans
    assert lan.return_path is ReturnPath.MASQUERADE
    assert lan.interface == "br-lan" and lan.gateway_address.ip == ipaddress.ip_address("192.168.7.5")
    assert _warnings(topology) == []


@pytest.mark.parametrize("post_up", [
    # the LAN's own way to the internet, not VPN sources into the LAN
    "PostUp = iptables -t nat -A POSTROUTING -s 192.168.7.0/24 -o eth0 -j MASQUERADE",
    # leaves by a link known to be outside the LAN
    "PostUp = ip addr add 192.168.7.5/24 dev eth1; ip addr add 198.51.100.20/24 dev wan0; "
    "iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE",
    # only the teardown
    "PostDown = iptables -t nat -D POSTROUTING -o eth1 -j MASQUERADE",
])
def test_masquerade_for_something_else_is_not_the_return_path(tmp_path, post_up):
    office, psk = genkey(), genpsk()
    hub = _hub(tmp_path, office, psk)
    _, topology = _import(tmp_path, _office_wgquick(tmp_path, office, psk, hub, post_up))
    [lan] = topology.host("office").lans
    assert lan.return_path is not ReturnPath.MASQUERADE


def test_netplan_gateway_lan_address_from_its_ethernets(tmp_path):
    office, psk = genkey(), genpsk()
    hub = _hub(tmp_path, office, psk)
    path = tmp_path / "office.yaml"
    path.write_text(f"""\
network:
  version: 2
  ethernets:
    enp2s0:
      addresses: [192.168.7.254/24]
  tunnels:
    wg0:
      mode: wireguard
      key: {office.reveal_base64()}
      addresses: [10.8.0.3/24]
      peers:
        - keys:
            public: {hub}
            shared: {psk.reveal_base64()}
          allowed-ips: [10.8.0.0/24]
          endpoint: 203.0.113.8:51820
          keepalive: 25
""")
    _, topology = _import(tmp_path, path)
    [lan] = topology.host("office").lans
    assert lan.gateway_address.ip == ipaddress.ip_address("192.168.7.254") and lan.interface == "enp2s0"


def test_unreadable_psk_file_is_unknown_not_a_mismatch(tmp_path):
    """The office's PSK lives in a file that was not copied: the hub's file gives it."""
    office, psk = genkey(), genpsk()
    hub = _hub(tmp_path, office, psk)
    tree = _office_networkd(tmp_path, office, psk, hub, "")
    netdev = tree / "etc" / "systemd" / "network" / "90-wg0.netdev"
    netdev.write_text(netdev.read_text().replace(f"PresharedKey={psk.reveal_base64()}",
                                                 "PresharedKeyFile=/etc/wireguard/missing.psk"))
    imported, _ = _import(tmp_path, tree)
    assert imported.secrets.psk("gw", "office") == psk


@pytest.mark.parametrize("office", [
    ["oslo-gw=wg-quick/oslo-gw.conf"],
    ["oslo-gw=networkd/40-oslo-gw.netdev", "oslo-gw=networkd/40-oslo-gw.network"],  # key and PSK files absent
])
def test_sample_corpus_imports_into_a_topology_lint_accepts(office):
    """The corpus's hub with its Oslo gateway (wg-quick with a PostUp MASQUERADE, or networkd whose key
    files were not copied). Bergen's LAN, routed by the hub to a host whose files are not in the corpus,
    stays Bergen's (not the hub's)."""
    specs = [f"relay={CORPUS / 'networkd' / '30-relay-wg.netdev'}", f"relay={CORPUS / 'networkd' / '30-relay-wg.network'}"]
    specs += [f"{s.split('=')[0]}={CORPUS / s.split('=')[1]}" for s in office]
    imported = import_hosts(read_hosts(specs), "harbor")
    topology = parse_topology(imported.text, "harbor.conf")
    assert topology.hub.name == "relay" and topology.hub.lans == ()
    assert any("172.20.20.0/24 through relay to a peer whose files were not given" in n for n in imported.notes)
    [lan] = topology.host("oslo-gw").lans
    assert lan.prefix == ipaddress.ip_network("172.20.10.0/24")
    problems = _warnings(topology)
    assert all(d.severity is not Severity.ERROR for d in problems)
    if office[0].startswith("oslo-gw=wg-quick"):
        assert lan.return_path is ReturnPath.MASQUERADE and lan.interface == "eth0"
        assert problems == []
    else:  # nothing in the networkd files says how replies get back into Oslo's LAN: said once
        assert [d.code for d in problems] == ["NDW019"]
