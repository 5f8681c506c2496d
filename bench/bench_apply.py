"""bench_apply: a 5,000-peer hub on wireguard-go, change one peer.

Prints `netdwg apply`'s wall time (the whole command, Python start-up
included) next to `wg syncconf` for the same change on the same device, and
how many other peers lost their handshake or endpoint (targets: <= 1 s and
0 lost; a ceiling, not a timed test). Three real spokes hold live sessions; the other
peers get live endpoints set behind the configuration's back (as roaming
peers do), which apply must leave alone. Each apply runs between two
syncconfs (there and back), so both see the same load on a shared machine;
the ratio printed is the median of the per-apply ratios.

Run as root: python bench/bench_apply.py [PEERS]
"""

from __future__ import annotations

import compileall
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "integration"))

from test_apply_lab import ENV, PYTHON, STATE_DIR, add_host, wait_handshake, wg_dump  # noqa: E402

from netdwg.keys import genkey, genpsk  # noqa: E402
from netdwg.lab.sandbox import Sandbox  # noqa: E402

REPEATS = 9


def netdev_text(hub_key, peers) -> str:
    lines = ["[NetDev]", "Name=wg0", "Kind=wireguard", "", "[WireGuard]",
             f"PrivateKey={hub_key.reveal_base64()}", "ListenPort=51820"]
    for name, public, psk, ips in peers:
        lines += ["", f"# {name}", "[WireGuardPeer]", f"PublicKey={public}", f"PresharedKey={psk}", f"AllowedIPs={ips}"]
    return "\n".join(lines) + "\n"


def wg_conf_text(hub_key, peers) -> str:
    lines = ["[Interface]", f"PrivateKey={hub_key.reveal_base64()}", "ListenPort=51820"]
    for _name, public, psk, ips in peers:
        lines += ["", "[Peer]", f"PublicKey={public}", f"PresharedKey={psk}", f"AllowedIPs={ips}"]
    return "\n".join(lines) + "\n"


def write_rendered(out: Path, text: str) -> Path:
    target = out / "etc/systemd/network/50-wg0.netdev"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return out


def lost(before, after, changed: str) -> int:
    count = 0
    for key, peer in before.items():
        if key == changed:
            continue
        now = after.get(key)
        if now is None or now.handshake != peer.handshake or now.endpoint != peer.endpoint:
            count += 1
    return count


