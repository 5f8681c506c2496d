"""Fingerprints recorded with `netdwg guard learn SITE`, kept in
/var/lib/netdwg/guard-learned.json (survives reboots, unlike /run)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from netdwg.errors import ParseError, Span
from netdwg.host.files import Tree
from netdwg.guard.config import Fingerprint
from netdwg.guard.observed import Observed
from netdwg.guard.policy import gather_evidence


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
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError) as err:
        raise ParseError(f"unreadable learned fingerprints ({err})", Span(str(path)),
                         fix="delete the file and run 'netdwg guard learn SITE' again in each office") from None
    try:
        return {site: tuple(fingerprint_from_json(fp) for fp in fps) for site, fps in data.get("sites", {}).items()}
    except (ValueError, AttributeError, TypeError) as err:
        raise ParseError(f"unreadable learned fingerprints ({err})", Span(str(path))) from None


def save_learned(path: Path, learned: dict[str, tuple[Fingerprint, ...]]) -> None:
    text = json.dumps({"version": 1, "sites": {s: [fingerprint_to_json(f) for f in fps]
                                               for s, fps in sorted(learned.items())}}, indent=1) + "\n"
    Tree(path.parent).write(path.name, text.encode("utf-8"), 0o644)


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
