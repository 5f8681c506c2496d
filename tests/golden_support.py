"""Golden scenarios: load a scenario's topology and its committed test secrets, render every host.

The secrets are fixed test keys derived from names (sha256), so the golden
trees are stable and reviewable; `fixed_secrets` recreates them.
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
SCENARIOS = sorted(p.name for p in GOLDEN.iterdir() if (p / "topology.conf").exists())


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


def load_scenario(name: str):
    topology = load_topology(GOLDEN / name / "topology.conf")
    secrets = parse_secrets((GOLDEN / name / "topology.secrets").read_text(), "topology.secrets")
    return topology, secrets


def render_scenario(name: str, **options) -> dict[str, tuple[RenderedFile, ...]]:
    topology, secrets = load_scenario(name)
    configs = compile_topology(topology, secrets)
    return {host: render_host(config, **options) for host, config in configs.items()}
