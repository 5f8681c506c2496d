"""Hypothesis: NetworkManager keyfiles round-trip byte for byte; the format's one quoting function either
refuses a hostile string or writes it so GLib's reading gives it back; a WireGuard profile written from
values reads back as the same values."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from netdwg.keyfiles import (LineKind, NmIpConfig, NmRoute, NmWireGuard, format_nm_wireguard, keyfile_line,
                             keyfile_list, keyfile_value, load_nm_wireguard, parse_keyfile, read_list, read_value)
from netdwg.keys import PresharedKey, PrivateKey
from netdwg.values import ValueRefused, control_character
from netdwg.wireguard import Endpoint, WgDevice, WgPeer

HOSTILE = ["\n", "\r", "\r\n", "\0", "\x85", "\u2028", "\t", " ", "\\", "\\s", "\\n", ";", "=", "[", "]", "#",
           "[connection]", "\nprivate-key=x", "type=ethernet", "é", "\\;", "x" * 70]
hostile = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=4)), max_size=5).map("".join)
eols = st.sampled_from(["\n", "\r\n"])
line = st.one_of(
    st.text(max_size=30),
    st.tuples(st.sampled_from(["", " ", "\t"]), st.text(alphabet="abz-_1", min_size=1, max_size=6),
              st.sampled_from(["=", " = ", "= "]), hostile).map("".join),
    st.text(alphabet="abc.-=+/", max_size=12).map(lambda g: f"[{g}]"),
    st.just("# comment"),
)


@given(st.lists(st.tuples(line, eols), max_size=14), st.booleans())
@settings(max_examples=400)
def test_any_text_round_trips_byte_for_byte(lines, final_eol):
    text = "".join(a.replace("\n", "") + b for a, b in lines)
    if not final_eol and text:
        text = text.removesuffix("\n")
    assert parse_keyfile(text).format() == text


@given(hostile, st.booleans())
@settings(max_examples=600)
def test_quoting_refuses_or_reads_back(value, as_list):
    try:
        line = keyfile_list("allowed-ips", [value, "x"]) if as_list else keyfile_line("id", value)
    except ValueRefused:
        assert control_character(value) >= 0  # what netdwg.values calls a control character, nothing else
        return
    text = "[connection]\n" + line + "uuid=1\n"
    file = parse_keyfile(text)
    assert [ln.kind for ln in file.lines] == [LineKind.GROUP, LineKind.KEY, LineKind.KEY]  # no line of its own
    if as_list:
        assert file.get_list("connection", "allowed-ips") == [value, "x"]  # GLib keeps an empty item
    else:
        assert file.get("connection", "id") == value
        assert read_value(keyfile_value(value)) == value


keys = st.binary(min_size=32, max_size=32).map(lambda b: PrivateKey(b))
psks = st.binary(min_size=32, max_size=32).map(lambda b: PresharedKey(b))
v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
v6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)
nets4 = st.tuples(v4, st.integers(0, 32)).map(lambda t: ipaddress.ip_network(f"{t[0]}/{t[1]}", strict=False))
nets6 = st.tuples(v6, st.integers(0, 128)).map(lambda t: ipaddress.ip_network(f"{t[0]}/{t[1]}", strict=False))
hosts = st.one_of(v4.map(str), v6.map(str), st.sampled_from(["hub.example.com", "vpn.example.org"]))
endpoints = st.builds(Endpoint, hosts, st.integers(1, 65535))
peers = st.builds(WgPeer, keys.map(lambda k: k.public_key()), st.lists(st.one_of(nets4, nets6), max_size=4).map(tuple),
                  st.none() | psks, st.none() | endpoints, st.integers(0, 65535))
routes4 = st.builds(NmRoute, nets4, st.none() | st.integers(0, 2**32 - 1), st.none() | st.integers(1, 2**32 - 1))
routes6 = st.builds(NmRoute, nets6, st.none() | st.integers(0, 2**32 - 1), st.none() | st.integers(1, 2**32 - 1))


def ip_config(addresses, routes):
    return st.builds(NmIpConfig, st.lists(addresses, min_size=1, max_size=3).map(tuple),
                     st.lists(routes, max_size=3).map(tuple), st.none() | st.integers(0, 2**32 - 1),
                     st.none() | st.integers(0, 2**32 - 1), st.booleans()) | st.just(NmIpConfig())


profiles = st.builds(
    NmWireGuard, st.sampled_from(["wg0", "netdwg wg0", " lead", "a\\b;c"]), st.none() | st.uuids().map(str),
    st.builds(WgDevice, st.sampled_from(["wg0", "wg-x.1", "wg+a"]), st.none() | keys, st.none() | st.integers(0, 65535),
              st.integers(0, 2**32 - 1), st.lists(peers, max_size=3, unique_by=lambda p: p.public_key).map(tuple)),
    st.integers(0, 9000), st.booleans(), st.none() | st.booleans(), st.none() | st.booleans(),
    ip_config(st.tuples(v4, st.integers(0, 32)).map(lambda t: ipaddress.IPv4Interface(f"{t[0]}/{t[1]}")), routes4),
    ip_config(st.tuples(v6, st.integers(0, 128)).map(lambda t: ipaddress.IPv6Interface(f"{t[0]}/{t[1]}")), routes6))


@given(profiles)
@settings(max_examples=100, deadline=None)
def test_profile_written_reads_back_as_itself(profile):
    text = format_nm_wireguard(profile)
    back = load_nm_wireguard(text)
    want = profile
    if not profile.ipv4.addresses:  # method=disabled: nothing else of [ipv4] is written
        want = _replace(want, ipv4=NmIpConfig())
    if not profile.ipv6.addresses:
        want = _replace(want, ipv6=NmIpConfig())
    assert back == want
    assert parse_keyfile(text).format() == text
    assert read_list("a;b;") == ["a", "b"]


def _replace(profile, **changes):
    from dataclasses import replace
    return replace(profile, **changes)
