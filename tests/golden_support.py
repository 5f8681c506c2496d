"""Golden scenarios: load a scenario's topology and its committed test secrets, render every host.

The secrets are fixed test keys derived from names (sha256), so the golden
trees are stable and reviewable; `fixed_secrets` recreates them.

A scenario with a variant.conf is an example network (examples/) with its laptops on NetworkManager:

    example = 1-offices.conf        # the file in examples/
    networkmanager = e, f           # its laptops: each gets backend = networkmanager

Its topology.conf is derived, never edited: the example's text with that one key set on those hosts
(netdwg.topology.edit.set_host_values: every other line kept, the result parsed) under a header saying so,
written by `pytest tests/unit/test_golden.py --update-golden` like the expected trees, and checked by
test_golden to be still that derivation of the example. The override is checked first: each named host
is a roaming host of the example, every roaming host is named or listed in PHONES (a phone runs no
NetworkManager), and lint finds no error in the result.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from netdwg.keys import PresharedKey, PrivateKey, _clamp
from netdwg.render import render_host
from netdwg.rendered import RenderedFile
from netdwg.topology import load_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.secrets import Secrets, complete_secrets, parse_secrets

GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
VARIANTS = sorted(p.name for p in GOLDEN.iterdir() if (p / "variant.conf").exists())
SCENARIOS = sorted({p.name for p in GOLDEN.iterdir() if (p / "topology.conf").exists()} | set(VARIANTS))
# Roaming hosts of the examples that are phones (their comments say so): they keep wg-quick and a QR code.
PHONES = {"4-cloud-router.conf": ("phone",), "harbor.conf": ("ben",)}


def fixed_secrets(topology) -> Secrets:
    """Deterministic test keys: sha256 of the host name / pair, clamped like wg genkey."""
    names = iter(())

    def key() -> PrivateKey:
        return PrivateKey(_clamp(hashlib.sha256(f"netdwg-test-key:{next(names)}".encode()).digest()))

    def psk() -> PresharedKey:
        return PresharedKey(hashlib.sha256(f"netdwg-test-psk:{next(names)}".encode()).digest())

    from netdwg.topology.secrets import wanted_pairs

    order = [h.name for h in topology.hosts if h.public_key is None] + [":".join(p) for p in wanted_pairs(topology)]
    names = iter(order)
    secrets, _ = complete_secrets(topology, Secrets(), make_key=key, make_psk=psk)
    return secrets


def read_variant(name: str) -> tuple[Path, tuple[str, ...]]:
    """(the example's path, its laptops) from tests/golden/NAME/variant.conf."""
    path = GOLDEN / name / "variant.conf"
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep or key not in ("example", "networkmanager") or key in values:
            raise ValueError(f"{path}:{number}: expected 'example = FILE' and 'networkmanager = HOST, ...' once each")
        values[key] = value
    if set(values) != {"example", "networkmanager"}:
        raise ValueError(f"{path}: needs both 'example' and 'networkmanager'")
    return EXAMPLES / values["example"], tuple(h.strip() for h in values["networkmanager"].split(",") if h.strip())


def roaming_hosts(topology) -> tuple[str, ...]:
    return tuple(h.name for h in topology.hosts if h.role.value == "roaming")


def variant_text(name: str) -> str:
    """The topology.conf of variant `name`: the example with its laptops on NetworkManager, checked."""
    example, laptops = read_variant(name)
    text = derive_variant(example, laptops, f"{name}/variant.conf")
    return (f"# Generated from examples/{example.name} by tests/golden_support.py ({name}/variant.conf): its\n"
            f"# laptops {', '.join(laptops)} on backend = networkmanager. Do not edit: regenerate with\n"
            f"# pytest tests/unit/test_golden.py --update-golden\n" + text)


def derive_variant(example: Path, laptops: tuple[str, ...], where: str = "variant") -> str:
    """The text of `example` with backend = networkmanager on `laptops`; ValueError unless the override is
    sound."""
    from netdwg.lint import errors, run_lint
    from netdwg.topology import parse_topology
    from netdwg.topology.edit import set_host_values

    text = example.read_text()
    roaming = roaming_hosts(parse_topology(text, str(example)))
    strangers = [h for h in laptops if h not in roaming]
    if strangers or not laptops:
        raise ValueError(f"{where}: {', '.join(strangers) or 'no host'} is not a roaming host of "
                         f"{example.name} (roaming: {', '.join(roaming)})")
    unnamed = [h for h in roaming if h not in laptops and h not in PHONES.get(example.name, ())]
    if unnamed:
        raise ValueError(f"{where}: roaming host(s) {', '.join(unnamed)} of {example.name} neither "
                         f"on NetworkManager nor listed in golden_support.PHONES")
    for host in laptops:
        text = set_host_values(text, host, {"backend": "networkmanager"}, str(example)).text
    found = list(errors(run_lint(parse_topology(text, str(example)))))
    if found:
        raise ValueError(f"{where}: the variant of {example.name} does not lint: " + "; ".join(d.format() for d in found))
    return text


def golden_secrets_text(topology) -> str:
    """The fixed test secrets as a store without its [public_keys] cache (safe to delete, says the store):
    the golden stores stay in the format written before that cache, which tests/unit/test_secrets_public_keys.py
    upgrades."""
    from netdwg.topology.secrets import format_secrets

    text = format_secrets(fixed_secrets(topology))
    head = text.split("[public_keys]")[0].rstrip("\n").split("\n")
    while head and head[-1].startswith("#"):
        head.pop()
    return "\n".join(head).rstrip("\n") + "\n"


def load_scenario(name: str):
    topology = load_topology(GOLDEN / name / "topology.conf")
    secrets = parse_secrets((GOLDEN / name / "topology.secrets").read_text(), "topology.secrets")
    return topology, secrets


def render_scenario(name: str, **options) -> dict[str, tuple[RenderedFile, ...]]:
    topology, secrets = load_scenario(name)
    configs = compile_topology(topology, secrets)
    return {host: render_host(config, **options) for host, config in configs.items()}
