"""Hypothesis: load_netplan(format_netplan(tunnels)) == tunnels."""

from __future__ import annotations

import ipaddress
from pathlib import PurePosixPath

from hypothesis import given, settings
from hypothesis import strategies as st

from netdwg.keys import PresharedKey, PrivateKey
from netdwg.netplan import NetplanRoute, NetplanTunnel, format_netplan, load_netplan
from netdwg.wireguard import Endpoint, WgDevice, WgPeer

keys32 = st.binary(min_size=32, max_size=32)
nets = st.one_of(
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)).map(lambda t: ipaddress.ip_network(t, strict=False)),
    st.tuples(st.integers(0, 2**128 - 1), st.integers(0, 128)).map(
        lambda t: ipaddress.IPv6Network(t, strict=False)),
)
endpoints = st.one_of(
    st.none(),
    st.builds(lambda a, p: Endpoint(str(a), p), st.ip_addresses(), st.integers(1, 65535)),
    st.builds(lambda h, p: Endpoint(f"{h}.example.net", p), st.text("abcxyz", min_size=1, max_size=6),
              st.integers(1, 65535)),
)
names = st.text("abcdefghij-", min_size=1, max_size=8)
peers = st.builds(lambda k, ips, psk, ep, ka, name: WgPeer(PrivateKey(k).public_key(), tuple(ips),
                                                           PresharedKey(psk) if psk else None, ep, ka, name),
                  keys32, st.lists(nets, min_size=1, max_size=3), st.one_of(st.none(), keys32), endpoints,
                  st.integers(0, 65535), st.one_of(st.just(""), names))
routes = st.builds(lambda to, via, metric, table: NetplanRoute(to, via, metric, table),
                   nets, st.one_of(st.none(), st.ip_addresses()), st.one_of(st.none(), st.integers(0, 2**32 - 1)),
                   st.one_of(st.none(), st.integers(1, 2**31)))
tunnels = st.builds(
    lambda name, priv, port, mark, ps, addrs, rs, mtu, keyfile: NetplanTunnel(
        WgDevice(name, None if keyfile else PrivateKey(priv), port, mark,
                 tuple({p.public_key: p for p in ps}.values())),
        tuple(addrs), tuple(rs), mtu, PurePosixPath("/etc/netplan/keys") / f"{name}.key" if keyfile else None),
    st.text("abcdefgh0123456789", min_size=1, max_size=10).map(lambda s: "wg" + s), keys32,
    st.one_of(st.none(), st.integers(0, 65535)), st.integers(0, 2**32 - 1), st.lists(peers, min_size=1, max_size=4),
    st.lists(st.ip_interfaces() if hasattr(st, "ip_interfaces") else st.ip_addresses().map(ipaddress.ip_interface),
             max_size=3),
    st.lists(routes, max_size=3), st.one_of(st.none(), st.integers(68, 65535)), st.booleans())


@given(st.lists(tunnels, min_size=1, max_size=3, unique_by=lambda t: t.device.name))
@settings(max_examples=100, deadline=None)
def test_load_of_format_is_the_model(model):
    assert load_netplan(format_netplan(model)) == tuple(model)
