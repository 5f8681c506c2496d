"""The guard on a wg-quick laptop: the routes `wg-quick up` adds for AllowedIPs, as the kernel
announces them, are the tunnel routes the guard acts on, exactly and only those.

wg-quick (wireguard-tools 1.0.20210914, Table unset: what netdwg renders for a roaming host)
adds each AllowedIPs prefix with `ip route add PREFIX dev wg0`: main table, protocol boot,
scope link, metric 0 (IPv6: 1024, the kernel's default). A /0 goes to its fwmark table
(51820) behind `ip rule add table main suppress_prefixlength 0`. The messages below are
built as linux/rtnetlink.h lays them out and go through the guard's own parser."""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import replace
from pathlib import Path

from netdwg.guard.observed import (Address, AddressAdded, Lease, LeaseSeen, Neighbour, NeighbourSeen, Observed,
                                   Route, RTPROT_BOOT, RT_SCOPE_LINK, RT_TABLE_MAIN, Snapshot, fold)
from netdwg.guard.policy import AddRoute, Apply, DeleteRoute, Undo, Verdict, decide, undo_all
from netdwg.guard.sources.netlink import LinkNames, events_of
from netdwg.guard.sources.nlmsg import parse_messages
from netdwg.guard.state import GuardState, load_state, save_state
from netdwg.keys import genkey
from netdwg.lint import run_lint
from netdwg.render import render_host
from netdwg.topology import load_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.guard_config import Action, Fingerprint, GuardConfig, GuardSite, Trust, parse_guard_config
from netdwg.topology.secrets import Secrets, complete_secrets

ip = ipaddress.ip_address
net = ipaddress.ip_network
HUB = genkey().public_key()
WG, LAN = 7, 3  # ifindex of wg0 and lan0
OFFICE_A, OFFICE_C = net("192.168.201.0/24"), net("192.168.200.0/24")
ROUTER = ip("192.168.201.1")
MAC = "02:00:00:c9:00:01"
FP = Fingerprint(dhcp_servers=(ROUTER,), routers=(ROUTER,), router_macs=(MAC,))
RTPROT_KERNEL, RT_TABLE_COMPAT, WG_QUICK_TABLE = 2, 252, 51820


def attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def newroute(prefix: str, oif: int = WG, table: int = RT_TABLE_MAIN, proto: int = RTPROT_BOOT,
             metric: int | None = None) -> bytes:
    """An RTM_NEWROUTE as the kernel multicasts it: rtm_table holds tables above 255 as
    RT_TABLE_COMPAT, RTA_TABLE the real one; IPv4 leaves RTA_PRIORITY out for metric 0."""
    dst = net(prefix)
    family = socket.AF_INET if dst.version == 4 else socket.AF_INET6
    body = struct.pack("=BBBBBBBBI", family, dst.prefixlen, 0, 0, table if table < 256 else RT_TABLE_COMPAT,
                       proto, RT_SCOPE_LINK if dst.version == 4 else 0, 1, 0)
    body += attr(15, struct.pack("=I", table))
    if dst.prefixlen:
        body += attr(1, dst.network_address.packed)
    if metric is not None:
        body += attr(6, struct.pack("=I", metric))
    body += attr(4, struct.pack("=I", oif))
    return struct.pack("=IHHII", 16 + len(body), 24, 0, 0, 0) + body


def routes_of(*messages: bytes) -> frozenset[Route]:
    names = LinkNames()
    names.names.update({WG: "wg0", LAN: "lan0"})
    return frozenset(e.route for m in parse_messages(b"".join(messages)) for e in events_of(m, names))


# wg-quick up with AllowedIPs = 10.70.0.0/16, 192.168.201.0/24, 192.168.0.0/16 (office c widened),
# 2001:db8:a::/48: the /16 of the pool is skipped (the address's own route on wg0 matches it),
# the others are added, narrowest first.
WG_QUICK_UP = (newroute("10.70.0.0/16", proto=RTPROT_KERNEL), newroute("192.168.201.0/24"),
               newroute("192.168.0.0/16"), newroute("2001:db8:a::/48", metric=1024))
