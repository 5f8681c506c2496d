"""Hypothesis properties of the guard's trust policy (guard/policy.py, pure):

* no combination of passive facts (DHCP server id, router address and MAC, DNS domain, the prefix),
  declared or learned, trusts a site that declares a proof, whatever `trust` says and whatever the
  proof's check answered short of the pinned key;
* without a proof, passive facts trust a site only with the `trust = passive` opt-in;
* the real office, whose proof answers, is trusted.
"""

from __future__ import annotations

import ipaddress

from hypothesis import assume, given, settings, strategies as st

from netdwg.guard.observed import (Address, AddressAdded, Lease, LeaseSeen, Neighbour, NeighbourSeen, Observed,
                                   Proof, ProofSeen, Route, RouteAdded, RTPROT_KERNEL, Snapshot, fold)
from netdwg.guard.policy import DeleteRoute, SwapAllowedIps, Verdict, decide
from netdwg.keys import PublicKey
from netdwg.topology.guard_config import Action, Fingerprint, GuardConfig, GuardSite, SshHostKey, TlsPin, Trust

HUB = PublicKey(bytes(32))
OFFICE = ipaddress.ip_network("172.20.10.0/24")
SERVER = ipaddress.ip_address("172.20.10.5")
KEY = SshHostKey.parse("172.20.10.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICnrgzVPhXaLp6D300B3wMBjAopZvmsUPqanyTBnhWZ+")
PIN = TlsPin(SERVER, 443, "ab" * 32)

# Small pools, so declared, learned and seen facts often coincide: a café copying the office.
addresses = st.sampled_from([ipaddress.ip_address(a) for a in ("172.20.10.1", "172.20.10.254", "172.20.10.9")])
macs = st.sampled_from(["02:00:00:0a:0a:01", "02:00:00:0c:0c:01"])
domains = st.sampled_from(["oslo.test", "cafe.test"])
facts = st.builds(lambda d, r, m, n: Fingerprint(dhcp_servers=d, routers=r, router_macs=m, dns_domains=n),
                  st.lists(addresses, max_size=1).map(tuple), st.lists(addresses, max_size=1).map(tuple),
                  st.lists(macs, max_size=1).map(tuple), st.lists(domains, max_size=1).map(tuple))
proof_kinds = st.sampled_from([(KEY,), (), ]).flatmap(
    lambda ssh: st.sampled_from([(PIN,), ()] if ssh else [(PIN,)]).map(lambda tls: (ssh, tls)))
actions = st.sampled_from(list(Action))


@st.composite
def lans(draw, proofs: tuple = ()):
    """The laptop on a LAN with the office prefix and any passive facts; `proofs`: what the checks got."""
    router, server = draw(addresses), draw(addresses)
    o = fold(Observed(), Snapshot(frozenset(), frozenset({Route(OFFICE, "wg0", 0)}), frozenset(), at=0.0))
    events = [AddressAdded(Address("lan0", ipaddress.ip_interface("172.20.10.50/24")), 10.0),
              RouteAdded(Route(OFFICE, "lan0", draw(st.sampled_from([100, 1024])), proto=RTPROT_KERNEL))]
    if draw(st.booleans()):
        events.append(NeighbourSeen(Neighbour("lan0", router, draw(macs))))
    if draw(st.booleans()):
        events.append(LeaseSeen(Lease("lan0", ipaddress.ip_address("172.20.10.50"), server, router,
                                      draw(domains), "lease-file")))
    for p in proofs:
        events.append(ProofSeen(p))
    for e in events:
        o = fold(o, e)
    return o


def answers(kind: str, port: int, digest: str):
    """Every way a check can end: not yet, no answer, a conclusive refusal, a wrong key, the pinned key."""
    return st.sampled_from([
        None,
        Proof("lan0", SERVER, port, error="Connection refused", kind=kind, at=10.05),
        Proof("lan0", SERVER, port, error="host key not accepted", kind=kind, at=10.05, conclusive=True),
        Proof("lan0", SERVER, port, sha256="cd" * 32, kind=kind, at=10.05),
        Proof("lan0", SERVER, port, sha256=digest, kind=kind, at=10.05),
    ])


def config(site: GuardSite) -> GuardConfig:
    return GuardConfig("wg0", HUB, None, (site,), identify_timeout=3.0)


