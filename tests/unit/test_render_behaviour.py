"""One behavioural suite across renderers (networkd, wg-quick, netplan): read each
renderer's output back with the format's own parser and check what a user relies on:
the same peers, keys, PSKs, AllowedIPs, endpoints and addresses as the compiled host,
every peer's AllowedIPs routed into the interface, secrets never world-readable."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from netdwg.netplan import load_netplan
from netdwg.render import render_interfaces
from netdwg.topology.compile import compile_topology
from netdwg.unitfile import effective_unit, parse_unit
from netdwg.unitfile.views import network_view, route_views, to_wg_device
from netdwg.wgquick import load_wgquick
from golden_support import SCENARIOS, load_scenario

FORMATS = ("networkd", "wg-quick", "netplan")


def _cases():
    for scenario in SCENARIOS:
        topology, secrets = load_scenario(scenario)
        for name in (h.name for h in topology.hosts):
            yield scenario, name


CASES = list(_cases())
_COMPILED: dict[str, dict] = {}


def compiled(scenario):
    if scenario not in _COMPILED:
        _COMPILED[scenario] = dict(compile_topology(*load_scenario(scenario)))
    return _COMPILED[scenario]


def read_back(fmt, files, iface_name, key_files):
    """(device, addresses, explicit routes, routes follow AllowedIPs?) as the format's consumer reads it."""
    by_path = {f.path: f for f in files}

    def read_secret(path: PurePosixPath, span):
        if path not in by_path:  # the host's own key file, which netdwg never sees
            from netdwg.keys import genkey

            return genkey().reveal_base64()
        return by_path[path].text

    if fmt == "networkd":
        netdev = by_path[PurePosixPath(f"/etc/systemd/network/50-{iface_name}.netdev")]
        network = by_path[PurePosixPath(f"/etc/systemd/network/50-{iface_name}.network")]
        device = to_wg_device(effective_unit(parse_unit(netdev.text, str(netdev.path))), read_secret)
        eff = effective_unit(parse_unit(network.text, str(network.path)))
        routes = {r.destination for r in route_views(eff)}
        return device, set(network_view(eff).addresses), routes, False
    if fmt == "wg-quick":
        conf = by_path[PurePosixPath(f"/etc/wireguard/{iface_name}.conf")]
        config = load_wgquick(conf.text, str(conf.path), iface_name)
        routes = set()
        for command in config.settings.post_up:
            words = command.split()
            if words[:4] in (["ip", "-4", "route", "add"], ["ip", "-6", "route", "add"]):
                import ipaddress

                routes.add(ipaddress.ip_network(words[4]))
        return config.device, set(config.settings.addresses), routes, config.settings.table != "off"
    yaml_file = by_path[PurePosixPath(f"/etc/netplan/60-netdwg-{iface_name}.yaml")]
    (tunnel,) = load_netplan(yaml_file.text, str(yaml_file.path))
    device = tunnel.device
    if tunnel.private_key_file is not None and tunnel.private_key_file in by_path:
        from netdwg.keys import PrivateKey

        device = type(device)(name=device.name, private_key=PrivateKey.from_base64(
            by_path[tunnel.private_key_file].text), listen_port=device.listen_port, peers=device.peers)
    if tunnel.psk_files:
        from dataclasses import replace

        from netdwg.keys import PresharedKey

        files = dict(tunnel.psk_files)
        device = replace(device, peers=tuple(
            replace(p, preshared_key=PresharedKey.from_base64(by_path[files[p.public_key]].text))
            if p.public_key in files else p for p in device.peers))
    return device, set(tunnel.addresses), {r.to for r in tunnel.routes}, False


# wg-quick has no key files: only the inline variant.
VARIANTS = [("networkd", False), ("networkd", True), ("netplan", False), ("netplan", True), ("wg-quick", False)]


@pytest.mark.parametrize("fmt,key_files", VARIANTS, ids=[f"{f}-{'keyfiles' if k else 'inline'}" for f, k in VARIANTS])
@pytest.mark.parametrize("scenario,host", CASES)
def test_renderer_carries_the_compiled_host(scenario, host, fmt, key_files):
    config = compiled(scenario)[host]
    files = render_interfaces(config, fmt, key_files=key_files)
    for iface in config.interfaces:
        device, addresses, routes, auto_routes = read_back(fmt, files, iface.name, key_files)
        want = iface.device
        # Same keys and peers, as wg syncconf compares them.
        if want.private_key is not None:
            assert device.private_key == want.private_key
        assert device.listen_port == want.listen_port
        assert len(device.peers) == len(want.peers)
        for got, expected in zip(device.peers, want.peers):
            assert got.same_config(expected), f"{fmt}: peer {expected.name} differs"
        assert addresses == set(iface.addresses)
        # Every AllowedIPs prefix of every peer is routed into this interface.
        connected = [a.network for a in addresses]
        for peer in device.peers:
            for net in peer.allowed_ips:
                routed = (auto_routes or net in routes
                          or any(net.version == c.version and net.subnet_of(c) for c in connected))
                assert routed, f"{fmt}: {host} AllowedIPs {net} of {peer.name} is not routed"
        # Never a route for one of the host's own LANs into the tunnel.
        for lan in iface.own_lans:
            assert lan not in routes


@pytest.mark.parametrize("key_files", [False, True], ids=["inline", "keyfiles"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_secrets_are_never_world_readable(scenario, fmt, key_files):
    for config in compiled(scenario).values():
        for f in render_interfaces(config, fmt, key_files=key_files):
            holds = any(k.reveal_base64() in f.text for i in config.interfaces
                        for k in ([i.device.private_key] if i.device.private_key else []) + list(config.preshared_keys))
            if holds:
                assert f.secret and f.mode & 0o007 == 0, f"{f.path} holds a key with mode {f.mode:04o}"
                if fmt != "wg-quick" and f.path.suffix in (".netdev", ".key", ".psk"):
                    assert (f.mode, f.group) == (0o640, "systemd-network")
