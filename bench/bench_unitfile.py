"""Benchmark: a .netdev with 10,000 peers — parse, edit one peer, format.

Prints the time of each step (the median of 5 runs, each from the text) and their sum; the target on
the project's 2-core machine is a sum under 0.3 s. Run: .venv/bin/python bench/bench_unitfile.py
"""

from __future__ import annotations

import base64
import ipaddress
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netdwg.unitfile import UnitFile, parse_unit, set_peer_allowed_ips, to_wg_device, effective_unit  # noqa: E402

PEERS = 10_000
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
    t_view, device = timed(lambda: to_wg_device(effective_unit(parse_unit(text))))
    assert out != text and out.count("\n") == text.count("\n")
    assert parse_unit(unit.format()).format() == text
    print(f"unit file: {PEERS} peers, {len(text) / 1e6:.2f} MB, {text.count(chr(10))} lines "
          f"(built with UnitBuilder in {build_time:.3f} s)")
    print(f"parse        {t_parse * 1000:8.1f} ms")
    print(f"edit 1 peer  {t_edit * 1000:8.1f} ms   (set_peer_allowed_ips by PublicKey)")
    print(f"format       {t_format * 1000:8.1f} ms")
    print(f"total        {total * 1000:8.1f} ms   (target < 300 ms) {'OK' if total < 0.3 else 'OVER TARGET'}"
          f"   [runs: {', '.join(f'{r[0] * 1000:.0f}' for r in runs)} ms]")
    print(f"extra: effective view + to_wg_device ({len(device.peers)} peers, keys decoded) {t_view * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
