"""Fingerprints recorded with `netdwg guard learn SITE`, kept in
/var/lib/netdwg/guard-learned.json (survives reboots, unlike /run; the one
default both the guard and `learn` use is DEFAULT_LEARNED_PATH in defaults.py).

The running guard reports in its status file which file it read and the SHA-256
of the bytes it read, so `learn` can tell that the guard re-read what it wrote."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from netdwg.errors import NetdwgError, ParseError, Span
from netdwg.host.files import Tree
from netdwg.guard.observed import Observed
from netdwg.guard.policy import gather_evidence
from netdwg.topology.guard_config import Fingerprint


def fingerprint_to_json(fp: Fingerprint) -> dict:
    return {"dhcp_servers": [str(i) for i in fp.dhcp_servers], "routers": [str(i) for i in fp.routers],
            "router_macs": list(fp.router_macs), "dns_domains": list(fp.dns_domains)}


def fingerprint_from_json(data: dict) -> Fingerprint:
    ip = ipaddress.ip_address
    return Fingerprint(dhcp_servers=tuple(ip(i) for i in data.get("dhcp_servers", [])),
                       routers=tuple(ip(i) for i in data.get("routers", [])),
                       router_macs=tuple(m.lower() for m in data.get("router_macs", [])),
                       dns_domains=tuple(d.lower() for d in data.get("dns_domains", [])))


def load_learned(path: Path) -> dict[str, tuple[Fingerprint, ...]]:
    return read_learned(path)[0]


def read_learned(path: Path) -> tuple[dict[str, tuple[Fingerprint, ...]], str]:
    """The learned fingerprints and the SHA-256 of the bytes they were read from ("" without a file)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, ""
    return _parse_learned(raw, path), hashlib.sha256(raw).hexdigest()


def _parse_learned(raw: bytes, path: Path) -> dict[str, tuple[Fingerprint, ...]]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ParseError(f"unreadable learned fingerprints ({err})", Span(str(path)),
                         fix="delete the file and run 'netdwg guard learn SITE' again in each office") from None
    try:
        return {site: tuple(fingerprint_from_json(fp) for fp in fps) for site, fps in data.get("sites", {}).items()}
    except (ValueError, AttributeError, TypeError) as err:
        raise ParseError(f"unreadable learned fingerprints ({err})", Span(str(path))) from None


def save_learned(path: Path, learned: dict[str, tuple[Fingerprint, ...]]) -> str:
    """Write the file; returns the SHA-256 of what was written (what a guard that re-read it reports)."""
    raw = (json.dumps({"version": 1, "sites": {s: [fingerprint_to_json(f) for f in fps]
                                              for s, fps in sorted(learned.items())}}, indent=1) + "\n").encode()
    Tree(path.parent).write(path.name, raw, 0o644)
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class LearnedFile:
    """What the running guard read from its learned file, and the SHA-256 of those bytes."""

    path: Path
    sites: Mapping[str, tuple[Fingerprint, ...]]
    sha256: str = ""
    error: str = ""  # the last re-read failed: the guard goes on with what it read before

    @classmethod
    def read(cls, path: Path, before: LearnedFile | None = None) -> LearnedFile:
        """At start an unreadable file is an error; on a re-read the guard keeps what it had."""
        try:
            sites, digest = read_learned(path)
        except NetdwgError as err:
            if before is None:
                raise
            return replace(before, error=str(err))
        return cls(path, sites, digest)

    def outcome(self) -> str:
        """The journal's line for a re-read."""
        return self.error or f"re-read learned fingerprints from {self.path}"

    def status(self) -> dict:
        """The "learned" part of the guard's status file, which `netdwg guard learn` waits on."""
        return {"path": str(self.path.absolute()), "sha256": self.sha256,
                "sites": {s: len(f) for s, f in sorted(self.sites.items())}, "error": self.error or None}


def fingerprint_of_link(observed: Observed, dev: str) -> Fingerprint:
    """What identifies the LAN `dev` is on now: every piece of evidence we have."""
    ev = gather_evidence(observed, dev)
    return Fingerprint(dhcp_servers=(ev.dhcp_server,) if ev.dhcp_server else (),
                       routers=(ev.router,) if ev.router else (),
                       router_macs=(ev.router_mac,) if ev.router_mac else (),
                       dns_domains=(ev.dns_domain,) if ev.dns_domain else ())


def add_learned(learned: dict[str, tuple[Fingerprint, ...]], site: str, fp: Fingerprint) -> dict:
    old = tuple(f for f in learned.get(site, ()) if f != fp)
    return {**learned, site: old + (fp,)}
