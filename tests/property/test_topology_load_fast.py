"""Hypothesis: the loader's fast checker and configobj's Validator read every file the same way.

`parse_topology` converts with `spec.fast_validate` when it vouches for the
whole file and falls back to the Validator otherwise. On random files, valid
and broken (bad values, lists where scalars belong, unknown and missing keys,
quotes, '%(name)s' (literal: no interpolation), odd integers like ' 7' and '1_0'), both ways must
give the same Topology with the same spans, or the same diagnostics.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from netdwg.errors import ConfigError
from netdwg.topology import load as load_module
from netdwg.topology.spec import fast_parse, fast_validate, scan_lines

REPO = Path(__file__).resolve().parents[2]

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


def _outcome(text: str, fast: bool):
    try:
        topology = load_module._parse(text, "t.conf", fast=fast)
    except ConfigError as err:
        return ("error", err.message, err.diagnostics)
    spans = (dict(topology.network.spans), [dict(h.spans) for h in topology.hosts], [p.span for p in topology.pairs])
    return ("ok", topology, spans)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topology_texts())
def test_fast_checker_and_validator_agree(text):
    assert _outcome(text, fast=True) == _outcome(text, fast=False)


@pytest.mark.parametrize("path", [REPO / "examples" / "harbor.conf", *sorted(REPO.glob("tests/golden/*/topology.conf"))],
                         ids=lambda p: p.parent.name if p.name == "topology.conf" else p.name)
def test_real_topologies_take_the_fast_path(path):
    """The speed-up must not silently switch itself off: real files are vouched for by the fast checker."""
    text = path.read_text()
    assert fast_validate(load_module._read_conf(text, str(path), None)) is not None
    assert _outcome(text, fast=True) == _outcome(text, fast=False)


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


def _as_dicts(section) -> dict:
    """A ConfigObj section as fast_parse's nested dicts."""
    return {key: _as_dicts(value) if isinstance(value, dict) else value for key, value in dict.items(section)}


_PLAIN_VALUES = ["a", "b c", "10.0.0.1", "[2001:db8::1]:51820", ", ", " , ", ",", " # c", "#x", "\t", "\u00a0", "\x1f",
                 "ü", "%(x)s", "=", "a=b"]
_ODD_VALUES = ["'", '"', "\'\'\'", "\r", "\u2028", "\x0c", ""]
_ODD_SECTIONS = ["[ hosts ]", "[[a]", "[[[x]]]", "['q']", "[a b]", "[]", "[[a]]]"]


_FIRST_VALUES = ["a", "b c", "10.0.0.1", "[2001:db8::1]:51820", "ü", "%(x)s", "a=b"]


def _key_lines(draw, keys: list[str], values: list[str], dividers: list[str]) -> list[str]:
    lines = []
    for key in draw(st.lists(st.sampled_from(keys), unique=True, max_size=4)):
        first = draw(st.sampled_from(_FIRST_VALUES))
        value = first + "".join(draw(st.lists(st.sampled_from(values), max_size=2)))
        lines.append(f"{draw(st.sampled_from(['', '  ', chr(9)]))}{key}{draw(st.sampled_from(dividers))}{value}")
    return lines


@st.composite
def config_texts(draw):
    """Sections and keys in the plain subset the fast parser reads (with its corner cases);
    a third of the files also hold what it must leave to ConfigObj."""
    odd = not draw(st.integers(0, 2))
    values = _PLAIN_VALUES + (_ODD_VALUES if odd else [])
    keys = ["name", "role", "a", "b", "c.d", "e-f", "g_h", "a:b"] + (["x y", "'k'", "k#", "[k", "a"] if odd else [])
    dividers = [" = ", "=", "\t=  "] + ([" ", "=="] if odd else [])
    lines = _key_lines(draw, keys, values, dividers) if odd else []
    for top in draw(st.lists(st.sampled_from(["network", "hosts", "pairs", "x"]), unique=True, max_size=3)):
        lines.append(draw(st.sampled_from([f"[{top}]", f"  [{top}]  # c", f"[{top}]#"])))
        lines += _key_lines(draw, keys, values, dividers)
        for sub in draw(st.lists(st.sampled_from(["a", "b", "c-1", "d.e"]), unique=True, max_size=3)):
            lines.append(draw(st.sampled_from([f"  [[{sub}]]", f"[[{sub}]] # c", f"\t[[{sub}]]"])))
            lines += _key_lines(draw, keys, values, dividers)
        if draw(st.booleans()):
            lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["# comment", "  #x = 1", "", "  "])))
    if odd:
        odd_lines = _ODD_SECTIONS + ["[[a]]", "[network]", "a = 1", "just words"]
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(odd_lines)))
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""] + (["\r\n"] if odd else [])))


@settings(max_examples=600, deadline=None)
@given(config_texts())
def test_fast_parser_reads_what_configobj_reads(text):
    parsed = fast_parse(text)
    if parsed is not None:  # None: it leaves the file to ConfigObj
        tree, where, keys_of = parsed
        assert tree == _as_dicts(load_module._read_conf(text, "t.conf", None))
        assert (where, keys_of) == scan_lines(text)  # the line maps of the same pass


def test_fast_parser_reads_real_files():
    for path in [REPO / "examples" / "harbor.conf", *sorted(REPO.glob("tests/golden/*/topology.conf"))]:
        text = path.read_text()
        assert fast_parse(text)[0] == _as_dicts(load_module._read_conf(text, str(path), None)), path


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["0", "1", "00", "01", "255", "256", "1000", "9", ".", "..", " ", "a", "::", ":",
                                 "\u0661", "+1", "-1", "0x1", "\x00"]), max_size=9).map("".join)
       | st.lists(st.sampled_from(["0", "1", "10", "01", "255", "256", "1000", " 7", "\u0661", "", "0x1", "1e1"]),
                  min_size=3, max_size=5).map(".".join))
def test_address_fast_path_accepts_what_ipaddress_accepts(text):
    import ipaddress

    try:
        expected = ipaddress.ip_address(text.strip())
    except ValueError:
        expected = None
    try:
        found = load_module._ip_address(text)
    except ValueError:
        found = None
    assert found == expected and type(found) is type(expected)
