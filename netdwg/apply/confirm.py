"""`apply --confirm`: try-and-revert that survives kill -9 and reboots.

Before the first change, `apply --confirm` writes STATE_DIR/pending-confirmation
(atomically, 0600 in the 0700 state directory): for every file it changes, the
backup copy and the old mode and owner (or "did not exist"); the old list of
managed files, sysctl values and table inet netdwg; the old WireGuard devices;
which links networkd reconfigures; who waits (pid, its start time, the boot).
Confirmed: the record goes. Not confirmed in time: the waiting process reverts
and the record goes.

Killed (kill -9, OOM) or rebooted while waiting, the process cannot revert. The
record then names a process that is gone, and since confirmation can only reach
that process (Enter on its terminal, or the confirm file it polls), the change
can never be confirmed: it is reverted by the next `netdwg apply`, `plan` or
`status`, or at boot by `netdwg apply --recover` (units/netdwg-recover.service).
netplan try has the same gap without the record: its revert lives only in the
process.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from netdwg.apply.desired import device_from_wgquick
from netdwg.apply.execute import Announce, Transaction
from netdwg.apply.observe import Ports
from netdwg.errors import ApplyError, ExternalError
from netdwg.host.files import RootFiles, restore_file
from netdwg.plan.model import DesiredHost, FileState, HostState, Plan
from netdwg.wgquick.write import format_wgquick, wgquick_from_device
from netdwg.wireguard import LiveDevice

RECORD = "pending-confirmation"
CONFIRM_FILE = "confirm"


def process_identity(pid: int) -> str | None:
    """boot id, pid and start time: a pid reused after the waiter died, or a reboot, is another process."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    start = stat[stat.rindex(")") + 2:].split()[19]  # field 22, counted after "pid (comm)"
    return f"{boot}/{pid}/{start}"


def build_record(transaction: Transaction, plan: Plan, seconds: float) -> dict:
    """What reverting `plan` needs once the process that applied it is gone (plain JSON)."""
    files, observed = transaction.ports.files, transaction.observed
    touched = list(dict.fromkeys([c.ifname for c in plan.devices] + [c.ifname for c in plan.peers]))
    return {
        "version": 1,
        "pid": os.getpid(),
        "process": process_identity(os.getpid()),
        "deadline": time.time() + seconds,
        "files": [{"path": str(c.path)} if c.old is None else
                  {"path": str(c.path), "backup": str(files.backup_path(c.path)),
                   "mode": c.old.mode, "owner": c.old.owner, "group": c.old.group} for c in plan.files],
        "managed": [str(p) for p in observed.managed] if plan.managed is not None else None,
        "netplan": plan.netplan is not None,
        "sysctls": [[c.key, c.old] for c in plan.sysctls if c.old is not None],
        "firewall": {"old": transaction.old_firewall} if plan.firewall is not None else None,
        # The old devices hold the private key and PSKs, like the backed-up .netdev files
        # beside them: the record is as protected as the backups (0600 in a 0700 directory).
        # Every peer: the revert may meet a device restarted empty (reboot, wireguard-go
        # restarted) and must put them all back.
        "devices": {name: format_wgquick(wgquick_from_device(live.device))
                    for name in touched if (live := observed.device(name)) is not None},
        "networkd": list(plan.networkd.reconfigure) if plan.networkd is not None else None,
        "pending": [list(step) for step in observed.pending],
    }


def write_record(files: RootFiles, record: dict) -> None:
    files.write_state(RECORD, json.dumps(record).encode())


def read_record(state_dir: Path) -> dict | None:
    try:
        text = (state_dir / RECORD).read_text()
    except (FileNotFoundError, PermissionError):
        return None  # a non-root plan/status cannot see root's state directory: nothing it could revert
    except ValueError:  # not UTF-8
        raise _unreadable_record(state_dir) from None
    try:
        return json.loads(text)
    except ValueError:
        raise _unreadable_record(state_dir) from None


def _unreadable_record(state_dir: Path) -> ApplyError:
    return ApplyError(f"{state_dir / RECORD}: unreadable pending-confirmation record",
                      fix=f"revert by hand from the newest backup in {state_dir / 'backups'}, then delete it")


def clear_record(files: RootFiles) -> None:
    files.remove_state(RECORD)


def is_abandoned(record: dict) -> bool:
    """The process that waits for the confirmation is gone (killed, or the host rebooted)."""
    return process_identity(record["pid"]) != record["process"]


