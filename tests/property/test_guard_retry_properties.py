"""Hypothesis: whatever the office's server answers, and however long each check takes, the
guard trusts the LAN exactly when the last answer was the pinned key, asks again on the
backoff schedule (fast after no answer, slow after a wrong one), counts attempts one by one,
and never sets a wake-up in the past (no busy loop)."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings, strategies as st

from netdwg.guard.observed import (Address, AddressAdded, Lease, LeaseSeen, Observed, Proof, ProofSeen, Route,
                                   RouteAdded, RTPROT_KERNEL, Snapshot, fold)
from netdwg.guard.policy import DeleteRoute, Prove, Verdict, decide
from netdwg.guard.proofs import RECHECK_WRONG, RETRY_BACKOFF
from netdwg.keys import genkey
from netdwg.topology.guard_config import Action, Fingerprint, GuardConfig, GuardSite, SshHostKey

HUB = genkey().public_key()
OFFICE = ipaddress.ip_network("172.20.10.0/24")
PIN = SshHostKey.parse("172.20.10.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")
CONFIG = GuardConfig("wg0", HUB, None, (GuardSite("oslo", OFFICE, Action.REMOVE, HUB, fingerprint=Fingerprint(
    dns_domains=("oslo.test",), ssh_host_keys=(PIN,))),), identify_timeout=3.0)
ANSWERS = {"refused": {"error": "Connection refused"}, "timeout": {"error": "timed out"},
           "wrong": {"sha256": "cd" * 32}, "refuted": {"error": "signature does not verify", "conclusive": True},
           "right": {"sha256": PIN.sha256}}


def on_lan() -> Observed:
    o = fold(Observed(), Snapshot(frozenset(), frozenset({Route(OFFICE, "wg0", 0)}), frozenset(), at=0.0))
    lease = Lease("lan0", ipaddress.ip_address("172.20.10.50"), ipaddress.ip_address("172.20.10.1"), None,
                  "oslo.test", "lease-file")
    for e in (AddressAdded(Address("lan0", ipaddress.ip_interface("172.20.10.50/24")), 0.0),
              RouteAdded(Route(OFFICE, "lan0", 1024, proto=RTPROT_KERNEL)), LeaseSeen(lease)):
        o = fold(o, e)
    return o


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(ANSWERS)), st.floats(0.0, 2.5)), min_size=1, max_size=12))
def test_retries_follow_the_answers(answers):
    observed, state, now = on_lan(), (), 0.01
    last = None  # (answer, ended_at, attempt)
    for i in range(200):
        d = decide(CONFIG, {}, observed, state, now)
        state = d.desired
        view = d.views[0]
        trusted = last is not None and last[0] == "right"
        assert (view.verdict is Verdict.TRUSTED) == trusted
        assert any(isinstance(c, DeleteRoute) for c in d.desired) == trusted, "the route moves only when proven"
        proves = [s for s in d.steps if isinstance(s, Prove)]
        if trusted:
            assert proves == [] and d.wake_at is None
            break
        if proves:
            (p,) = proves
            if last is None:
                assert p.attempt == 1
            else:
                assert p.attempt == last[2] + 1
                wait = RECHECK_WRONG if last[0] in ("wrong", "refuted") else \
                    RETRY_BACKOFF[min(last[2], len(RETRY_BACKOFF)) - 1]
                assert abs(now - (last[1] + wait)) < 1e-6, "asked exactly when due"
            if p.attempt > len(answers):
                break
            name, took = answers[p.attempt - 1]
            observed = fold(observed, ProofSeen(Proof(p.dev, p.host, p.port, kind=p.kind, at=now + took,
                                                      attempt=p.attempt, **ANSWERS[name])))
            last = (name, now + took, p.attempt)
            now += took  # the result arrives when the check ends
            continue
        assert d.wake_at is not None and d.wake_at > now, "never a wake-up in the past, never none while unproven"
        now = d.wake_at
    else:
        raise AssertionError("no progress in 200 rounds")
