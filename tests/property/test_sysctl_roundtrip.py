"""Hypothesis: sysctl.d text round-trips, and edits touch only their own line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netdwg.sysctl import LineKind, parse_sysctl

_component = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8)
keys = st.lists(_component, min_size=1, max_size=5).map(".".join).filter(lambda k: not k.startswith("-"))
values = st.text(alphabet=st.characters(blacklist_characters="\n\r\0", blacklist_categories=("Cs",)),
                 max_size=20).map(lambda v: v.strip(" \t"))
spaces = st.sampled_from(["", " ", "  ", "\t"])
eols = st.sampled_from(["\n", "\r\n", "\r"])

line = st.one_of(
    st.tuples(spaces, keys, spaces, spaces, values, spaces).map(lambda t: f"{t[0]}{t[1]}{t[2]}={t[3]}{t[4]}{t[5]}"),
    st.tuples(spaces, st.sampled_from("#;"), values).map("".join),
    spaces,
    st.tuples(st.just("-"), keys).map("".join),
    st.text(max_size=30),  # anything at all
)


@given(st.lists(st.tuples(line, eols), max_size=12), st.booleans())
@settings(max_examples=300)
def test_any_text_round_trips(lines, final_eol):
    text = "".join(a + b for a, b in lines)
    if not final_eol and text:
        text = text.rstrip("\r\n")
    assert parse_sysctl(text).format() == text


@given(st.lists(st.tuples(keys, values), min_size=1, max_size=10), keys, values)
@settings(max_examples=200)
def test_set_then_get_and_other_lines_untouched(pairs, key, value):
    text = "# generated\n" + "".join(f"{k} = {v}\n" for k, v in pairs)
    before = parse_sysctl(text)
    after = parse_sysctl(before.set(key, value).format())
    assert after.get(key) == value
    # every other key keeps its value, every comment stays
    for k, _ in pairs:
        if k != key:
            assert after.get(k) == before.get(k)
    assert after.lines[0].kind is LineKind.COMMENT and after.lines[0].text == "# generated"
    changed = [a for a, b in zip(before.lines, after.lines) if a != b]
    assert len(changed) <= 1