def main() -> int:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    # Byte-compiled, as installed (the .deb's py3compile runs at install): with
    # PYTHONDONTWRITEBYTECODE set, each run would otherwise compile every module edited
    # since the last compile (~50 ms here), which is a property of the checkout, not of apply.
    compileall.compile_dir(str(REPO / "netdwg"), quiet=1)
    tmp = Path(tempfile.mkdtemp(prefix="ndwbench"))
    with Sandbox(prefix="ndwb") as sb:
        switch = sb.netns("sw")
        switch.run(["ip", "link", "add", "br0", "type", "bridge"])
        switch.run(["ip", "link", "set", "br0", "address", "02:00:00:00:00:01", "up"])
        hub = add_host(sb, switch, "hub", 1, networkd=False)
        spokes = [add_host(sb, switch, f"s{i}", i + 1, networkd=False) for i in range(1, 4)]
        hub_key = genkey()

        peers = []
        for i, spoke in enumerate(spokes):
            peers.append((spoke.name, spoke.public, spoke.psk.reveal_base64(), f"10.99.0.{i + 2}/32"))
        for i in range(total - len(spokes)):
            peers.append((f"p{i}", genkey().public_key().base64, genpsk().reveal_base64(),
                          f"10.{100 + i // 62500}.{(i // 250) % 250}.{i % 250 + 1}/32"))
        target_index = len(peers) // 2
        name, public, psk, _ = peers[target_index]
        variants = [peers, peers[:target_index] + [(name, public, psk, "10.250.0.1/32")] + peers[target_index + 1:]]
        rendered = [write_rendered(tmp / f"v{i}", netdev_text(hub_key, v)) for i, v in enumerate(variants)]
        confs = []
        for i, v in enumerate(variants):
            conf = tmp / f"v{i}.conf"
            conf.write_text(wg_conf_text(hub_key, v))
            confs.append(conf)

        cpu_times: list[float] = []

        def apply(source: Path) -> float:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            result = hub.node.run([PYTHON, "-m", "netdwg", "apply", "--from", str(source), "--state-dir", STATE_DIR],
                                  check=False, env=ENV, timeout=600)
            elapsed = time.monotonic() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_times.append(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime)
            if result.returncode != 0:
                raise SystemExit(f"netdwg apply failed: {result.stderr[-2000:]}")
            return elapsed

        first = apply(rendered[0])
        hub.node.run(["ip", "addr", "add", "10.99.0.1/16", "dev", "wg0"])
        hub.node.run(["ip", "link", "set", "wg0", "up"])
        for spoke in spokes:
            key_file = tmp / f"{spoke.name}.key"
            key_file.write_text(spoke.key.reveal_base64() + "\n")
            psk_file = tmp / f"{spoke.name}.psk"
            psk_file.write_text(spoke.psk.reveal_base64() + "\n")
            spoke.node.run(["wg", "set", "wg0", "private-key", str(key_file), "peer", hub_key.public_key().base64,
                            "preshared-key", str(psk_file), "allowed-ips", "10.99.0.0/16",
                            "endpoint", f"{hub.underlay}:51820", "persistent-keepalive", "25"])
            spoke.node.run(["ip", "link", "set", "wg0", "up"])
        for spoke in spokes:
            wait_handshake(hub.node, spoke.public)
        # Roaming peers: live endpoints the configuration does not set.
        batch = []
        for i, (_n, key, _p, _ips) in enumerate(peers[len(spokes):len(spokes) + 500]):
            batch += ["peer", key, "endpoint", f"203.0.113.{i % 250 + 1}:{40000 + i}"]
        hub.node.run(["wg", "set", "wg0", *batch])

        # Interleaved, so that both see the same load on this shared machine: each apply
        # (files + device, one peer) sits between two syncconfs (device only, one peer each).
        netdwg_times, sync_times, ratios = [], [], []
        lost_apply = lost_sync = 0
        cpu_times.clear()

        def syncconf(variant: int) -> float:
            started = time.monotonic()
            hub.node.run(["wg", "syncconf", "wg0", str(confs[variant])], timeout=600)
            return time.monotonic() - started

        state = 0  # files and device match variants[state]
        for _ in range(REPEATS):
            target = 1 - state
            snapshot = wg_dump(hub.node)
            took = apply(rendered[target])
            now = wg_dump(hub.node)
            lost_apply += lost(snapshot, now, public)
            if now[public].allowed_ips != ("10.250.0.1/32" if target else peers[target_index][3]):
                raise SystemExit("the changed peer was not changed")
            around = [syncconf(state), syncconf(target)]  # there and back: the device matches the files again
            lost_sync += lost(now, wg_dump(hub.node), public)
            netdwg_times.append(took)
            sync_times += around
            ratios.append(took / statistics.mean(around))
            state = target
        lost_total = lost_apply

        startup_cpu = []
        for _ in range(REPEATS):
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            hub.node.run([PYTHON, "-c", "import netdwg.cli.apply, netdwg.apply.session, netdwg.apply.execute"],
                         env=ENV)
            after_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            startup_cpu.append(after_usage.ru_utime + after_usage.ru_stime - usage.ru_utime - usage.ru_stime)

    apply_s, sync_s = statistics.median(netdwg_times), statistics.median(sync_times)
    print(f"peers on the hub:                       {total} (3 with live sessions, 500 with roamed endpoints)")
    print(f"first apply (create all peers):         {first:.2f} s")
    print(f"netdwg apply, one peer changed:         {apply_s:.3f} s median of {REPEATS} "
          f"(min {min(netdwg_times):.3f}, max {max(netdwg_times):.3f}; whole command incl. Python start-up)"
          f"   (target <= 1 s) {'OK' if apply_s <= 1.0 else 'OVER TARGET'}")
    print(f"netdwg apply CPU time (user+sys):       {statistics.median(cpu_times):.3f} s median "
          f"(wall time above includes waiting for the CPU on a shared machine; load {os.getloadavg()[0]:.1f})")
    print(f"  of which Python start-up + imports:   {statistics.median(startup_cpu):.3f} s CPU")
    print(f"wg syncconf, same change:               {sync_s:.3f} s median of {len(sync_times)}")
    print(f"ratio apply / syncconf:                 {statistics.median(ratios):.1f}x median of {REPEATS} "
          f"(each apply against the two syncconfs around it; {min(ratios):.1f}-{max(ratios):.1f}x)")
    print(f"other peers' handshakes/endpoints lost: {lost_total} by netdwg apply, {lost_sync} by wg syncconf (target 0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
