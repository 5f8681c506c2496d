"""Hypothesis properties of the minimal edits on generated peer files.

* removing a peer only deletes lines (every other line stays, in order), and
  the effective device loses exactly that peer;
* setting one peer's AllowedIPs changes no other peer and no line outside it;
* adding a peer and removing it again gives back the original bytes.
"""

from __future__ import annotations

import difflib
import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdwg.keys import PublicKey
from netdwg.unitfile import (add_peer, effective_unit, parse_unit, remove_peer, set_peer_allowed_ips, set_value,
                             sync_peers, to_wg_device)
from netdwg.wireguard import WgPeer

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_key = st.binary(min_size=32, max_size=32).map(PublicKey)
_net = st.tuples(st.integers(0, 255), st.integers(0, 255), st.sampled_from([24, 32])).map(
    lambda t: ipaddress.ip_network(f"10.{t[0]}.{t[1]}.0/{t[2]}", strict=False))
_comment = st.sampled_from(["", "# a peer\n", "; another\n", "\t# indented\n", "# two\n# lines\n"])
_gap = st.sampled_from(["\n", "", "\n\n", "# floating\n\n"])
_style = st.sampled_from(["AllowedIPs={}\n", "AllowedIPs = {}\n", "  AllowedIPs={}  \n"])
_peer = st.tuples(_key, st.lists(_net, min_size=1, max_size=3, unique=True), _comment, _gap, _style,
                  st.booleans())


def _text(peers, eol: str) -> str:
    parts = ["[NetDev]\nName=wg0\nKind=wireguard\n\n[WireGuard]\nListenPort=51820\n\n"]
    for key, nets, comment, gap, style, split in peers:
        parts.append(comment + f"[WireGuardPeer]\nPublicKey={key}\n")
        if split:  # one line per prefix, with a reset first
            parts.append("AllowedIPs=192.0.2.0/24\nAllowedIPs=\n")
            parts.extend(style.format(n) for n in nets)
        else:
            parts.append(style.format(",".join(map(str, nets))))
        parts.append(gap)
    return "".join(parts).replace("\n", eol)


_file = st.tuples(st.lists(_peer, min_size=1, max_size=6, unique_by=lambda p: p[0]), st.sampled_from(["\n", "\r\n"]))


def _device(unit):
    """The device the edited file describes, read back from its text (and the model equals its reading)."""
    again = parse_unit(unit.format(), unit.path)
    assert again == unit
    assert [s.entries for s in again.sections] == [s.entries for s in unit.sections]
    assert again.preamble == unit.preamble
    return to_wg_device(effective_unit(again))


@SETTINGS
@given(_file, st.data())
def test_remove_peer_only_deletes_lines_and_that_peer(file, data):
    peers, eol = file
    unit = parse_unit(_text(peers, eol), "p.netdev")
    victim = data.draw(st.sampled_from(peers))[0]
    after = remove_peer(unit, victim)
    ops = [tag for tag, *_ in difflib.SequenceMatcher(a=unit.format().splitlines(True),
                                                       b=after.format().splitlines(True)).get_opcodes()]
    assert set(ops) <= {"equal", "delete"}
    before_dev, after_dev = _device(unit), _device(after)
    assert [p.public_key for p in after_dev.peers] == [p.public_key for p in before_dev.peers if p.public_key != victim]
    assert all(after_dev.peer(p.public_key) == p for p in before_dev.peers if p.public_key != victim)
    # the victim's own comment went with it; the others' comments stay above their peers
    assert after.format().count("[WireGuardPeer]") == len(peers) - 1


@SETTINGS
@given(_file, st.data(), st.lists(_net, min_size=1, max_size=3, unique=True))
def test_set_allowed_ips_touches_only_that_peer(file, data, nets):
    peers, eol = file
    unit = parse_unit(_text(peers, eol), "p.netdev")
    target = data.draw(st.sampled_from(peers))[0]
    after = set_peer_allowed_ips(unit, target, nets)
    before_dev, after_dev = _device(unit), _device(after)
    assert set(after_dev.peer(target).allowed_ips) == set(nets)
    for peer in before_dev.peers:
        if peer.public_key != target:
            assert after_dev.peer(peer.public_key) == peer
    changed = [s for s, t in zip(unit.sections, after.sections) if s is not t]
    assert len(changed) <= 1 and len(unit.sections) == len(after.sections)
    assert "\n" not in after.format().replace("\r\n", "") if eol == "\r\n" else True


@SETTINGS
@given(_file, _key, st.lists(_net, min_size=1, max_size=2, unique=True))
def test_add_then_remove_gives_back_the_bytes(file, key, nets):
    peers, eol = file
    if key in {p[0] for p in peers}:
        return
    text = _text(peers, eol)
    unit = parse_unit(text, "p.netdev")
    added = add_peer(unit, WgPeer(key, tuple(nets), persistent_keepalive=25, name="new one"))
    assert _device(added).peer(key).allowed_ips == tuple(nets)
    back = remove_peer(added, key).format()
    # appending needs a blank line before the new section; removing takes it again
    assert back == text or back == text.rstrip("\r\n") + eol


@SETTINGS
@given(_file, st.integers(1, 65535))
def test_set_value_changes_one_line(file, port):
    peers, eol = file
    unit = parse_unit(_text(peers, eol))
    after = set_value(unit, "WireGuard", "ListenPort", port)
    a, b = unit.format().splitlines(True), after.format().splitlines(True)
    assert len(a) == len(b)
    assert sum(x != y for x, y in zip(a, b)) == (0 if port == 51820 else 1)


@SETTINGS
@given(_file, st.data())
def test_sync_peers_reaches_the_target_and_is_idempotent(file, data):
    peers, eol = file
    unit = parse_unit(_text(peers, eol), "p.netdev")
    current = _device(unit).peers
    assert sync_peers(unit, current).format() == unit.format()  # nothing differs: nothing changes
    keep = data.draw(st.lists(st.sampled_from(current), unique_by=lambda p: p.public_key, max_size=len(current)))
    extra = data.draw(st.lists(st.tuples(_key, st.lists(_net, min_size=1, max_size=2, unique=True),
                                         st.integers(0, 60)), max_size=3, unique_by=lambda t: t[0]))
    target = [WgPeer(p.public_key, tuple(data.draw(st.lists(_net, min_size=1, max_size=2, unique=True))),
                     persistent_keepalive=data.draw(st.integers(0, 60))) for p in keep]
    target += [WgPeer(k, tuple(n), persistent_keepalive=ka) for k, n, ka in extra
               if k not in {p.public_key for p in target}]
    after = sync_peers(unit, target)
    got = {p.public_key: p for p in _device(after).peers}  # WireGuard peers are a set: new ones go last
    assert set(got) == {p.public_key for p in target}
    assert all(got[t.public_key].same_config(t) for t in target)
    assert sync_peers(after, target).format() == after.format()
    # what the other sections say is untouched (only comments attached to a removed peer may go)
    settings_of = lambda u: [(s.name, [(a.key, a.value) for a in s.assignments()])  # noqa: E731
                             for s in u.sections if s.name != "WireGuardPeer"]
    assert settings_of(after) == settings_of(unit)
