"""The guard trusts only proof: a declared ssh_host_key or tls_pin is required, no passive fact
(declared or learned) replaces it, and passive facts alone trust a site only by `trust = passive`."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from netdwg.errors import NetdwgError
from netdwg.guard.observed import (Address, AddressAdded, Lease, LeaseSeen, Neighbour, NeighbourSeen, Observed,
                                   Proof, ProofSeen, Route, RouteAdded, RTPROT_KERNEL, Snapshot, fold)
from netdwg.guard.policy import AddRoute, DeleteRoute, Probe, Prove, Verdict, decide
from netdwg.keys import genkey
from netdwg.topology.guard_config import (Action, Fingerprint, GuardConfig, GuardSite, SshHostKey, TlsPin, Trust,
                                          parse_guard_config, render_guard_config)

ip = ipaddress.ip_address
HUB = genkey().public_key()
OFFICE = ipaddress.ip_network("172.20.10.0/24")
ROUTER = ip("172.20.10.1")
MAC = "02:00:00:0a:0a:01"
SERVER = ip("172.20.10.5")
KEY = SshHostKey.parse("172.20.10.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICnrgzVPhXaLp6D300B3wMBjAopZvmsUPqanyTBnhWZ+")
PIN = TlsPin(SERVER, 443, "ab" * 32)
PASSIVE = Fingerprint(dhcp_servers=(ROUTER,), routers=(ROUTER,), router_macs=(MAC,), dns_domains=("oslo.test",))
WG_OFFICE = Route(OFFICE, "wg0", 0)


def config(fp=PASSIVE, trust=Trust.PROOF) -> GuardConfig:
    site = GuardSite("oslo", OFFICE, Action.REMOVE, HUB, fingerprint=fp, keep_hosts=(SERVER,), trust=trust)
    return GuardConfig("wg0", HUB, None, (site,), identify_timeout=3.0)


def on_office_lan(*proofs: Proof) -> Observed:
    """Every passive fact of the office: a café copying them looks exactly like this."""
    o = fold(Observed(), Snapshot(frozenset(), frozenset({WG_OFFICE}), frozenset(), at=0.0))
    for e in (AddressAdded(Address("lan0", ipaddress.ip_interface("172.20.10.50/24")), 10.0),
              RouteAdded(Route(OFFICE, "lan0", 1024, proto=RTPROT_KERNEL)),
              NeighbourSeen(Neighbour("lan0", ROUTER, MAC)),
              LeaseSeen(Lease("lan0", ip("172.20.10.50"), ROUTER, ROUTER, "oslo.test", "lease-file")),
              *(ProofSeen(p) for p in proofs)):
        o = fold(o, e)
    return o


def view(decision):
    return next(v for v in decision.views if v.site == "oslo")


def test_passive_facts_alone_leave_a_site_unverified_and_the_tunnel_route_in_place():
    d = decide(config(), {}, on_office_lan(), (), 10.1)
    v = view(d)
    assert v.verdict is Verdict.UNVERIFIED and v.dev == "lan0"
    assert not any(isinstance(c, DeleteRoute) for c in d.desired), "the tunnel route stays"
    assert AddRoute(Route(ipaddress.ip_network("172.20.10.5/32"), "wg0", 0), "oslo") in d.desired
    assert not any(isinstance(s, (Probe, Prove)) for s in d.steps), "nothing to ask: nothing could prove it"
    # why, and how to add a proof: in the status (reasons) and in the journal (warnings)
    assert "declares no proof" in v.reasons[0] and "passive facts match" in v.reasons[0]
    assert "ssh_host_key" in v.reasons[1] and "ssh-keyscan" in v.reasons[1] and "trust = passive" in v.reasons[1]
    assert "is not verified as oslo" in d.warnings[0] and "ssh_host_key" in d.warnings[0]


def test_a_learned_fingerprint_does_not_trust_a_site_without_a_proof():
    learned = {"oslo": (PASSIVE,)}
    assert view(decide(config(Fingerprint()), learned, on_office_lan(), (), 10.1)).verdict is Verdict.UNVERIFIED
    assert view(decide(config(Fingerprint(), Trust.PASSIVE), learned, on_office_lan(), (), 10.1)).verdict \
        is Verdict.TRUSTED, "the opt-in lets learned passive facts trust"


def test_trust_passive_is_the_opt_in():
    assert view(decide(config(trust=Trust.PASSIVE), {}, on_office_lan(), (), 10.1)).verdict is Verdict.TRUSTED


@pytest.mark.parametrize("trust", list(Trust))
@pytest.mark.parametrize("proof", ["ssh", "tls"])
def test_a_declared_proof_is_required_even_when_every_passive_fact_matches(trust, proof):
    fp = replace(PASSIVE, ssh_host_keys=(KEY,)) if proof == "ssh" else replace(PASSIVE, tls_pins=(PIN,))
    port = 22 if proof == "ssh" else 443
    digest = KEY.sha256 if proof == "ssh" else PIN.sha256
    cfg = config(fp, trust)
    learned = {"oslo": (PASSIVE, Fingerprint(router_macs=(MAC,)))}
    first = decide(cfg, learned, on_office_lan(), (), 10.1)
    assert view(first).verdict is Verdict.IDENTIFYING
    assert any(isinstance(s, Prove) and s.host == SERVER and s.port == port for s in first.steps)
    late = decide(cfg, learned, on_office_lan(), (), 20.0)
    assert view(late).verdict is Verdict.FOREIGN and not any(isinstance(c, DeleteRoute) for c in late.desired)
    refused = Proof("lan0", SERVER, port, error="Connection refused", kind=proof, at=10.05)
    assert view(decide(cfg, learned, on_office_lan(refused), (), 20.0)).verdict is Verdict.FOREIGN
    forged = Proof("lan0", SERVER, port, sha256="cd" * 32, kind=proof, at=10.05)
    assert view(decide(cfg, learned, on_office_lan(forged), (), 10.1)).verdict is Verdict.FOREIGN
    good = Proof("lan0", SERVER, port, sha256=digest, kind=proof, at=10.05)
    trusted = decide(cfg, learned, on_office_lan(good), (), 10.1)
    assert view(trusted).verdict is Verdict.TRUSTED and DeleteRoute(WG_OFFICE, "oslo") in trusted.desired


def test_a_learned_fingerprint_adds_a_way_to_match_but_keeps_the_proof():
    # the office moved to a new router: the declared passive facts no longer match, a learned one does;
    # the declared key is still required
    cfg = config(replace(PASSIVE, router_macs=("02:00:00:ff:ff:ff",), ssh_host_keys=(KEY,)))
    learned = {"oslo": (PASSIVE,)}
    assert view(decide(cfg, learned, on_office_lan(), (), 20.0)).verdict is Verdict.FOREIGN
    good = Proof("lan0", SERVER, 22, sha256=KEY.sha256, kind="ssh", at=10.05)
    assert view(decide(cfg, learned, on_office_lan(good), (), 10.1)).verdict is Verdict.TRUSTED


def test_guard_conf_carries_trust_only_when_it_is_the_opt_in():
    assert "trust" not in render_guard_config(config())
    text = render_guard_config(config(trust=Trust.PASSIVE))
    assert "\ntrust = passive\n" in text
    assert parse_guard_config(text) == config(trust=Trust.PASSIVE)
    with pytest.raises(NetdwgError, match="invalid trust 'blind'") as err:
        parse_guard_config(text.replace("trust = passive", "trust = blind"))
    assert "proof" in err.value.fix


def test_import_keeps_the_proof_and_the_opt_in_of_a_guard_conf():
    from netdwg.topology.importer_files import HostFiles
    from netdwg.topology.importer_lans import fingerprint_lines

    sites = (GuardSite("oslo", OFFICE, Action.REMOVE, HUB, fingerprint=replace(PASSIVE, ssh_host_keys=(KEY,))),
             GuardSite("bergen", ipaddress.ip_network("172.20.20.0/24"), Action.REMOVE, HUB,
                       fingerprint=Fingerprint(router_macs=(MAC,)), trust=Trust.PASSIVE))
    hosts = (HostFiles("ana", guard=True, guard_sites=sites),)
    assert f'  ssh_host_key = "{KEY}"' in fingerprint_lines("oslo", hosts)
    assert not any("trust" in line for line in fingerprint_lines("oslo", hosts))
    assert "  trust = passive" in fingerprint_lines("bergen", hosts)
