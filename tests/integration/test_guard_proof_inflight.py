"""The daemon's side of proof retries, with real sockets in a namespace: a check of a host that
is already being checked is not started twice, and a check that outlived its link (the policy
started over at attempt 1 meanwhile) does not bring back the old attempt count."""

from __future__ import annotations

import json
import os
import sys

import pytest

pytestmark = pytest.mark.root
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = r"""
import asyncio, ipaddress, json, socket, sys, time
from pathlib import Path
from netdwg.guard.daemon import Guard, GuardPaths
from netdwg.guard.observed import ProofSeen
from netdwg.guard.policy import Prove
from netdwg.keys import genkey
from netdwg.topology.guard_config import GuardConfig

async def main():
    tmp = Path(sys.argv[1])
    # a host that accepts the connection and never starts TLS: each check runs into its 2 s timeout
    listener = socket.create_server(("127.0.0.1", 8443))
    listener.setblocking(False)
    accepted = []
    async def accept():
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(listener)
            accepted.append(time.monotonic())
    acceptor = asyncio.get_running_loop().create_task(accept())
    hub = genkey().public_key()
    guard = Guard(GuardConfig("wg-none", hub), GuardPaths(learned=tmp / "learned.json", state=tmp / "state",
                                                              status=tmp / "status"), use_dbus=False)
    host = ipaddress.ip_address("127.0.0.1")
    t0 = time.monotonic()
    guard._start_proof(Prove("lo", host, 8443, attempt=3))
    await asyncio.sleep(0.2)
    guard._start_proof(Prove("lo", host, 8443, attempt=3))  # the policy asks again each round meanwhile
    guard._start_proof(Prove("lo", host, 8443, attempt=1))  # ... until the link was left and rejoined
    while guard._proving:
        await asyncio.sleep(0.05)
    stale = {"delivered": [e.proof.attempt for e in guard.pending if isinstance(e, ProofSeen)],
             "woken": guard.wakeup.is_set(), "took": round(time.monotonic() - t0, 2)}
    guard.wakeup.clear()
    guard._start_proof(Prove("lo", host, 8443, attempt=1))  # what the next round asks
    while guard._proving:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.05)
    fresh = [(e.proof.attempt, e.proof.error) for e in guard.pending if isinstance(e, ProofSeen)]
    acceptor.cancel()
    print(json.dumps({"stale": stale, "fresh": fresh, "connections": len(accepted)}))

asyncio.run(main())
"""


def test_one_check_per_host_at_a_time_and_a_stale_answer_is_dropped(sandbox, tmp_path):
    ns = sandbox.netns("prf")
    ns.run(["ip", "link", "set", "lo", "up"])
    out = ns.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env={"PYTHONPATH": REPO}, timeout=30).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["stale"]["delivered"] == [], "the answer of attempt 3 came from before the reset"
    assert got["stale"]["woken"], "the policy is asked again at once instead"
    assert 1.8 <= got["stale"]["took"] < 3.0, got  # the one check ran into its 2 s timeout
    assert got["fresh"] == [[1, "timed out"]], got
    assert got["connections"] == 2, "three asks while one check ran: one connection; then the fresh one"
