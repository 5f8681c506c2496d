"""The guard's pure decision: which site a LAN is, and what to change for it."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from netdwg.guard.observed import (Address, AddressAdded, Lease, LeaseSeen, LinkState, Neighbour, NeighbourSeen,
                                   Observed, Route, RouteAdded, RouteRemoved, RTPROT_KERNEL, Snapshot, fold)
from netdwg.guard.policy import (AddRoute, Apply, DeleteRoute, Probe, SwapAllowedIps, Undo, Verdict, decide,
                                 undo_all, uplink_addresses)
from netdwg.keys import genkey
from netdwg.topology.guard_config import Action, Fingerprint, GuardConfig, GuardSite, Trust

ip = ipaddress.ip_address
net = ipaddress.ip_network
HUB = genkey().public_key()
OFFICE = net("172.20.10.0/24")
OTHER = net("172.20.20.0/24")
ROUTER = ip("172.20.10.1")
MAC = "02:00:00:0a:0a:01"
FP = Fingerprint(dhcp_servers=(ROUTER,), routers=(ROUTER,), router_macs=(MAC,), dns_domains=("oslo.test",))
WG_OFFICE = Route(OFFICE, "wg0", 0)
WG_OTHER = Route(OTHER, "wg0", 0)
LAN_ROUTE = Route(OFFICE, "lan0", 1024, proto=RTPROT_KERNEL)
ADDR = Address("lan0", ipaddress.ip_interface("172.20.10.50/24"))
LEASE = Lease("lan0", ip("172.20.10.50"), ROUTER, ROUTER, "oslo.test", "lease-file")


def config(action=Action.REMOVE, fp=FP, keep=(ip("172.20.10.5"),), widen_to=None, trust=Trust.PASSIVE) -> GuardConfig:
    """oslo opts into passive trust: most tests here are about matching passive facts (the
    proof-only default is tested in test_guard_trust.py)."""
    oslo = GuardSite("oslo", OFFICE, action, HUB, widen_to=widen_to, fingerprint=fp, keep_hosts=keep, trust=trust)
    bergen = GuardSite("bergen", OTHER, Action.REMOVE, HUB, fingerprint=Fingerprint(dhcp_servers=(ip("172.20.20.1"),)))
    return GuardConfig("wg0", HUB, None, (oslo, bergen), identify_timeout=3.0)


def away() -> Observed:
    return fold(Observed(), Snapshot(frozenset(), frozenset({WG_OFFICE, WG_OTHER}), frozenset(), at=0.0))


def on_lan(mac=MAC, lease=LEASE) -> Observed:
    o = away()
    for e in (AddressAdded(ADDR, 10.0), RouteAdded(LAN_ROUTE), NeighbourSeen(Neighbour("lan0", ROUTER, mac))):
        o = fold(o, e)
    return fold(o, LeaseSeen(lease)) if lease else o


def run(cfg, observed, state=(), now=10.1):
    return decide(cfg, {}, observed, tuple(state), now)


def verdict(decision, site="oslo"):
    return next(v for v in decision.views if v.site == site).verdict


def test_away_nothing_changes():
    d = run(config(), away())
    assert verdict(d) is Verdict.AWAY and d.desired == () and d.steps == ()


def test_trusted_office_remove_deletes_only_the_office_tunnel_route():
    d = run(config(), on_lan())
    assert verdict(d) is Verdict.TRUSTED and verdict(d, "bergen") is Verdict.AWAY
    assert d.desired == (DeleteRoute(WG_OFFICE),)
    assert [type(s) for s in d.steps] == [Apply]


def test_metric_adds_a_demoted_route_above_the_lan_metric_then_deletes():
    d = run(config(Action.METRIC), on_lan())
    assert d.desired == (AddRoute(replace(WG_OFFICE, metric=1025)), DeleteRoute(WG_OFFICE))


def test_widen_swaps_allowed_ips_and_routes_the_covering_prefix():
    d = run(config(Action.WIDEN, widen_to=net("172.20.0.0/16")), on_lan())
    assert d.desired == (SwapAllowedIps(HUB, OFFICE, net("172.20.0.0/16")),
                         AddRoute(replace(WG_OFFICE, dst=net("172.20.0.0/16"))), DeleteRoute(WG_OFFICE))


def test_widen_falls_back_to_remove_when_the_wide_route_is_somebody_elses():
    o = fold(on_lan(), RouteAdded(Route(net("172.20.0.0/16"), "wg0", 0)))
    d = run(config(Action.WIDEN, widen_to=net("172.20.0.0/16")), o)
    assert d.desired == (DeleteRoute(WG_OFFICE),)
    assert any("already routed" in w for w in d.warnings)


def test_steady_state_after_applying_needs_no_steps():
    cfg = config(Action.METRIC)
    first = run(cfg, on_lan())
    o = fold(fold(on_lan(), RouteAdded(replace(WG_OFFICE, metric=1025))), RouteRemoved(WG_OFFICE))
    again = run(cfg, o, first.desired)
    assert again.desired == first.desired and again.steps == ()


def test_leaving_undoes_in_reverse_order():
    cfg = config(Action.METRIC)
    state = run(cfg, on_lan()).desired
    o = fold(fold(away(), RouteRemoved(WG_OFFICE)), RouteAdded(replace(WG_OFFICE, metric=1025)))
    d = run(cfg, o, state)
    assert verdict(d) is Verdict.AWAY
    assert d.steps == (Undo(state[1], "no longer needed"), Undo(state[0], "no longer needed"))


def test_carrier_loss_counts_as_leaving_at_once():
    state = run(config(), on_lan()).desired
    o = fold(fold(on_lan(), RouteRemoved(WG_OFFICE)), LinkState("lan0", carrier=False))
    d = run(config(), o, state)
    assert verdict(d) is Verdict.AWAY and d.steps == (Undo(DeleteRoute(WG_OFFICE), "no longer needed"),)


def test_a_networkd_restart_that_puts_the_route_back_is_re_asserted():
    state = run(config(), on_lan()).desired
    o = on_lan()  # the tunnel route is there again although we deleted it
    d = run(config(), o, state)
    assert d.steps == (Apply(DeleteRoute(WG_OFFICE), "re-asserting: it was reverted behind our back"),)


def test_a_flushed_demoted_route_is_re_added():
    cfg = config(Action.METRIC)
    state = run(cfg, on_lan()).desired
    o = fold(on_lan(), RouteRemoved(WG_OFFICE))  # ours (1025) never appeared / was flushed
    d = run(cfg, o, state)
    assert [s.change for s in d.steps] == [AddRoute(replace(WG_OFFICE, metric=1025))]


@pytest.mark.parametrize("mac, lease, reason", [
    ("02:00:00:0c:0c:01", LEASE, "router MAC 02:00:00:0c:0c:01 is not 02:00:00:0a:0a:01"),
    (MAC, replace(LEASE, domain="cafe.test"), "DNS domain cafe.test is not oslo.test"),
    (MAC, replace(LEASE, server_id=ip("172.20.10.254")), "DHCP server 172.20.10.254 is not 172.20.10.1"),
])
def test_a_foreign_lan_with_the_office_prefix_is_not_trusted(mac, lease, reason):
    d = run(config(), on_lan(mac=mac, lease=lease))
    view = next(v for v in d.views if v.site == "oslo")
    assert view.verdict is Verdict.FOREIGN and reason in view.reasons
    assert d.desired == (AddRoute(Route(net("172.20.10.5/32"), "wg0", 0), "oslo"),), "office host pinned"
    assert not any(isinstance(c, DeleteRoute) for c in d.desired), "the tunnel route stays"
    assert any("not oslo" in w for w in d.warnings)


def test_a_keep_host_that_is_the_foreign_routers_address_is_not_pinned():
    d = run(config(keep=(ROUTER,)), on_lan(mac="02:00:00:0c:0c:01"))
    assert d.desired == () and any("own router" in w for w in d.warnings)


def test_no_fingerprint_means_never_trusted():
    d = run(config(fp=Fingerprint()), on_lan())
    assert verdict(d) is Verdict.FOREIGN
    assert any("netdwg guard learn oslo" in w for w in d.warnings)


def test_a_learned_fingerprint_is_enough():
    d = decide(config(fp=Fingerprint()), {"oslo": (Fingerprint(router_macs=(MAC,)),)}, on_lan(), (), 10.1)
    assert verdict(d) is Verdict.TRUSTED


def test_missing_evidence_waits_probes_then_times_out_as_foreign():
    o = on_lan()
    o = replace(o, neighbours=frozenset())  # router MAC not resolved yet
    d = run(config(), o, now=10.5)
    assert verdict(d) is Verdict.IDENTIFYING and d.desired == ()
    assert Probe("lan0", ROUTER) in d.steps and d.wake_at == pytest.approx(13.0)
    late = run(config(), o, now=13.5)
    assert verdict(late) is Verdict.FOREIGN


def test_static_address_uses_the_default_gateway_as_router():
    o = fold(fold(on_lan(lease=None), RouteAdded(Route(net("0.0.0.0/0"), "lan0", 1024, gateway=ROUTER))),
             NeighbourSeen(Neighbour("lan0", ROUTER, MAC)))
    d = run(config(fp=Fingerprint(routers=(ROUTER,), router_macs=(MAC,))), o)
    assert verdict(d) is Verdict.TRUSTED


def test_two_interfaces_on_the_office_prefer_the_trusted_one_with_the_best_metric():
    wifi = Address("wlan0", ipaddress.ip_interface("172.20.10.60/24"))
    o = on_lan()
    for e in (AddressAdded(wifi, 10.0), RouteAdded(Route(OFFICE, "wlan0", 600, proto=RTPROT_KERNEL)),
              LeaseSeen(replace(LEASE, dev="wlan0")), NeighbourSeen(Neighbour("wlan0", ROUTER, MAC))):
        o = fold(o, e)
    d = run(config(Action.METRIC), o)
    view = next(v for v in d.views if v.site == "oslo")
    assert (view.dev, view.lan_metric) == ("wlan0", 600)
    assert AddRoute(replace(WG_OFFICE, metric=601)) in d.desired


def test_routes_the_guard_did_not_create_are_never_claimed():
    admin = Route(net("172.20.10.5/32"), "wg0", 0)
    o = fold(on_lan(mac="02:00:00:0c:0c:01"), RouteAdded(admin))
    d = run(config(), o)
    assert d.desired == (), "an existing host route is somebody else's: not recorded, never undone"


def test_undo_all_reverses():
    state = run(config(Action.METRIC), on_lan()).desired
    assert [s.change for s in undo_all(state, "stopping")] == list(reversed(state))


def test_uplink_addresses_ignore_tunnel_link_local_and_carrierless_links():
    o = on_lan()
    o = fold(o, AddressAdded(Address("wg0", ipaddress.ip_interface("10.99.0.4/16"))))
    o = fold(o, AddressAdded(Address("lan0", ipaddress.ip_interface("fe80::1/64"))))
    assert uplink_addresses(o, "wg0") == {ADDR}
    assert uplink_addresses(fold(o, LinkState("lan0", False)), "wg0") == frozenset()


def test_an_idle_routers_neighbour_entry_expiring_does_not_make_the_office_foreign():
    from netdwg.guard.observed import NeighbourGone

    state = run(config(), on_lan()).desired
    o = fold(fold(on_lan(), RouteRemoved(WG_OFFICE)), NeighbourGone("lan0", ROUTER))
    d = run(config(), o, state, now=500.0)
    assert verdict(d) is Verdict.TRUSTED and d.steps == ()
    # but leaving (carrier loss) forgets it: on the next LAN the router must answer again
    o = fold(fold(o, LinkState("lan0", carrier=False)), LinkState("lan0", carrier=True))
    assert o.mac_of("lan0", ROUTER) is None


def test_a_pinned_tls_certificate_is_checked_through_the_lan_link():
    from netdwg.topology.guard_config import TlsPin
    from netdwg.guard.observed import Proof, ProofSeen
    from netdwg.guard.policy import Prove

    pin = TlsPin(ip("172.20.10.5"), 443, "ab" * 32)
    cfg = config(fp=replace(FP, tls_pins=(pin,)))
    d = run(cfg, on_lan())
    assert verdict(d) is Verdict.IDENTIFYING and Prove("lan0", pin.host, 443) in d.steps
    good = fold(on_lan(), ProofSeen(Proof("lan0", pin.host, 443, sha256="ab" * 32)))
    assert verdict(run(cfg, good)) is Verdict.TRUSTED
    forged = fold(on_lan(), ProofSeen(Proof("lan0", pin.host, 443, sha256="cd" * 32)))
    view = next(v for v in run(cfg, forged).views if v.site == "oslo")
    assert view.verdict is Verdict.FOREIGN and "not the pinned" in view.reasons[0]
    # no answer is no proof: never trusted, judged foreign once identify_timeout is over, asked again
    refused = fold(on_lan(), ProofSeen(Proof("lan0", pin.host, 443, error="Connection refused", at=10.05)))
    assert verdict(run(cfg, refused)) is Verdict.IDENTIFYING
    late = run(cfg, refused, now=14.0)
    assert verdict(late) is Verdict.FOREIGN and Prove("lan0", pin.host, 443, attempt=2) in late.steps
    assert "not verified as oslo" in late.warnings[0]
    # leaving forgets the proof: the next LAN must prove itself again
    assert fold(good, LinkState("lan0", carrier=False)).proofs == ()


def test_a_foreign_lan_with_a_better_metric_on_another_link_keeps_the_tunnel():
    cafe_wifi = Address("wlan0", ipaddress.ip_interface("172.20.10.70/24"))
    o = on_lan()
    for e in (AddressAdded(cafe_wifi, 10.0), RouteAdded(Route(OFFICE, "wlan0", 600, proto=RTPROT_KERNEL)),
              LeaseSeen(replace(LEASE, dev="wlan0", domain="cafe.test"))):
        o = fold(o, e)
    d = run(config(), o)
    view = next(v for v in d.views if v.site == "oslo")
    assert view.verdict is Verdict.FOREIGN and view.dev == "wlan0"
    assert not any(isinstance(c, DeleteRoute) for c in d.desired), "office traffic must not leak to the café"


def test_a_new_lease_from_another_server_on_the_same_link_withdraws_trust_at_once():
    state = run(config(), on_lan()).desired
    o = fold(fold(on_lan(), RouteRemoved(WG_OFFICE)), LeaseSeen(replace(LEASE, server_id=ip("172.20.10.254"))))
    d = run(config(), o, state)
    assert verdict(d) is Verdict.FOREIGN
    assert Undo(DeleteRoute(WG_OFFICE), "no longer needed") in d.steps, "the tunnel route comes back"
    assert Apply(AddRoute(Route(net("172.20.10.5/32"), "wg0", 0)), "new") in d.steps
