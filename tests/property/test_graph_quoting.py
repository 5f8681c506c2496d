"""The DOT quoting function against the real Graphviz parser: whatever a name holds, it stays
one ID, adds no node, edge or attribute, and reads back as itself."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netdwg.render.graph import dot_id

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot (Debian: graphviz)")

HOSTILE = st.text(alphabet=st.sampled_from(list('"\\\n\r\t;[]{}<>=-&,# \x00\x1bab/*') + ["é", "→"]), max_size=30)


@settings(max_examples=60, deadline=None)
@given(name=HOSTILE, label=HOSTILE)
def test_a_hostile_name_stays_one_node_with_its_own_label(name, label):
    text = f'digraph g {{\n  {dot_id(name)} [label={dot_id(label)}];\n  "other";\n}}\n'
    proc = subprocess.run(["dot", "-Tjson0"], input=text.encode(), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    graph = json.loads(proc.stdout)
    nodes = graph.get("objects", [])
    assert len(nodes) == (1 if name_read(name) == "other" else 2)
    assert not graph.get("edges")
    kept = [n for n in nodes if n["name"] == name_read(name)]
    assert kept and set(kept[0]) <= {"_gvid", "name", "label", "height", "width", "pos"}, kept[0]  # nothing smuggled in
    if name_read(name) != "other":
        assert kept[0]["label"] == name_read(label)


def name_read(text: str) -> str:
    """What Graphviz keeps of a quoted ID: control characters other than a line break are dropped
    by dot_id; a backslash pair stays a pair in the stored string, and so does `\\n`."""
    kept = "".join(c for c in text if c == "\n" or not (ord(c) < 0x20 or ord(c) == 0x7F))
    return kept.replace("\\", "\\\\").replace("\n", "\\n")
