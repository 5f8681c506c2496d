"""Benchmark: a .netdev with 10,000 peers — parse, edit one peer, format; then read it as a device.

Prints the time of each step (the median of 5 runs, each from the text) and their sum; the target on
the project's 2-core machine is a sum under 0.3 s. Then the desired-state path of `netdwg apply`:
effective_unit() and to_wg_device() (target: both under 0.1 s for 10,000 peers), cold (the
prefix and public-key caches emptied first) and warm (a second read of the same file, as a plan
reads the desired and the installed file), next to the plain peer_view path they replace.
Times are wall and CPU (the machine is shared: compare CPU, and the calibration line says
how slow a fixed micro-benchmark runs right now). Run: .venv/bin/python bench/bench_unitfile.py [PEERS]
"""

from __future__ import annotations

import base64
import ipaddress
import os
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netdwg.unitfile import UnitFile, effective_unit, parse_unit, set_peer_allowed_ips, to_wg_device  # noqa: E402
from netdwg.unitfile import fastvalues  # noqa: E402
from netdwg.unitfile.views import peer_views  # noqa: E402

PEERS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
RUNS = 5


def make_netdev(peers: int) -> tuple[str, list[str]]:
    builder = (UnitFile.new("/etc/systemd/network/50-hub.netdev")
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


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def both(fn):
    """(wall, cpu, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def median_of(runs: list[tuple[float, float]]) -> tuple[float, float]:
    runs = sorted(runs, key=lambda r: r[1])
    return runs[len(runs) // 2]


def calibration() -> float:
    """Nanoseconds per str.partition right now (about 45 ns on an idle modern core)."""
    best = min(timeit.repeat("'a=b'.partition('=')", number=200_000, repeat=5))
    return best / 200_000 * 1e9


def device_times(text: str) -> None:
    path = "/etc/systemd/network/50-hub.netdev"
    rows: dict[str, list[tuple[float, float]]] = {k: [] for k in ("eff", "cold", "warm", "plain")}
    device = None
    for _ in range(RUNS):
        unit = parse_unit(text, path)
        fastvalues._networks.clear()
        fastvalues._public_keys.clear()
        wall, cpu, eff = both(lambda: effective_unit(unit))
        rows["eff"].append((wall, cpu))
        wall, cpu, device = both(lambda: to_wg_device(eff))
        rows["cold"].append((wall, cpu))
        eff = effective_unit(parse_unit(text, path))  # the same file again (the installed copy)
        wall, cpu, again = both(lambda: to_wg_device(eff))
        rows["warm"].append((wall, cpu))
        assert again == device
    fastvalues._networks.clear()
    fastvalues._public_keys.clear()
    eff = effective_unit(parse_unit(text, path))
    wall, cpu, views = both(lambda: peer_views(eff))  # Value objects + typed views: the plain path
    rows["plain"].append((wall, cpu))
    assert [v.public_key for v in views] == [p.public_key for p in device.peers]
    labels = {"eff": "effective_unit()", "cold": "to_wg_device() cold",
              "warm": "to_wg_device() warm", "plain": "peer_views() (plain path, 1 run)"}
    for key, label in labels.items():
        wall, cpu = median_of(rows[key])
        print(f"{label:34s} {wall * 1000:8.1f} ms wall {cpu * 1000:8.1f} ms CPU")
    eff_cpu, cold_cpu = median_of(rows["eff"])[1], median_of(rows["cold"])[1]
    total = eff_cpu + cold_cpu
    print(f"{'effective view + device (cold)':34s} {'':17s} {total * 1000:8.1f} ms CPU   (target < 100 ms) "
          f"{'OK' if total < 0.1 else 'OVER TARGET'}   [{len(device.peers)} peers, keys decoded]")


def main() -> int:
    start = time.perf_counter()
    text, keys = make_netdev(PEERS)
    build_time = time.perf_counter() - start
    target = keys[PEERS // 2]
    runs = []
    for _ in range(RUNS):  # each run starts from the text: nothing parsed is reused
        t_parse, unit = timed(lambda: parse_unit(text, "/etc/systemd/network/50-hub.netdev"))
        t_edit, edited = timed(lambda: set_peer_allowed_ips(unit, target, ["10.200.0.1/32", "fd00:200::1/128"]))
        t_format, out = timed(lambda: edited.format())
        runs.append((t_parse + t_edit + t_format, t_parse, t_edit, t_format))
    runs.sort()
    total, t_parse, t_edit, t_format = runs[len(runs) // 2]  # the median run
    assert out != text and out.count("\n") == text.count("\n")
    assert parse_unit(unit.format()).format() == text
    print(f"unit file: {PEERS} peers, {len(text) / 1e6:.2f} MB, {text.count(chr(10))} lines "
          f"(built with UnitBuilder in {build_time:.3f} s)")
    print(f"parse        {t_parse * 1000:8.1f} ms")
    print(f"edit 1 peer  {t_edit * 1000:8.1f} ms   (set_peer_allowed_ips by PublicKey)")
    print(f"format       {t_format * 1000:8.1f} ms")
    print(f"total        {total * 1000:8.1f} ms   (target < 300 ms) {'OK' if total < 0.3 else 'OVER TARGET'}"
          f"   [runs: {', '.join(f'{r[0] * 1000:.0f}' for r in runs)} ms]")
    device_times(text)
    print(f"calibration: str.partition {calibration():.0f} ns (about 45 ns on an idle core; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
