"""netdwg's unit-file reading checked against a real systemd-networkd 252 in a namespace.

* corpus files and files netdwg wrote (builder and edits): networkd logs no
  parse warning for them, and netdwg's checker finds nothing either;
* files with unknown keys, unknown sections, ignored lines and 0644 keys: the
  set of (file, line, message) networkd logs equals what check_unit_file says;
* drop-ins across /etc and /run with masking and overrides: the addresses,
  routes and MTU networkd configures on a link are what the effective view says.
"""

from __future__ import annotations

import grp
import ipaddress
import json
import re
import time
from pathlib import Path

import pytest

from netdwg.keys import genkey, genpsk
from netdwg.unitfile import (UnitBuilder, add_peer, address_views, check_effective, check_unit, effective_unit,
                             load_effective, locate_unit,
                             network_view, parse_unit, remove_peer, route_views, set_peer_allowed_ips, set_value)
from netdwg.wireguard import Endpoint, WgPeer

pytestmark = pytest.mark.root

CORPUS = Path(__file__).resolve().parents[1] / "data" / "networkd"
NETDIR = "/etc/systemd/network"
_LINE_MSG = re.compile(r"^(/\S+):(\d+): (.*)$")
_PERM_MSG = re.compile(r"^(/\S+) has (\d{4}) mode that is too permissive, please adjust the ownership and access mode\.$")
_FILE_MSG = re.compile(r"^Configuration file (/\S+) is marked (executable|world-writable)\. .*$")
_OPEN_MSG = re.compile(r"^Failed to open configuration file '(/\S+)': Permission denied$")
_DEVICE_MSG = re.compile(r"^\S+: (/\S+): (?:WireGuardPeer section without PublicKey=|Missing PrivateKey=) .*$")
_NETDEV_MSG = re.compile(r'^NetDev (?:without Name=|has no Kind=) configured in "(/\S+)", ignoring\.$')
_IGNORING = ", ignoring assignment"


def _short(message: str) -> str:
    """networkd appends ': <errno text>' to some value messages; compare up to 'ignoring assignment'."""
    return message[:message.index(_IGNORING) + len(_IGNORING)] if _IGNORING in message else message


def _reload_and_log(node) -> str:
    """Reload networkd and return what it logged while re-reading its files."""
    before = len(node.networkd_log())
    node.run(["networkctl", "reload"])
    # networkctl reload returns when networkd has re-read the files; give the log a moment to flush.
    time.sleep(0.5)
    return node.networkd_log()[before:]


def _findings(log: str, paths: set[str]) -> set[tuple[str, int, str]]:
    """networkd's parse findings about ``paths``: (file, line, message); line 0 for the mode warning."""
    out = set()
    for raw in log.splitlines():
        line = raw.strip()
        m = _LINE_MSG.match(line)
        if m and m.group(1) in paths:
            out.add((m.group(1), int(m.group(2)), _short(m.group(3))))
            continue
        for pattern in (_PERM_MSG, _FILE_MSG, _OPEN_MSG, _DEVICE_MSG, _NETDEV_MSG):
            m = pattern.match(line)
            if m and m.group(1) in paths:
                out.add((m.group(1), 0, line))
    return out


def _ours(path: str, text: str, mode: int, uid: int = 0, gid: int | None = None) -> set[tuple[str, int, str]]:
    out = set()
    gid = grp.getgrnam("systemd-network").gr_gid if gid is None else gid
    unit = parse_unit(text, path)
    diags = check_unit(unit, mode=mode, uid=uid, gid=gid)
    if path.endswith(".netdev"):
        diags += check_effective(effective_unit(unit))
    for diag in diags:
        if diag.code in ("UNIT006", "UNIT009") or "WireGuardPeer section without" in diag.message:
            out.add((path, 0, diag.message.split(" (")[0]))  # networkd prints these without a line
        elif diag.code == "UNIT007":
            out.add((path, diag.span.line, _short(diag.message)))
        else:
            # netdwg appends version hints in parentheses; networkd's words come first
            out.add((path, diag.span.line, diag.message.split(" (")[0] if diag.code == "UNIT004" else diag.message))
    return out


def _write(node, path: str, text: str, mode: int = 0o640) -> None:
    node.write_file(path, text, mode=mode, owner="root", group="systemd-network")


