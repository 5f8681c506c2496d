"""Hypothesis: on random hub-and-spoke topologies the compiler keeps the promises of
netdwg/topology/compile.py, and every renderer's output reads back with its format's parser."""

from __future__ import annotations

import ipaddress

from hypothesis import HealthCheck, given, settings, strategies as st

from netdwg.netplan import load_netplan
from netdwg.render import render_host, render_interfaces
from netdwg.topology import parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.secrets import Secrets, complete_secrets
from netdwg.unitfile import effective_unit, parse_unit
from netdwg.unitfile.views import to_wg_device
from netdwg.wgquick import load_wgquick

BACKENDS = ("networkd", "wg-quick", "netplan")


@st.composite
def topologies(draw):
    n_sites = draw(st.integers(0, 4))
    n_roaming = draw(st.integers(0 if n_sites else 1, 4))  # a hub without spokes has nothing to render
    sites = [f"site{i}" for i in range(n_sites)]
    lines = ["[network]", "name = prop", "interface = wg0", "pool = 10.40.0.0/16", "[hosts]",
             "  [[hub]]", "  role = hub", "  endpoint = 198.51.100.40:51820", "  address = 10.40.0.1",
             f"  backend = {draw(st.sampled_from(BACKENDS))}"]
    for i, name in enumerate(sites):
        lines += [f"  [[{name}]]", "  role = site", f"  address = 10.40.1.{i + 1}",
                  f"  lan = 172.16.{i}.0/24", f"  lan_address = 172.16.{i}.1", "  lan_interface = eth1",
                  f"  return_path = {draw(st.sampled_from(['static-route', 'masquerade']))}",
                  f"  backend = {draw(st.sampled_from(BACKENDS))}"]
        if draw(st.booleans()) and n_sites > 1:
            lines.append(f"  reach = {', '.join(draw(st.lists(st.sampled_from(sites), min_size=1, unique=True)))},")
    roaming = [f"user{i}" for i in range(n_roaming)]
    for i, name in enumerate(roaming):
        lines += [f"  [[{name}]]", "  role = roaming", f"  address = 10.40.2.{i + 1}",
                  f"  backend = {draw(st.sampled_from(BACKENDS))}"]
        if sites and draw(st.booleans()):
            lines.append(f"  reach = {', '.join(draw(st.lists(st.sampled_from(sites), min_size=1, unique=True)))},")
    for name in sites:  # allow lists, after every host exists
        if roaming and draw(st.booleans()):
            picked = draw(st.lists(st.sampled_from(roaming), min_size=1, unique=True))
            index = lines.index(f"  [[{name}]]")
            lines.insert(index + 1, f"  allow = {', '.join(picked)},")
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topologies())
def test_compiler_promises_hold(text):
    topology = parse_topology(text, "prop.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    hosts = compile_topology(topology, secrets)
    hub = hosts["hub"]
    hub_peers = {p.name: p for p in hub.interfaces[0].device.peers}
    assert set(hub_peers) == {h.name for h in topology.spokes()}
    hub_address = topology.host("hub").addresses[0]
    for spoke in topology.spokes():
        config = hosts[spoke.name]
        (to_hub,) = config.interfaces[0].device.peers
        # one PSK per pair, the same on both ends; keys match
        assert to_hub.preshared_key == hub_peers[spoke.name].preshared_key is not None
        assert to_hub.public_key == secrets.private_keys["hub"].public_key()
        assert ipaddress.ip_network(spoke.addresses[0]) in hub_peers[spoke.name].allowed_ips
        for net in to_hub.allowed_ips:  # never its own LAN
            assert not any(net.overlaps(lan) for lan in spoke.lan_prefixes)
        # everything it routes into the tunnel is routed: connected pool or explicit route
        routed = {r.destination for r in config.interfaces[0].routes}
        for net in to_hub.allowed_ips:
            assert net in routed or net.subnet_of(config.interfaces[0].addresses[0].network)
        if config.firewall is not None:
            for rule in config.firewall.allow:
                assert not any(hub_address in s for s in rule.sources), "the hub may not open connections"
            nft = next(f.text for f in render_host(config) if f.path.suffix == ".nft")
            for lan in spoke.lan_prefixes:
                assert f"ip daddr {lan} drop" in nft
    for config in hosts.values():
        for fmt in BACKENDS:
            for f in render_interfaces(config, fmt):
                if fmt == "networkd" and f.path.suffix == ".netdev":
                    device = to_wg_device(effective_unit(parse_unit(f.text, str(f.path))))
                    assert len(device.peers) == len(config.interfaces[0].device.peers)
                elif fmt == "wg-quick":
                    load_wgquick(f.text, str(f.path), f.path.stem)
                elif fmt == "netplan":
                    (tunnel,) = load_netplan(f.text, str(f.path))
                    assert tunnel.device.peers == tuple(
                        p for p in tunnel.device.peers)  # parsed without error
