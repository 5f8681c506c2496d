"""Hypothesis properties of the guard: config round trip, fold order-independence, decide idempotence."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings, strategies as st

from netdwg.guard.observed import (Address, AddressAdded, Neighbour, NeighbourSeen, Observed, Route, RouteAdded,
                                   RouteRemoved, fold)
from netdwg.guard.policy import Apply, Undo, decide
from netdwg.keys import PublicKey
from netdwg.topology.guard_config import (Action, Fingerprint, GuardConfig, GuardSite, Trust, parse_guard_config,
                                          render_guard_config)
from netdwg.wireguard import Endpoint

keys = st.binary(min_size=32, max_size=32).map(PublicKey)
v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
macs = st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b))
domains = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5}){1,2}", fullmatch=True)


@st.composite
def sites(draw, index):
    lan = ipaddress.ip_network(f"10.{index}.{draw(st.integers(0, 255))}.0/24")
    action = draw(st.sampled_from(list(Action)))
    widen = ipaddress.ip_network(f"10.{index}.0.0/16") if action is Action.WIDEN else None
    fp = Fingerprint(dhcp_servers=tuple(draw(st.lists(v4, max_size=2))), routers=tuple(draw(st.lists(v4, max_size=2))),
                     router_macs=tuple(draw(st.lists(macs, max_size=2))),
                     dns_domains=tuple(draw(st.lists(domains, max_size=2))))
    hosts = tuple(draw(st.lists(st.integers(1, 254).map(lambda h: lan.network_address + h), max_size=3)))
    return GuardSite(f"site{index}", lan, action, draw(keys), widen, fp, hosts, trust=draw(st.sampled_from(list(Trust))))


@st.composite
def configs(draw):
    n = draw(st.integers(0, 4))
    return GuardConfig(draw(st.from_regex(r"wg[a-z0-9-]{0,8}", fullmatch=True)), draw(keys),
                       draw(st.none() | st.builds(Endpoint, st.just("198.51.100.10"), st.integers(1, 65535))),
                       tuple(draw(sites(i)) for i in range(n)))


@given(configs())
def test_render_parse_round_trip(config):
    assert parse_guard_config(render_guard_config(config)) == config


OFFICE = ipaddress.ip_network("172.20.10.0/24")
EVENTS = [AddressAdded(Address("lan0", ipaddress.ip_interface("172.20.10.9/24")), 1.0),
          RouteAdded(Route(OFFICE, "lan0", 1024, proto=2)),
          NeighbourSeen(Neighbour("lan0", ipaddress.ip_address("172.20.10.1"), "02:00:00:0a:0a:01")),
          RouteAdded(Route(ipaddress.ip_network("0.0.0.0/0"), "lan0", 1024,
                           gateway=ipaddress.ip_address("172.20.10.1")))]


@settings(max_examples=60)
@given(st.permutations(EVENTS), st.sampled_from(list(Action)))
def test_the_decision_does_not_depend_on_event_order_and_converges(events, action):
    hub = PublicKey(bytes(32))
    site = GuardSite("oslo", OFFICE, action, hub, ipaddress.ip_network("172.20.0.0/16") if action is Action.WIDEN
                     else None, Fingerprint(router_macs=("02:00:00:0a:0a:01",)))
    cfg = GuardConfig("wg0", hub, None, (site,))
    start = fold(Observed(), RouteAdded(Route(OFFICE, "wg0", 0)))
    o = start
    for e in events:
        o = fold(o, e)
    reference = start
    for e in EVENTS:
        reference = fold(reference, e)
    d = decide(cfg, {}, o, (), 2.0)
    assert d.desired == decide(cfg, {}, reference, (), 2.0).desired
    # apply the steps to the observation as the kernel would, then decide again: nothing left to do
    for step in d.steps:
        if isinstance(step, Apply):
            c = step.change
            if hasattr(c, "route"):
                o = fold(o, RouteRemoved(c.route) if type(c).__name__ == "DeleteRoute" else RouteAdded(c.route))
    again = decide(cfg, {}, o, d.desired, 2.1)
    assert [s for s in again.steps if isinstance(s, (Apply, Undo))] == []
