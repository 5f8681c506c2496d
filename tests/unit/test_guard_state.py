"""The record of changes under /run: round trip, atomic writes, unreadable files."""

from __future__ import annotations

import ipaddress
import os

import pytest

from netdwg.errors import ParseError
from netdwg.guard.observed import Route
from netdwg.guard.policy import AddRoute, DeleteRoute, SwapAllowedIps
from netdwg.guard.state import GuardState, load_state, parse_state, render_state, save_state
from netdwg.keys import genkey

net = ipaddress.ip_network
HUB = genkey().public_key()
CHANGES = (
    AddRoute(Route(net("172.20.10.0/24"), "wg0", 1025, proto=4, scope=253), "oslo"),
    DeleteRoute(Route(net("172.20.10.0/24"), "wg0", 0, table=100, gateway=ipaddress.ip_address("10.99.0.1")), "oslo"),
    SwapAllowedIps(HUB, net("172.20.10.0/24"), net("172.20.0.0/16"), "oslo"),
)


def test_round_trip_keeps_every_attribute_needed_to_undo():
    state = GuardState(CHANGES, 1234)
    back = parse_state(render_state(state))
    assert back == state
    assert back.changes[1].route.gateway == ipaddress.ip_address("10.99.0.1") and back.changes[1].route.table == 100
    assert [c.site for c in back.changes] == ["oslo"] * 3


def test_save_is_atomic_and_an_empty_state_removes_the_file(tmp_path):
    path = tmp_path / "run" / "guard.state"
    save_state(path, GuardState(CHANGES, 1))
    assert load_state(path) == GuardState(CHANGES, 1)
    assert [p.name for p in path.parent.iterdir()] == ["guard.state"], "no temp files left"
    save_state(path, GuardState())
    assert not path.exists()
    assert load_state(path) == GuardState(), "a missing file means nothing in effect"


def test_an_unreadable_state_is_a_user_error_with_a_fix(tmp_path):
    path = tmp_path / "guard.state"
    path.write_text('{"version": 1, "changes": [{"kind": "teleport"}]}')
    with pytest.raises(ParseError) as err:
        load_state(path)
    assert "ip route show" in err.value.fix
    path.write_text("{truncated")
    with pytest.raises(ParseError):
        load_state(path)
