"""Active proofs (a pinned TLS certificate, a pinned SSH host key): which to ask for on a
link, and when to ask again. Pure: everything comes from the Proof values in the observed
snapshot (each carries when it ended and which attempt it was) and the time, so a restarted
guard starts over at attempt 1 and converges on the same answers.

Two ways a check can end without proving the site, treated differently on purpose:

* it FAILED: no answer (refused, reset, timeout, no route, closed mid-exchange). That says
  nothing about the network: the office server may not be reachable yet in the first seconds
  after DHCP. Asked again soon, then less and less often (RETRY_BACKOFF).
* it was ANSWERED WRONG: another certificate or host key, or a host that cannot sign with the
  pinned key. That is an answer (another network, or an impostor), not a failure: asked again
  only every RECHECK_WRONG seconds, and the site is trusted only if the pinned key comes back.

Leaving the LAN (carrier loss, address gone) or a new lease forgets a link's proofs
(observed.fold), which resets the backoff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from netdwg.guard.observed import Proof
from netdwg.topology.guard_config import Fingerprint, SshHostKey
from netdwg.wireguard import IPAddress

# Seconds after a failed check before the next one, by attempt (1st failure: 2 s, ...; from the
# 5th on: every 60 s). The first retries come fast because the usual failure is transient and
# short: a switch port still in RSTP learning (~2 s) or an sshd/HTTPS server behind a host that
# answers ARP a moment after the lease, or one lost SYN (the kernel's 1 s retransmit falls
# outside the 2 s check timeout on a bad link). Later ones slow down so an office whose server
# is really down costs one connection a minute, not a stream of them, while the laptop still
# leaves the hairpin within a minute of the server coming back.
RETRY_BACKOFF = (2.0, 5.0, 15.0, 30.0, 60.0)

# Seconds before a check that was answered with the wrong key is asked again. Not sooner: an
# impostor's answer does not change by asking again, and each check is a connection to a host
# on a network we do not trust. Not never: the real server may come back on the same prefix
# (e.g. after a failover to a box with another key, or the impostor leaving the segment).
RECHECK_WRONG = 60.0

UNCHECKED, PROVEN, WRONG, FAILED = "unchecked", "proven", "wrong", "failed"


@dataclass(frozen=True, slots=True)
class Prove:
    """Fetch the certificate of an office host through one link (SO_BINDTODEVICE: the tunnel
    route still covers the host) and report its SHA-256 as a ProofSeen event; with an SSH
    pin, have the host prove it holds that host key instead. `attempt` counts the checks of
    this host on this link since it joined (the daemon copies it into the Proof)."""

    dev: str
    host: IPAddress
    port: int
    ssh: SshHostKey | None = None  # None: a TLS check
    attempt: int = 1

    @property
    def kind(self) -> str:
        return "tls" if self.ssh is None else "ssh"


@dataclass(frozen=True, slots=True)
class Target:
    """One host:port to check, with every digest pinned for it by the fingerprints in play."""

    kind: str
    host: IPAddress
    port: int
    sha256s: tuple[str, ...]
    ssh: SshHostKey | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ProofView:
    """What `netdwg guard status` shows of one check on one link."""

    dev: str
    kind: str
    host: IPAddress
    port: int
    result: str  # unchecked, proven, wrong, failed
    error: str = ""
    attempt: int = 0  # checks done so far on this link
    at: float | None = None  # monotonic time the last check ended
    next_at: float | None = None  # monotonic time the next check falls due (past: running); None: proven or first

    def to_json(self, mono_to_wall: float) -> dict:
        """`mono_to_wall`: add to a monotonic time to get a wall-clock (epoch) time."""
        return {"dev": self.dev, "kind": self.kind, "host": str(self.host), "port": self.port,
                "result": self.result, "error": self.error, "attempt": self.attempt,
                "at": None if self.at is None else round(self.at + mono_to_wall, 3),
                "next_try": None if self.next_at is None else round(self.next_at + mono_to_wall, 3)}


def targets_of(fingerprints: tuple[Fingerprint, ...]) -> tuple[Target, ...]:
    found: dict[tuple, list] = {}
    ssh_of: dict[tuple, SshHostKey] = {}
    for fp in fingerprints:
        for pin in fp.tls_pins:
            found.setdefault(("tls", pin.host, pin.port), []).append(pin.sha256)
        for key in fp.ssh_host_keys:
            found.setdefault(("ssh", key.host, key.port), []).append(key.sha256)
            ssh_of.setdefault(("ssh", key.host, key.port), key)
    return tuple(Target(kind, host, port, tuple(dict.fromkeys(digests)), ssh_of.get((kind, host, port)))
                 for (kind, host, port), digests in found.items())


def result_of(target: Target, proof: Proof | None) -> str:
    if proof is None:
        return UNCHECKED
    if proof.error:
        return WRONG if proof.conclusive else FAILED
    return PROVEN if proof.sha256 in target.sha256s else WRONG


def next_check_at(target: Target, proof: Proof | None) -> float | None:
    """When to check again: -inf (now) if never checked, None once proven."""
    result = result_of(target, proof)
    if result == UNCHECKED:
        return -math.inf
    if result == PROVEN:
        return None
    if result == FAILED:
        return proof.at + RETRY_BACKOFF[min(max(proof.attempt, 1), len(RETRY_BACKOFF)) - 1]
    return proof.at + RECHECK_WRONG


def plan_proofs(dev: str, targets: tuple[Target, ...], proofs: tuple[Proof, ...],
                now: float) -> tuple[tuple[Prove, ...], tuple[ProofView, ...], float | None]:
    """The checks to start on `dev` now, what each target's state is, and the earliest later
    time one falls due (the daemon's wake-up). A check asked for now adds no wake-up: its
    result arrives as an event (the daemon never runs two of the same host at once), so a
    retry in flight is no reason to spin."""
    asks: list[Prove] = []
    views: list[ProofView] = []
    wake: float | None = None
    for t in targets:
        proof = next((p for p in proofs if (p.dev, p.kind, p.host, p.port) == (dev, t.kind, t.host, t.port)), None)
        due = next_check_at(t, proof)
        result = result_of(t, proof)
        if due is not None and due <= now:
            asks.append(Prove(dev, t.host, t.port, ssh=t.ssh if t.kind == "ssh" else None,
                              attempt=(proof.attempt + 1) if proof else 1))
            # shown as it fell due (in the past: being checked), not as `now`: the view stays
            # equal from one round to the next, so the status file is not rewritten each time
            due = None if proof is None else due
        elif due is not None:
            wake = due if wake is None else min(wake, due)
        views.append(ProofView(dev, t.kind, t.host, t.port, result, proof.error if proof else "",
                               proof.attempt if proof else 0, proof.at if proof else None, due))
    return tuple(asks), tuple(views), wake
