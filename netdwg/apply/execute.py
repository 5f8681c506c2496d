"""Execute a Plan through the ports: announce every step, undo them all on failure.

`Transaction.run(plan)` performs the steps in plan order and records an undo
for each; on any error it undoes what was done (newest first), reloads
networkd once the old files are back, and raises ApplyError naming the step
that failed. `--confirm` keeps the transaction and calls `rollback()` itself
when no confirmation comes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from netdwg.apply.observe import Ports
from netdwg.errors import ApplyError, NetdwgError
from netdwg.host.files import restore_file
from netdwg.plan.diff import diff_device
from netdwg.plan.model import (
    DesiredHost,
    DeviceChange,
    FileChange,
    FirewallChange,
    HostState,
    NetplanGenerate,
    NmLoad,
    PeerChange,
    Plan,
    RecordManaged,
    Reload,
    SysctlChange,
)

Announce = Callable[[str], None]


class Transaction:
    def __init__(self, ports: Ports, desired: DesiredHost, observed: HostState, announce: Announce) -> None:
        self.ports = ports
        self.desired = desired
        self.observed = observed
        self.announce = announce
        self.undo: list[tuple[str, Callable[[], None]]] = []
        self.touched_networkd = False
        self.touched_netplan = False
        self.reconfigured: list[str] = []
        self.touched_devices: set[str] = set()
        self.old_firewall: str | None = None
        self.nm_loaded: tuple[str, ...] = ()  # profiles NetworkManager re-read: again after a rollback
        self.nm_reapplied: list[str] = []

    def run(self, plan: Plan, before_changes: Callable[["Transaction"], None] | None = None) -> None:
        """`before_changes` runs once everything is read and nothing is changed yet (apply --confirm's record)."""
        step = None
        try:
            self._prepare(plan)
            if before_changes is not None:
                before_changes(self)
            promised = self._promise(plan)
            for step in plan.steps():
                self.announce(step.describe())
                self._do(step)
            if promised or self.observed.pending:
                self.ports.files.set_pending(())
        except (NetdwgError, OSError) as err:
            what = step.describe() if step is not None else "preparing"
            self.announce(f"failed: {what}: {err}")
            problems = self.rollback()
            note = "; rollback incomplete: " + "; ".join(problems) if problems else "; everything applied was rolled back"
            raise ApplyError(f"apply failed at '{what}': {getattr(err, 'message', err)}{note}",
                             fix=getattr(err, "fix", "") or "fix the cause and run netdwg apply again") from None

    def _promise(self, plan: Plan) -> bool:
        """Before any file changes, record the live steps that must follow them.

        A kill -9 after the files but before networkd/netplan/nft leaves new
        files that a rerun sees as up to date; this record makes the rerun
        finish the job (see plan.diff.add_pending_reload).
        """
        steps = list(self.observed.pending)
        if plan.networkd is not None:
            steps += [("networkd", name) for name in plan.networkd.reconfigure] or [("networkd", "")]
        if plan.netplan is not None:
            steps.append(("netplan", ""))
        if plan.firewall is not None:
            steps.append(("firewall", ""))
        if plan.networkmanager is not None:
            steps.append(("networkmanager", ""))
        if not steps or not plan.files:
            return False
        self.ports.files.set_pending(tuple(steps))
        return True

    def _prepare(self, plan: Plan) -> None:
        files = self.ports.files
        swept = files.sweep_temp_files(tuple(f.path for f in self.desired.files))
        for path in swept:
            self.announce(f"removed stale temp file {path} (an earlier apply was interrupted)")
        if plan.networkd is not None and self.ports.networkd is not None:
            self.ports.networkd.check_running()  # fail before the first change, not after the last
        if plan.firewall is not None and self.ports.firewall is not None:
            self.old_firewall = self.ports.firewall.current()
        if plan.networkmanager is not None:
            self.ports.networkmanager.version()  # running? fail before the first change

    def _record_managed(self, step: RecordManaged) -> None:
        files = self.ports.files
        old = files.managed()
        files.set_managed(step.paths)
        self.undo.append(("restore the list of managed files", lambda: files.set_managed(old)))

    def _do(self, step: object) -> None:
        if isinstance(step, FileChange):
            self._file(step)
        elif isinstance(step, RecordManaged):
            self._record_managed(step)
        elif isinstance(step, NetplanGenerate):
            self.touched_netplan = True  # undone after the old YAML is back (see rollback)
            self.ports.netplan_generate()
        elif isinstance(step, SysctlChange):
            sysctls = self.ports.sysctls
            try:
                sysctls.write(step.key, step.new)
            except NetdwgError as err:
                if not step.ignore_failure:
                    raise
                # systemd-sysctl ignores any failure of a "-" key (sysctl.c, 252); so does apply.
                self.announce(f"sysctl {step.key} not set ({err.message}): ignored, as its '-' prefix says")
                return
            if step.old is not None:
                self.undo.append((f"sysctl {step.key}={step.old}", lambda s=step: sysctls.write(s.key, s.old)))
        elif isinstance(step, FirewallChange):
            firewall, old = self.ports.firewall, self.old_firewall
            self.undo.append(("restore table inet netdwg", lambda: firewall.replace(old)))
            firewall.replace(step.script)
        elif isinstance(step, DeviceChange):
            self._device_undo(step.ifname)
            self.ports.wg(step.ifname).set_device(step)
        elif isinstance(step, PeerChange):
            self._device_undo(step.ifname)
            self.ports.wg(step.ifname).apply_peer(step)
        elif isinstance(step, Reload):
            self._networkd(step)
        elif isinstance(step, NmLoad):
            self._networkmanager(step)

    def _networkmanager(self, step: NmLoad) -> None:
        nm = self.ports.networkmanager
        self.nm_loaded = tuple(str(p) for p in step.paths)
        failed = nm.load_connections(list(self.nm_loaded))
        if failed:
            raise ApplyError(f"NetworkManager did not load {', '.join(failed)}",
                             fix="NetworkManager's log says why (journalctl -u NetworkManager), e.g. "
                                 "'File permissions (100644) are insecure'; netdwg check FILE reads it as it does")
        for name in step.reapply:
            self.nm_reapplied.append(name)
            nm.reapply(name)

    def _file(self, change: FileChange) -> None:
        files = self.ports.files
        if change.old is not None:
            files.backup(change.old)
        if change.action == "remove":
            files.remove(change.path)
        else:
            files.write(change.new)
        if change.old is None:
            self.undo.append((f"remove {change.path}", lambda p=change.path: files.remove(p)))
        else:
            self.undo.append((f"restore {change.path}", lambda s=change.old: restore_file(files, s)))

    def _device_undo(self, ifname: str) -> None:
        """Once per device: undo by syncing it back to what was observed (syncconf again).

        UAPI sets are not transactional, so the undo re-reads the device rather
        than trusting a list of what should have happened.
        """
        if ifname in self.touched_devices:
            return
        self.touched_devices.add(ifname)
        before = self.observed.device(ifname)
        link = self.ports.wg(ifname)

        def restore() -> None:
            device_change, peers, _ = diff_device(before.device, link.read(), 0.0)
            if device_change is not None:
                link.set_device(device_change)
            for change in peers:
                link.apply_peer(change)

        self.undo.append((f"{ifname}: restore peers as they were", restore))

    def _networkd(self, step: Reload) -> None:
        networkd = self.ports.networkd
        self.touched_networkd = True
        if step.reload:
            networkd.reload()
        for name in step.reconfigure:
            self.reconfigured.append(name)
            networkd.reconfigure(name)
        if step.wait_for:
            self.announce(f"waiting for networkd to configure {' '.join(step.wait_for)}")
            networkd.wait_configured(step.wait_for, self.ports.wait_timeout)

    def rollback(self) -> list[str]:
        """Undo everything done so far, newest first; returns what could not be undone."""
        problems = []
        for what, undo in reversed(self.undo):
            self.announce(f"rollback: {what}")
            try:
                undo()
            except (NetdwgError, OSError) as err:
                problems.append(f"{what}: {err}")
        self.undo.clear()
        if not problems:
            try:
                self.ports.files.set_pending(self.observed.pending)  # back to what was promised before this run
            except OSError as err:
                problems.append(f"pending-steps record: {err}")
        if self.touched_netplan:
            self.announce("rollback: netplan generate (old YAML is back)")
            try:
                self.ports.netplan_generate()
            except (NetdwgError, OSError) as err:
                problems.append(f"netplan generate: {err}")
        if self.nm_loaded:
            self.announce("rollback: NetworkManager LoadConnections (old profiles are back)"
                          + (f", Reapply on {' '.join(self.nm_reapplied)}" if self.nm_reapplied else ""))
            try:
                self.ports.networkmanager.load_connections(list(self.nm_loaded))
                for name in self.nm_reapplied:
                    self.ports.networkmanager.reapply(name)
            except (NetdwgError, OSError) as err:
                problems.append(f"NetworkManager: {err}")
        if self.touched_networkd and self.ports.networkd is not None:
            self.announce("rollback: networkd Reload (old files are back)")
            try:
                self.ports.networkd.reload()
                for name in self.reconfigured:
                    self.ports.networkd.reconfigure(name)
                if self.reconfigured:
                    self.ports.networkd.wait_configured(tuple(self.reconfigured), self.ports.wait_timeout)
            except (NetdwgError, OSError) as err:
                problems.append(f"networkd reload: {err}")
        return problems


def apply_plan(plan: Plan, ports: Ports, desired: DesiredHost, observed: HostState, announce: Announce,
               before_changes: Callable[[Transaction], None] | None = None) -> Transaction:
    transaction = Transaction(ports, desired, observed, announce)
    transaction.run(plan, before_changes)
    return transaction


def changed_paths(plan: Plan) -> tuple[PurePosixPath, ...]:
    return tuple(c.path for c in plan.files)