DEFAULT_VIA_FWMARK = newroute("0.0.0.0/0", table=WG_QUICK_TABLE)


def site(name: str, lan, action=Action.REMOVE, widen_to=None, fp=FP) -> GuardSite:
    # passive trust: these tests are about which routes the guard touches, not about proofs
    return GuardSite(name, lan, action, HUB, widen_to=widen_to, fingerprint=fp, trust=Trust.PASSIVE)


def config(*sites: GuardSite) -> GuardConfig:
    return GuardConfig("wg0", HUB, None, sites or (site("a", OFFICE_A),), identify_timeout=3.0)


def in_office(routes: frozenset[Route], address="192.168.201.27/24", lan_routes=(), router=ROUTER) -> Observed:
    """The laptop on lan0 with a DHCP lease (networkd: the connected route at metric 1024)."""
    iface = ipaddress.ip_interface(address)
    connected = lan_routes or routes_of(newroute(str(iface.network), oif=LAN, proto=RTPROT_KERNEL, metric=1024))
    o = fold(Observed(), Snapshot(frozenset(), routes | connected, frozenset(), at=0.0))
    for event in (AddressAdded(Address("lan0", iface), 1.0), NeighbourSeen(Neighbour("lan0", router, MAC)),
                  LeaseSeen(Lease("lan0", iface.ip, router, router, "", "lease-file"))):
        o = fold(o, event)
    return o


def the_route(prefix: str, routes: frozenset[Route]) -> Route:
    return next(r for r in routes if r.dst == net(prefix) and r.dev == "wg0")


def test_wg_quicks_routes_read_as_main_table_boot_routes_at_metric_0():
    routes = routes_of(*WG_QUICK_UP, DEFAULT_VIA_FWMARK)
    a = the_route("192.168.201.0/24", routes)
    assert (a.table, a.metric, a.proto, a.scope) == (RT_TABLE_MAIN, 0, RTPROT_BOOT, RT_SCOPE_LINK)
    assert the_route("2001:db8:a::/48", routes).metric == 1024
    assert the_route("0.0.0.0/0", routes).table == WG_QUICK_TABLE


def test_in_the_office_the_guard_deletes_exactly_wg_quicks_route_for_that_lan():
    routes = routes_of(*WG_QUICK_UP, DEFAULT_VIA_FWMARK)
    d = decide(config(site("a", OFFICE_A), site("c", OFFICE_C)), {}, in_office(routes), (), 2.0)
    assert next(v for v in d.views if v.site == "a").verdict is Verdict.TRUSTED
    assert d.desired == (DeleteRoute(the_route("192.168.201.0/24", routes)),)
    # the covering /16 (c's widening), the pool, IPv6 and the fwmark table's /0 are not a's
    assert [s for s in d.steps if isinstance(s, (Apply, Undo))] == [Apply(d.desired[0], "new")]


def test_leaving_puts_back_wg_quicks_route_as_it_was_also_after_a_crash(tmp_path):
    routes = routes_of(*WG_QUICK_UP)
    wg_a = the_route("192.168.201.0/24", routes)
    state = decide(config(), {}, in_office(routes), (), 2.0).desired
    away = fold(Observed(), Snapshot(frozenset(), routes - {wg_a}, frozenset(), at=5.0))
    d = decide(config(), {}, away, state, 6.0)
    assert d.desired == () and [s.change for s in d.steps] == [DeleteRoute(wg_a)]
    [undo] = d.steps
    assert isinstance(undo, Undo)
    restored = undo.change.route  # re-added by rtnl with these attributes
    assert (restored.proto, restored.scope, restored.table, restored.metric) == (RTPROT_BOOT, RT_SCOPE_LINK,
                                                                                  RT_TABLE_MAIN, 0)
    # the write-ahead record a restarted guard undoes from keeps the same attributes
    save_state(tmp_path / "guard.state", GuardState(state, 1))
    [again] = undo_all(load_state(tmp_path / "guard.state").changes, "left by a previous run")
    assert again.change.route.to_json() == wg_a.to_json()


