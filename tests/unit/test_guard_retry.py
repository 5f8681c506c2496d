"""A failed office proof is asked for again while the laptop stays on that LAN: fast at first,
then once a minute; a wrong key is an answer, re-checked only once a minute and never trusted;
leaving or a new lease starts over. Driven like the daemon drives the policy: decide, run the
checks it asks for, sleep until wake_at, decide again."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from netdwg.cli import main
from netdwg.cli.guard import describe_proof
from netdwg.guard.observed import (Address, AddressAdded, AddressRemoved, Lease, LeaseSeen, LinkState, Observed,
                                   Proof, ProofSeen, Route, RouteAdded, RTPROT_KERNEL, Snapshot, fold)
from netdwg.guard.policy import Apply, DeleteRoute, Prove, Verdict, decide
from netdwg.guard.proofs import RECHECK_WRONG, RETRY_BACKOFF
from netdwg.guard.status import status_json
from netdwg.keys import genkey
from netdwg.topology.guard_config import Action, Fingerprint, GuardConfig, GuardSite, SshHostKey

ip = ipaddress.ip_address
net = ipaddress.ip_network
HUB = genkey().public_key()
OFFICE = net("172.20.10.0/24")
HOST = ip("172.20.10.5")
PIN = SshHostKey.parse("172.20.10.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")
RIGHT, WRONG = PIN.sha256, "cd" * 32
WG_OFFICE = Route(OFFICE, "wg0", 0)
ADDR = Address("lan0", ipaddress.ip_interface("172.20.10.50/24"))
LEASE = Lease("lan0", ip("172.20.10.50"), ip("172.20.10.1"), ip("172.20.10.1"), "oslo.test", "lease-file")
JOIN = 100.0


def config(fp=Fingerprint(dns_domains=("oslo.test",), ssh_host_keys=(PIN,))) -> GuardConfig:
    site = GuardSite("oslo", OFFICE, Action.REMOVE, HUB, fingerprint=fp, keep_hosts=(HOST,))
    return GuardConfig("wg0", HUB, None, (site,), identify_timeout=3.0)


def on_lan(at=JOIN) -> Observed:
    o = fold(Observed(), Snapshot(frozenset(), frozenset({WG_OFFICE}), frozenset(), at=0.0))
    for e in (AddressAdded(ADDR, at), RouteAdded(Route(OFFICE, "lan0", 1024, proto=RTPROT_KERNEL)),
              LeaseSeen(LEASE)):
        o = fold(o, e)
    return o


def answer(prove: Prove, at: float, sha256: str = "", error: str = "", conclusive: bool = False) -> ProofSeen:
    """What the daemon delivers when the check `prove` asked for ends at `at`."""
    return ProofSeen(Proof(prove.dev, prove.host, prove.port, sha256=sha256, error=error, kind=prove.kind,
                           at=at, attempt=prove.attempt, conclusive=conclusive))


def asks(d) -> list[Prove]:
    return [s for s in d.steps if isinstance(s, Prove)]


def view(d):
    return next(v for v in d.views if v.site == "oslo")


def drive(cfg, observed, until: float, outcome, took: float = 0.0):
    """The daemon's loop without the daemon: returns (time, attempt) of every check started,
    the rounds decided, and the final snapshot. `outcome(attempt, t)` -> ProofSeen kwargs."""
    now, started, rounds, state = JOIN + 0.05, [], 0, ()
    while now <= until:
        d = decide(cfg, {}, observed, state, now)
        state = d.desired
        rounds += 1
        for p in asks(d):
            started.append((now, p.attempt))
            observed = fold(observed, answer(p, now + took, **outcome(p.attempt, now)))
        if asks(d):
            continue  # the result is an event: decide again at once, as the daemon does
        assert d.wake_at is None or d.wake_at > now, "a wake-up in the past is a busy loop"
        if d.wake_at is None:
            break
        now = d.wake_at
    return started, rounds, observed


def test_a_failed_proof_is_retried_at_the_backoff_times_and_never_trusted_meanwhile():
    refused = lambda attempt, t: {"error": "[Errno 111] Connection refused"}  # noqa: E731
    started, rounds, observed = drive(config(), on_lan(), JOIN + 300, refused)
    times = [t for t, _ in started]
    assert [a for _, a in started] == list(range(1, len(started) + 1))
    gaps = [round(b - a, 6) for a, b in zip(times, times[1:])]
    assert gaps[:6] == [2.0, 5.0, 15.0, 30.0, 60.0, 60.0] == [*RETRY_BACKOFF, 60.0]
    assert rounds < 3 * len(started) + 3, "woken only for retries and the identify timeout"
    d = decide(config(), {}, observed, (), times[-1] + 1)
    assert view(d).verdict is Verdict.FOREIGN and view(d).unverified
    assert d.desired and not any(isinstance(c, DeleteRoute) for c in d.desired), "tunnel route kept"
    assert "not proven: [Errno 111] Connection refused (retrying)" in view(d).reasons[0]
    (pv,) = view(d).proofs
    assert (pv.result, pv.attempt, pv.error) == ("failed", len(started), "[Errno 111] Connection refused")
    assert pv.next_at == times[-1] + 60.0 == d.wake_at


def test_backoff_counts_from_when_the_check_ended():
    """A check that times out after 2 s is asked again 2 s after it gave up, not at once."""
    started, _, _ = drive(config(), on_lan(), JOIN + 30, lambda a, t: {"error": "timed out"}, took=2.0)
    times = [t for t, _ in started]
    assert [round(b - a, 6) for a, b in zip(times, times[1:])][:3] == [4.0, 7.0, 17.0]


def test_success_after_failures_trusts_the_lan_and_moves_the_route():
    sshd_up = JOIN + 6.0  # sshd answers from here on
    outcome = lambda attempt, t: {"sha256": RIGHT} if t >= sshd_up else {"error": "Connection refused"}  # noqa: E731
    started, _, observed = drive(config(), on_lan(), JOIN + 120, outcome)
    assert [a for _, a in started] == [1, 2, 3]  # refused at +0.05 and +2.05, proven at +7.05
    assert started[-1][0] - sshd_up <= RETRY_BACKOFF[1], "the LAN is used within one backoff step"
    foreign = decide(config(), {}, fold(on_lan(), answer(Prove("lan0", HOST, 22, PIN, 2), JOIN + 2.05,
                                                         error="Connection refused")), (), JOIN + 4.0)
    assert view(foreign).verdict is Verdict.FOREIGN
    d = decide(config(), {}, observed, foreign.desired, started[-1][0])
    assert view(d).verdict is Verdict.TRUSTED
    assert Apply(DeleteRoute(WG_OFFICE), "new") in d.steps, "office traffic leaves the tunnel"
    assert d.wake_at is None and not asks(d), "a proven site is not checked again"


def test_a_wrong_key_is_an_answer_not_retried_fast_and_never_trusted():
    started, _, observed = drive(config(), on_lan(), JOIN + 200, lambda a, t: {"sha256": WRONG})
    times = [t for t, _ in started]
    assert [round(b - a, 6) for a, b in zip(times, times[1:])] == [RECHECK_WRONG] * (len(times) - 1)
    assert len(times) == 4  # +0.05, +60, +120, +180 in 200 s
    d = decide(config(), {}, observed, (), times[-1] + 1)
    assert view(d).verdict is Verdict.FOREIGN and not view(d).unverified
    assert view(d).proofs[0].result == "wrong"
    assert "this is not oslo" in d.warnings[0]
    # the right key coming back (at a re-check) is what makes it the office
    back = fold(observed, answer(Prove("lan0", HOST, 22, PIN, 5), times[-1] + 60, sha256=RIGHT))
    assert view(decide(config(), {}, back, (), times[-1] + 60)).verdict is Verdict.TRUSTED


def test_a_host_that_cannot_sign_with_the_pinned_key_is_a_conclusive_answer():
    refuted = lambda a, t: {"error": "the server's signature does not verify", "conclusive": True}  # noqa: E731
    started, _, observed = drive(config(), on_lan(), JOIN + 100, refuted)
    assert len(started) == 2 and round(started[1][0] - started[0][0], 6) == RECHECK_WRONG
    d = decide(config(), {}, observed, (), JOIN + 1.0)
    assert view(d).verdict is Verdict.FOREIGN, "not even 'identifying': the answer is in"


def _failed_four_times() -> Observed:
    _, _, observed = drive(config(), on_lan(), JOIN + 25, lambda a, t: {"error": "Connection refused"})
    assert observed.proofs[0].attempt == 4
    return observed


def test_leaving_and_rejoining_starts_the_backoff_over():
    o = _failed_four_times()
    o = fold(fold(o, LinkState("lan0", carrier=False)), LinkState("lan0", carrier=True))
    d = decide(config(), {}, o, (), JOIN + 30)
    assert asks(d) == [Prove("lan0", HOST, 22, PIN, attempt=1)], "checked at once, as a first join"
    # and a new address (another lease) too
    o = _failed_four_times()
    o = fold(fold(o, AddressRemoved(ADDR)), AddressAdded(replace(ADDR, interface=ipaddress.ip_interface(
        "172.20.10.51/24")), JOIN + 30))
    assert asks(decide(config(), {}, o, (), JOIN + 30)) == [Prove("lan0", HOST, 22, PIN, attempt=1)]


def test_a_new_lease_resets_the_backoff_but_a_renewal_does_not():
    o = _failed_four_times()
    renewed = fold(o, LeaseSeen(LEASE))
    assert renewed.proofs == o.proofs
    assert asks(decide(config(), {}, renewed, (), JOIN + 30)) == []  # still waiting for +52 s
    filled_in = fold(fold(o, LeaseSeen(replace(LEASE, server_id=None))), LeaseSeen(LEASE))
    assert filled_in.proofs == o.proofs, "a fact left out for a moment is not a new lease"
    other_server = fold(o, LeaseSeen(replace(LEASE, server_id=ip("172.20.10.2"))))
    assert other_server.proofs == ()
    assert asks(decide(config(), {}, other_server, (), JOIN + 30)) == [Prove("lan0", HOST, 22, PIN, attempt=1)]


def test_no_check_is_asked_where_the_passive_evidence_already_rules_the_site_out():
    """A café's LAN on the office prefix (another DNS domain): no knocking on its port 22."""
    cafe = fold(on_lan(), LeaseSeen(replace(LEASE, domain="cafe.test")))
    d = decide(config(), {}, cafe, (), JOIN + 0.1)
    assert view(d).verdict is Verdict.FOREIGN and asks(d) == [] and view(d).proofs == ()


