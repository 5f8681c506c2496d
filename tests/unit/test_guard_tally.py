"""The guard's counters (netdwg/guard/tally.py) and their export by `netdwg metrics`."""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess

import pytest

from netdwg.cli._metrics_collect import guard_counter_families
from netdwg.guard.actions import Outcome
from netdwg.guard.observed import Route
from netdwg.guard.policy import AddRoute, AddRule, Apply, DeleteRoute, Probe, Undo
from netdwg.guard.tally import REACTION_BOUNDS, Tally, action_of, tally_from_json

TUNNEL = Route(ipaddress.ip_network("172.20.10.0/24"), "wg0")
DELETE = DeleteRoute(TUNNEL, "oslo")


def test_actions_are_the_verb_and_the_kind_of_change():
    assert action_of(Apply(DELETE, "new")) == "do_delete_route"
    assert action_of(Undo(DELETE, "no longer needed")) == "undo_delete_route"
    assert action_of(Apply(AddRule(4, site="oslo"), "new")) == "do_add_rule"
    assert action_of(Undo(AddRoute(TUNNEL, "oslo"), "stopping")) == "undo_add_route"


def test_counted_by_action_and_site_failures_apart_probes_not_at_all():
    other = DeleteRoute(Route(ipaddress.ip_network("172.20.20.0/24"), "wg0"), "bergen")
    tally = Tally().counted([Outcome(Apply(DELETE, "new")), Outcome(Probe("lan0", ipaddress.ip_address("172.20.10.1"))),
                             Outcome(Apply(other, "new"), error="No such device")])
    tally = tally.counted([Outcome(Undo(DELETE, "no longer needed")), Outcome(Apply(DELETE, "new"))])
    assert tally.decisions == (("do_delete_route", "oslo", 2), ("undo_delete_route", "oslo", 1))
    assert tally.failures == (("do_delete_route", "bergen", 1),)


def test_histogram_buckets_are_cumulative_with_fixed_bounds():
    tally = Tally().observed("lease", 0.004).observed("lease", 0.004).observed("lease", 0.3).observed("link", 100)
    lease = dict(tally.reactions)["lease"]
    at = dict(zip(REACTION_BOUNDS + (float("inf"),), lease.buckets))
    assert (at[0.0025], at[0.005], at[0.25], at[0.5], at[float("inf")]) == (0, 2, 2, 3, 3)
    assert lease.sum == pytest.approx(0.308)
    assert dict(tally.reactions)["link"].buckets == (0,) * len(REACTION_BOUNDS) + (1,)  # only +Inf holds 100 s
    assert tally.last_reaction == 100


def test_the_status_files_form_reads_back_and_wrong_bounds_are_refused():
    tally = Tally(started=1.7e9).counted([Outcome(Apply(DELETE, "new"))]).observed("lease", 0.01)
    data = json.loads(json.dumps(tally.to_json()))
    assert tally_from_json(data) == tally.__class__(tally.started, tally.decisions, tally.failures, tally.reactions)
    data["reaction_seconds"]["bounds"] = [0.1, 1]
    with pytest.raises(ValueError, match="bounds"):
        tally_from_json(data)
    data = tally.to_json()
    data["reaction_seconds"]["series"][0]["buckets"] = [3, 1] + [1] * len(REACTION_BOUNDS)
    with pytest.raises(ValueError, match="cumulative"):
        tally_from_json(data)


def _text(families) -> str:
    from prometheus_client import CollectorRegistry, generate_latest

    class Families:
        def collect(self):
            yield from families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families())
    return generate_latest(registry).decode()


def test_exported_as_prometheus_counters_and_a_histogram():
    tally = (Tally(started=1.7e9).counted([Outcome(Apply(DELETE, "new")), Outcome(Undo(DELETE, "left"))])
             .observed("lease", 0.004))
    text = _text(guard_counter_families({"counters": tally.to_json()}))
    assert 'netdwg_guard_decisions_total{action="do_delete_route",site="oslo"} 1.0' in text
    assert 'netdwg_guard_decisions_created{action="do_delete_route",site="oslo"} 1.7e+09' in text
    assert 'netdwg_guard_reaction_seconds_bucket{le="0.005",trigger="lease"} 1.0' in text
    assert 'netdwg_guard_reaction_seconds_bucket{le="0.0025",trigger="lease"} 0.0' in text
    assert 'netdwg_guard_reaction_seconds_count{trigger="link"} 0.0' in text
    if shutil.which("promtool"):
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                               timeout=60)
        assert check.returncode == 0 and check.stdout + check.stderr == "", check.stdout + check.stderr


def test_a_status_file_without_counters_exports_none():
    assert guard_counter_families({"pid": 1}) == []
    assert guard_counter_families({"counters": {"started": "soon"}}) == []