def _built_files() -> dict[str, str]:
    """Files written the way renderers write them: the builder, then edits of them."""
    hub_key = genkey()
    netdev = (UnitBuilder(f"{NETDIR}/50-ndwhub.netdev").comment("Managed by netdwg")
              .add_section("NetDev").append("Name", "ndwhub").append("Kind", "wireguard").append("MTUBytes", 1380)
              .add_section("WireGuard").append("PrivateKey", hub_key).append("ListenPort", 51820)
              .append("FirewallMark", 0x51).append("RouteTable", "off"))
    for i in range(3):
        netdev.add_section("WireGuardPeer", comment=f"spoke {i}")
        netdev.append("PublicKey", genkey().public_key()).append("PresharedKey", genpsk())
        netdev.append("AllowedIPs", [ipaddress.ip_network(f"10.99.0.{i + 2}/32"),
                                     ipaddress.ip_network(f"172.20.{i}.0/24")])
        netdev.append("Endpoint", Endpoint("198.51.100.7", 51820 + i)).append("PersistentKeepalive", 25)
    hub = netdev.build()
    # edits of what was built: add, re-address and remove peers, change a key
    first = hub.sections[2].last("PublicKey").value
    edited = add_peer(hub, WgPeer(genkey().public_key(), (ipaddress.ip_network("10.99.0.9/32"),), genpsk(),
                                  Endpoint("2001:db8::9", 51820), 25, name="laptop"))
    edited = set_peer_allowed_ips(edited, first, ["10.99.0.2/32", "fd99:1::2/128"])
    edited = remove_peer(edited, hub.sections[3].last("PublicKey").value)
    edited = set_value(edited, "WireGuard", "ListenPort", 51821)
    network = (UnitBuilder(f"{NETDIR}/50-ndwhub.network")
               .add_section("Match").append("Name", "ndwhub")
               .add_section("Network").append("Address", ipaddress.ip_interface("10.99.0.1/16"))
               .append("Address", ipaddress.ip_interface("fd99:1::1/64")).append("IPForward", "yes")
               .append("ConfigureWithoutCarrier", True)
               .add_section("Route").append("Destination", ipaddress.ip_network("172.20.0.0/24")).append("Metric", 20)
               .add_section("RoutingPolicyRule").append("To", ipaddress.ip_network("172.20.1.0/24"))
               .append("Table", 1000).append("Priority", 500)
               .add_section("DHCPv4").append("RouteMetric", 1024).append("UseDomains", True)).build()
    edited_network = set_value(network, "Route", "Metric", 30)
    return {
        f"{NETDIR}/50-ndwhub.netdev": hub.format(),
        f"{NETDIR}/51-ndwedit.netdev": edited.format().replace("Name=ndwhub", "Name=ndwedit"),
        f"{NETDIR}/50-ndwhub.network": network.format(),
        f"{NETDIR}/51-ndwedit.network": edited_network.format().replace("Name=ndwhub", "Name=ndwedit"),
    }


def test_networkd_finds_nothing_wrong_in_files_netdwg_wrote_or_the_corpus(networkd_node):
    files = _built_files()
    for src in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        files[f"{NETDIR}/{src.relative_to(CORPUS)}"] = src.read_text()
    for path, text in files.items():
        _write(networkd_node, path, text)
        parse_unit(text, path)  # every one parses
    log = _reload_and_log(networkd_node)
    # networkd read and accepted every file netdwg wrote (a netdev it rejects is never "loaded")
    for name in ("ndwhub", "ndwedit"):
        assert f'{name}: loaded "wireguard"' in log
    for path in (f"{NETDIR}/50-ndwhub.network", f"{NETDIR}/51-ndwedit.network"):
        assert f"Found new .network file: {path}" in log
    theirs = _findings(log, set(files))
    ours = set().union(*(_ours(p, t, 0o640) for p, t in files.items()))
    assert theirs == set(), f"networkd warned about files netdwg wrote: {sorted(theirs)}"
    assert ours == set()


BAD_NETDEV = """[NetDev]
Name=ndwbad
Kind=wireguard
MTUByte=1380

[WireGuard]
PrivateKey={priv}
ListenPort=51820
Bogus=1

[WireGuardPeer]
PublicKey={pub}
PublicKeyFile=/etc/systemd/network/peer.pub
PresharedKey={psk}
AllowedIP=10.0.0.1/32
AllowedIPs=10.0.0.2/32 \\
  10.0.0.3/32
Foo=a \\
 b

[WireGuardPeers]
PublicKey={pub}
"""

BAD_NETWORK = """Name=outside
[Match]
Name=ndwbad

[Network]
Address=10.0.0.1/24
Adress=10.0.0.2/24
just words
=novalue
IPv4Forwarding=yes

[Route]
Destinaton=192.0.2.0/24

[Routes]
Gateway=192.0.2.1
"""


