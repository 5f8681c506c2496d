"""The linter: every rule is a pure function yielding Diagnostics; `run_lint` runs them all.

    run_lint(topology, compiled=None) -> tuple[Diagnostic, ...]   every finding at once, sorted by line
    check_files(files) -> tuple[Diagnostic, ...]                  cross-file checks of existing host files

Codes (NDW001-003 come from the loader):
    NDW010 overlapping AllowedIPs among one interface's peers
    NDW011 a LAN or transfer network overlaps the VPN pool
    NDW012 two LANs (or transfer networks, or pool prefixes) overlap
    NDW013 duplicate or missing VPN address
    NDW014 VPN address outside the pool
    NDW015 a host that can reach nobody
    NDW016 both ends behind NAT, no endpoint to dial
    NDW017 spoke behind NAT without keepalive; hub_keepalive without a hub
    NDW018 a host that must route but does not forward
    NDW019 a LAN with no usable return path (static route or MASQUERADE)
    NDW020 an allow list or MASQUERADE source that does not cover its clients
    NDW021 MTU above what the path allows (or below IPv6's minimum)
    NDW022 roaming host whose routed LAN collides with the LAN it joins
    NDW023 reference to an unknown host (allow, reach, pair ends)
    NDW024 more than one hub
    NDW025 guard on a host that is not roaming, or routes no site LAN
    NDW026 site pair ends without endpoints (or not gateways); interface name or port clashes
    NDW027 secrets store: a missing key or PSK; keys of hosts that are gone
    NDW028 a guarded site LAN with no proof (unverified: the guard does nothing), or trust = passive
    NDW029 backend = networkmanager on a host that keeps its own private key
    NDW030 public key mismatch between two ends (files)
    NDW031 preshared key mismatch between two ends (files)
    NDW032 private key or PSK in a world-readable file (files)
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Mapping

from netdwg.errors import Diagnostic, Severity
from netdwg.lint import rules_addresses, rules_peers, rules_routing, rules_secrets
from netdwg.topology.model import Topology

Rule = Callable[[Topology, Mapping | None], Iterable[Diagnostic]]

RULES: tuple[Rule, ...] = (
    rules_addresses.check_peer_overlaps,
    rules_addresses.check_lan_overlaps,
    rules_addresses.check_addresses,
    rules_peers.check_references,
    rules_peers.check_single_hub,
    rules_peers.check_reaches_somebody,
    rules_peers.check_nat,
    rules_peers.check_keepalive,
    rules_peers.check_pairs,
    rules_peers.check_guard,
    rules_peers.check_guard_trust,
    rules_peers.check_networkmanager,
    rules_routing.check_forwarding,
    rules_routing.check_return_path,
    rules_routing.check_coverage,
    rules_routing.check_compiled_coverage,
    rules_routing.check_mtu,
    rules_routing.check_roaming_conflict,
)

_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def run_lint(topology: Topology, compiled: Mapping | None = None, secrets=None) -> tuple[Diagnostic, ...]:
    """Every rule's findings at once, in file order (then severity, then code).

    `compiled` (host name -> the compiler's HostConfig) is optional; rules
    that can also check compiled output (forwarding sysctls, firewall) use it
    when given. `secrets` (the store's `Secrets`), when given, is checked too.
    """
    found: list[Diagnostic] = []
    for rule in RULES:
        found.extend(rule(topology, compiled))
    if secrets is not None:
        found.extend(rules_secrets.check_secrets(topology, secrets))
    return tuple(sorted(dict.fromkeys(found), key=_sort_key))


def _sort_key(d: Diagnostic):
    return (d.span.path if d.span else "", d.span.line if d.span else 0, _ORDER[d.severity], d.code, d.message)


def errors(diagnostics: Iterable[Diagnostic]) -> Iterator[Diagnostic]:
    return (d for d in diagnostics if d.severity is Severity.ERROR)


def check_files(files, permissions: bool = True) -> tuple[Diagnostic, ...]:
    """Cross-file checks of existing host files, read by the caller (see `netdwg.lint.files`)."""
    from netdwg.lint.files import check_files as _check_files

    return _check_files(files, permissions)


__all__ = ["run_lint", "check_files", "RULES", "errors"]
