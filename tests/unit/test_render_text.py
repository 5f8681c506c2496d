"""The renderers format text directly for speed; it must be byte for byte what the
teammates' writers produce for the same entries: `netdwg.unitfile`'s builder for
.netdev/.network, `netdwg.wgquick`'s writer for wg-quick confs. Also: the unit files
parse back losslessly."""

from __future__ import annotations

import pytest

from netdwg.render import networkd
from netdwg.render.wgquick import conf_text, conf_text_reference
from netdwg.topology.compile import compile_topology
from netdwg.unitfile import UnitFile, format_unit, parse_unit
from golden_support import SCENARIOS, load_scenario


def builder_netdev(host, iface, key_files):
    device = iface.device
    unit = UnitFile.new().comment(networkd.HEADER)
    if iface.description:
        unit.comment(iface.description)
    unit.add_section("NetDev").append("Name", device.name).append("Kind", "wireguard")
    unit.add_section("WireGuard")
    if device.private_key is not None and not key_files:
        unit.append("PrivateKey", device.private_key)
    else:
        unit.append("PrivateKeyFile", iface.private_key_file)
    if device.listen_port is not None:
        unit.append("ListenPort", device.listen_port)
    if host.systemd_version >= networkd.ROUTE_TABLE_SINCE:
        unit.append("RouteTable", "off")
    for peer in device.peers:
        unit.add_section("WireGuardPeer", comment=peer.name)
        unit.append("PublicKey", peer.public_key)
        if peer.preshared_key is not None:
            if key_files:
                unit.append("PresharedKeyFile", iface.psk_file(peer))
            else:
                unit.append("PresharedKey", peer.preshared_key)
        for net in peer.allowed_ips:
            unit.append("AllowedIPs", net)
        if peer.endpoint is not None:
            unit.append("Endpoint", peer.endpoint)
        if peer.persistent_keepalive:
            unit.append("PersistentKeepalive", peer.persistent_keepalive)
    return unit.format()


def builder_network(iface):
    unit = UnitFile.new().comment(networkd.HEADER)
    unit.add_section("Match").append("Name", iface.name)
    unit.add_section("Link").append("MTUBytes", iface.mtu)
    unit.add_section("Network")
    unit.append("LinkLocalAddressing", "no")
    unit.append("IPv6AcceptRA", "no")
    for address in iface.addresses:
        unit.append("Address", address)
    for route in iface.routes:
        unit.add_section("Route", comment=route.reason)
        unit.append("Destination", route.destination)
        if route.metric is not None:
            unit.append("Metric", route.metric)
        if route.table is not None:
            unit.append("Table", route.table)
    return unit.format()


CASES = [(s, h.name) for s in SCENARIOS for h in load_scenario(s)[0].hosts]


@pytest.mark.parametrize("key_files", [False, True])
@pytest.mark.parametrize("scenario,host", CASES)
def test_networkd_text_equals_the_unitfile_builder(scenario, host, key_files):
    config = compile_topology(*load_scenario(scenario))[host]
    files = {f.path: f.text for f in networkd.render(config, key_files=key_files)}
    for iface in config.interfaces:
        netdev_path, network_path = networkd.unit_paths(iface)
        assert files[netdev_path] == builder_netdev(config, iface, key_files)
        assert files[network_path] == builder_network(iface)
        for path in (netdev_path, network_path):
            assert format_unit(parse_unit(files[path], str(path))) == files[path]


@pytest.mark.parametrize("scenario,host", CASES)
def test_wg_quick_text_equals_the_wgquick_writer(scenario, host):
    config = compile_topology(*load_scenario(scenario))[host]
    for iface in config.interfaces:
        assert conf_text(iface) == conf_text_reference(iface)
