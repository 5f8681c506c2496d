"""What a sandbox created, on disk, and how it is removed: by PID with identity checks, then namespaces.

Every namespace and process is written to a JSON record under
``/run/netdwg-lab/`` *before* it is created, so `destroy_recorded` (used by
`Sandbox.__exit__` and ``netdwg lab down``) can remove what a killed process
left behind.  A process is only signalled while its PID still has the start
time and ``/proc/PID/comm`` that were recorded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from netdwg.host.files import Tree

STATE_DIR = Path(os.environ.get("NETDWG_LAB_STATE_DIR", "/run/netdwg-lab"))  # tests point it elsewhere


# --- process identity -------------------------------------------------------------------------


def _proc_start(pid: int) -> int | None:
    """The process start time in clock ticks (field 22 of /proc/PID/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":  # a zombie counts as dead (PID 1 here reaps late)
        return None
    return int(fields[19])


def _proc_comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class ProcRecord:
    """A process we started: identified by pid + start time, with the comm names its exec chain may show."""

    pid: int
    start: int
    comms: tuple[str, ...]
    what: str

    def is_alive(self) -> bool:
        return _proc_start(self.pid) == self.start and _proc_comm(self.pid) in self.comms

    def to_json(self) -> dict:
        return {"pid": self.pid, "start": self.start, "comms": list(self.comms), "what": self.what}

    @classmethod
    def from_json(cls, d: Mapping) -> "ProcRecord":
        return cls(int(d["pid"]), int(d["start"]), tuple(d["comms"]), str(d.get("what", "")))


def _stop(rec: ProcRecord, timeout: float = 3.0) -> None:
    """SIGTERM, then SIGKILL, a process we recorded, only if it is still that process."""
    _stop_all([rec], timeout)


def _stop_all(recs: Sequence[ProcRecord], timeout: float = 3.0) -> list[ProcRecord]:
    """Stop many recorded processes at once (TERM all, wait, KILL the rest); return those that were alive.

    Each one is checked against its recorded start time and comm right before each
    signal, so a recycled PID is never hit.
    """
    alive = [r for r in recs if r.is_alive()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pending = [r for r in alive if r.is_alive()]
        for r in pending:
            try:
                os.kill(r.pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for r in pending:
                _reap(r.pid)
            pending = [r for r in pending if _proc_start(r.pid) == r.start]
            if pending:
                time.sleep(0.02)
        if not pending:
            break
    return alive


def _reap(pid: int) -> None:
    """Collect our own child so it does not linger as a zombie (no-op for others' children)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


# --- the crash-safe record ----------------------------------------------------------------------


@dataclass(slots=True)
class Record:
    """What one Sandbox created, persisted as JSON after every change (written before creating)."""

    path: Path
    sandbox_id: str
    owner_pid: int
    netns: list[str] = field(default_factory=list)
    procs: list[ProcRecord] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # free-form data for higher layers (the lab's world)

    def save(self) -> None:
        data = {
            "sandbox_id": self.sandbox_id,
            "owner_pid": self.owner_pid,
            "owner_start": _proc_start(self.owner_pid),
            "netns": self.netns,
            "procs": [p.to_json() for p in self.procs],
            "extra": self.extra,
        }
        Tree(self.path.parent).write(self.path.name, json.dumps(data, indent=1).encode(), 0o644)

    @classmethod
    def load(cls, path: Path) -> "Record":
        data = json.loads(path.read_text())
        return cls(
            path=path,
            sandbox_id=data["sandbox_id"],
            owner_pid=int(data["owner_pid"]),
            netns=list(data["netns"]),
            procs=[ProcRecord.from_json(p) for p in data["procs"]],
            extra=dict(data.get("extra", {})),
        )


def destroy_recorded(path: Path) -> list[str]:
    """Remove everything a record lists (processes, namespaces, log dir); return what was removed.

    Used by Sandbox.__exit__ and by ``netdwg lab down`` after a killed ``up``.
    """
    rec = Record.load(path)
    removed: list[str] = []
    # Daemons first, holders last, so a daemon never loses its mount namespace under it.
    daemons = [p for p in rec.procs if not p.what.endswith(":holder")]
    holders = [p for p in rec.procs if p.what.endswith(":holder")]
    for group in (daemons, holders):
        removed += [f"process {p.pid} ({p.what})" for p in _stop_all(group)]
    for ns in reversed(rec.netns):
        if not Path("/run/netns", ns).exists():
            continue
        # Anything still running in a namespace we created was started by us (e.g. a
        # command that outlived a killed `up`): stop it by PID before deleting the namespace.
        for pid in _netns_pids(ns):
            start = _proc_start(pid)
            if start is not None:
                _stop(ProcRecord(pid, start, (_proc_comm(pid) or "",), "stray"))
                removed.append(f"process {pid} (in {ns})")
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        removed.append(f"netns {ns}")
    logdir = path.with_suffix("")
    if logdir.is_dir():
        _rmtree(logdir)
    path.unlink(missing_ok=True)
    return removed


def _netns_pids(ns: str) -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split() if p.isdigit() and int(p) != os.getpid()]


def _rmtree(p: Path) -> None:
    for child in p.iterdir():
        if child.is_dir() and not child.is_symlink():
            _rmtree(child)
        else:
            child.unlink(missing_ok=True)
    p.rmdir()


def stale_records(state_dir: Path = STATE_DIR) -> list[Path]:
    """Records whose owning process is gone (a killed ``up`` or test run)."""
    stale = []
    for path in sorted(state_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if data.get("extra", {}).get("detached"):
            continue  # a lab left running on purpose (`netdwg lab up`)
        if _proc_start(int(data["owner_pid"])) != data.get("owner_start"):
            stale.append(path)
    return stale
