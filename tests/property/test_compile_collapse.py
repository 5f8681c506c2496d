"""The compiler's integer-range collapse gives exactly what ipaddress.collapse_addresses gives."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings, strategies as st

from netdwg.topology.compile import _collapse


def _reference(nets):
    nets = list(nets)
    return (tuple(ipaddress.collapse_addresses([n for n in nets if n.version == 4]))
            + tuple(ipaddress.collapse_addresses([n for n in nets if n.version == 6])))


v4_nets = st.builds(lambda a, p: ipaddress.IPv4Network((a, p), strict=False),
                    st.integers(0, 2**32 - 1) | st.integers(0x0A000000, 0x0A0000FF), st.integers(0, 32) | st.integers(24, 32))
v6_nets = st.builds(lambda a, p: ipaddress.IPv6Network((a, p), strict=False),
                    st.integers(0, 2**128 - 1) | st.integers(0, 300), st.integers(0, 128) | st.integers(120, 128))


@settings(max_examples=400, deadline=None)
@given(st.lists(v4_nets | v6_nets, max_size=40))
def test_collapse_matches_ipaddress(nets):
    assert _collapse(nets) == _reference(nets)


def test_collapse_of_a_big_hubs_clients():
    """10,000 consecutive /32s after the hub's own address: a handful of blocks, as ipaddress says."""
    pool = ipaddress.ip_network("10.128.0.0/10")
    nets = [ipaddress.IPv4Network((int(pool.network_address) + i, 32)) for i in range(2, 10_052)]
    nets += [ipaddress.ip_network("fd00::5/128"), ipaddress.ip_network("fd00::4/128"), ipaddress.ip_network("10.128.0.7/32")]
    assert _collapse(nets) == _reference(nets)
    assert _collapse([]) == ()
