"""Every example in docs/topology.md loads and lints without errors or warnings; every key is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netdwg.errors import Severity
from netdwg.lint import run_lint
from netdwg.topology import parse_topology
from netdwg.topology.spec import KNOWN_KEYS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "topology.md").read_text()
EXAMPLES = [block for block in re.findall(r"```ini\n(.*?)```", DOC, re.S) if "[network]" in block]


def test_there_are_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_example_loads_and_lints_clean(index):
    topology = parse_topology(EXAMPLES[index], f"topology.md example {index}")
    loud = [d.format() for d in run_lint(topology) if d.severity is not Severity.INFO]
    assert loud == []


def test_every_key_is_documented():
    documented = set(re.findall(r"^\| `(\w+)` \|", DOC, re.M))
    for kind, keys in KNOWN_KEYS.items():
        missing = set(keys) - documented
        assert not missing, f"{kind} keys missing from docs/topology.md: {sorted(missing)}"
