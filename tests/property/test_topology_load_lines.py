"""Hypothesis: the topology loader on random files, valid and broken (bad values, lists where
scalars belong, unknown and missing keys, quotes, '%(name)s' (literal: no interpolation), odd
integers like ' 7' and '1_0'): a Topology, or a ConfigError whose every diagnostic names the file;
and the line finder that gives those diagnostics their lines.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings, strategies as st

from netdwg.errors import ConfigError
from netdwg.topology.load import parse_topology
from netdwg.topology.spec import scan_lines

NETWORK_VALUES = {  # key: (valid values, mistakes)
    "name": (["x", "'quoted name'", "%(x)s"], ["", "a, b"]),
    "interface": (["wg0", "wg-harbor", '"wg1"'], ["much-too-long-interface"]),
    "pool": (["10.0.0.0/16", "10.0.0.0/16, fd00::/64", "10.0.0.0/16,"], ["10.0.0.1/16", "nope"]),
    "port": (["51820", "' 7'", "+80", "1_000"], ["0", "70000", "abc", "1, 2"]),
    "mtu": (["1420", "1500"], ["100"]),
    "keepalive": (["25", "0"], ["-1"]),
    "systemd_version": (["252", "249"], ["10"]),
    "secrets": (["x.secrets", "None"], ["a, b"]),
    "prot": ([], ["1"]),  # unknown: a typo of port
}
HOST_VALUES = {
    "role": (["hub", "site", "roaming"], ["boss", "hub, site"]),
    "address": (["10.0.0.1", "10.0.0.2, fd00::2", "10.0.0.3/32", "10.0.0.5,"], ["10.0.0.4/24", "bad"]),
    "endpoint": (["198.51.100.1:51820", "[2001:db8::1]:51820", "None"], ["nope", "%(name)s:1"]),
    "backend": (["networkd", "wg-quick", "netplan"], ["ifupdown"]),
    "port": (["51820"], ["x", "99999"]),
    "mtu": (["1280", "' 1400 '"], ["1"]),
    "keepalive": (["0", "25"], []),
    "lan": (["172.16.0.0/24", "172.16.0.0/24, 172.17.0.0/24"], ["172.16.0.1/24"]),
    "lan_address": (["172.16.0.1", "172.16.0.1/24"], ["172.16.0.1, 172.17.0.1, 172.18.0.1"]),
    "lan_interface": (["eth1"], ["", "an-interface-name-too-long"]),
    "return_path": (["static-route", "masquerade", "none"], ["nat"]),
    "allow": (["a", "a, b", "b,"], []),
    "reach": (["a", "a, b"], []),
    "guard": (["yes", "no", "True", "off", "1"], ["maybe"]),
    "guard_action": (["remove", "metric", "widen"], ["explode"]),
    "widen_to": (["172.16.0.0/16"], ["x"]),
    "keep_hosts": (["172.16.0.5", "172.16.0.5, 172.16.0.6"], []),
    "router_mac": (["AA-BB-CC-DD-EE-FF"], ["nope"]),
    "domain": (["office.example"], ["a, b"]),
    "rol": ([], ["hub"]),  # unknown
}
PAIR_VALUES = {
    "ends": (["a, b"], ["a", "a, b, c"]),
    "transfer": (["10.255.0.0/31"], ["10.255.0.0/24", "x"]),
    "interface": (["wg-s2s"], [""]),
    "port": (["51821"], ["x"]),
    "keepalive": (["0", "25"], []),
}


def _section(draw, values: dict[str, tuple[list[str], list[str]]], indent: str, required: tuple[str, ...],
             broken: bool) -> list[str]:
    """Lines of one section: only valid values (the first list) unless `broken`."""
    names = sorted(k for k, (good, _) in values.items() if good or broken)
    keys = draw(st.lists(st.sampled_from(names), unique=True, max_size=6))
    if not broken or draw(st.integers(0, 9)):  # mostly with the required keys
        keys = [k for k in required if k not in keys] + keys
    return [f"{indent}{key} = {draw(st.sampled_from(values[key][0] + (values[key][1] if broken else [])))}"
            for key in keys]


@st.composite
def topology_texts(draw):
    broken = draw(st.booleans())  # half the files have mistakes, half are valid as far as configobj goes
    lines: list[str] = []
    if not broken or draw(st.integers(0, 15)):
        lines += ["[network]", *_section(draw, NETWORK_VALUES, "", ("name",), broken)]
    if not broken or draw(st.integers(0, 9)):
        lines.append("[hosts]")
        names = draw(st.lists(st.sampled_from(["a", "b", "c", "hub"] + (["bad name!", "_x"] if broken else [])),
                              unique=True, max_size=4))
        for name in names:
            lines += [f"  [[{name}]]", *_section(draw, HOST_VALUES, "  ", ("role",), broken)]
            if broken and not draw(st.integers(0, 15)):
                lines += ["    [[[nested]]]", "    x = 1"]
        if broken and not draw(st.integers(0, 15)):
            lines.append("  stray = 1")
    if draw(st.booleans()):
        lines.append("[pairs]")
        for name in draw(st.lists(st.sampled_from(["p", "q"]), unique=True, max_size=2)):
            lines += [f"  [[{name}]]", *_section(draw, PAIR_VALUES, "  ", ("ends", "transfer"), broken)]
    if broken and not draw(st.integers(0, 15)):
        lines.append(draw(st.sampled_from(["top = 1", "[extra]", "[DEFAULT]"])))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), "# a comment")
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topology_texts())
def test_a_file_loads_or_every_problem_names_the_file(text):
    try:
        topology = parse_topology(text, "t.conf")
    except ConfigError as err:
        assert err.diagnostics or err.span is not None
        assert all(d.span.path == "t.conf" for d in err.diagnostics)
        return
    assert topology.network.spans[""].path == "t.conf"
    assert all(h.spans[""].line > 0 for h in topology.hosts)


_SECTION_RE = re.compile(r"^\s*(\[+)\s*([^\]]*?)\s*(\]+)\s*(?:#.*)?$")
_KEY_RE = re.compile(r"^\s*([^=#\[\s][^=]*?)\s*=")


def _locate_keys_reference(text: str) -> dict[tuple[str, ...], int]:
    """The line finder as first written, with a regular expression per line."""
    where: dict[tuple[str, ...], int] = {}
    stack: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        section = _SECTION_RE.match(line)
        if section:
            stack = stack[: len(section.group(1)) - 1] + [section.group(2).strip("'\"")]
            where.setdefault(tuple(stack), number)
            continue
        key = _KEY_RE.match(line)
        if key:
            where.setdefault((*stack, key.group(1).strip("'\"")), number)
    return where


_LINE_PARTS = st.sampled_from(["", " ", "\t", "\u00a0", "[", "]", "[[", "]]", "=", "#", "'", '"', "a", "key", "x y",
                               ",", "\r", "\x0c", "\u2028"])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(_LINE_PARTS, max_size=8).map("".join), max_size=12).map("\n".join))
def test_line_scanner_finds_what_the_regex_scanner_found(text):
    where, keys_of = scan_lines(text)
    assert where == _locate_keys_reference(text)
    for section, keys in keys_of.items():
        for key, line in keys.items():
            assert where[(*section, key)] <= line  # a section path may shadow a key path of the same name
