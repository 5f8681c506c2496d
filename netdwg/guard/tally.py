"""The guard's counters: the changes it made, by action and site, and how long it took to react,
as cumulative counts with fixed histogram bounds. The daemon keeps one `Tally`, writes it into
its status file (netdwg/guard/status.py) with the rest, and `netdwg metrics` exports it as
Prometheus counters and a histogram.

Counts start at zero when the guard starts and only grow while it runs; `started` (the wall
clock of that start) is exported as the counters' `_created` time, so a restart reads as a
counter reset, which Prometheus's rate() and increase() already handle. The bounds never
change: a histogram whose buckets moved between two scrapes could not be subtracted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from netdwg.guard.policy import AddRoute, AddRule, Apply, DeleteRoute, SwapAllowedIps, Undo

# Seconds. A reaction on passive evidence is milliseconds (bench/bench_guard.py); one that waits
# for an SSH or TLS proof, or for the identification timeout, is seconds.
REACTION_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# What the trigger label says: the clock started at a lease (from networkd or NetworkManager over
# D-Bus, at the signal that brought it, or a lease file), else at the first event after the guard last
# had nothing to do (an address, a route, carrier: netlink).
TRIGGERS = ("lease", "link")

_KINDS = {DeleteRoute: "delete_route", AddRoute: "add_route", SwapAllowedIps: "swap_allowed_ips",
          AddRule: "add_rule"}


def action_of(step: Apply | Undo) -> str:
    """`do_delete_route`, `undo_delete_route`, ...: the verb of the step's `[#]` line and the kind
    of change (netdwg.guard.actions.execute; the kinds of netdwg.guard.state)."""
    return f"{'undo' if isinstance(step, Undo) else 'do'}_{_KINDS[type(step.change)]}"


@dataclass(frozen=True, slots=True)
class Histogram:
    """Cumulative counts per bound of REACTION_BOUNDS, then +Inf (= the number of samples)."""

    buckets: tuple[int, ...] = (0,) * (len(REACTION_BOUNDS) + 1)
    sum: float = 0.0

    @property
    def count(self) -> int:
        return self.buckets[-1]

    def observe(self, seconds: float) -> Histogram:
        bounds = REACTION_BOUNDS + (math.inf,)
        return Histogram(tuple(n + (seconds <= b) for n, b in zip(self.buckets, bounds)), self.sum + seconds)


@dataclass(frozen=True, slots=True)
class Tally:
    started: float = 0.0  # wall clock, Unix seconds
    decisions: tuple[tuple[str, str, int], ...] = ()  # (action, site, count), sorted
    failures: tuple[tuple[str, str, int], ...] = ()  # steps that failed, same keys
    reactions: tuple[tuple[str, Histogram], ...] = field(default=tuple((t, Histogram()) for t in TRIGGERS))
    last_reaction: float | None = None  # seconds, the latest sample

    def counted(self, outcomes) -> Tally:
        """Count the Apply and Undo steps of executed outcomes (netdwg.guard.actions.Outcome)."""
        done = {(a, s): n for a, s, n in self.decisions}
        failed = {(a, s): n for a, s, n in self.failures}
        for outcome in outcomes:
            step = outcome.step
            if isinstance(step, (Apply, Undo)):
                into = done if outcome.ok else failed
                key = (action_of(step), step.change.site)
                into[key] = into.get(key, 0) + 1
        return replace(self, decisions=_rows(done), failures=_rows(failed))

    def observed(self, trigger: str, seconds: float) -> Tally:
        return replace(self, reactions=tuple((t, h.observe(seconds) if t == trigger else h)
                                             for t, h in self.reactions), last_reaction=seconds)

    def to_json(self) -> dict:
        return {"started": self.started,
                "decisions": [{"action": a, "site": s, "count": n} for a, s, n in self.decisions],
                "failures": [{"action": a, "site": s, "count": n} for a, s, n in self.failures],
                "reaction_seconds": {"bounds": list(REACTION_BOUNDS),
                                     "series": [{"trigger": t, "buckets": list(h.buckets), "sum": h.sum}
                                                for t, h in self.reactions]}}


def _rows(counts: dict[tuple[str, str], int]) -> tuple[tuple[str, str, int], ...]:
    return tuple((a, s, n) for (a, s), n in sorted(counts.items()))


def tally_from_json(data: dict) -> Tally:
    """The counters of a status file (ValueError, KeyError or TypeError when they are not well formed:
    the reader decides what an unreadable status means)."""
    def rows(items) -> tuple[tuple[str, str, int], ...]:
        return tuple((str(r["action"]), str(r["site"]), int(r["count"])) for r in items)

    reaction = data["reaction_seconds"]
    if tuple(float(b) for b in reaction["bounds"]) != REACTION_BOUNDS:
        raise ValueError("histogram bounds differ from this netdwg's (a guard of another version wrote it)")
    series = []
    for entry in reaction["series"]:
        buckets = tuple(int(n) for n in entry["buckets"])
        if len(buckets) != len(REACTION_BOUNDS) + 1 or list(buckets) != sorted(buckets):
            raise ValueError(f"histogram buckets {buckets} are not cumulative counts")
        series.append((str(entry["trigger"]), Histogram(buckets, float(entry["sum"]))))
    return Tally(float(data["started"]), rows(data["decisions"]), rows(data["failures"]), tuple(series))
