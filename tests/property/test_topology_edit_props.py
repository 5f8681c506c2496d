"""Properties of topology edits on generated files: add+remove is the identity; remove leaves no reference."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from netdwg.topology import parse_topology
from netdwg.topology.edit import add_host, remove_host

NAMES = ["hub", "oslo", "bergen", "ana", "ben", "cy", "dora", "eve"]


@st.composite
def topologies(draw):
    indent = draw(st.sampled_from(["", "  ", "    ", "\t"]))
    key_indent = indent + draw(st.sampled_from(["", "  "]))
    blank = draw(st.booleans())
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    lines = ["# generated", "[network]", "name = gen", "pool = 10.50.0.0/16", "", "[hosts]"]
    for index, name in enumerate(names):
        if draw(st.booleans()):
            lines.append(f"{indent}# about {name}")
        lines.append(f"{indent}[[{name}]]")
        role = "site" if index % 3 == 1 else "roaming"
        lines.append(f"{key_indent}role = {role}")
        lines.append(f"{key_indent}address = 10.50.0.{index + 1}")
        others = [n for n in names if n != name]
        if role == "site":
            lines.append(f"{key_indent}lan = 172.16.{index}.0/24")
            if others and draw(st.booleans()):
                allow = draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
                comment = draw(st.sampled_from(["", "   # who may", "#x"]))
                lines.append(f"{key_indent}allow = {', '.join(allow)}{comment}")
        elif others and draw(st.booleans()):
            lines.append(f"{key_indent}reach = {', '.join(draw(st.lists(st.sampled_from(others), min_size=1, unique=True)))}")
        if blank:
            lines.append("")
    if draw(st.booleans()):
        lines += ["# trailer", "[pairs]"]
    return "\n".join(lines) + "\n", names


@settings(max_examples=50, deadline=None)
@given(topologies(), st.sampled_from(["zed", "new-host", "x.y"]))
def test_add_then_remove_is_identity(generated, name):
    text, _ = generated
    added = add_host(text, name, {"role": "roaming", "address": "10.50.9.9"})
    assert parse_topology(added.text).has_host(name)
    assert remove_host(added.text, name).text == text


@settings(max_examples=50, deadline=None)
@given(topologies(), st.data())
def test_remove_leaves_no_reference_and_keeps_other_hosts(generated, data):
    text, names = generated
    victim = data.draw(st.sampled_from(names))
    before = parse_topology(text)
    after = parse_topology(remove_host(text, victim).text)
    assert [h.name for h in after.hosts] == [n for n in names if n != victim]
    for host in after.hosts:
        assert victim not in (host.allow or ()) and victim not in (host.reach or ())
        old = before.host(host.name)
        assert (host.role, host.addresses, host.lans) == (old.role, old.addresses, old.lans)
        # a list that named only the victim becomes empty, never "everyone"
        assert (host.allow is None) == (old.allow is None) and (host.reach is None) == (old.reach is None)