def transaction_from_record(record: dict, ports: Ports, announce: Announce) -> Transaction:
    """A Transaction whose undo list reverts what the record describes (its rollback does the work)."""
    old_devices = tuple(LiveDevice(device_from_wgquick(name, text, "pending-confirmation"))
                        for name, text in record["devices"].items())
    observed = HostState(devices=old_devices, pending=tuple(tuple(s) for s in record["pending"]))
    transaction = Transaction(ports, DesiredHost(), observed, announce)
    files, undo = ports.files, transaction.undo
    for entry in record["files"]:
        path = PurePosixPath(entry["path"])
        if "backup" not in entry:
            undo.append((f"remove {path}", lambda p=path: files.remove(p)))
        elif Path(entry["backup"]).exists():  # no copy: killed before this file was touched
            state = FileState(path, "", entry["mode"], entry["owner"], entry["group"])
            undo.append((f"restore {path}",
                         lambda s=state, b=Path(entry["backup"]): restore_file(files, s, b.read_bytes())))
    if record["managed"] is not None:
        old = tuple(PurePosixPath(p) for p in record["managed"])
        undo.append(("restore the list of managed files", lambda: files.set_managed(old)))
    transaction.touched_netplan = record["netplan"] and ports.netplan_generate is not None
    if ports.sysctls is not None:
        for key, value in record["sysctls"]:
            undo.append((f"sysctl {key}={value}", lambda k=key, v=value: ports.sysctls.write(k, v)))
    if record["firewall"] is not None and ports.firewall is not None:
        undo.append(("restore table inet netdwg", lambda old=record["firewall"]["old"]: ports.firewall.replace(old)))
    for live in old_devices:
        if ports.wg(live.device.name) is None:
            announce(f"{live.device.name} does not exist (yet): it is created from the restored files")
        else:
            transaction._device_undo(live.device.name)
    if record["networkd"] is not None and ports.networkd is not None:
        try:
            ports.networkd.check_running()
        except ExternalError:
            announce("networkd is not running: it reads the restored files when it starts")
        else:
            transaction.touched_networkd = True
            transaction.reconfigured = [n for n in record["networkd"] if ports.wg(n) is not None]
    return transaction


def recover(ports: Ports, announce: Announce, waiting: Callable[[dict], None] | None = None) -> bool:
    """Revert the change of an `apply --confirm` whose process is gone; True when something was reverted.

    A record whose process still waits is left alone: `waiting(record)` may refuse or note it.
    """
    state_dir = ports.files.state_dir
    record = read_record(state_dir)
    if record is None:
        return False
    if not is_abandoned(record):
        if waiting is not None:
            waiting(record)
        return False
    if ports.live and os.geteuid() != 0:  # plan/status by a user who can read the state directory
        announce(f"note: netdwg apply --confirm (pid {record['pid']}) ended before its change was confirmed; "
                 "run netdwg apply --recover as root to revert it")
        return False
    announce(f"netdwg apply --confirm (pid {record['pid']}) ended before its change was confirmed: reverting it")
    problems = transaction_from_record(record, ports, announce).rollback()
    if problems:
        raise ApplyError("reverting the unconfirmed change is incomplete: " + "; ".join(problems),
                         fix="fix the cause and run netdwg apply --recover again (the record is kept)")
    clear_record(ports.files)
    announce("reverted: the host is back to the configuration it had before the unconfirmed change")
    return True


def wait_for_confirmation(seconds: float, confirm_file: Path, announce: Announce) -> bool:
    """True when the admin confirms in time: Enter on stdin, or `touch STATE_DIR/confirm`.

    SIGHUP (the admin's ssh session died, maybe cut off by this very change),
    SIGTERM and SIGINT end the wait without confirmation: the caller reverts.
    Without this, the hangup would kill netdwg and leave the change in place
    until the next run finds the record (see the module docstring).
    """
    hung_up: list[int] = []

    def give_up(signum, frame) -> None:
        hung_up.append(signum)

    previous = {sig: signal.signal(sig, give_up) for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
    try:
        return _wait(seconds, confirm_file, hung_up, announce)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait(seconds: float, confirm_file: Path, hung_up: list, announce: Announce) -> bool:
    confirm_file.unlink(missing_ok=True)
    announce(f"press Enter within {seconds:g} s to keep the change "
             f"(or touch {confirm_file}); otherwise it is reverted")
    deadline = time.monotonic() + seconds
    stdin_open = sys.stdin is not None and not sys.stdin.closed
    while time.monotonic() < deadline:
        if hung_up:
            announce(f"signal {signal.Signals(hung_up[0]).name} while waiting: nobody can confirm")
            return False
        if confirm_file.exists():
            confirm_file.unlink(missing_ok=True)
            return True
        timeout = min(0.2, max(0.0, deadline - time.monotonic()))
        if stdin_open:
            try:
                ready, _, _ = select.select([sys.stdin], [], [], timeout)
                line = sys.stdin.readline() if ready else None
            except (OSError, ValueError, InterruptedError):
                stdin_open, ready, line = False, [], None  # the terminal went away
            if ready:
                if line == "":
                    stdin_open = False  # EOF: nobody will type; keep waiting for the file
                else:
                    return True
        else:
            time.sleep(timeout)
    return False


def refuse_while_waiting(record: dict) -> None:
    """Another apply holds an unconfirmed change: applying now would muddle its revert."""
    until = time.strftime("%H:%M:%S", time.localtime(record["deadline"]))
    raise ApplyError(f"netdwg apply --confirm (pid {record['pid']}) is waiting for confirmation (about until {until})",
                     fix="confirm it (Enter in its terminal, or touch STATE_DIR/confirm) or let it revert, then rerun")


def note_waiting(announce: Announce) -> Callable[[dict], None]:
    def note(record: dict) -> None:
        announce(f"note: netdwg apply --confirm (pid {record['pid']}) is waiting for confirmation; "
                 "what follows includes its unconfirmed change")
    return note

