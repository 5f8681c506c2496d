"""Parse, check, edit and write big sysctl.d, wg-quick and netplan files; prints the times.

Run: .venv/bin/python bench/bench_parsers.py   (a figure, not a timed test)
"""

from __future__ import annotations

import ipaddress
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netdwg.keys import PrivateKey, genkey  # noqa: E402
from netdwg.netplan import NetplanTunnel, format_netplan, load_netplan  # noqa: E402
from netdwg.sysctl import check_sysctl, parse_sysctl  # noqa: E402
from netdwg.wgquick import check_wgquick, format_wgquick, load_wgquick, parse_wgquick_file, strip  # noqa: E402
from netdwg.wgquick import wgquick_from_device  # noqa: E402
from netdwg.wireguard import Endpoint, WgDevice, WgPeer  # noqa: E402

PEERS = 10_000


def timed(label: str, fn, *args):
    # CPU time too: the 2-core machine is shared, and wall time swings with the load.
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    print(f"  {label:<40} {(time.perf_counter() - wall) * 1000:9.1f} ms wall {(time.process_time() - cpu) * 1000:9.1f} ms cpu")
    return result


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    # Public keys derived from counter-based private keys: fast and distinct (the
    # counter starts at byte 1, which clamping leaves alone).
    peers = tuple(
        WgPeer(PrivateKey((i << 8).to_bytes(32, "little")).public_key(),
               (ipaddress.ip_network(f"10.{i // 256 % 256}.{i % 256}.0/24"),
                ipaddress.ip_network(f"fd00:{i:x}::/64")),
               endpoint=Endpoint("198.51.100.7", 40000 + i % 20000), persistent_keepalive=25, name=f"peer{i}")
        for i in range(1, PEERS + 1))
    device = WgDevice("wg0", genkey(), 51820, 0, peers)

    print(f"wg-quick, {PEERS} peers")
    config = wgquick_from_device(device, addresses=(ipaddress.ip_interface("10.0.0.1/16"),), table="off")
    text = timed("format_wgquick", format_wgquick, config)
    print(f"  ({len(text) / 1e6:.1f} MB, {text.count(chr(10))} lines)")
    parsed = timed("parse_wgquick_file (lossless)", parse_wgquick_file, text, "wg0.conf")
    assert timed("format (round trip)", parsed.format) == text
    loaded = timed("load_wgquick (typed view)", load_wgquick, text, "wg0.conf")
    assert loaded == config
    timed("check_wgquick", check_wgquick, text, "wg0.conf", 0o600)
    timed("strip", strip, text)

    print(f"netplan, {PEERS} peers")
    tunnel = NetplanTunnel(device, (ipaddress.ip_interface("10.0.0.1/16"),))
    yaml_text = timed("format_netplan", format_netplan, [tunnel])
    loaded = timed("load_netplan", load_netplan, yaml_text, "60.yaml")
    assert loaded == (tunnel,)

    print(f"sysctl.d, {PEERS} keys")
    sysctl_text = "".join(f"net.ipv4.conf.wg{i}.rp_filter = 2\n" for i in range(PEERS))
    parsed_sysctl = timed("parse_sysctl", parse_sysctl, sysctl_text, "99.conf")
    edited = timed("set one key", parsed_sysctl.set, "net.ipv4.conf.wg5000.rp_filter", "0")
    timed("format", edited.format)
    timed("check_sysctl", check_sysctl, sysctl_text, "99.conf")


if __name__ == "__main__":
    main()
