"""Lint on generated topologies: never raises, every finding names a line of the file, a known code and a fix."""

from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st

from netdwg.lint import run_lint
from netdwg.lint import __doc__ as LINT_DOC
from netdwg.topology import parse_topology

CODES = set(re.findall(r"NDW\d{3}", LINT_DOC))
NAMES = ["hub", "hub2", "oslo", "bergen", "ana", "ben", "cy"]


@st.composite
def topology_texts(draw):
    lines = ["[network]", "name = gen", "pool = 10.50.0.0/16" + draw(st.sampled_from(["", ", fd50::/64"]))]
    lines.append(f"mtu = {draw(st.sampled_from([1280, 1380, 1420, 1500]))}")
    lines.append(f"keepalive = {draw(st.sampled_from([0, 25]))}")
    lines.append("[hosts]")
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=7, unique=True))
    for name in names:
        role = draw(st.sampled_from(["hub", "site", "roaming"]))
        lines += [f"  [[{name}]]", f"  role = {role}"]
        if draw(st.booleans()):
            lines.append(f"  address = {draw(st.sampled_from(['10.50.0.1', '10.50.0.2', '10.51.0.3', 'fd50::4']))}")
        if draw(st.booleans()):
            lines.append(f"  endpoint = 192.0.2.{draw(st.integers(1, 9))}:51820")
        if draw(st.booleans()):
            lines.append(f"  backend = {draw(st.sampled_from(['networkd', 'wg-quick', 'netplan']))}")
        if role != "hub" and draw(st.booleans()):
            lan = draw(st.sampled_from(["172.16.0.0/24", "172.16.0.0/16", "10.50.9.0/24", "192.168.1.0/24"]))
            lines.append(f"  lan = {lan}")
            lines.append(f"  return_path = {draw(st.sampled_from(['static-route', 'masquerade', 'none']))}")
            if draw(st.booleans()):
                lines.append("  lan_address = " + lan.split("/")[0][:-1] + "1")
        for key in ("allow", "reach"):
            if draw(st.booleans()):
                lines.append(f"  {key} = {', '.join(draw(st.lists(st.sampled_from(NAMES + ['ghost']), max_size=3))) or ','}")
        if draw(st.booleans()):
            lines.append("  guard = yes")
    if len(names) >= 2 and draw(st.booleans()):
        lines += ["[pairs]", "  [[p]]", f"  ends = {names[0]}, {names[1]}", "  transfer = 10.255.0.0/31"]
    return "\n".join(lines) + "\n"


@settings(max_examples=100, deadline=None)
@given(topology_texts())
def test_lint_never_raises_and_points_into_the_file(text):
    topology = parse_topology(text, "gen.conf")
    count = len(text.splitlines())
    for diag in run_lint(topology):
        assert diag.code in CODES
        assert diag.span is not None and diag.span.path == "gen.conf" and 1 <= diag.span.line <= count
        assert diag.fix
