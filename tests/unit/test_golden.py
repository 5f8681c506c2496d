"""Golden trees: for each scenario in tests/golden, the exact set of files, their contents
and their modes/owners for every host. Regenerate with `pytest --update-golden` and review
the git diff."""

from __future__ import annotations

import shutil

import pytest

from netdwg.topology import load_topology
from netdwg.topology.secrets import format_secrets
from golden_support import GOLDEN, SCENARIOS, fixed_secrets, render_scenario


def _expected_tree(root) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def _manifest(rendered) -> str:
    lines = []
    for host, files in rendered.items():
        for f in files:
            lines.append(f"{host} {f.path} {f.mode:04o} {f.owner}:{f.group}{' secret' if f.secret else ''}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden_tree(scenario, update_golden):
    base = GOLDEN / scenario
    if update_golden:
        secrets_file = base / "topology.secrets"
        if not secrets_file.exists():
            secrets_file.write_text(format_secrets(fixed_secrets(load_topology(base / "topology.conf"))))
    rendered = render_scenario(scenario)
    actual = {f"{host}{f.path}": f.text for host, files in rendered.items() for f in files}
    if update_golden:
        shutil.rmtree(base / "expected", ignore_errors=True)
        for rel, text in actual.items():
            path = base / "expected" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        (base / "modes.txt").write_text(_manifest(rendered))
    expected = _expected_tree(base / "expected")
    assert sorted(actual) == sorted(expected), "file set differs (run pytest --update-golden and review the diff)"
    for rel in expected:
        assert actual[rel] == expected[rel], f"{scenario}/{rel} differs"
    assert _manifest(rendered) == (base / "modes.txt").read_text()


def test_every_shape_has_a_scenario():
    assert set(SCENARIOS) >= {"hub-spokes", "site-to-site", "relay", "hub-masquerade", "dual-stack"}
