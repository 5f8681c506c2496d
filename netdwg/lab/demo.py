"""``netdwg lab demo FILE`` (``make demo``: examples/1-offices.conf; ``make demo-nm``: examples/6-nm-laptop.conf,
a laptop on NetworkManager): up, check, roam with iperf3, a report, down.

The roam: a laptop per backend walks into the office where the roaming fix applies best (the
site widens, or the laptop's guard can recognise the office) and back out, so the report sets
the tunnel's throughput beside the LAN's.
"""

from __future__ import annotations

import sys
import time

from netdwg.lab.check import expected_probes, format_table, run_probes
from netdwg.lab.roam import AWAY, Measurement, format_roam, roam
from netdwg.lab.state import Lab, destroy_labs, find_lab, lab_records
from netdwg.lab.up import bring_up
from netdwg.lab.world import SiteLan
from netdwg.topology.model import GuardAction, Role


def _out(line: str = "") -> None:
    print(line, flush=True)


def _mbits(m: Measurement) -> str:
    return "-" if m.mbits is None else f"{m.mbits:,.0f} Mbit/s"


def _fixed_on(lab: Lab, host, lan: SiteLan) -> int:
    """0: the LAN's route wins there without a daemon (the site widens); 1: the laptop's guard can
    prove the office (an office host's SSH key, which the lab runs); 2: nothing fixes it (the
    demo shows the conflict)."""
    site_lan = lab.topology.host(lan.site).lans[lan.index]
    if site_lan.guard_action is GuardAction.WIDEN and site_lan.widen_to is not None:
        return 0
    return 1 if host.guard and site_lan.fingerprint.ssh_host_key else 2


def pick_roams(lab: Lab) -> list[tuple[str, str]]:
    """(laptop, site) to walk in: a laptop per backend (a guarded one first), each into the office
    it reaches where the roaming fix applies best; then the guarded laptop into an office its
    guard proves, when that is another one."""
    lans = [lan for lan in lab.world.lans if lan.index == 0 and any(d.ns == lan.router for d in lab.world.dhcp)]
    picks: dict[str, tuple[str, str]] = {}
    guarded: list[tuple[str, str]] = []
    for host in sorted(lab.topology.by_role(Role.ROAMING), key=lambda h: not h.guard):
        reached = [lan for lan in lans if host.reach is None or lan.site in host.reach]
        if reached and host.backend not in picks:
            best = min(reached, key=lambda lan: _fixed_on(lab, host, lan))
            picks[host.backend] = (host.name, best.site)
        proven = [lan for lan in reached if _fixed_on(lab, host, lan) == 1]
        if proven and not guarded:
            guarded.append((host.name, proven[0].site))
    out = list(picks.values())
    return out + [g for g in guarded if g not in out]


def demo(topology_path: str) -> int:
    """Run the whole story; always tear down. 0 when everything behaved as the topology says."""
    if lab_records():
        _out("[#] a lab is already up: removing it first")
        destroy_labs()
    rows: list[tuple[str, str]] = []
    ok = True
    t0 = time.monotonic()
    try:
        _out(f"== 1/4 netdwg lab up {topology_path}")
        bring_up(topology_path, say=_out)
        lab = find_lab()
        extra = lab.sandbox.record.extra
        rows.append(("lab up", f"{len(lab.topology.hosts)} hosts, {len(lab.sandbox.record.netns)} namespaces, "
                               f"{len(lab.sandbox.record.procs)} processes in {extra['up_seconds']:.1f} s"))
        hows = extra.get("configured_by", {})
        counts = {how: sum(1 for v in hows.values() if v == how) for how in sorted(set(hows.values()))}
        rows.append(("configured by", ", ".join(f"{how} ({n} host{'s' if n > 1 else ''})" for how, n in counts.items())))

        _out("\n== 2/4 netdwg lab check")
        probes = expected_probes(lab.topology, lab.world)
        done = [0]

        def progress(_probe) -> None:
            done[0] += 1
            if sys.stdout.isatty():
                print(f"\r   {done[0]}/{len(probes)} probes", end="", flush=True)

        tc = time.monotonic()
        results = run_probes(lab, probes, progress=progress)
        if sys.stdout.isatty():
            print()
        _out(format_table(results))
        failed = [r for r in results if not r.ok]
        ok &= not failed
        allowed = sum(1 for r in results if r.probe.allowed)
        rows.append(("check", f"{len(results)} probes ({allowed} allowed, {len(results) - allowed} must be "
                              f"blocked) in {time.monotonic() - tc:.1f} s: "
                              + ("all as the topology says" if not failed else f"{len(failed)} FAILED")))

        picks = pick_roams(lab)
        if not picks:
            _out("\n== 3/4 roam: no roaming host reaches a LAN with DHCP in this topology, skipped")
            rows.append(("roam", "skipped (no roaming host reaches a LAN)"))
        for host, site in picks:
            backend = lab.topology.host(host).backend
            _out(f"\n== 3/4 netdwg lab roam {host} {site}   ({backend} laptop walks into the office)")
            inside = roam(lab, host, site, say=_out)
            _out(format_roam(inside))
            _out(f"\n== 3/4 netdwg lab roam {host} away")
            back = roam(lab, host, AWAY, measure=False, say=_out)
            _out(format_roam(back))
            b, a = inside.before, inside.after
            ratio = f" ({a.mbits / b.mbits:,.0f}x)" if a.mbits and b.mbits else ""
            others = ", ".join(f"{dev} via {via}" for dev, via in inside.other_lans)
            rows.append((f"roam {host} ({backend}) -> {site}",
                         f"to {b.target}: {_mbits(b)} via {b.route_dev} -> {_mbits(a)} via {a.route_dev}{ratio}"
                         + (f"; {others}" if others else "")))
            rows.append((f"roam {host} -> away", f"to {b.target} via {back.after.route_dev} again; tunnel back in "
                                                  f"{back.tunnel_back_in * 1000:.0f} ms"))
            ok &= a.mbits is not None and back.after.route_dev == b.route_dev
    finally:
        removed = destroy_labs()
        rows.append(("lab down", f"removed {sum(r.startswith('netns') for r in removed)} namespaces, "
                                 f"stopped {sum(r.startswith('process') for r in removed)} processes"))
    width = max(len(k) for k, _ in rows)
    _out(f"\n== 4/4 report ({time.monotonic() - t0:.0f} s)")
    for key, value in rows:
        _out(f"  {key.ljust(width)}  {value}")
    _out("  result".ljust(width + 2) + ("  OK: the network behaves as the topology says" if ok else "  FAILED"))
    return 0 if ok else 1
