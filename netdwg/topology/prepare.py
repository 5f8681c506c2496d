"""Load a topology and its secrets store, ready to compile (the one read before the pure compiler).

    prepare(path) -> Prepared(topology, secrets, secrets_path, generated)

Nothing here writes: `netdwg.apply.writes.complete_store` generates what the
store lacks, saves it (0600, atomically) before anything is rendered and
announces every generated secret by name (never by value), wg-quick style.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from netdwg.topology.hostconfig import HostConfig
from netdwg.topology.load import load_topology
from netdwg.topology.model import Topology
from netdwg.topology.secrets import Secrets, complete_secrets, default_secrets_path, load_secrets


@dataclass(frozen=True, slots=True)
class Prepared:
    topology: Topology
    secrets: Secrets
    secrets_path: Path
    generated: tuple[str, ...] = ()

    def compile(self) -> Mapping[str, HostConfig]:
        from netdwg.topology.compile import compile_topology

        return compile_topology(self.topology, self.secrets)


def prepare(path: str | Path) -> Prepared:
    """The topology and its secrets store as they are on disk."""
    topology = load_topology(path)
    secrets_path = default_secrets_path(topology)
    return Prepared(topology, load_secrets(secrets_path), secrets_path)


def complete_prepared(prepared: Prepared) -> Prepared:
    """`prepared` with a key for every host that lacks one and a PSK for every pair, in memory.

    `generated` names them. The caller saves the store before anything uses them
    (`netdwg.apply.writes.complete_store`).
    """
    secrets, generated = complete_secrets(prepared.topology, prepared.secrets)
    return replace(prepared, secrets=secrets, generated=generated)
