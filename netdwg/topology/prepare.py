"""Load a topology and its secrets store, ready to compile (the one I/O step before the pure compiler).

    prepare(path, complete=True, announce=print) -> Prepared(topology, secrets, secrets_path, generated)

With `complete`, missing host keys and PSKs are generated and the store is
saved (0600, atomically) before anything is rendered, and every generated
secret is announced by name (never by value), wg-quick style: "[#] ...".
A store without (valid) recorded public keys, e.g. one an older netdwg wrote,
gains them then too (`netdwg keys generate`): later renders need not derive them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

from netdwg.topology.hostconfig import HostConfig
from netdwg.topology.load import load_topology
from netdwg.topology.model import Topology
from netdwg.topology.secrets import Secrets, complete_secrets, default_secrets_path, load_secrets, save_secrets


@dataclass(frozen=True, slots=True)
class Prepared:
    topology: Topology
    secrets: Secrets
    secrets_path: Path
    generated: tuple[str, ...] = ()

    def compile(self) -> Mapping[str, HostConfig]:
        from netdwg.topology.compile import compile_topology

        return compile_topology(self.topology, self.secrets)


def prepare(path: str | Path, complete: bool = True,
            announce: Callable[[str], None] | None = None) -> Prepared:
    topology = load_topology(path)
    secrets_path = default_secrets_path(topology)
    prepared = Prepared(topology, load_secrets(secrets_path), secrets_path)
    return complete_prepared(prepared, announce) if complete else prepared


def complete_prepared(prepared: Prepared, announce: Callable[[str], None] | None = None,
                      record_public_keys: bool = True) -> Prepared:
    """Generate what the store lacks and save it (0600) before anything is rendered.

    Generated secrets are announced by name, never by value, and only once the
    store holding them is saved. `record_public_keys`: also save a store that
    only lacks recorded public keys (`netdwg keys generate` does; a render that
    generates nothing leaves the store untouched).
    """
    secrets, generated = complete_secrets(prepared.topology, prepared.secrets)
    records = secrets.verified_public_keys()
    unrecorded = sum(secrets.public_keys.get(host) != record for host, record in records.items())
    if not generated and not (record_public_keys and unrecorded):
        return prepared
    secrets = replace(secrets, public_keys=MappingProxyType(records))
    save_secrets(prepared.secrets_path, secrets)
    if announce:
        for what in generated:
            announce(f"[#] generated {what}")
        if unrecorded and not generated:
            announce(f"[#] recorded {unrecorded} public key(s) in the store (derived once, not on every render)")
        announce(f"[#] saved {prepared.secrets_path} (mode 0600)")
    return replace(prepared, secrets=secrets, generated=generated)
