"""The guard's status: what the daemon writes to its status file after each decision and
`netdwg guard status` prints (--json as is)."""

from __future__ import annotations

import time

from netdwg.guard.policy import Decision
from netdwg.guard.tally import Tally
from netdwg.topology.guard_config import GuardConfig


def status_json(decision: Decision | None, state, config: GuardConfig, pid: int = 0,
                endpoint_resets: int = 0, tally: Tally | None = None) -> dict:
    mono_to_wall = time.time() - time.monotonic()  # proofs carry monotonic times; status shows wall clock
    return {
        "pid": pid,
        "updated": time.time(),
        "interface": config.interface,
        "sites": [{"site": v.site, "verdict": str(v.verdict), "dev": v.dev,
                   "address": str(v.address) if v.address else None, "lan_metric": v.lan_metric,
                   "reasons": list(v.reasons), "proofs": [p.to_json(mono_to_wall) for p in v.proofs]}
                  for v in (decision.views if decision else ())],
        "in_effect": [c.describe() for c in state],
        "warnings": list(decision.warnings) if decision else [],
        "endpoint_resets": endpoint_resets,
        "last_reaction_ms": tally.last_reaction * 1000 if tally and tally.last_reaction is not None else None,
        # cumulative since the guard started (netdwg/guard/tally.py): `netdwg metrics` exports them
        "counters": tally.to_json() if tally else None,
    }
