"""Compile + render every host of a hub with 10,000 roaming clients and 50 sites.

Prints wall and CPU time of each phase (target: lint + compile + render of
all hosts under 2 s). Key generation happens before timing: it is a one-time
cost of the secrets store; deriving the public keys is part of compile.

    .venv/bin/python bench/bench_render.py [ROAMING] [SITES]
"""

from __future__ import annotations

import ipaddress
import sys
import time

from netdwg.render import render_host
from netdwg.render.text import bulk_allocation
from netdwg.topology import parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.secrets import complete_secrets, Secrets


def big_topology_text(roaming: int, sites: int) -> str:
    pool = ipaddress.ip_network("10.128.0.0/10")
    hosts = pool.hosts()
    lines = ["[network]", "name = bench", "interface = wg0", f"pool = {pool}", "[hosts]",
             "  [[hub]]", "  role = hub", "  endpoint = 198.51.100.1:51820", f"  address = {next(hosts)}"]
    for i in range(sites):
        lines += [f"  [[site{i}]]", "  role = site", f"  address = {next(hosts)}",
                  f"  lan = 172.{16 + i // 256}.{i % 256}.0/24", f"  lan_address = 172.{16 + i // 256}.{i % 256}.1",
                  "  return_path = static-route" if i % 2 else "  return_path = masquerade"]
    for i in range(roaming):
        lines += [f"  [[user{i}]]", "  role = roaming", f"  address = {next(hosts)}",
                  "  backend = wg-quick" if i % 3 == 0 else "  backend = networkd"]
    return "\n".join(lines) + "\n"


def _timed(func):
    wall, cpu = time.perf_counter(), time.process_time()
    with bulk_allocation():  # as `netdwg render` runs them
        result = func()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(roaming: int = 10_000, sites: int = 50) -> None:
    text = big_topology_text(roaming, sites)
    topology, parse_wall, parse_cpu = _timed(lambda: parse_topology(text, "bench.conf"))
    secrets, _ = complete_secrets(topology, Secrets())
    try:
        from netdwg.lint import run_lint
    except ImportError:
        run_lint = None
    configs, compile_wall, compile_cpu = _timed(lambda: compile_topology(topology, secrets))
    lint_wall = lint_cpu = 0.0
    if run_lint is not None:
        _, lint_wall, lint_cpu = _timed(lambda: run_lint(topology, configs))
    files, render_wall, render_cpu = _timed(lambda: sum(len(render_host(c)) for c in configs.values()))
    print(f"hub + {sites} sites + {roaming} roaming clients = {len(topology.hosts)} hosts, {files} files")
    print("  (wall time is inflated when other jobs share the 2 cores; CPU time is this process's own)")
    print(f"  {'phase':<30}{'wall s':>8}{'cpu s':>8}")
    print(f"  {'parse topology file':<30}{parse_wall:8.3f}{parse_cpu:8.3f}")
    print(f"  {'compile (incl. public keys)':<30}{compile_wall:8.3f}{compile_cpu:8.3f}")
    if run_lint is not None:
        print(f"  {'lint':<30}{lint_wall:8.3f}{lint_cpu:8.3f}")
    print(f"  {'render all hosts':<30}{render_wall:8.3f}{render_cpu:8.3f}")
    total_wall = compile_wall + render_wall + lint_wall
    total_cpu = compile_cpu + render_cpu + lint_cpu
    print(f"  {'lint + compile + render':<30}{total_wall:8.3f}{total_cpu:8.3f}   (target < 2 s)")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
