"""The O(n log n) overlap sweep finds exactly what comparing every pair finds."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings, strategies as st

from netdwg.lint.overlap import Tagged, find_overlaps, find_overlaps_quadratic


@st.composite
def prefixes(draw):
    version = draw(st.sampled_from([4, 6]))
    if version == 4:
        # a small space so overlaps are common
        length = draw(st.integers(min_value=20, max_value=32))
        addr = ipaddress.IPv4Address((10 << 24) | (draw(st.integers(0, 2**12 - 1)) << 4))
        return ipaddress.ip_network(f"{addr}/{length}", strict=False)
    length = draw(st.integers(min_value=116, max_value=128))
    addr = ipaddress.IPv6Address((0xfd << 120) | draw(st.integers(0, 2**14 - 1)))
    return ipaddress.ip_network(f"{addr}/{length}", strict=False)


items = st.lists(st.tuples(prefixes(), st.integers(0, 4)), max_size=40).map(
    lambda xs: [Tagged(p, owner, i) for i, (p, owner) in enumerate(xs)])


def _inner(a: Tagged, b: Tagged) -> Tagged:
    """Of two overlapping prefixes, the one the sweep reports: the more specific, or the later of equals."""
    if a.prefix.prefixlen != b.prefix.prefixlen:
        return a if a.prefix.prefixlen > b.prefix.prefixlen else b
    return max(a, b, key=lambda t: t.tag)


@settings(max_examples=200, deadline=None)
@given(items)
def test_sweep_reports_every_overlapped_prefix_once(tagged):
    found = list(find_overlaps(tagged))
    inners = [hit.inner.tag for hit in found]
    assert len(inners) == len(set(inners))  # each prefix at most once
    expected = {_inner(a, b).tag for a, b in find_overlaps_quadratic(tagged)}
    assert set(inners) == expected
    for hit in found:  # and every reported pair is a real overlap between different owners
        assert hit.outer.owner != hit.inner.owner
        assert hit.outer.prefix.supernet_of(hit.inner.prefix)
