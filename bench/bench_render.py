"""Load (topology and secrets), compile, render and lint a hub with 10,000 roaming clients and 50 sites.

Prints wall and CPU time of each phase and of all together (target: lint +
render at most 3 s; a ceiling, not a timed test). Key generation happens before timing: it is a one-time cost of
the secrets store, and so is deriving the new keys' public keys: the store
records each with a digest binding it to its private key, and compile uses the
recorded key once the digest checks out (a render in a fresh process, so the
derivation cache is cleared first; the count of keys compile derived is printed).

    .venv/bin/python bench/bench_render.py [ROAMING] [SITES]
"""

from __future__ import annotations

import gc
import ipaddress
import sys
import tempfile
import time
from pathlib import Path

from netdwg.keys import _derive_public
from netdwg.render import render_host
from netdwg.topology import load_topology
from netdwg.topology.compile import compile_topology
from netdwg.apply.writes import save_secrets
from netdwg.topology.secrets import Secrets, complete_secrets, load_secrets


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
    gc.disable()  # as `netdwg render` runs them: netdwg.cli pauses the cyclic GC for a verb
    try:
        result = func()
    finally:
        gc.enable()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(roaming: int = 10_000, sites: int = 50) -> None:
    with tempfile.TemporaryDirectory(prefix="ndwbench") as tmp:
        path = Path(tmp) / "bench.conf"
        path.write_text(big_topology_text(roaming, sites))
        topology, load_wall, load_cpu = _timed(lambda: load_topology(path))
        # Key generation is the secrets store's one-time cost, outside the timings;
        # reading the store is part of every render, deriving the public keys part of compile.
        secrets, _ = complete_secrets(topology, Secrets())
        save_secrets(Path(tmp) / "bench.secrets", secrets)
        _derive_public.cache_clear()  # as in a later `netdwg render`: nothing derived yet
        secrets, secrets_wall, secrets_cpu = _timed(lambda: load_secrets(Path(tmp) / "bench.secrets"))
    try:
        from netdwg.lint import run_lint
    except ImportError:
        run_lint = None
    configs, compile_wall, compile_cpu = _timed(lambda: compile_topology(topology, secrets))
    derived = _derive_public.cache_info().misses
    files, render_wall, render_cpu = _timed(lambda: sum(len(render_host(c)) for c in configs.values()))
    lint_wall = lint_cpu = 0.0
    if run_lint is not None:
        _, lint_wall, lint_cpu = _timed(lambda: run_lint(topology, configs))
    phases = [("load topology file", load_wall, load_cpu), ("load secrets store", secrets_wall, secrets_cpu),
              ("compile (incl. public keys)", compile_wall, compile_cpu),
              ("render all hosts", render_wall, render_cpu)]
    if run_lint is not None:
        phases.append(("lint", lint_wall, lint_cpu))
    print(f"hub + {sites} sites + {roaming} roaming clients = {len(topology.hosts)} hosts, {files} files")
    print(f"  public keys derived by compile: {derived} (the others were recorded in the store, digest checked)")
    print("  (wall time is inflated when other jobs share the 2 cores; CPU time is this process's own)")
    print(f"  {'phase':<30}{'wall s':>8}{'cpu s':>8}")
    for name, wall, cpu in phases:
        print(f"  {name:<30}{wall:8.3f}{cpu:8.3f}")
    print(f"  {'all together':<30}{sum(p[1] for p in phases):8.3f}{sum(p[2] for p in phases):8.3f}   (target <= 3 s)")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
