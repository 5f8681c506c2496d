"""netdwg-guard figures, measured in namespaces (needs root; prints, does not assert).

Each part runs once per LAN manager (--lan-manager, default both): networkd 252, and NetworkManager 1.42
taking the leases (networkd then keeps only wg0's address and routes).

1. Reaction: the laptop joins the office LAN by DHCP (networkd 252 or NetworkManager + dnsmasq).
   From the lease appearing on D-Bus to the tunnel route being fixed: the lease is the first
   PropertiesChanged of lan0's networkd link object after the connected route (networkd 252 has no
   lease object; the guard reads it with DescribeLink), or of a NetworkManager DHCP4Config whose
   Options carry a DHCP server, as `dbus-monitor` on the laptop's bus timestamps it; the fix as one
   `ip -ts monitor route` in the laptop's namespace timestamps it (both wall clock). Beside it: from
   the connected route to the fix (NetworkManager publishes the lease after the route), and the
   guard's own samples (netdwg_guard_reaction_seconds{trigger="lease"}: signal received -> kernel
   ack). p50/p99 over --joins joins (target p99 <= 10 ms on an idle machine).
2. Soak: --cycles join/leave cycles; after each leave the tunnel routes must be
   exactly the baseline; after SIGTERM nothing is left; guard RSS at start and end.
3. Uplink move: on the LAN, the internet uplink goes (and comes back); the
   guard re-sets the hub endpoint; outage = move -> first ping reply through
   the tunnel (target < 100 ms).

    python bench/bench_guard.py                       # 100 joins, 1000 cycles, 5 moves, both LAN managers
    python bench/bench_guard.py --joins 20 --cycles 50 --moves 3
    python bench/bench_guard.py --lan-manager networkmanager --joins 50 --cycles 100
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netdwg.lab.sandbox import Sandbox, wait_until  # noqa: E402
from netdwg.topology.guard_config import Action  # noqa: E402
from tests.guard_scenario import DEVICE, OFFICE_LAN, OFFICE_ROUTER, build_roaming_lab  # noqa: E402

TS = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\]\s*(.*)$")


class RouteMonitor:
    """`ip -ts monitor route neigh` in the laptop's namespaces, lines kept with their timestamps."""

    def __init__(self, lab) -> None:
        self.proc = subprocess.Popen(["nsenter", "-t", str(lab.lap.pid), "-m", "-n", "ip", "-ts", "monitor", "route", "neigh"],
                                     stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.lines: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            m = TS.match(raw.strip())
            if m:
                t = datetime.fromisoformat(m.group(1)).timestamp()
                with self.lock:
                    self.lines.append((t, m.group(2)))

    def mark(self) -> int:
        with self.lock:
            return len(self.lines)

    def since(self, mark: int) -> list[tuple[float, str]]:
        with self.lock:
            return list(self.lines[mark:])

    def stop(self) -> None:
        if self.proc.poll() is None and Path(f"/proc/{self.proc.pid}/comm").read_text().strip() in ("ip", "nsenter"):
            self.proc.terminate()
            self.proc.wait(5)


class BusMonitor:
    """`dbus-monitor` on the laptop's system bus: PropertiesChanged signals, each with its time, object path
    and whether its body names a DHCP server (NetworkManager's DHCP4Config.Options)."""

    def __init__(self, lab) -> None:
        rule = "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'"
        self.proc = subprocess.Popen(["nsenter", "-t", str(lab.lap.pid), "-m", "-n", "dbus-monitor", "--system", rule],
                                     stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.signals: list[list] = []  # [time, path, names a DHCP server]
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            head = re.match(r"^signal time=(\d+\.\d+) .* path=([^;]+);", raw)
            with self.lock:
                if head:
                    self.signals.append([float(head.group(1)), head.group(2), False])
                elif self.signals and '"dhcp_server_identifier"' in raw:
                    self.signals[-1][2] = True

    def mark(self) -> int:
        with self.lock:
            return len(self.signals)

    def lease_time(self, mark: int, manager: str, t_lan: float | None) -> float | None:
        with self.lock:
            signals = list(self.signals[mark:])
        if manager == "networkmanager":
            return next((t for t, path, server in signals if "/DHCP4Config/" in path and server), None)
        if t_lan is None:
            return None
        # networkd signals the new states right after it set the address (within a millisecond, while the
        # kernel's connected-route message may be timestamped a moment later); the signal before is carrier
        return next((t for t, path, _ in signals if "/network1/link/" in path and t >= t_lan - 0.005), None)

    def stop(self) -> None:
        if self.proc.poll() is None and Path(f"/proc/{self.proc.pid}/comm").read_text().strip() in (
                "dbus-monitor", "nsenter"):
            self.proc.terminate()
            self.proc.wait(5)


def guard_lease_reactions(lab) -> tuple[int, float]:
    """(count, sum of seconds) of the guard's own lease-triggered reaction samples, from its status file."""
    counters = (lab.guard_status() or {}).get("counters") or {}
    for series in counters.get("reaction_seconds", {}).get("series", []):
        if series["trigger"] == "lease":
            return series["buckets"][-1], series["sum"]
    return 0, 0.0


def _is_lan_route(text: str) -> bool:
    # networkd's is the kernel's prefix route; NetworkManager adds its own (noprefixroute addresses)
    return text.startswith(f"{OFFICE_LAN} dev lan0") and ("proto kernel" in text or "proto dhcp" in text)


def _is_router_mac(text: str) -> bool:
    """The kernel learned the office router's MAC on lan0 (the guard's ARP probe, or earlier)."""
    return text.startswith(f"{OFFICE_ROUTER} dev lan0 lladdr")


_BLOCKER = re.compile(r"oslo=identifying\(([^)]*)\)")


def last_blocker(log: str) -> str:
    """What the guard still waited for in its last round before the fix (from its -v log)."""
    found = _BLOCKER.findall(log)
    return found[-1] if found else "(nothing: fixed in the first round)"


def _is_fix(text: str) -> bool:
    return text.startswith(f"Deleted {OFFICE_LAN} dev wg0")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def office_routes(lab) -> list[dict]:
    return [r for r in lab.wg_routes() if r["dst"] == str(OFFICE_LAN)]


def join_and_wait(lab) -> None:
    lab.join("office")
    wait_until(lambda: not office_routes(lab), timeout=20, interval=0.01, what="the guard's fix")


def leave_and_wait(lab, baseline) -> None:
    lab.leave("office")
    wait_until(lambda: sorted(map(json.dumps, lab.wg_routes())) == baseline, timeout=20, interval=0.01,
               what="tunnel routes back to the baseline")
    # networkd drops the lease ~2 s after carrier loss (NetworkManager some seconds later); join again
    # only after, like a real re-join
    wait_until(lambda: not lab.has_lan_address("lan0"), timeout=20, interval=0.05, what="lease dropped")
    # NetworkManager withdraws the DHCP4Config some 70 ms after the address: the next join then starts
    # without the last visit's lease (else the fix may come from it, before the new lease is published)
    time.sleep(0.2)


def bench_reaction(lab, mon: RouteMonitor, bus: BusMonitor, manager: str, joins: int, baseline) -> None:
    samples, to_mac, mac_to_fix, slow, from_lease, own = [], [], [], [], [], []
    early = 0  # fixed before the lease signal: the facts were all there already (the last visit's lease)
    blockers: dict[str, int] = {}
    load = os.getloadavg()[0]
    for i in range(joins):
        mark, bus_mark = mon.mark(), bus.mark()
        log_mark = len(lab.guard_log())
        own_before = guard_lease_reactions(lab)
        join_and_wait(lab)
        time.sleep(0.02)
        lines = mon.since(mark)
        t_lan = next((t for t, l in lines if _is_lan_route(l)), None)
        t_fix = next((t for t, l in lines if _is_fix(l)), None)
        t_mac = next((t for t, l in lines if _is_router_mac(l)), None)
        t_lease = bus.lease_time(bus_mark, manager, t_lan)
        if t_lease is not None and t_fix is not None:
            if t_fix >= t_lease:
                from_lease.append((t_fix - t_lease) * 1000)
            else:
                early += 1
        try:  # the guard writes its status file 50 ms after a change
            wait_until(lambda: guard_lease_reactions(lab)[0] != own_before[0], timeout=0.5, interval=0.01)
        except Exception:
            pass  # no lease sample this join (the fix came from a link event)
        own_after = guard_lease_reactions(lab)
        if own_after[0] == own_before[0] + 1:
            own.append((own_after[1] - own_before[1]) * 1000)
        if t_lan is not None and t_fix is not None:
            ms = (t_fix - t_lan) * 1000
            samples.append(ms)
            if t_mac is not None:
                to_mac.append((t_mac - t_lan) * 1000)
                mac_to_fix.append((t_fix - t_mac) * 1000)
            blocker = last_blocker(lab.guard_log()[log_mark:])
            blockers[blocker] = blockers.get(blocker, 0) + 1
            slow.append((ms, blocker, None if t_mac is None else (t_mac - t_lan) * 1000))
        leave_and_wait(lab, baseline)
    if not samples:
        print("reaction: no samples")
        return
    loads = f"load average {load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    if from_lease:
        print(f"reaction over {len(from_lease)} joins (lease on D-Bus -> tunnel route deleted): "
              f"p50 {pct(from_lease, 50):.1f} ms, p99 {pct(from_lease, 99):.1f} ms, max {max(from_lease):.1f} ms "
              f"(target p99 <= 10 ms idle; {loads})" + (f"; {early} more fixed before the lease signal" if early else ""))
    if own:
        print(f"  the guard's own samples (lease signal received -> kernel ack), {len(own)} joins: "
              f"p50 {pct(own, 50):.1f} ms, p99 {pct(own, 99):.1f} ms, max {max(own):.1f} ms")
    print(f"  connected route -> tunnel route deleted, {len(samples)} joins: "
          f"p50 {pct(samples, 50):.1f} ms, p99 {pct(samples, 99):.1f} ms, max {max(samples):.1f} ms ({loads})")
    if to_mac:
        print(f"  connected route -> router MAC known (ARP): p50 {pct(to_mac, 50):.1f} ms, "
              f"p99 {pct(to_mac, 99):.1f} ms; router MAC -> fix: p50 {pct(mac_to_fix, 50):.1f} ms, "
              f"p99 {pct(mac_to_fix, 99):.1f} ms")
    print("  last thing waited for before the fix: " +
          "; ".join(f"{n}x {b}" for b, n in sorted(blockers.items(), key=lambda kv: -kv[1])))
    for ms, blocker, mac in sorted(slow, reverse=True)[:3]:
        print(f"  slowest: {ms:.1f} ms (ARP done at {'-' if mac is None else f'{mac:.1f}'} ms), waited for: {blocker}")


def bench_soak(lab, cycles: int, baseline) -> None:
    pid = lab.guard_pid
    start_rss = rss_kib(pid)
    stale = 0
    t0 = time.monotonic()
    for i in range(cycles):
        join_and_wait(lab)
        try:
            leave_and_wait(lab, baseline)
        except Exception:
            stale += 1
        if (i + 1) % 100 == 0:
            print(f"  soak: {i + 1} cycles, guard RSS {rss_kib(pid)} KiB, {time.monotonic() - t0:.0f} s", flush=True)
    end_rss = rss_kib(pid)
    print(f"soak: {cycles} join/leave cycles in {time.monotonic() - t0:.0f} s, stale route after leave: {stale}, "
          f"guard RSS start {start_rss} KiB, end {end_rss} KiB")


def _ping_until_reply(lab, started: float, limit: float = 20.0) -> float | None:
    """Ping the hub's tunnel address every 5 ms; seconds from `started` to the first reply."""
    proc = subprocess.Popen(["nsenter", "-t", str(lab.lap.pid), "-m", "-n", "ping", "-n", "-D", "-i", "0.005",
                             "-W", "0.05", "-w", str(int(limit)), "10.99.0.1"],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for line in proc.stdout:
            m = re.match(r"^\[(\d+\.\d+)\] \d+ bytes from", line)
            if m:
                return float(m.group(1)) - started
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(5)
    return None


def bench_uplink(lab, moves: int) -> None:
    join_and_wait(lab)
    out_lan, back = [], []
    for _ in range(moves):
        assert _ping_until_reply(lab, time.time(), 5) is not None
        t = time.time()
        lab.lap_sh("ip link set inet0 down")
        d = _ping_until_reply(lab, t)
        out_lan.append(d)
        t = time.time()
        lab.lap_sh("ip link set inet0 up")
        back.append(_ping_until_reply(lab, t))
        time.sleep(0.3)

    def fmt(values):
        return ", ".join("lost" if v is None else f"{v * 1000:.0f}" for v in values)

    print(f"uplink move internet -> office LAN (NAT): outage {fmt(out_lan)} ms; "
          f"LAN -> internet: {fmt(back)} ms (target < 100 ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--joins", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--moves", type=int, default=5)
    parser.add_argument("--nice", type=int, default=0,
                        help="renice the guard's threads (e.g. -10: what it achieves when it gets the CPU "
                             "on a loaded machine; the unit file does not do this)")
    parser.add_argument("--state-dir", type=Path, default=Path("/dev/shm/netdwg-bench"),
                        help="where the namespaces' run directories, and so the guard's state and status files, "
                             "live (default %(default)s: a tmpfs, as /run is on a laptop; the guard fsyncs its "
                             "write-ahead record before each change, which on a disk costs milliseconds)")
    parser.add_argument("--lan-manager", choices=("networkd", "networkmanager", "both"), default="both",
                        help="who takes the laptop's leases (default: both, one after the other)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_guard: needs root (network namespaces); skipped")
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped run still removes its namespaces
    managers = ("networkd", "networkmanager") if args.lan_manager == "both" else (args.lan_manager,)
    for manager in managers:
        print(f"== LAN leases by {manager}")
        run_one(args, manager)
    return 0


def run_one(args, manager: str) -> None:
    args.state_dir.mkdir(parents=True, exist_ok=True)
    with Sandbox(prefix="ndwb", state_dir=args.state_dir) as sb:
        lab = build_roaming_lab(sb, lan_manager=manager)
        baseline = sorted(map(json.dumps, lab.wg_routes()))
        lab.write_guard_config(Action.REMOVE)
        lab.start_guard()
        if args.nice:
            for task in Path(f"/proc/{lab.guard_pid}/task").iterdir():
                os.setpriority(os.PRIO_PROCESS, int(task.name), args.nice)
            print(f"guard threads reniced to {args.nice}")
        mon = RouteMonitor(lab)
        bus = BusMonitor(lab)
        time.sleep(0.3)
        try:
            if args.joins:
                bench_reaction(lab, mon, bus, manager, args.joins, baseline)
            if args.cycles:
                bench_soak(lab, args.cycles, baseline)
            if args.moves:
                bench_uplink(lab, args.moves)
            lab.stop_guard(signal.SIGTERM)
            left = lab.paths["state"].exists()
            lab.leave("office")
            wait_until(lambda: sorted(map(json.dumps, lab.wg_routes())) == baseline, timeout=20)
            print(f"after SIGTERM: state file left: {left}; tunnel routes equal the baseline: True")
        finally:
            mon.stop()
            bus.stop()
            print("guard log tail:\n" + "\n".join(lab.guard_log().splitlines()[-5:]))


if __name__ == "__main__":
    sys.exit(main())
