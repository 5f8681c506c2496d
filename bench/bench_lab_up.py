"""How long `netdwg lab up` (and `down`) take for 5, 20 and 50 hosts on this machine.

Synthetic hub-and-spoke topologies: one hub, a site with a LAN for every third
host, roaming laptops for the rest. Prints one line per size. Needs root.
Run: .venv/bin/python bench/bench_lab_up.py [--ipv6] [SIZES...]
(every host configured by netdwg apply run inside it, as `netdwg lab up` does; --ipv6 gives the hub only an IPv6 endpoint: the dual-stack internet, tunnels over IPv6, NAT66.)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from netdwg.lab.state import destroy_labs
from netdwg.lab.up import bring_up


def synthetic(n_hosts: int, ipv6: bool = False) -> str:
    endpoint = "[2001:db8::10]:51820" if ipv6 else "198.51.100.10:51820"
    lines = ["[network]", f"name = bench{n_hosts}", "pool = 10.99.0.0/16", "[hosts]",
             "  [[hub]]", "  role = hub", f"  endpoint = {endpoint}", "  address = 10.99.0.1"]
    for i in range(1, n_hosts):
        if i % 3 == 1:
            lines += [f"  [[site{i}]]", "  role = site", f"  address = 10.99.1.{i}", f"  lan = 172.16.{i}.0/24",
                      f"  return_path = {'static-route' if i % 2 else 'masquerade'}"]
        else:
            lines += [f"  [[laptop{i}]]", "  role = roaming", f"  address = 10.99.2.{i}"]
    return "\n".join(lines) + "\n"


def main(sizes: list[int], ipv6: bool = False) -> int:
    if os.geteuid() != 0:
        print("bench_lab_up: needs root (network namespaces); skipped")
        return 0
    print(f"hosts configured by: netdwg apply; internet: {'dual-stack (IPv6-only hub)' if ipv6 else 'IPv4'}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'hosts':>5}  {'namespaces':>10}  {'processes':>9}  {'up (s)':>7}  {'down (s)':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            topo = Path(tmp) / f"bench{n}.conf"
            topo.write_text(synthetic(n, ipv6))
            state = Path(tmp) / f"state{n}"
            t0 = time.monotonic()
            try:
                lab = bring_up(topo, state_dir=state, wait=60)
                up = time.monotonic() - t0
                nss, procs = len(lab.sandbox.record.netns), len(lab.sandbox.record.procs)
            finally:
                t1 = time.monotonic()
                destroy_labs(state)
                down = time.monotonic() - t1
            print(f"{n:>5}  {nss:>10}  {procs:>9}  {up:>7.1f}  {down:>8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    ipv6 = "--ipv6" in args
    args = [a for a in args if a != "--ipv6"]
    sys.exit(main([int(a) for a in args] or [5, 20, 50], ipv6))
