"""Hypothesis: `unified_diff` finds the changed region by comparing 64 KiB blocks of text
(fast on a 5,000-peer .netdev); it must give exactly the diff of the line-by-line
definition below, for any texts and any block size."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netdwg.plan.redact as redact


def line_by_line(old: str | None, new: str | None, context: int = 3) -> list[str]:
    """The definition: cut the equal head and tail lines (keeping `context`), diff the rest."""
    a, b = (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True)
    limit = min(len(a), len(b))
    head = 0
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    start, cut = max(0, head - context), max(0, tail - context)
    return list(difflib.unified_diff(a[start:len(a) - cut], b[start:len(b) - cut], n=context)), start


_line = st.sampled_from(["a\n", "b\n", "\n", "[WireGuardPeer]\n", "AllowedIPs=10.0.0.1/32\n", "x"])
_text = st.one_of(st.none(), st.lists(_line, max_size=40).map("".join))


@settings(max_examples=400, deadline=None)
@given(_text, _text, st.sampled_from([1, 2, 3, 8, 1 << 16]))
def test_block_comparison_gives_the_line_by_line_diff(old, new, block):
    if old is None and new is None:
        return
    saved = redact._BLOCK
    redact._BLOCK = block
    try:
        ours = redact.unified_diff("/f", old, new, frozenset(), False)
    finally:
        redact._BLOCK = saved
    lines, start = line_by_line(old, new)
    body = [line for line in ours.splitlines(keepends=True)[2:] if not line.startswith(("@@", "\\"))]
    expected = [line for line in lines[2:] if not line.startswith("@@")]
    assert body == [e if e.endswith("\n") else e + "\n" for e in expected]
    hunks = [line for line in ours.splitlines() if line.startswith("@@")]
    assert len(hunks) == len([line for line in lines if line.startswith("@@")])


@pytest.mark.parametrize("where", [0, 17_500, 34_999])
def test_one_changed_line_in_35000(where):
    lines = [f"AllowedIPs=10.{i // 250}.{i % 250}.1/32\n" for i in range(35_000)]
    new = list(lines)
    new[where] = "AllowedIPs=10.250.0.1/32\n"
    diff = redact.unified_diff("/f", "".join(lines), "".join(new), frozenset(), False)
    assert f"-{lines[where]}" in diff and "+AllowedIPs=10.250.0.1/32\n" in diff
    assert diff.count("\n") <= 2 + 1 + 3 + 2 + 3  # headers, hunk, context, the change
    assert f"@@ -{max(1, where + 1 - 3)}," in diff