def trusts(decision) -> bool:
    lan_wins = any(isinstance(c, (DeleteRoute, SwapAllowedIps)) for c in decision.desired)
    trusted = decision.views[0].verdict is Verdict.TRUSTED
    assert lan_wins <= trusted  # the tunnel route goes only for a trusted site
    return trusted


@settings(max_examples=400)
@given(st.data(), facts, st.lists(facts, max_size=3), proof_kinds, st.sampled_from(list(Trust)), actions,
       st.sampled_from([10.1, 11.0, 20.0, 500.0]))
def test_passive_facts_never_replace_a_declared_proof(data, declared, learned, proofs, trust, action, now):
    ssh, tls = proofs
    got = [data.draw(answers("ssh", 22, KEY.sha256)) if ssh else None,
           data.draw(answers("tls", 443, PIN.sha256)) if tls else None]
    right = [p is not None and p.sha256 in (KEY.sha256, PIN.sha256) for p in got]
    assume(not all(r for r, declared_kind in zip(right, (ssh, tls)) if declared_kind))  # not the office itself
    fp = Fingerprint(declared.dhcp_servers, declared.routers, declared.router_macs, declared.dns_domains,
                     tls_pins=tls, ssh_host_keys=ssh)
    site = GuardSite("oslo", OFFICE, action, HUB, widen_to=ipaddress.ip_network("172.20.0.0/16"),
                     fingerprint=fp, trust=trust)
    observed = data.draw(lans(tuple(p for p in got if p is not None)))
    assert not trusts(decide(config(site), {"oslo": tuple(learned)}, observed, (), now))


@settings(max_examples=300)
@given(st.data(), facts, st.lists(facts, max_size=3), st.sampled_from(list(Trust)), actions)
def test_without_a_proof_passive_facts_trust_only_by_the_opt_in(data, declared, learned, trust, action):
    site = GuardSite("oslo", OFFICE, action, HUB, widen_to=ipaddress.ip_network("172.20.0.0/16"),
                     fingerprint=declared, trust=trust)
    d = decide(config(site), {"oslo": tuple(learned)}, data.draw(lans()), (), 10.1)
    if trust is Trust.PROOF:
        assert not trusts(d) and d.views[0].verdict is Verdict.UNVERIFIED
    else:
        trusts(d)  # may trust (the opt-in); the tunnel still goes only for a trusted site


@settings(max_examples=100)
@given(facts, proof_kinds, st.sampled_from(list(Trust)))
def test_the_opt_in_trusts_the_passive_facts_it_was_given(seen, proofs, trust):
    """Evidence equal to the declared passive facts: trusted exactly when no proof is declared and
    the site opted in."""
    router = seen.routers[0] if seen.routers else ipaddress.ip_address("172.20.10.1")
    o = fold(Observed(), Snapshot(frozenset(), frozenset({Route(OFFICE, "wg0", 0)}), frozenset(), at=0.0))
    for e in (AddressAdded(Address("lan0", ipaddress.ip_interface("172.20.10.50/24")), 10.0),
              RouteAdded(Route(OFFICE, "lan0", 1024, proto=RTPROT_KERNEL)),
              NeighbourSeen(Neighbour("lan0", router, seen.router_macs[0] if seen.router_macs else "02:00:00:0a:0a:01")),
              LeaseSeen(Lease("lan0", ipaddress.ip_address("172.20.10.50"),
                              seen.dhcp_servers[0] if seen.dhcp_servers else router, router,
                              seen.dns_domains[0] if seen.dns_domains else "oslo.test", "lease-file"))):
        o = fold(o, e)
    ssh, tls = proofs
    declared = Fingerprint(seen.dhcp_servers, (router,), seen.router_macs, seen.dns_domains, tls, ssh)
    site = GuardSite("oslo", OFFICE, Action.REMOVE, HUB, fingerprint=declared, trust=trust)
    assert trusts(decide(config(site), {}, o, (), 10.1)) == (trust is Trust.PASSIVE and not (ssh or tls))
    # and the real office, whose proofs answer with the pinned keys, is trusted whatever `trust` says
    if ssh or tls:
        for p in ((Proof("lan0", SERVER, 22, sha256=KEY.sha256, kind="ssh", at=10.05),) if ssh else ()) + \
                 ((Proof("lan0", SERVER, 443, sha256=PIN.sha256, kind="tls", at=10.05),) if tls else ()):
            o = fold(o, ProofSeen(p))
        assert trusts(decide(config(site), {}, o, (), 10.1))