def test_a_retry_in_flight_is_not_a_reason_to_spin():
    """The daemon may decide many times while a check runs (other events): each time the same
    Prove (it starts it once) and no wake-up in the past."""
    o = fold(on_lan(), answer(Prove("lan0", HOST, 22, PIN, 1), JOIN + 0.1, error="Connection refused"))
    for now in (JOIN + 2.1, JOIN + 2.5, JOIN + 3.5):
        d = decide(config(), {}, o, (), now)
        assert asks(d) == [Prove("lan0", HOST, 22, PIN, attempt=2)]
        assert d.wake_at is None or d.wake_at > now
    assert decide(config(), {}, o, (), JOIN + 2.1).views == decide(config(), {}, o, (), JOIN + 2.5).views, \
        "the view does not change while the check runs: the status file is not rewritten each round"


# --- what `netdwg guard status` shows ---------------------------------------------------

def _status_after_failures(join=JOIN):
    o = fold(on_lan(join), answer(Prove("lan0", HOST, 22, PIN, 3), join + 7.0, error="Connection refused"))
    return decide(config(), {}, o, (), join + 8.0)


def test_status_json_has_the_failed_check_with_wall_clock_times():
    d = _status_after_failures()
    before = time.time()
    status = status_json(d, d.desired, config(), pid=1)
    (proof,) = status["sites"][0]["proofs"]
    assert {k: proof[k] for k in ("kind", "host", "port", "dev", "result", "error", "attempt")} == {
        "kind": "ssh", "host": "172.20.10.5", "port": 22, "dev": "lan0", "result": "failed",
        "error": "Connection refused", "attempt": 3}
    # next try 15 s after the third failure ended, in wall-clock seconds
    offset = before - time.monotonic()
    assert abs(proof["next_try"] - (JOIN + 7.0 + 15.0 + offset)) < 1.0
    assert describe_proof(proof, proof["next_try"] - 12.2) == (
        "ssh 172.20.10.5:22 via lan0: failed (Connection refused), attempt 3, next try in 12 s")
    assert describe_proof(proof, proof["next_try"] + 1).endswith("attempt 3, checking again now")
    # `netdwg guard status` without a guard decides afresh but runs no check: it says so
    fresh = status_json(decide(config(), {}, on_lan(), (), JOIN + 0.1), (), config())["sites"][0]["proofs"][0]
    assert describe_proof(fresh, time.time(), running=False) == (
        "ssh 172.20.10.5:22 via lan0: not checked (only a running guard checks)")


