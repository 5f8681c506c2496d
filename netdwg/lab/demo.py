"""``netdwg lab demo`` (``make demo``): up, check, roam with iperf3, a report, down."""

from __future__ import annotations

import sys
import time

from netdwg.lab.check import expected_probes, format_table, run_probes
from netdwg.lab.roam import AWAY, format_roam, roam
from netdwg.lab.state import Lab, destroy_labs, find_lab, lab_records
from netdwg.lab.up import bring_up
from netdwg.topology.model import Role


def _out(line: str = "") -> None:
    print(line, flush=True)


def pick_roamer(lab: Lab) -> tuple[str, str] | None:
    """A roaming host (one with the guard first) and a site it reaches."""
    roamers = list(lab.topology.by_role(Role.ROAMING))
    roamers.sort(key=lambda h: not h.guard)
    for host in roamers:
        for lan in lab.world.lans:
            if host.reach is None or lan.site in host.reach:
                return host.name, lan.site
    return None


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
        rows.append(("configured by", ", ".join(f"{how} ({sum(1 for v in hows.values() if v == how)} hosts)"
                                                for how in sorted(set(hows.values())))))

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

        pick = pick_roamer(lab)
        if pick is None:
            _out("\n== 3/4 roam: no roaming host reaches a LAN with DHCP in this topology, skipped")
            rows.append(("roam", "skipped (no roaming host reaches a LAN)"))
        else:
            host, site = pick
            for step, to in (("3/4", site), ("4/4", AWAY)):
                _out(f"\n== {step} netdwg lab roam {host} {to}")
                report = roam(lab, host, to, say=_out)
                _out(format_roam(report))
                b, a = report.before, report.after
                mb = lambda m: "-" if m.mbits is None else f"{m.mbits:,.0f} Mbit/s"  # noqa: E731
                rows.append((f"roam {host} -> {to}",
                             f"to {b.target}: {mb(b)} via {b.route_dev} -> {mb(a)} via {a.route_dev}; "
                             f"tunnel back in {report.tunnel_back_in * 1000:.0f} ms"))
                ok &= a.mbits is not None
    finally:
        removed = destroy_labs()
        rows.append(("lab down", f"removed {sum(r.startswith('netns') for r in removed)} namespaces, "
                                 f"stopped {sum(r.startswith('process') for r in removed)} processes"))
    width = max(len(k) for k, _ in rows)
    _out(f"\n== report ({time.monotonic() - t0:.0f} s)")
    for key, value in rows:
        _out(f"  {key.ljust(width)}  {value}")
    _out("  result".ljust(width + 2) + ("  OK: the network behaves as the topology says" if ok else "  FAILED"))
    return 0 if ok else 1
