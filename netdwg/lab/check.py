"""``netdwg lab check``: the reachability matrix a topology implies, tested with real traffic.

`expected_probes` is pure: from the topology's intent (reach, allow,
return_path) it lists every (source, destination) pair with allowed/blocked
and why.  `run_probes` pings each pair in the lab and traces the path of
those that got through (traceroute -n -N 1).  A probe passes when what
happened is what the topology says: reachable when allowed, silent when it
must be blocked.  Both directions are probed (host -> LAN device and LAN
device -> host), so an allow-list that is too open fails as clearly as a
missing return route.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from netdwg.lab.world import World
from netdwg.topology.model import Host, ReturnPath, Role, Topology


@dataclass(frozen=True, slots=True)
class Point:
    """Something that sends and answers pings: a host (by its VPN address) or a LAN's test device."""

    name: str
    ns: str  # the lab namespace (short name) it lives in
    address: IPv4Address | IPv6Address
    site: str | None = None  # for a LAN device: the site whose LAN it is on


@dataclass(frozen=True, slots=True)
class Probe:
    src: Point
    dst: Point
    allowed: bool
    why: str


@dataclass(frozen=True, slots=True)
class ProbeResult:
    probe: Probe
    reached: bool
    hops: tuple[str, ...] = ()  # names (or addresses) of the hops, the destination last

    @property
    def ok(self) -> bool:
        return self.reached == self.probe.allowed


def reaches(spoke: Host, site: Host) -> bool:
    """Does `spoke` route `site`'s LANs into its tunnel? (reach unset: every site)"""
    if spoke.name == site.name or spoke.role is Role.HUB:
        return False
    return spoke.reach is None or site.name in spoke.reach


def may_open(site: Host, source: Host) -> bool:
    """May `source` open connections into `site`'s LANs? (allow unset: every spoke that reaches it)"""
    return site.allow is None or source.name in site.allow


def points(topology: Topology, world: World) -> tuple[Point, ...]:
    out = []
    for version in (4, 6):  # IPv6 inside the tunnel works over either underlay
        for host in topology.hosts:
            addr = next((a for a in host.addresses if a.version == version), None)
            if addr is not None:
                out.append(Point(host.name, host.name, addr))
    for lan in world.lans:
        out.append(Point(lan.device, lan.device, lan.device_address.ip, lan.site))
    for lan in world.lans:  # a dual-stack LAN's device answers on IPv6 too
        if lan.device_address6 is not None:
            out.append(Point(lan.device, lan.device, lan.device_address6.ip, lan.site))
    return tuple(out)


def _has_return_path(world: World, site: str) -> tuple[bool, str]:
    """Can the site's LAN devices send to the VPN? (static route on the office router, or no office router)"""
    lans = world.lans_of(site)
    if not lans:
        return False, f"{site} has no LAN"
    if lans[0].gateway_is_router or lans[0].return_path is ReturnPath.STATIC_ROUTE:
        return True, ""
    return False, f"{site}'s LAN router has no route to the VPN (return_path = {lans[0].return_path})"


def judge(topology: Topology, world: World, src: Point, dst: Point) -> tuple[bool, str]:
    """Whether the topology means src to reach dst, and why (one short phrase)."""
    if src.site is None and dst.site is None:
        return True, "VPN addresses reach each other through the hub"
    if src.site is None:  # host -> LAN device
        host, site = topology.host(src.name), topology.host(dst.site)
        if host.role is Role.HUB:
            return False, f"the hub may not open connections into {site.name}'s LAN"
        if not reaches(host, site):
            return False, f"{host.name} does not reach {site.name} (reach)"
        if not may_open(site, host):
            return False, f"{host.name} is not in {site.name}'s allow list"
        return True, f"{host.name} reaches {site.name}, allowed"
    site = topology.host(src.site)
    ok, why = _has_return_path(world, site.name)
    if not ok:
        return False, why
    if dst.site is None:  # LAN device -> host
        host = topology.host(dst.name)
        if host.role is Role.ROAMING and not reaches(host, site):
            return False, f"{host.name} does not route {site.name}'s LAN (reach)"
        return True, f"{site.name}'s LAN reaches the VPN through its gateway"
    other = topology.host(dst.site)  # LAN device -> LAN device
    if not reaches(site, other):
        return False, f"{site.name} does not reach {other.name} (reach)"
    if not may_open(other, site):
        return False, f"{site.name} is not in {other.name}'s allow list"
    return True, "site to site, allowed"