def test_guard_status_prints_the_failed_check_of_a_running_guard(tmp_path, capsys):
    conf = tmp_path / "guard.conf"
    from netdwg.topology.guard_config import render_guard_config

    conf.write_text(render_guard_config(config()))
    d = _status_after_failures(join=time.monotonic() - 8.0)  # the third check failed a second ago
    # a stand-in for the running guard: a live process whose command line names the guard
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "netdwg-guard"])
    # until it has exec'd, its command line is pytest's, which may not name the guard
    deadline = time.monotonic() + 10
    while b"netdwg-guard" not in Path(f"/proc/{stand_in.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        status = status_json(d, d.desired, config(), pid=stand_in.pid)
        (tmp_path / "status").write_text(json.dumps(status))
        assert main(["guard", "status", "--config", str(conf), "--learned", str(tmp_path / "l.json"),
                     "--status", str(tmp_path / "status")]) == 0
        out = capsys.readouterr().out
        assert f"running, pid {stand_in.pid}" in out and "oslo: foreign on lan0" in out
        assert re.search(r"ssh 172\.20\.10\.5:22 via lan0: failed \(Connection refused\), attempt 3, "
                         r"next try in 1[34] s\n", out), out
        assert "not verified as oslo" in out
        assert main(["guard", "status", "--json", "--config", str(conf), "--learned", str(tmp_path / "l.json"),
                     "--status", str(tmp_path / "status")]) == 0
        assert json.loads(capsys.readouterr().out)["sites"][0]["proofs"][0]["attempt"] == 3
    finally:
        stand_in.kill()
        stand_in.wait()