def test_unknown_keys_sections_and_modes_match_networkds_own(networkd_node):
    priv, pub, psk = genkey(), genkey().public_key(), genpsk()
    files = {
        (f"{NETDIR}/60-ndwbad.netdev", 0o644): BAD_NETDEV.format(priv=priv.reveal_base64(), pub=pub,
                                                                psk=psk.reveal_base64()),
        (f"{NETDIR}/60-ndwbad.network", 0o640): BAD_NETWORK,
        (f"{NETDIR}/60-ndwbad.netdev.d/10-more.conf", 0o664):
            f"[WireGuardPeer]\nPublicKey={genkey().public_key()}\nPresharedKey={genpsk().reveal_base64()}\n"
            "Endpointt=192.0.2.1:51820\n",
    }
    for (path, mode), text in files.items():
        _write(networkd_node, path, text, mode)
    log = _reload_and_log(networkd_node)
    paths = {p for p, _m in files}
    theirs = _findings(log, paths)
    ours = set().union(*(_ours(p, t, m) for (p, m), t in files.items()))
    assert theirs, "networkd logged nothing: the test did not exercise it"
    assert ours == theirs, log
    # spot checks of what both said
    assert (f"{NETDIR}/60-ndwbad.netdev", 13,
            "Unknown key 'PublicKeyFile' in section [WireGuardPeer], ignoring.") in theirs
    assert (f"{NETDIR}/60-ndwbad.netdev", 19, "Unknown key 'Foo' in section [WireGuardPeer], ignoring.") in theirs
    assert (f"{NETDIR}/60-ndwbad.network", 8, "Missing '=', ignoring line.") in theirs
    assert (f"{NETDIR}/60-ndwbad.network", 1, "Assignment outside of section. Ignoring.") in theirs
    assert any("0644 mode that is too permissive" in f[2] for f in theirs)


def test_file_modes_and_owners_match_networkds_warnings(networkd_node):
    priv = genkey().reveal_base64()
    text = "[NetDev]\nName={name}\nKind=wireguard\n[WireGuard]\nPrivateKey={priv}\n"
    cases = {  # file -> (mode, group)
        f"{NETDIR}/80-ndwm1.netdev": (0o641, "systemd-network"),
        f"{NETDIR}/80-ndwm2.netdev": (0o642, "systemd-network"),
        f"{NETDIR}/80-ndwm3.netdev": (0o646, "systemd-network"),
        f"{NETDIR}/80-ndwm4.netdev": (0o640, "systemd-network"),  # what netdwg writes: silent
        f"{NETDIR}/80-ndwm5.netdev": (0o600, "root"),             # Permission denied for systemd-network
    }
    for path, (mode, group) in cases.items():
        name = Path(path).stem.split("-")[1]
        networkd_node.write_file(path, text.format(name=name, priv=priv), mode=mode, owner="root", group=group)
    log = _reload_and_log(networkd_node)
    theirs = _findings(log, set(cases))
    ours = set()
    for path, (mode, group) in cases.items():
        name = Path(path).stem.split("-")[1]
        ours |= _ours(path, text.format(name=name, priv=priv), mode, 0, grp.getgrnam(group).gr_gid)
    assert {f[0] for f in theirs} == set(cases) - {f"{NETDIR}/80-ndwm4.netdev"}
    assert ours == theirs, log[-3000:]


def test_bad_values_and_ignored_devices_match_networkds_findings(networkd_node):
    key = genkey()
    files = {
        f"{NETDIR}/85-ndwv0.netdev":
            f"[NetDev]\nName=ndwv0\nKind=wireguard\n[WireGuard]\nPrivateKey={key.reveal_base64()}\n\n"
            "[WireGuardPeer]\nAllowedIPs=10.0.0.1/32\n"              # no PublicKey: peer dropped
            "[WireGuardPeer]\nPublicKey=abc\n"                       # bad key: assignment, then peer dropped
            f"[WireGuardPeer]\nPublicKey={key.public_key()}\nAllowedIPs=10.0.0.300/32\nEndpoint=foo\n"
            "PersistentKeepalive=99999\n",
        f"{NETDIR}/85-ndwv1.netdev": "[NetDev]\nName=ndwv1\nKind=wireguard\n[WireGuard]\nListenPort=0\n",
        f"{NETDIR}/85-ndwv2.netdev": "[NetDev]\nKind=wireguard\n[WireGuard]\nPrivateKey=short\n",
        f"{NETDIR}/85-ndwv3.network": "[Match]\nName=ndwv3\n[Route]\nDestination=300.0.0.0/8\n"
                                      "[RoutingPolicyRule]\nTo=10.0.0.0/33\n",
    }
    for path, text in files.items():
        _write(networkd_node, path, text)
    log = _reload_and_log(networkd_node)
    theirs = _findings(log, set(files))
    ours = set().union(*(_ours(p, t, 0o640) for p, t in files.items()))
    assert len(theirs) >= 9, log[-3000:]
    # One deliberate difference: networkd drops a .netdev without Name= after its first pass and never
    # parses its [WireGuard]; netdwg reports every problem at once, so it also names the bad key.
    extra = {(f"{NETDIR}/85-ndwv2.netdev", 4, "Failed to decode wireguard key provided by PrivateKey=, "
              "ignoring assignment")}
    assert ours == theirs | extra, log[-3000:]


