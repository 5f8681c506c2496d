"""Properties of the planner (Hypothesis): executing a plan's peer changes the way a
device does turns the live device into the desired one, touching nothing else."""

from __future__ import annotations

import dataclasses
import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from netdwg.keys import PresharedKey, PrivateKey, PublicKey
from netdwg.plan import DesiredHost, HostState, diff_device, plan_host
from netdwg.plan.redact import unified_diff
from netdwg.wireguard import Endpoint, LiveDevice, PeerStatus, WgDevice, WgPeer

KEYS = [PublicKey(bytes([i]) * 32) for i in range(1, 9)]
PSKS = [None, PresharedKey(b"\x01" * 32), PresharedKey(b"\x02" * 32)]
NETS = [ipaddress.ip_network(n) for n in ("10.0.0.1/32", "10.0.0.2/32", "172.20.10.0/24", "fd00::1/128")]
ENDPOINTS = [None, Endpoint("198.51.100.1", 51820), Endpoint("203.0.113.7", 40000)]

peers = st.builds(WgPeer, st.sampled_from(KEYS), st.lists(st.sampled_from(NETS), unique=True).map(tuple),
                  st.sampled_from(PSKS), st.sampled_from(ENDPOINTS), st.sampled_from([0, 25]))
devices = st.lists(peers, unique_by=lambda p: p.public_key, max_size=6).map(
    lambda ps: WgDevice("wg0", PrivateKey(b"\x07" * 32), 51820, 0, tuple(ps)))


def execute(live: WgDevice, changes) -> WgDevice:
    """What a WireGuard device does with the changes (UAPI/genetlink semantics)."""
    current = {p.public_key: p for p in live.peers}
    for change in changes:
        if change.action == "remove":
            current.pop(change.peer.public_key)
        elif change.action == "add":
            assert change.peer.public_key not in current
            current[change.peer.public_key] = change.peer
        else:
            old = current[change.peer.public_key]
            current[change.peer.public_key] = dataclasses.replace(
                old, **{f: getattr(change.peer, f) for f in change.fields})
    return dataclasses.replace(live, peers=tuple(current.values()))


@settings(max_examples=300, deadline=None)
@given(devices, devices)
def test_plan_then_execute_reaches_the_desired_device_and_spares_the_rest(live, desired):
    desired = dataclasses.replace(desired, private_key=live.private_key)
    _, changes, _ = diff_device(desired, LiveDevice(live), now=0.0)
    result = execute(live, changes)
    have = {p.public_key: p for p in result.peers}
    assert set(have) == {p.public_key for p in desired.peers}
    for want in desired.peers:
        got = have[want.public_key]
        old = live.peer(want.public_key)
        expected_endpoint = want.endpoint if want.endpoint is not None else (old.endpoint if old else None)
        assert dataclasses.replace(want, endpoint=expected_endpoint, name="").same_config(got)
    touched = {c.peer.public_key for c in changes}
    for old in live.peers:
        if old.public_key not in touched:
            assert have[old.public_key] == old  # untouched peers are left exactly as they were
    # Never a remove-and-add of the same peer: that would drop its session.
    actions = {}
    for c in changes:
        actions.setdefault(c.peer.public_key, []).append(c.action)
    assert all(len(a) == 1 for a in actions.values())


@settings(max_examples=200, deadline=None)
@given(devices)
def test_a_second_plan_after_executing_is_empty(desired):
    live = LiveDevice(dataclasses.replace(desired, peers=()))
    _, changes, _ = diff_device(desired, live, now=0.0)
    after = execute(live.device, changes)
    status = tuple(PeerStatus(p.public_key) for p in after.peers)
    assert plan_host(DesiredHost((), (desired,)), HostState(devices=(LiveDevice(after, status),), live=True)).is_empty


lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "[WireGuardPeer]\n", "AllowedIPs=10.0.0.1/32\n", "\n"]),
                 max_size=40)


def patch(old: list[str], diff: str) -> list[str]:
    """Apply a unified diff (as `patch` does, strictly: context must match)."""
    import re

    out, position = [], 0
    body = diff.splitlines(keepends=True)[2:]
    for line in body:
        hunk = re.match(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", line)
        if hunk:
            start = int(hunk.group(1)) - (0 if hunk.group(2) == "0" else 1)
            out.extend(old[position:start])
            position = start
        elif line[0] == " ":
            assert old[position] == line[1:]
            out.append(line[1:])
            position += 1
        elif line[0] == "-":
            assert old[position] == line[1:]
            position += 1
        elif line[0] == "+":
            out.append(line[1:])
    return out + old[position:]


@settings(max_examples=300, deadline=None)
@given(lines, lines)
def test_the_trimmed_diff_is_a_correct_patch_from_old_to_new(a, b):
    got = unified_diff("/f", "".join(a), "".join(b), frozenset(), False)
    if a == b:
        assert got == ""
    else:
        assert patch(a, got) == b
        assert "only secret values changed" not in got
