"""A laptop whose WireGuard profile NetworkManager owns (backend = networkmanager, guard.conf
managed_by = networkmanager): the guard's action must be one NetworkManager does not undo.

NetworkManager 1.42 puts the main-table routes of an active profile back on reapply and reconnect, and with
ipv4.route-table 0 it "will not delete any extraneous routes from tables except the main table"
(settings-nmcli(5)). So the guard leaves NetworkManager's tunnel routes alone and routes a trusted LAN
through its own table, looked up by one rule before main. (Activating a WireGuard profile needs the kernel
module, which this project's machines lack, so this is proven here on NetworkManager's documented rules.)"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from netdwg.guard.observed import Route, RouteAdded, RouteRemoved, fold
from netdwg.guard.policy import (GUARD_RULE_PRIORITY, GUARD_TABLE, AddRoute, AddRule, Apply, DeleteRoute,
                                 SwapAllowedIps, Undo, decide, undo_all)
from netdwg.guard.state import change_from_json, change_to_json
from netdwg.topology.guard_config import Action, parse_guard_config, render_guard_config
from test_guard_policy import ADDR, OFFICE, WG_OFFICE, away, config, on_lan

net = ipaddress.ip_network


def nm_config(action=Action.REMOVE, **kw):
    return replace(config(action, **kw), managed_by="networkmanager")


def run(cfg, observed, state=()):
    return decide(cfg, {}, observed, tuple(state), 10.1)


LAN_IN_GUARD_TABLE = Route(OFFICE, "lan0", 0, table=GUARD_TABLE, prefsrc=ADDR.interface.ip)


@pytest.mark.parametrize("action, widen_to", [(Action.REMOVE, None), (Action.METRIC, None),
                                               (Action.WIDEN, net("172.20.0.0/16"))])
def test_a_trusted_lan_goes_through_the_guard_table_and_networkmanagers_routes_stay(action, widen_to):
    d = run(nm_config(action, widen_to=widen_to), on_lan())
    assert d.desired == (AddRoute(LAN_IN_GUARD_TABLE), AddRule(4))
    assert not any(isinstance(c, (DeleteRoute, SwapAllowedIps)) for c in d.desired), \
        "NetworkManager would put a deleted route or a changed peer back on its next reapply"
    assert all(c.route.table == GUARD_TABLE for c in d.desired if isinstance(c, AddRoute))
    assert AddRule(4).describe() == f"rule -4 priority {GUARD_RULE_PRIORITY} lookup {GUARD_TABLE}"
    assert GUARD_RULE_PRIORITY < 32766, "looked up before the main table"


def test_networkmanager_reapplying_its_routes_changes_nothing():
    cfg = nm_config()
    d = run(cfg, on_lan())
    state = d.desired
    observed = fold(on_lan(), RouteAdded(LAN_IN_GUARD_TABLE))
    # a Reapply removes and re-adds NetworkManager's own tunnel route in main: no step either way
    for event in (RouteRemoved(WG_OFFICE), RouteAdded(WG_OFFICE)):
        observed = fold(observed, event)
        assert run(cfg, observed, state).steps == ()


def test_leaving_removes_the_rule_before_the_route():
    cfg = nm_config()
    state = run(cfg, on_lan()).desired
    d = run(cfg, away(), state)
    assert d.steps == (Undo(AddRule(4), "no longer needed"), Undo(AddRoute(LAN_IN_GUARD_TABLE), "no longer needed"))
    assert undo_all(state, "stop")[0].change == AddRule(4)


def test_a_foreign_lan_pins_keep_hosts_in_the_guard_table():
    foreign = on_lan(mac="02:00:00:99:99:99")
    d = run(nm_config(), foreign)
    assert d.desired == (AddRoute(Route(net("172.20.10.5/32"), "wg0", 0, table=GUARD_TABLE)), AddRule(4))


def test_without_networkmanager_nothing_changes():
    assert run(config(), on_lan()).desired == (DeleteRoute(WG_OFFICE),)


def test_the_rule_survives_the_state_file_and_guard_conf_round_trips():
    rule = AddRule(6, site="oslo")
    assert change_from_json(change_to_json(rule)) == rule
    cfg = nm_config()
    text = render_guard_config(cfg)
    assert "managed_by = networkmanager" in text
    assert parse_guard_config(text).managed_by == "networkmanager"
    assert parse_guard_config(render_guard_config(config())).managed_by == ""


def test_an_unknown_manager_is_refused_with_its_line():
    text = render_guard_config(config()).replace("[guard]\n", "[guard]\nmanaged_by = wicd\n")
    with pytest.raises(Exception) as err:
        parse_guard_config(text, "guard.conf")
    assert "managed_by" in str(err.value) and "guard.conf:" in str(getattr(err.value, "span", "")) + str(err.value)


@pytest.mark.parametrize("bad", [{"family": 5, "table": 1, "priority": 1}, {"family": 4, "table": "x", "priority": 1},
                                 {"family": 4, "table": 1}])
def test_a_state_file_with_a_bad_rule_is_refused_not_half_read(bad):
    from netdwg.errors import ParseError
    from netdwg.guard.state import parse_state
    import json
    text = json.dumps({"version": 1, "pid": 1, "changes": [{"kind": "add-rule", **bad}]})
    with pytest.raises(ParseError):
        parse_state(text)
