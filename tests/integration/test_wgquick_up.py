"""netdwg.wgquick's typed view against what the real `wg-quick up` configures.

wg-quick runs in a throwaway network namespace and a private mount namespace
(tmpfs on /run, so wireguard-go's UAPI socket is private); without the kernel
module it falls back to wireguard-go, started by a wrapper that records its PID.
We then read the device back with `wg showconf` and `ip`, and
compare it with `load_wgquick` of the same file.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from netdwg.keys import genkey, genpsk
from netdwg.wgquick import format_wgquick, load_wgquick, wgquick_from_device
from netdwg.wireguard import Endpoint, WgDevice, WgPeer

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not (shutil.which("wg-quick") and shutil.which("wireguard-go")),
                                 reason="needs wg-quick and wireguard-go")]

WRAPPER = """#!/bin/sh
WG_PROCESS_FOREGROUND=1 setsid wireguard-go -f "$1" >/dev/null 2>&1 </dev/null &
echo $! > "{pidfile}"
i=0
while [ ! -S "/run/wireguard/$1.sock" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done
"""


@pytest.fixture
def netns():
    name = f"ndwq{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def _stop(pidfile: Path) -> None:
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text())
    try:
        if Path(f"/proc/{pid}/comm").read_text().strip().startswith("wireguard-go"):
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.02)
    except (FileNotFoundError, ProcessLookupError):
        pass


def test_wg_quick_up_configures_what_load_wgquick_reads(netns, tmp_path):
    ifname = "ndwq0"
    peers = (
        WgPeer(genkey().public_key(), (ipaddress.ip_network("10.77.0.2/32"), ipaddress.ip_network("172.30.1.0/24")),
               genpsk(), Endpoint("198.51.100.7", 51820), 25, "oslo"),
        WgPeer(genkey().public_key(), (ipaddress.ip_network("fd77::/64"),), endpoint=Endpoint("2001:db8::7", 51821)),
    )
    hook_log = tmp_path / "hooks.log"
    config = wgquick_from_device(
        WgDevice(ifname, genkey(), 51820, 0x51, peers),
        addresses=(ipaddress.ip_interface("10.77.0.1/24"), ipaddress.ip_interface("fd77::1/64")), mtu=1380,
        pre_up=(f"echo pre-up %i >> {hook_log}",), post_up=(f"echo post-up %i >> {hook_log}",))
    conf = tmp_path / f"{ifname}.conf"
    conf.write_text(format_wgquick(config))
    conf.chmod(0o600)
    pidfile = tmp_path / "wireguard-go.pid"
    wrapper = tmp_path / "wg-userspace"
    wrapper.write_text(WRAPPER.format(pidfile=pidfile))
    wrapper.chmod(0o755)
    script = f"""
set -e
mount -t tmpfs ndwq /run
mkdir -p /run/wireguard
WG_QUICK_USERSPACE_IMPLEMENTATION={wrapper} wg-quick up {conf} 2>{tmp_path}/up.log
echo '--showconf'; wg showconf {ifname}
echo '--addr'; ip -j addr show dev {ifname}
echo '--routes'; ip -j route show dev {ifname}; ip -j -6 route show dev {ifname}
wg-quick down {conf} 2>/dev/null || true
"""
    try:
        out = subprocess.run(["ip", "netns", "exec", netns, "unshare", "-m", "--propagation", "private",
                              "sh", "-c", script], capture_output=True, text=True, timeout=90)
    finally:
        _stop(pidfile)
    up_log = (tmp_path / "up.log").read_text() if (tmp_path / "up.log").exists() else ""
    assert out.returncode == 0, out.stderr + up_log
    sections = dict(part.split("\n", 1) for part in out.stdout.split("--")[1:])

    # The device wg sees equals our typed view of the same file.
    live = load_wgquick(sections["showconf"], f"{ifname}.conf").device
    ours = load_wgquick(conf.read_text(), str(conf)).device
    assert live.private_key == ours.private_key and live.listen_port == ours.listen_port
    assert live.fwmark == ours.fwmark == 0x51
    assert {p.public_key: (set(p.allowed_ips), p.preshared_key, p.endpoint, p.persistent_keepalive)
            for p in live.peers} == {p.public_key: (set(p.allowed_ips), p.preshared_key, p.endpoint,
                                                    p.persistent_keepalive) for p in ours.peers}

    # wg-quick's own keys: addresses, MTU, a route per AllowedIPs prefix, hooks in order.
    (link,) = json.loads(sections["addr"])
    assert link["mtu"] == 1380
    live_addrs = {ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}") for a in link["addr_info"]
                  if a.get("scope") != "link"}
    assert live_addrs == set(config.settings.addresses)
    routes = set()
    for chunk in sections["routes"].strip().splitlines():
        routes |= {r["dst"] for r in json.loads(chunk)}
    live_routes = [ipaddress.ip_network(r if "/" in r else f"{r}/{32 if ':' not in r else 128}") for r in routes]
    for peer in peers:
        for net in peer.allowed_ips:
            # wg-quick skips a prefix the device already routes (here 10.77.0.2/32 via 10.77.0.0/24)
            assert any(net.version == r.version and net.subnet_of(r) for r in live_routes), (net, routes)
    assert hook_log.read_text() == f"pre-up {ifname}\npost-up {ifname}\n"
    assert "[#] wireguard-go" in up_log or "[#] " + str(wrapper) in up_log
