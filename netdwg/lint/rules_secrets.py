"""Secrets-store rules: what `netdwg keys generate` would still create, and what the store holds for nobody."""

from __future__ import annotations

from typing import Iterator

from netdwg.errors import Diagnostic, Severity
from netdwg.lint.facts import facts, make, subject
from netdwg.topology.model import Topology


def check_secrets(topology: Topology, secrets) -> Iterator[Diagnostic]:
    """NDW027: a host without a key or a peer pair without a PSK in the store; keys of hosts that are gone.

    Missing ones are normal before the first render (which generates them), so
    they are notes; a key for a host that no longer exists is a warning: a
    removed laptop's key should not outlive it.
    """
    from netdwg.topology.secrets import missing_secrets

    by_name = facts(topology).by_name
    hosts, pairs = missing_secrets(topology, secrets)
    fix = "run 'netdwg keys generate' (netdwg render does it too)" if not secrets.held_elsewhere else \
        "export this host's store again where the full store is (netdwg keys export --host HOST --out FILE)"
    for host, what in [(h, f"private key of {h}") for h in hosts] + [(a, f"preshared key {a} <-> {b}") for a, b in pairs]:
        yield make("NDW027", Severity.INFO, f"the secrets store has no {what}",
                   by_name[host].span() if host in by_name else topology.network.span(), subject(host), fix=fix)
    for name in sorted(set(secrets.private_keys) - set(by_name)):
        yield make("NDW027", Severity.WARNING, f"the secrets store still holds the private key of '{name}', "
                   "which is not in the topology", topology.network.span(), "[network]",
                   fix="delete its line from the secrets store ('netdwg host remove NAME --forget-keys' "
                       "does this when it removes a host)")
    for pair in sorted(secrets.preshared_keys):
        gone = [n for n in pair.split(":") if n not in by_name]
        if gone:
            yield make("NDW027", Severity.WARNING, f"the secrets store still holds the PSK {pair.replace(':', ' <-> ')}, "
                       f"but '{gone[0]}' is not in the topology", topology.network.span(), "[network]",
                       fix="delete its line from the store")
