"""Golden trees: for each scenario in tests/golden, the exact set of files, their contents
and their modes/owners for every host. Regenerate with `pytest --update-golden` and review
the git diff."""

from __future__ import annotations

import shutil

import pytest

from netdwg.topology import load_topology
from netdwg.topology import parse_topology
from golden_support import (EXAMPLES, GOLDEN, PHONES, SCENARIOS, VARIANTS, derive_variant, golden_secrets_text,
                            read_variant, render_scenario, roaming_hosts, variant_text)


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
    if update_golden and (base / "variant.conf").exists():
        (base / "topology.conf").write_text(variant_text(scenario))
    if update_golden:
        secrets_file = base / "topology.secrets"
        if not secrets_file.exists():
            secrets_file.write_text(golden_secrets_text(load_topology(base / "topology.conf")))
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


def test_every_example_with_a_laptop_has_golden_trees_with_its_laptops_on_networkmanager():
    """A new example with a laptop needs tests/golden/nm-NAME/variant.conf (tests/golden_support.py)."""
    variants = {read_variant(s)[0].name: s for s in VARIANTS}
    assert set(variants) >= {"1-offices.conf", "5-webcam.conf", "harbor.conf"}
    for example in sorted(EXAMPLES.glob("*.conf")):
        laptops = [h for h in roaming_hosts(load_topology(example)) if h not in PHONES.get(example.name, ())]
        if laptops:
            assert example.name in variants, f"{example.name} has laptops ({', '.join(laptops)}) but no " \
                f"tests/golden/nm-{example.stem}/variant.conf"
            topology = load_topology(GOLDEN / variants[example.name] / "topology.conf")
            assert {h.name for h in topology.hosts if h.backend == "networkmanager"} == set(laptops)


@pytest.mark.parametrize("scenario", VARIANTS)
def test_a_variants_topology_is_still_its_examples_derivation(scenario):
    assert scenario in SCENARIOS  # rendered and compared like every scenario
    assert (GOLDEN / scenario / "topology.conf").read_text() == variant_text(scenario), \
        f"examples/{read_variant(scenario)[0].name} changed: run pytest tests/unit/test_golden.py --update-golden"


def test_a_variant_naming_a_host_that_is_no_laptop_or_leaving_a_laptop_out_is_refused():
    with pytest.raises(ValueError, match="a is not a roaming host of 1-offices.conf"):
        derive_variant(EXAMPLES / "1-offices.conf", ("e", "a"))
    with pytest.raises(ValueError, match="roaming host.s. f of 1-offices.conf neither on NetworkManager"):
        derive_variant(EXAMPLES / "1-offices.conf", ("e",))
    with pytest.raises(ValueError, match="no host is not a roaming host"):
        derive_variant(EXAMPLES / "2-relay.conf", ())
    # the override changes the backend and nothing else
    original = load_topology(EXAMPLES / "harbor.conf")
    variant = parse_topology(derive_variant(EXAMPLES / "harbor.conf", ("ana",)), "harbor.conf")
    assert variant.host("ana").backend == "networkmanager" and original.host("ana").backend == "networkd"
    assert [h.name for h in variant.hosts] == [h.name for h in original.hosts]
    assert [h for h in variant.hosts if h.name != "ana"] == [h for h in original.hosts if h.name != "ana"]
