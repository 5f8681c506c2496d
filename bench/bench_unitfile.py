"""Benchmark: a .netdev with 10,000 peers — parse, edit one peer, format; then read it as a device.

Prints the time of each step (the median of 5 runs, each from the text) and their sum; the target
on the project's 2-core machine is a sum of at most 0.5 s (a ceiling, not a timed test). Then
what plan reads the same file into: effective_unit() and to_wg_device() (no target of their own:
they are part of bench_apply.py's one-peer apply). Times are wall and CPU (the machine is shared:
compare CPU). Run: .venv/bin/python bench/bench_unitfile.py [PEERS]
"""

from __future__ import annotations

import base64
import gc
import ipaddress
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netdwg.unitfile import UnitBuilder, effective_unit, parse_unit, set_peer_allowed_ips, to_wg_device  # noqa: E402

PEERS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
RUNS = 5
TARGET = 0.5


def make_netdev(peers: int) -> tuple[str, list[str]]:
    builder = (UnitBuilder("/etc/systemd/network/50-hub.netdev")
               .comment("Benchmark hub: one peer per spoke.")
               .add_section("NetDev").append("Name", "wg-bench").append("Kind", "wireguard")
               .add_section("WireGuard").append("PrivateKey", base64.b64encode(os.urandom(32)).decode())
               .append("ListenPort", 51820))
    keys = []
    pool = ipaddress.ip_network("10.64.0.0/10")
    for i in range(peers):
        key = base64.b64encode(os.urandom(32)).decode()
        keys.append(key)
        builder.add_section("WireGuardPeer", comment=f"spoke {i}")
        builder.append("PublicKey", key)
        builder.append("PresharedKey", base64.b64encode(os.urandom(32)).decode())
        builder.append("AllowedIPs", [pool[i + 2], f"fd00:64::{i + 2:x}/128"])
        builder.append("PersistentKeepalive", 25)
    return builder.format(), keys


def both(fn):
    """(wall, cpu, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def median_of(runs: list[tuple[float, float]]) -> tuple[float, float]:
    runs = sorted(runs, key=lambda r: r[1])
    return runs[len(runs) // 2]


def device_times(text: str) -> None:
    path = "/etc/systemd/network/50-hub.netdev"
    rows: dict[str, list[tuple[float, float]]] = {"eff": [], "device": []}
    device = None
    for _ in range(RUNS):
        unit = parse_unit(text, path)
        wall, cpu, eff = both(lambda: effective_unit(unit))
        rows["eff"].append((wall, cpu))
        wall, cpu, device = both(lambda: to_wg_device(eff, peer_names=True))
        rows["device"].append((wall, cpu))
    for key, label in (("eff", "effective_unit()"), ("device", "to_wg_device()")):
        wall, cpu = median_of(rows[key])
        print(f"{label:17s} {wall * 1000:8.1f} ms wall {cpu * 1000:8.1f} ms CPU   [{len(device.peers)} peers]")


def main() -> int:
    start = time.perf_counter()
    text, keys = make_netdev(PEERS)
    build_time = time.perf_counter() - start
    target = keys[PEERS // 2]
    runs = []
    for _ in range(RUNS):  # each run starts from the text: nothing parsed is reused
        parse = both(lambda: parse_unit(text, "/etc/systemd/network/50-hub.netdev"))
        unit = parse[2]
        edit = both(lambda: set_peer_allowed_ips(unit, target, ["10.200.0.1/32", "fd00:200::1/128"]))
        edited = edit[2]
        fmt = both(lambda: edited.format())
        out = fmt[2]
        steps = [parse[:2], edit[:2], fmt[:2]]
        runs.append((sum(w for w, _ in steps), sum(c for _, c in steps), steps))
    runs.sort(key=lambda r: r[0])
    wall, cpu, steps = runs[len(runs) // 2]  # the median run (by wall time)
    assert out != text and out.count("\n") == text.count("\n")
    assert parse_unit(unit.format()).format() == text
    print(f"unit file: {PEERS} peers, {len(text) / 1e6:.2f} MB, {text.count(chr(10))} lines "
          f"(built with UnitBuilder in {build_time:.3f} s)")
    for label, (w, c) in zip(("parse", "edit 1 peer", "format"), steps):
        print(f"{label:12s} {w * 1000:8.1f} ms wall {c * 1000:8.1f} ms CPU")
    print(f"{'total':12s} {wall * 1000:8.1f} ms wall {cpu * 1000:8.1f} ms CPU   (target <= {TARGET * 1000:.0f} ms) "
          f"{'OK' if wall <= TARGET else 'OVER TARGET'}   [runs: {', '.join(f'{r[0] * 1000:.0f}' for r in runs)} ms wall]")
    device_times(text)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    gc.disable()  # as the netdwg CLI runs a verb (netdwg/cli/__init__.py)
    raise SystemExit(main())