def test_metric_demotes_wg_quicks_route_in_its_own_table_and_protocol():
    routes = routes_of(*WG_QUICK_UP)
    wg_a = the_route("192.168.201.0/24", routes)
    d = decide(config(site("a", OFFICE_A, Action.METRIC)), {}, in_office(routes), (), 2.0)
    assert d.desired == (AddRoute(replace(wg_a, metric=1025)), DeleteRoute(wg_a))
    demoted = d.desired[0].route
    assert (demoted.table, demoted.proto, demoted.scope) == (RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_LINK)


def test_ipv6_wg_quick_route_at_1024_loses_to_a_lan_route_at_256_and_ties_with_one_at_1024():
    routes = routes_of(*WG_QUICK_UP)
    lan6 = net("2001:db8:a::/64")
    six = site("a6", net("2001:db8:a::/48"), fp=Fingerprint(routers=(ip("2001:db8:a::1"),)))
    for metric, wanted in ((256, ()), (1024, (DeleteRoute(the_route("2001:db8:a::/48", routes)),))):
        observed = in_office(routes, "2001:db8:a::27/64", router=ip("2001:db8:a::1"),
                             lan_routes=routes_of(newroute(str(lan6), oif=LAN, proto=RTPROT_KERNEL, metric=metric)))
        d = decide(config(six), {}, observed, (), 2.0)
        assert d.views[0].verdict is Verdict.TRUSTED and d.desired == wanted, metric


def test_a_lan_widened_to_0_0_0_0_sits_in_wg_quicks_fwmark_table_and_needs_nothing():
    # office c widened to 0.0.0.0/0: wg-quick routes it in table 51820, and its own
    # `suppress_prefixlength 0` rule lets the LAN's connected route win: nothing for the guard to do
    routes = routes_of(newroute("192.168.201.0/24"), DEFAULT_VIA_FWMARK)
    c = site("c", OFFICE_C, Action.WIDEN, widen_to=net("0.0.0.0/0"),
             fp=Fingerprint(routers=(ip("192.168.200.1"),)))
    d = decide(config(site("a", OFFICE_A), c), {}, in_office(routes, "192.168.200.27/24", router=ip("192.168.200.1")),
               (), 2.0)
    assert next(v for v in d.views if v.site == "c").verdict is Verdict.TRUSTED
    assert d.desired == () and d.steps == ()


def test_a_guarded_wg_quick_laptop_gets_its_conf_without_table_and_a_guard_conf():
    """What the guard's routes come from: netdwg renders the laptop's wg-quick .conf with no `Table`
    (wg-quick's default: its own routes, main table) and writes guard.conf beside it."""
    topology = load_topology(Path(__file__).resolve().parents[2] / "examples" / "1-offices.conf")
    f = topology.host("f")
    assert str(f.backend) == "wg-quick" and f.guard
    assert not [d for d in run_lint(topology) if d.code == "NDW025"]
    secrets = complete_secrets(topology, Secrets())[0]
    files = {str(r.path): r for r in render_host(compile_topology(topology, secrets)["f"])}
    assert set(files) == {"/etc/wireguard/wg0.conf", "/etc/netdwg/guard.conf"}
    conf = files["/etc/wireguard/wg0.conf"].text
    assert "Table" not in conf and "PostUp" not in conf
    assert "AllowedIPs = 10.70.0.0/16, 192.168.201.0/24, 192.168.0.0/16\n" in conf
    guard = parse_guard_config(files["/etc/netdwg/guard.conf"].text)
    assert guard.interface == "wg0" and [(s.name, str(s.lan)) for s in guard.sites] == [("a", "192.168.201.0/24"),
                                                                                        ("c", "192.168.200.0/24")]