def expected_probes(topology: Topology, world: World) -> tuple[Probe, ...]:
    """Every pair of points except a gateway and its own LAN (no VPN involved there)."""
    pts = points(topology, world)
    probes = []
    for src in pts:
        for dst in pts:
            if src.address.version != dst.address.version:
                continue
            if src == dst or src.name == dst.name or (src.site is None and dst.site == src.name):
                continue  # a gateway and its own LAN talk directly
            if src.site is not None and dst.site == src.site:
                continue
            allowed, why = judge(topology, world, src, dst)
            probes.append(Probe(src, dst, allowed, why))
    return tuple(probes)


_HOP = re.compile(r"^\s*\d+\s+(\S+)")


def address_book(topology: Topology, world: World) -> dict[str, str]:
    """Address -> a readable name, for paths."""
    book: dict[str, str] = {}
    for u in world.uplinks:
        for a in (u.address, u.address6):
            if a is not None:
                book.setdefault(str(a.ip), u.ns)
    for box in world.hosts:
        for u in box.uplinks:
            for a in (u.address, u.address6):
                if a is not None:
                    book[str(a.ip)] = box.name
    for lan in world.lans:
        for a, name in ((lan.device_address, lan.device), (lan.router_address, lan.router),
                        (lan.device_address6, lan.device), (lan.router_address6, lan.router)):
            if a is not None:
                book[str(a.ip)] = name
    for host in topology.hosts:
        for a in host.addresses:
            book[str(a)] = host.name
    return book


def parse_traceroute(text: str, book: dict[str, str]) -> tuple[str, ...]:
    hops = []
    for line in text.splitlines()[1:]:
        m = _HOP.match(line)
        if m:
            addr = m.group(1)
            hops.append(book.get(addr, addr) if addr != "*" else "*")
    return tuple(hops)


def run_probes(lab, probes: tuple[Probe, ...], trace: bool = True, workers: int = 6,
               progress=None) -> tuple[ProbeResult, ...]:
    """Ping every probe (in parallel), then trace the ones that got through."""
    book = address_book(lab.topology, lab.world)

    def runner(short: str):
        if lab.topology.has_host(short):
            return lab.node(short).run
        return lab.ns(short).run

    def ping(p: Probe) -> bool:
        res = runner(p.src.ns)(["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-w", "2", str(p.dst.address)],
                               check=False, timeout=30)
        if progress:
            progress(p)
        return res.returncode == 0

    def path(p: Probe) -> tuple[str, ...]:
        res = runner(p.src.ns)(["traceroute", "-n", "-N", "1", "-q", "1", "-w", "1", "-m", "12",
                                str(p.dst.address)], check=False, timeout=60)
        return parse_traceroute(res.stdout, book)

    with ThreadPoolExecutor(workers) as pool:
        reached = list(pool.map(ping, probes))
        paths = list(pool.map(lambda pr: path(pr[0]) if (trace and pr[1]) else (), zip(probes, reached)))
    return tuple(ProbeResult(p, r, h) for p, r, h in zip(probes, reached, paths))


def format_table(results: tuple[ProbeResult, ...]) -> str:
    """A fixed-width table: FROM, TO, EXPECT, GOT, VERDICT, PATH or reason."""
    rows = [("FROM", "TO", "EXPECT", "GOT", "", "PATH / WHY")]
    for r in results:
        p = r.probe
        got = "reached" if r.reached else "blocked"
        verdict = "ok" if r.ok else "FAIL"
        detail = " > ".join(r.hops) if r.reached and r.hops else p.why
        if not r.ok:
            detail = f"{p.why}; but it was {got}"
        rows.append((p.src.name, f"{p.dst.name} {p.dst.address}", "allow" if p.allowed else "block", got, verdict,
                     detail))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5] for row in rows]
    failed = sum(1 for r in results if not r.ok)
    lines.append(f"{len(results)} probes, {len(results) - failed} as the topology says, {failed} failed")
    return "\n".join(lines)


def results_json(results: tuple[ProbeResult, ...]) -> list[dict]:
    return [{"from": r.probe.src.name, "to": r.probe.dst.name, "address": str(r.probe.dst.address),
             "expect": "allow" if r.probe.allowed else "block", "reached": r.reached, "ok": r.ok,
             "why": r.probe.why, "path": list(r.hops)} for r in results]

