"""``netdwg lab status``: what the running lab holds, as a value and as a table."""

from __future__ import annotations

import time

from netdwg.lab.nm import describe_lease, nm_lease
from netdwg.lab.roam import AWAY, ROAM_IF, where_is
from netdwg.lab.state import Lab
from netdwg.lab.world import public_address6


def latest_handshakes(node) -> list[int]:
    """The latest handshake of every peer on every WireGuard interface of the host: a site
    pair's interface (wgA, wgB) counts as much as the network's own."""
    res = node.run(["wg", "show", "all", "latest-handshakes"], check=False, timeout=10)
    return [int(fields[2]) for line in res.stdout.splitlines() if len(fields := line.split()) == 3]


def lab_status(lab: Lab) -> dict:
    extra = lab.sandbox.record.extra
    alive = {}
    for proc in lab.sandbox.record.procs:
        ns, _, what = proc.what.rpartition(":")
        alive.setdefault(ns, []).append((what, proc.pid, proc.is_alive()))
    hosts = []
    now = time.time()
    for box in lab.world.hosts:
        node = lab.node(box.name)
        stamps = latest_handshakes(node)
        hosts.append({
            "host": box.name, "role": str(box.role), "backend": box.backend, "netns": node.name,
            "holder_pid": node.pid, "public_address": str(box.public_address),
            "public_address6": str(public_address6(lab.world, box) or "") or None,
            "location": where_is(lab, box.name) if box.nat else "-",
            "configured_by": extra.get("configured_by", {}).get(box.name, "?"),
            "peers": len(stamps), "handshakes": sum(1 for s in stamps if s),
            "oldest_handshake_s": int(now - min(stamps)) if stamps and all(stamps) else None,
            "daemons": {what: {"pid": pid, "alive": ok} for what, pid, ok in alive.get(node.name, [])},
            # a laptop on NetworkManager in an office: the lease NetworkManager reports (DHCP4Config)
            "lease": _nm_lease(lab, box, node),
        })
    return {"lab": lab.sandbox.id, "topology": extra.get("topology_path"), "network": extra.get("name"),
            "up_seconds": extra.get("up_seconds"), "age_s": int(now - lab.started),
            "namespaces": len(lab.sandbox.record.netns), "processes": len(lab.sandbox.record.procs),
            "hosts": hosts,
            "lans": [{"site": lan.site, "prefix": str(lan.prefix), "router": str(lan.router_address.ip),
                      "prefix6": str(lan.prefix6) if lan.prefix6 else None,
                      "device": str(lan.device_address.ip), "return_path": str(lan.return_path)}
                     for lan in lab.world.lans]}


def _nm_lease(lab: Lab, box, node) -> dict | None:
    if box.backend != "networkmanager" or where_is(lab, box.name) == AWAY or not box.nat:
        return None
    return nm_lease(node, ROAM_IF) or None


def format_status(st: dict) -> str:
    lines = [f"lab {st['lab']}: {st['network']} from {st['topology']}, up {st['age_s']} s "
             f"(built in {st['up_seconds']} s), {st['namespaces']} namespaces, {st['processes']} processes"]
    rows = [("HOST", "ROLE", "BACKEND", "WHERE", "PUBLIC", "HANDSHAKES", "CONFIGURED BY", "DAEMONS")]
    for h in st["hosts"]:
        daemons = " ".join(f"{w}{'' if d['alive'] else '(dead)'}" for w, d in h["daemons"].items() if w != "holder")
        rows.append((h["host"], h["role"], h["backend"], h["location"],
                     h["public_address"] + (f", {h['public_address6']}" if h.get("public_address6") else ""),
                     f"{h['handshakes']}/{h['peers']}", h["configured_by"], daemons))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    for h in st["hosts"]:
        if h.get("lease"):
            lines.append(f"{h['host']}: {describe_lease(h['lease'])}")
    for lan in st["lans"]:
        prefix = lan["prefix"] + (f", {lan['prefix6']}" if lan.get("prefix6") else "")
        lines.append(f"LAN {prefix} of {lan['site']}: router {lan['router']}, test device {lan['device']}, "
                     f"return path {lan['return_path']}")
    return "\n".join(lines)