def _link_state(node, ifname: str) -> tuple[set, set, int]:
    addrs = json.loads(node.run(["ip", "-j", "addr", "show", "dev", ifname]).stdout)[0]
    got = {ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}") for a in addrs.get("addr_info", [])
           if a.get("scope") == "global"}
    routes = json.loads(node.run(["ip", "-j", "route", "show", "dev", ifname, "proto", "static"]).stdout)
    dests = {ipaddress.ip_network(r["dst"]) for r in routes}
    return got, dests, addrs["mtu"]


def test_effective_view_with_dropins_matches_what_networkd_configures(networkd_node):
    node = networkd_node
    # no dummy module in this kernel: a veth pair inside the node's own namespace
    node.run(["ip", "link", "add", "ndwt0", "type", "veth", "peer", "name", "ndwt1"])
    main = ("[Match]\nName=ndwt0\n\n[Link]\nMTUBytes=1400\n\n[Network]\nAddress=192.0.2.10/24\n"
            "ConfigureWithoutCarrier=yes\n\n[Route]\nDestination=198.51.100.0/24\nGateway=192.0.2.1\n")
    dropins = {
        # /run's 10-a.conf is masked by a /dev/null symlink of the same name in /etc (made below)
        "/run/systemd/network/70-ndwt.network.d/10-a.conf": "[Network]\nAddress=192.0.2.11/24\n",
        "/run/systemd/network/70-ndwt.network.d/20-b.conf":
            "[Network]\nAddress=192.0.2.12/24\n\n[Address]\nAddress=192.0.2.13/24\n\n"
            "[Route]\nDestination=203.0.113.0/24\nGateway=192.0.2.1\n",
        f"{NETDIR}/70-ndwt.network.d/30-c.conf": "[Link]\nMTUBytes=1300\n",
    }
    _write(node, f"{NETDIR}/70-ndwt.network", main)
    for path, text in dropins.items():
        _write(node, path, text)
    masked = node.path(f"{NETDIR}/70-ndwt.network.d/10-a.conf")
    masked.symlink_to("/dev/null")

    root = node.path("/")
    location = locate_unit("70-ndwt.network", root, dirs=(NETDIR, "/run/systemd/network"))
    assert [str(p) for p in location.dropins] == [
        "/run/systemd/network/70-ndwt.network.d/20-b.conf", f"{NETDIR}/70-ndwt.network.d/30-c.conf"]
    eff = load_effective("70-ndwt.network", root, dirs=(NETDIR, "/run/systemd/network"))
    want_addrs = set(network_view(eff).addresses) | {a.address for a in address_views(eff)}
    want_routes = {r.destination for r in route_views(eff)}
    want_mtu = int(eff.get("Link", "MTUBytes").text)
    assert want_addrs == {ipaddress.ip_interface(a) for a in ("192.0.2.10/24", "192.0.2.12/24", "192.0.2.13/24")}
    assert want_mtu == 1300

    node.run(["networkctl", "reload"])
    node.run(["networkctl", "reconfigure", "ndwt0"], check=False)
    deadline = time.monotonic() + 20
    state = None
    while time.monotonic() < deadline:
        state = _link_state(node, "ndwt0")
        if state == (want_addrs, want_routes, want_mtu):
            break
        time.sleep(0.2)
    assert state == (want_addrs, want_routes, want_mtu), node.networkd_log()[-3000:]
    # and the spans point at the files networkd read
    assert eff.get("Link", "MTUBytes").span.path == f"{NETDIR}/70-ndwt.network.d/30-c.conf"
    assert eff.sources == (f"{NETDIR}/70-ndwt.network", "/run/systemd/network/70-ndwt.network.d/20-b.conf",
                           f"{NETDIR}/70-ndwt.network.d/30-c.conf")
