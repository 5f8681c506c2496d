"""netdwg-guard: event sources -> fold -> pure decision -> actions, with a
write-ahead record under /run. Entry point: `main()` (console script
`netdwg-guard`, and `netdwg guard run`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from netdwg.errors import EXIT_INTERNAL, EXIT_OK, NetdwgError
from netdwg.guard.configfile import load_guard_config
from netdwg.guard.defaults import (  # noqa: F401 (add_run_arguments, build_parser re-exported)
    DEFAULT_CONFIG_PATH, DEFAULT_LEARNED_PATH, DEFAULT_STATE_PATH, DEFAULT_STATUS_PATH, DNS_REFRESH, add_run_arguments,
    build_parser)
from netdwg.guard.actions import execute, probe_neighbour, resolve_endpoint, wg_port_for
from netdwg.guard.checks import run_check
from netdwg.guard.rtnl import RtnlRoutes
from netdwg.guard.learned import LearnedFile
from netdwg.guard.observed import AddressAdded, LeaseSeen, LinkState, Observed, ProofSeen, RouteAdded, Snapshot, fold
from netdwg.guard.policy import (AddRoute, AddRule, Apply, Change, Decision, Probe, Prove, SwapAllowedIps, Undo,
                                 Verdict, decide, undo_all, uplink_addresses)
from netdwg.guard.service import log_memory, notify, setup_logging, watchdog_interval
from netdwg.guard.sources.leases import LEASE_DIR, LeaseWatcher
from netdwg.guard.sources.netlink import NetlinkMonitor
from netdwg.guard.state import GuardState, load_state, save_state
from netdwg.guard.status import status_json
from netdwg.guard.tally import Tally
from netdwg.host.files import Tree
from netdwg.topology.guard_config import GuardConfig

log = logging.getLogger("netdwg.guard")

PROBE_INTERVAL = 0.05  # seconds between two ARP probes of the same router (one datagram each)
STATUS_DELAY = 0.05  # seconds from a change to the status file written (more changes meanwhile: one write)


@dataclass(frozen=True, slots=True)
class GuardPaths:
    config: Path = DEFAULT_CONFIG_PATH
    state: Path = DEFAULT_STATE_PATH
    learned: Path = DEFAULT_LEARNED_PATH
    status: Path = DEFAULT_STATUS_PATH
    leases: Path = LEASE_DIR


class Guard:
    def __init__(self, config: GuardConfig, paths: GuardPaths, use_dbus: bool = True,
                 bus_address: str | None = None, dns_refresh: float = DNS_REFRESH) -> None:
        self.config = config
        self.dns_refresh = dns_refresh
        self.paths = paths
        self.use_dbus = use_dbus
        self.bus_address = bus_address
        self.learned = LearnedFile.read(paths.learned)
        self.observed = Observed()
        self.state: tuple[Change, ...] = ()
        self.decision: Decision | None = None
        self.pending: list = []
        self.wakeup = asyncio.Event()
        self.stop_requested = asyncio.Event()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netlink-actions")
        self._status_due: asyncio.TimerHandle | None = None
        self.routes: RtnlRoutes | None = None  # used on the loop's thread
        self.worker_routes: RtnlRoutes | None = None  # used in the worker (WireGuard changes, undo-all)
        self.have_snapshot = False
        self.uplink: tuple | None = None
        self.endpoint_resets = 0
        self.tally = Tally(started=time.time())  # counters for `netdwg metrics`, via the status file
        self._clock: float | None = None  # first event since the guard last had nothing to do
        self._lease_clock: float | None = None  # first lease event since then
        self._probed: dict[tuple, float] = {}
        self._warned: set[str] = set()
        self._first_event_at: float | None = None
        self._wake_handle: asyncio.TimerHandle | None = None
        self._last_written: tuple | None = None
        self._recorded: tuple = ()  # what the state file lists (recover() empties it)
        self.lease_watcher: LeaseWatcher | None = None
        self._proving: dict[tuple, Prove] = {}  # checks in flight, by (dev, host, port, kind)
        self._stale: set[tuple] = set()  # checks in flight whose link was left or re-leased meanwhile
        self._tasks: set[asyncio.Task] = set()

    # --- event intake (called on the loop) -----------------------------------
    def deliver(self, events: list, received_at: float) -> None:
        if self._first_event_at is None:
            self._first_event_at = received_at
        self.pending.extend(events)
        if self._clock is None:
            self._clock = received_at
        if self._lease_clock is None and any(isinstance(e, LeaseSeen) for e in events):
            self._lease_clock = received_at
        for event in events:  # a new address or carrier on a link: probe its router at once
            if isinstance(event, (AddressAdded, LinkState)) and self._probed:
                dev = event.address.dev if isinstance(event, AddressAdded) else event.dev
                self._probed = {k: v for k, v in self._probed.items() if k[0] != dev}
        self.wakeup.set()

    def early_probe(self, events: list) -> None:
        """In the netlink thread, before the loop sees the events: a new address on a site's
        LAN, or a new default gateway there, gets its router ARP-probed at once, so the MAC
        is usually known by the time the policy asks for it (saves a loop round trip)."""
        for event in events:
            if isinstance(event, AddressAdded):
                dev, addr = event.address.dev, event.address.interface
                if dev == self.config.interface:
                    continue
                for site in self.config.sites:
                    if addr.version == site.lan.version and addr.network.overlaps(site.lan):
                        for router in site.fingerprint.routers:
                            probe_neighbour(dev, router)
            elif isinstance(event, RouteAdded) and event.route.dev != self.config.interface:
                r = event.route
                if (r.gateway is not None and r.dst.prefixlen == 0
                        and any(r.gateway in s.lan for s in self.config.sites)):
                    probe_neighbour(r.dev, r.gateway)
                elif r.gateway is None:  # a connected route (networkd adds it after the address)
                    for site in self.config.sites:
                        if r.dst.version == site.lan.version and r.dst.overlaps(site.lan):
                            for router in site.fingerprint.routers:
                                probe_neighbour(r.dev, router)

    def request_stop(self) -> None:  # SIGTERM, SIGINT
        self.stop_requested.set()
        self.wakeup.set()

    def on_restart(self, what: str) -> None:
        log.info("%s (re)started: re-reading and re-asserting", what)
        if self.lease_watcher is not None:
            self.lease_watcher.rearm()
            self.lease_watcher.rescan()
        self.wakeup.set()

    def reload_learned(self) -> None:  # SIGHUP from `netdwg guard learn`, which waits for the status file to say so
        self.learned = LearnedFile.read(self.paths.learned, self.learned)
        log.log(logging.WARNING if self.learned.error else logging.INFO, "%s", self.learned.outcome())
        self.write_status()
        self.wakeup.set()

    # --- running ---------------------------------------------------------------
    async def _in_worker(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.worker, fn, *args)

    def _wg(self):
        return wg_port_for(self.config.interface)

    async def recover(self) -> None:
        """Undo what a previous guard left (it crashed or was killed), before anything else."""
        left = load_state(self.paths.state)
        if not left.changes:
            return
        log.warning("undoing %d change(s) left by a previous netdwg-guard (pid %d)", len(left.changes), left.pid)
        outcomes = await self._in_worker(execute, undo_all(left.changes, "left by a previous run"),
                                         self.worker_routes, self._wg())
        self.tally = self.tally.counted(outcomes)
        save_state(self.paths.state, GuardState())

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self.routes = RtnlRoutes()
        self.worker_routes = await self._in_worker(RtnlRoutes)
        await self.recover()
        if any(site.fingerprint.ssh_host_keys for site in self.config.sites):
            import netdwg.guard.sshkey  # noqa: F401,PLC0415 (cryptography's imports: now, not mid-join)
        monitor = NetlinkMonitor(loop, self.deliver, self.early_probe)
        monitor.start()
        leases = LeaseWatcher(loop, self.deliver, self.paths.leases)
        leases.start()
        self.lease_watcher = leases
        dbus_sources = None
        if self.use_dbus:
            from netdwg.guard.sources.dbus import DbusSources

            dbus_sources = DbusSources(self.deliver, self.on_restart, self.bus_address)
            dbus_sources.start()
        interval = watchdog_interval()
        dog = loop.create_task(self._watchdog(interval)) if interval else None
        dns = None
        if self.config.hub_endpoint is not None and self.config.hub_endpoint.address is None:
            dns = loop.create_task(self._follow_dns())
        ready = False
        try:
            while True:
                await self.wakeup.wait()  # one event for both (a stop sets it too): no tasks per round
                if self.stop_requested.is_set():
                    break
                self.wakeup.clear()
                await self.reconcile()
                if self.have_snapshot and not ready:
                    ready = True
                    # what exists now (modules, config, first snapshot) lives until exit: keep the
                    # cyclic GC from walking it on every collection (shorter pauses mid-reaction)
                    gc.collect()
                    gc.freeze()
                    notify("READY=1\nSTATUS=" + self.summary())
                    log.info("netdwg-guard ready: %s", self.summary())
        finally:
            notify("STOPPING=1\nSTATUS=undoing changes")
            monitor.stop()
            leases.stop()
            if dbus_sources:
                await dbus_sources.stop()
            for task in (dog, dns):
                if task:
                    task.cancel()
            await self.shutdown()
        return EXIT_OK

    async def shutdown(self) -> None:
        if self.state:
            log.info("stopping: undoing %d change(s)", len(self.state))
            try:
                outcomes = await asyncio.wait_for(
                    self._in_worker(execute, undo_all(self.state, "stopping"), self.worker_routes, self._wg()), 10)
            except asyncio.TimeoutError:
                log.error("undo did not finish in 10 s; the record stays in %s for the next start", self.paths.state)
                return
            self.tally = self.tally.counted(outcomes)
            failed = [o for o in outcomes if not o.ok]
            if failed:
                log.warning("%d change(s) could not be undone; they stay recorded in %s", len(failed), self.paths.state)
                save_state(self.paths.state, GuardState(tuple(o.step.change for o in failed), os.getpid()))
            else:
                save_state(self.paths.state, GuardState())
            self.state = ()
        self.write_status_now()
        await self._in_worker(self.worker_routes.close)
        self.routes.close()
        self.worker.shutdown(wait=False)

    async def _follow_dns(self) -> None:
        """A hub endpoint given by name: re-resolve it now and then, and re-set the peer when the
        address changed (networkd resolves once, at start: systemd #9911). Uplink changes
        re-resolve at once besides (reconcile)."""
        last = None
        while True:
            current = await self._endpoint_text()
            if current and current != last:
                if last is not None:
                    log.info("hub endpoint %s now resolves to %s", self.config.hub_endpoint, current)
                    await self._in_worker(self._reset_endpoint, current)
                else:
                    log.info("hub endpoint %s resolves to %s", self.config.hub_endpoint, current)
                last = current
            await asyncio.sleep(self.dns_refresh)

    async def _watchdog(self, interval: float) -> None:
        while True:
            notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    # --- one round ---------------------------------------------------------------
    async def reconcile(self) -> None:
        events, self.pending = self.pending, []
        first_at, self._first_event_at = self._first_event_at, None
        for event in events:
            if isinstance(event, Snapshot):
                self.have_snapshot = True
            self.observed = fold(self.observed, event)
        if not self.have_snapshot:
            return
        now = time.monotonic()
        reset = self._uplink_changed()
        decision = decide(self.config, self.learned.sites, self.observed, self.state, now)
        self.decision = decision
        for warning in decision.warnings:
            if warning not in self._warned:
                log.warning("%s", warning)
        self._warned = set(decision.warnings)
        for prove in (s for s in decision.steps if isinstance(s, Prove)):
            self._start_proof(prove)
        steps = [(replace(s, retry=(s.dev, s.ip) in self._probed) if isinstance(s, Probe) else s)
                 for s in decision.steps
                 if not isinstance(s, Prove) and (not isinstance(s, Probe) or self._may_probe_soon(s, now))]
        for s in steps:
            if isinstance(s, Probe):
                self._probed[(s.dev, s.ip)] = now
        changes = [s for s in steps if isinstance(s, (Apply, Undo))]
        if changes:
            # write ahead: everything that may be in effect once the steps ran (undoing only: the
            # record already lists it all)
            union = tuple(self.state) + tuple(c for c in decision.desired if c not in self.state)
            self._record(union)
        keep = frozenset(c.widen_to for c in decision.desired if isinstance(c, SwapAllowedIps))
        outcomes: tuple = ()
        present = self.observed.routes
        if any(isinstance(s, (Apply, Undo)) and isinstance(s.change, SwapAllowedIps) for s in steps):
            # the WireGuard device may answer slowly (`wg` is a subprocess): in the worker
            outcomes = await self._in_worker(execute, steps, self.worker_routes, self._wg(), keep, present)
        elif steps:  # routes and probes only: a few netlink messages, right here
            outcomes = execute(steps, self.routes, None, keep, present)
        if log.isEnabledFor(logging.DEBUG):  # after the steps: formatting them is no reason to wait
            waited = (time.monotonic() - first_at) * 1000 if first_at else -1.0
            log.debug("[+%.1f ms] events %s -> %s", waited, ",".join(type(e).__name__ for e in events),
                      "; ".join(f"{v.site}={v.verdict}{'(' + '/'.join(v.reasons) + ')' if v.reasons else ''}"
                                for v in decision.views))
        if reset:
            # Not awaited: a UAPI call to wireguard-go (or a `wg` process) is slow next to a
            # netlink message on a loaded machine, and an uplink change (the LAN address) comes one round before the
            # connected route it brings; awaiting here delayed that route fix by as much
            # (bench_guard, 2 CPUs). The single worker thread keeps resets and AllowedIPs in order.
            self._background(self._move_endpoint())
        if changes:
            failed_apply = {o.step.change for o in outcomes if not o.ok and isinstance(o.step, Apply)}
            stuck = tuple(o.step.change for o in outcomes
                          if not o.ok and isinstance(o.step, Undo) and isinstance(o.step.change, (AddRoute, AddRule)))
            self.state = tuple(c for c in decision.desired if c not in failed_apply) + stuck
            self._record(self.state)  # usually what was written ahead (a join): not written twice
            self.tally = self.tally.counted(outcomes)
        self._time_reaction(outcomes, decision)
        if changes or reset:
            notify("STATUS=" + self.summary())
        views = (decision.views, decision.warnings, self.state, self.endpoint_resets, self.tally)
        if views != self._last_written:
            self._last_written = views
            self.write_status()
        wake = decision.wake_at
        if any(isinstance(s, Probe) for s in decision.steps):  # no answer yet: probe again soon
            wake = min(wake or now + PROBE_INTERVAL, now + PROBE_INTERVAL)
        self._schedule_wake(wake, now)

    def _record(self, changes: tuple) -> None:
        if changes != self._recorded:
            save_state(self.paths.state, GuardState(changes, os.getpid()))
            self._recorded = changes

    def _time_reaction(self, outcomes, decision: Decision) -> None:
        """A round that changed something: one sample, from the lease that came since the guard last had
        nothing to do (the time its source delivered it), else from the first event since then, to now
        (the kernel acked the change). A round with nothing done and nothing awaited stops both clocks:
        a lease that changes nothing (a renewal, a LAN of no site) leaves no sample."""
        if any(o.ok and isinstance(o.step, (Apply, Undo)) for o in outcomes):
            trigger, since = ("lease", self._lease_clock) if self._lease_clock is not None else ("link", self._clock)
            if since is not None:
                self.tally = self.tally.observed(trigger, time.monotonic() - since)
                log.debug("reacted in %.1f ms (since the %s)", self.tally.last_reaction * 1000, trigger)
        elif any(v.verdict is Verdict.IDENTIFYING for v in decision.views) or self._proving:
            return  # still waiting for evidence: the clocks run on
        self._clock = self._lease_clock = None

    def _background(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _move_endpoint(self) -> None:
        endpoint = await self._endpoint_text()
        if endpoint:
            await self._in_worker(self._reset_endpoint, endpoint)
            notify("STATUS=" + self.summary())

    def _reset_endpoint(self, endpoint: str) -> None:
        try:
            self._wg().set_endpoint(self.config.hub_peer, endpoint)
            self.endpoint_resets += 1
            log.info("[#] wg set %s peer %s endpoint %s (uplink changed)", self.config.interface,
                     self.config.hub_peer.short(), endpoint)
        except Exception as err:
            log.warning("could not re-set the hub endpoint: %s", err)

    def _uplink_changed(self) -> bool:
        wg = self.config.interface
        signature = (uplink_addresses(self.observed, wg),
                     frozenset(r for r in self.observed.routes if r.dev != wg and r.dst.prefixlen == 0))
        changed = self.uplink is not None and signature != self.uplink
        self.uplink = signature
        return changed and self.config.hub_endpoint is not None

    async def _endpoint_text(self) -> str | None:
        ep = self.config.hub_endpoint
        if ep is None:
            return None
        if ep.address is not None:
            return str(ep)
        try:  # a DNS name: resolve again on every move (networkd never does: systemd #9911)
            return await asyncio.get_running_loop().run_in_executor(None, resolve_endpoint, ep.host, ep.port)
        except OSError as err:
            log.warning("cannot resolve hub endpoint %s: %s", ep, err)
            return None

    def _start_proof(self, prove: Prove) -> None:
        key = (prove.dev, prove.host, prove.port, prove.kind)
        running = self._proving.get(key)
        if running is not None:  # never two checks of the same host on a link at once
            if prove.attempt < running.attempt:
                # the policy starts over (the link was left or got a new lease while this check
                # ran): its answer would carry the old attempt count, and so the old backoff
                self._stale.add(key)
            return
        self._proving[key] = prove

        async def check() -> None:
            # Off the hot path: a task of its own, bounded by its timeout; the site stays
            # untrusted (tunnel route kept) until the ProofSeen event arrives.
            try:
                proof = await run_check(prove)
            finally:
                self._proving.pop(key, None)
            if key in self._stale:
                self._stale.discard(key)
                log.debug("%s check of %s:%d via %s (attempt %d) outlived its link: dropped, asked again",
                          prove.kind.upper(), prove.host, prove.port, prove.dev, prove.attempt)
                self.wakeup.set()
                return
            log.info("%s check of %s:%d via %s: %s (attempt %d)", prove.kind.upper(), prove.host, prove.port,
                     prove.dev, proof.error or "sha256:" + proof.sha256, prove.attempt)
            self.deliver([ProofSeen(proof)], time.monotonic())

        task = asyncio.get_running_loop().create_task(check())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _may_probe_soon(self, probe: Probe, now: float) -> bool:
        return now - self._probed.get((probe.dev, probe.ip), -1e9) >= PROBE_INTERVAL

    def _schedule_wake(self, wake_at: float | None, now: float) -> None:
        if self._wake_handle:
            self._wake_handle.cancel()
            self._wake_handle = None
        if wake_at is not None:
            delay = max(0.0, wake_at - now) + 0.01
            self._wake_handle = asyncio.get_running_loop().call_later(delay, self.wakeup.set)

    # --- reporting -------------------------------------------------------------------
    def summary(self) -> str:
        if not self.decision:
            return "starting"
        views = ", ".join(f"{v.site}: {v.verdict}" + (f" on {v.dev}" if v.dev else "") for v in self.decision.views)
        return f"{views or 'no sites'}; {len(self.state)} change(s) in effect"

    def write_status(self) -> None:
        """Soon, not now: the rounds of one join (address, lease, router MAC) come milliseconds apart, and
        the file is for people and `netdwg metrics`. One write after them keeps it off the reaction path
        (a writer thread was tried: it took the GIL from the loop mid-reaction)."""
        if self._status_due is None:
            self._status_due = asyncio.get_running_loop().call_later(STATUS_DELAY, self.write_status_now)

    def write_status_now(self) -> None:
        if self._status_due is not None:
            self._status_due.cancel()
            self._status_due = None
        status = status_json(self.decision, self.state, self.config, os.getpid(), self.endpoint_resets,
                             self.tally) | {"learned": self.learned.status()}
        data = (json.dumps(status, indent=1) + "\n").encode("utf-8")
        try:
            Tree(self.paths.status.parent).write(self.paths.status.name, data, 0o644)
        except (OSError, NetdwgError) as err:
            log.debug("cannot write status: %s", err)


# --- entry point -----------------------------------------------------------------------

async def _serve(guard: Guard) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, guard.request_stop)
    loop.add_signal_handler(signal.SIGHUP, guard.reload_learned)
    loop.add_signal_handler(signal.SIGUSR2, log_memory)
    return await guard.run()


def run_guard(args: argparse.Namespace) -> int:
    setup_logging(args.verbose, args.foreground)
    config = load_guard_config(args.config)
    paths = GuardPaths(config=args.config, state=args.state, learned=args.learned, status=args.status,
                       leases=args.leases)
    guard = Guard(config, paths, use_dbus=not args.no_dbus, dns_refresh=args.dns_refresh)
    return asyncio.run(_serve(guard))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run_guard(args)
    except NetdwgError as err:
        print(f"netdwg-guard: error: {err}", file=sys.stderr)
        notify(f"STATUS=error: {err.message}")
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:
        logging.getLogger("netdwg.guard").exception("internal error (a bug in netdwg)")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
