"""Throwaway network namespaces, veths and "nodes" for the lab and the integration tests.

A `Sandbox` creates network namespaces (``ip netns add``), veth pairs created
directly inside them, and *nodes*: a long-lived holder process in a namespace
with its own mount namespace, in which a private dbus-daemon, systemd-networkd
252 and wireguard-go can run as on a real host (the holder script below says
why each mount is there).

Safety: nothing here touches the root network namespace.  Everything created
is written to a record file under ``/run/netdwg-lab/`` *before* it is created,
so `destroy_recorded` (``netdwg lab down``) can remove what a killed process
left behind.  Processes are stopped by PID only, after checking that
``/proc/PID/comm`` and the start time still match what was recorded.
"""

from __future__ import annotations

import itertools
import json
import os
import pwd
import grp
import shlex
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from netdwg.errors import ExternalError
from netdwg.host.files import Tree
from netdwg.lab.record import (  # noqa: F401 (re-exported: the sandbox interface)
    STATE_DIR, ProcRecord, Record, _proc_start, destroy_recorded, stale_records,
)

NETWORKD = "/lib/systemd/systemd-networkd"

# Per-namespace sysctls: new namespaces inherit rp_filter from
# the root namespace; br_netfilter is built in and would conntrack bridged
# frames; routers that bounce wg0->wg0 must not send ICMP redirects.
NETNS_SYSCTLS = (
    "net.ipv4.conf.all.rp_filter=2",
    "net.ipv4.conf.default.rp_filter=2",
    "net.ipv4.conf.all.send_redirects=0",
    "net.ipv4.conf.default.send_redirects=0",
    "net.bridge.bridge-nf-call-iptables=0",
    "net.bridge.bridge-nf-call-ip6tables=0",
    "net.bridge.bridge-nf-call-arptables=0",
)

# Directories every node gets as private tmpfs (on top of a private overlay of /etc and a private /run).
# /var/lib/netdwg (apply's backups, the guard's learned sites) is created empty on the host if missing.
# /run/sshd is sshd's privilege-separation directory (an office host's or a fleet host's sshd).
NODE_TMPFS = ("/etc/systemd/network", "/run/systemd", "/run/dbus", "/run/wireguard", "/etc/netdwg", "/run/netdwg",
              "/run/sshd", "/var/lib/netdwg")

# Entries of the host's /run a node does not see: the node's own daemons and `netplan generate`
# write there (netplan writes /run/systemd/network, /run/NetworkManager/system-connections and
# /run/udev/rules.d/90-netplan.rules; NetworkManager and networkd their state). Every other entry
# of the host's /run (/run/netns, /run/lock, the lab's state directory) is bound back;
# /run/mount holds libmount's table of the node's own mounts.
NODE_PRIVATE_RUN = ("systemd", "dbus", "wireguard", "netdwg", "sshd", "udev", "NetworkManager", "netplan", "mount")

_counter = itertools.count(1)


class SandboxError(ExternalError):
    """A command run inside the sandbox failed, or a daemon did not come up."""


def _comm_of(argv0: str) -> str:
    return os.path.basename(argv0)[:15]  # the kernel truncates comm to 15 bytes


# --- running commands ---------------------------------------------------------------------------


def _run(argv: Sequence[str], *, check: bool, env: Mapping[str, str] | None, input: str | None,
         timeout: float | None) -> subprocess.CompletedProcess:
    full_env = None
    if env is not None:
        full_env = dict(os.environ)
        full_env.update(env)
    try:
        res = subprocess.run(list(argv), capture_output=True, text=True, env=full_env, input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SandboxError(f"command timed out after {timeout}s: {shlex.join(argv)}") from None
    if check and res.returncode != 0:
        raise SandboxError(
            f"command failed ({res.returncode}): {shlex.join(argv)}\n{res.stderr.strip() or res.stdout.strip()}"
        )
    return res


@dataclass(frozen=True, slots=True)
class Netns:
    """A network namespace the sandbox created (``/run/netns/NAME``)."""

    name: str

    def run(self, argv: Sequence[str], check: bool = True, env: Mapping[str, str] | None = None,
            input: str | None = None, timeout: float | None = 60) -> subprocess.CompletedProcess:
        """Run argv in this network namespace (``ip netns exec``); raise SandboxError on failure when check."""
        return _run(["ip", "netns", "exec", self.name, *argv], check=check, env=env, input=input, timeout=timeout)


class Node:
    """A holder process in a netns with its own mount namespace: a simulated host."""

    def __init__(self, sandbox: "Sandbox", netns: Netns, pid: int, rundir: Path) -> None:
        self._sb = sandbox
        self.netns = netns
        self.pid = pid
        self.rundir = rundir  # on the root filesystem: logs of this node's daemons
        self.daemons: dict[str, int] = {}

    @property
    def name(self) -> str:
        return self.netns.name

    def _enter(self) -> list[str]:
        return ["nsenter", "-t", str(self.pid), "-m", "-n"]

    def run(self, argv: Sequence[str], check: bool = True, env: Mapping[str, str] | None = None,
            input: str | None = None, timeout: float | None = 60) -> subprocess.CompletedProcess:
        """Run argv inside the node's network and mount namespaces."""
        return _run([*self._enter(), *argv], check=check, env=env, input=input, timeout=timeout)

    def path(self, path: str) -> Path:
        """The node-private `path` as seen from outside (through /proc/PID/root)."""
        return Path(f"/proc/{self.pid}/root") / path.lstrip("/")

    def write_file(self, path: str, text: str | bytes, mode: int = 0o644, owner: str = "root",
                   group: str = "root") -> None:
        """Write a file in the node's mount namespace with its final mode and owner (netdwg's one writer)."""
        data = text.encode() if isinstance(text, str) else text
        Tree(self.path("/")).write(path, data, mode, (pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid))

    def read_file(self, path: str) -> str:
        return self.path(path).read_text()

    def spawn(self, argv: Sequence[str], name: str | None = None, env: Mapping[str, str] | None = None,
              log: Path | None = None, execs: tuple[str, ...] = ()) -> int:
        """Start a daemon in the node (foreground mode please); its PID is recorded and stopped at teardown.
        ``execs``: the program argv[0] execs in turn (chroot's), so the record knows its name too."""
        name = name or _comm_of(argv[0])
        log = log or self.rundir / f"{name}.log"
        full_env = dict(os.environ)
        full_env.update(env or {})
        with open(log, "ab") as out:
            proc = subprocess.Popen([*self._enter(), *argv], stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=full_env, start_new_session=True)
        self._sb._record_proc(proc.pid, ("nsenter", _comm_of(argv[0]), *map(_comm_of, execs)), f"{self.name}:{name}")
        self.daemons[name] = proc.pid
        return proc.pid

    def wait_for(self, what: str, predicate, timeout: float = 10.0, pid: int | None = None) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if pid is not None and _proc_start(pid) is None:
                raise SandboxError(f"{what} in {self.name} exited early; log: {self._log_tail(what)}")
            if time.monotonic() > deadline:
                raise SandboxError(f"{what} in {self.name} not ready after {timeout:.0f}s; log: {self._log_tail(what)}")
            time.sleep(0.01)

    def _log_tail(self, name: str) -> str:
        try:
            return (self.rundir / f"{name}.log").read_text()[-2000:]
        except OSError:
            return "(no log)"

    def start_dbus(self) -> int:
        """A private system bus (/run/dbus/system_bus_socket inside the node)."""
        pid = self.spawn(["dbus-daemon", "--system", "--nofork", "--nopidfile", "--nosyslog"], name="dbus-daemon")
        sock = self.path("/run/dbus/system_bus_socket")
        self.wait_for("dbus-daemon", sock.exists, pid=pid)
        return pid

    def start_networkd(self, debug: bool = True, release: int = 252) -> int:
        """systemd-networkd in the node: this machine's 252, or 257 chrooted in the trixie root
        (netdwg.lab.trixie); needs start_dbus() first. Its log goes to networkd.log."""
        env = {"SYSTEMD_LOG_TARGET": "console", "SYSTEMD_LOG_COLOR": "0"}
        if debug:
            env["SYSTEMD_LOG_LEVEL"] = "debug"
        if release == 252:
            pid = self.spawn([NETWORKD], name="networkd", env=env)
        else:
            from netdwg.lab.trixie import RELEASES, chrooted_networkd, ensure_root

            if RELEASES.get(release) is None:
                raise SandboxError(f"no networkd {release} for the lab", fix="use 252 (this machine's) or 257")
            argv = chrooted_networkd(self, ensure_root(RELEASES[release]))
            pid = self.spawn(argv, name="networkd", env=env, execs=(NETWORKD,))
        # Ready when it owns its bus name: networkctl and busctl callers work from then on.
        self.wait_for("networkd", lambda: self._bus_has("org.freedesktop.network1"), timeout=15, pid=pid)
        return pid

    def _bus_has(self, name: str) -> bool:
        res = self.run(["busctl", "--system", "--no-pager", "--list", "--acquired", "list"], check=False,
                       timeout=5)
        return name in res.stdout

    def networkd_log(self) -> str:
        try:
            return (self.rundir / "networkd.log").read_text(errors="replace")
        except OSError:
            return ""

    def start_wireguard_go(self, ifname: str = "wg0") -> int:
        """Userspace WireGuard; the UAPI socket is /run/wireguard/IF.sock inside the node."""
        pid = self.spawn(["wireguard-go", "-f", ifname], name=f"wireguard-go-{ifname}",
                         env={"LOG_LEVEL": "error"})
        self.wait_for(f"wireguard-go-{ifname}", self.path(f"/run/wireguard/{ifname}.sock").exists, pid=pid)
        return pid

    def wg_quick_up(self, ifname: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """`wg-quick up IF` in the node, wireguard-go as its userspace implementation.

        wg-quick lets wireguard-go daemonize with an unknown PID: the wrapper
        runs it in the foreground, detached, and leaves its PID for the record.
        """
        wrapper = "/etc/netdwg/lab-wireguard-go"
        self.write_file(wrapper, _WG_USERSPACE_WRAPPER, mode=0o755)
        res = self.run(["wg-quick", "up", ifname], check=False, timeout=timeout,
                       env={"WG_QUICK_USERSPACE_IMPLEMENTATION": wrapper})
        pidfile = self.path(f"/run/wireguard/{ifname}.lab-pid")
        if pidfile.exists():
            self._sb._record_proc(int(pidfile.read_text()), ("sh", "setsid", "wireguard-go"),
                                  f"{self.name}:wireguard-go-{ifname}")
        return res

    def __repr__(self) -> str:
        return f"Node({self.name!r}, pid={self.pid})"


_WG_USERSPACE_WRAPPER = """#!/bin/sh
WG_PROCESS_FOREGROUND=1 setsid wireguard-go -f "$1" >/dev/null 2>&1 </dev/null &
echo $! > "/run/wireguard/$1.lab-pid"
i=0
while [ ! -S "/run/wireguard/$1.sock" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done
"""


# The holder script: runs under `ip netns exec NS unshare -m --propagation private`.
# Read-only sysfs makes networkd skip udev (it waits forever otherwise); /etc is a
# private overlay so whatever `netdwg apply` writes in a node stays in the node. /run is a
# fresh tmpfs, so nothing a node creates there (even a directory) lands on the host's /run; the
# host's entries not named in $2 (NODE_PRIVATE_RUN) are bound back from the covered host /run,
# reached through the working directory (`mount -c`: a canonicalized path would name the new /run).
_HOLDER = r"""
set -e
umount -l /sys
mount -t sysfs -o ro sysfs /sys
mount -t tmpfs -o mode=0700 tmpfs "$1"
mkdir "$1/upper" "$1/work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc
cd /run
mount -t tmpfs -o mode=0755 tmpfs /run
for name in * .[!.]*; do
  [ -e "$name" ] || [ -L "$name" ] || continue
  case " $2 " in *" $name "*) continue ;; esac
  if [ -L "$name" ]; then cp -P "$name" "/run/$name"
  elif [ -d "$name" ]; then mkdir -p "/run/$name"; mount -c --rbind "$name" "/run/$name"
  else touch "/run/$name"; mount -c --bind "$name" "/run/$name"
  fi
done
cd /
shift 2
for d in "$@"; do
  mkdir -p "$d"
  mount -t tmpfs -o mode=0755 tmpfs "$d"
done
echo netns > /run/systemd/container
mkdir -p /run/systemd/netif
chown systemd-network:systemd-network /run/systemd/netif
echo ready
exec sleep infinity
"""


class Sandbox:
    """Context manager owning namespaces, nodes and processes; removes them all on exit."""

    def __init__(self, prefix: str = "ndwt", state_dir: Path = STATE_DIR, keep_logs: bool = False,
                 sandbox_id: str | None = None) -> None:
        if not prefix.startswith("ndw"):
            raise ValueError("sandbox prefixes must start with 'ndw'")
        self.id = sandbox_id or f"{prefix}{os.getpid()}x{next(_counter)}"
        self.state_dir = state_dir
        self.keep_logs = keep_logs
        self.rundir = state_dir / self.id
        self.record = Record(state_dir / f"{self.id}.json", self.id, os.getpid())
        self.nodes: list[Node] = []
        self._entered = False
        self._lock = threading.Lock()  # lets a caller build namespaces and nodes from several threads

    @classmethod
    def resume(cls, record_path: Path) -> "Sandbox":
        """Re-open a sandbox left running by another process (``netdwg lab up``), with its nodes."""
        rec = Record.load(record_path)
        sb = cls(prefix="ndw", state_dir=record_path.parent, sandbox_id=rec.sandbox_id)
        sb.record = rec
        sb._entered = True
        for proc in rec.procs:
            if proc.what.endswith(":holder"):
                ns = proc.what.removesuffix(":holder")
                sb.nodes.append(Node(sb, Netns(ns), proc.pid, sb.rundir / ns))
        return sb

    def detach(self) -> None:
        """Leave everything running (the record stays for `destroy_recorded` / `netdwg lab down`)."""
        with self._lock:
            self.record.extra["detached"] = True
            self.record.save()
        self._entered = False

    def node_of(self, netns_name: str) -> Node:
        for node in self.nodes:
            if node.name == netns_name:
                return node
        raise KeyError(netns_name)

    # -- lifecycle
    def __enter__(self) -> "Sandbox":
        self.rundir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.record.save()
        self._entered = True
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> list[str]:
        if not self._entered:
            return []
        self._entered = False
        if self.keep_logs and self.rundir.is_dir():
            kept = self.state_dir / f"{self.id}-logs"
            os.replace(self.rundir, kept)
        return destroy_recorded(self.record.path)

    def _record_proc(self, pid: int, comms: tuple[str, ...], what: str) -> None:
        start = _proc_start(pid)
        if start is None:  # died at once; nothing to stop later
            return
        with self._lock:
            self.record.procs.append(ProcRecord(pid, start, comms, what))
            self.record.save()

    # -- building blocks
    def netns(self, name: str) -> Netns:
        """Create a namespace named PREFIX+PID+N-name with lo up and the lab sysctls."""
        ns = Netns(f"{self.id}-{name}")
        if Path("/run/netns", ns.name).exists():
            raise SandboxError(f"namespace {ns.name} already exists")
        with self._lock:
            self.record.netns.append(ns.name)
            self.record.save()  # record first: a kill right after `ip netns add` is still cleaned up
        _run(["ip", "netns", "add", ns.name], check=True, env=None, input=None, timeout=30)
        ns.run(["sh", "-c", "ip link set lo up && sysctl -q -e -w " + " ".join(NETNS_SYSCTLS)])
        return ns

    def veth(self, a: Netns, a_if: str, b: Netns, b_if: str, up: bool = True) -> None:
        """A veth pair created directly inside the two namespaces (never in the root namespace)."""
        _run(["ip", "-n", a.name, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b.name],
             check=True, env=None, input=None, timeout=30)
        if up:
            a.run(["ip", "link", "set", a_if, "up"])
            b.run(["ip", "link", "set", b_if, "up"])

    def node(self, netns: Netns) -> Node:
        """A holder process in `netns` with its own mount namespace (tmpfs dirs, ro sysfs, private /etc)."""
        rundir = self.rundir / netns.name
        rundir.mkdir(parents=True, exist_ok=True)
        ovl = rundir / "etc-overlay"
        ovl.mkdir(exist_ok=True)
        argv = ["ip", "netns", "exec", netns.name, "unshare", "-m", "--propagation", "private",
                "sh", "-c", _HOLDER, "holder", str(ovl), " ".join(NODE_PRIVATE_RUN), *NODE_TMPFS]
        log = open(rundir / "holder.log", "wb")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                start_new_session=True)
        log.close()
        self._record_proc(proc.pid, ("ip", "unshare", "sh", "sleep"), f"{netns.name}:holder")
        line = proc.stdout.readline()
        proc.stdout.close()
        if line.strip() != b"ready":
            proc.wait(timeout=5)
            raise SandboxError(f"node holder in {netns.name} failed: {(rundir / 'holder.log').read_text()}")
        node = Node(self, netns, proc.pid, rundir)
        with self._lock:
            self.nodes.append(node)
        return node

    def spawn(self, netns: Netns, argv: Sequence[str], name: str | None = None) -> int:
        """Start a daemon (foreground mode) in a plain namespace; stopped by PID at teardown."""
        name = name or _comm_of(argv[0])
        with open(self.rundir / f"{netns.name}-{name}.log", "ab") as out:
            proc = subprocess.Popen(["ip", "netns", "exec", netns.name, *argv], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self._record_proc(proc.pid, ("ip", _comm_of(argv[0])), f"{netns.name}:{name}")
        return proc.pid


# --- helpers for tests and the lab --------------------------------------------------------------


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition") -> None:
    """Poll `predicate` until it is true; raise SandboxError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SandboxError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


_VOLATILE_KEYS = {"valid_life_time", "preferred_life_time", "expires"}


def _strip_volatile(value):
    if isinstance(value, dict):
        return {k: _strip_volatile(v) for k, v in value.items() if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [_strip_volatile(v) for v in value]
    return value


def snapshot_root_netns() -> dict[str, object]:
    """Links, addresses, routes, rules and the nftables ruleset of the root namespace.

    Used to prove the lab leaves the root namespace alone; address lifetimes
    (which tick) are dropped. Also the forwarding, rp_filter, redirect, ICMP
    rate-limit and bridge-netfilter sysctls of the root namespace.
    """
    snap: dict[str, object] = {}
    for key, argv in {
        "link": ["ip", "-j", "link", "show"],
        "addr": ["ip", "-j", "addr", "show"],
        "route4": ["ip", "-j", "-4", "route", "show", "table", "all"],
        "route6": ["ip", "-j", "-6", "route", "show", "table", "all"],
        "rule4": ["ip", "-j", "-4", "rule", "show"],
        "rule6": ["ip", "-j", "-6", "rule", "show"],
    }.items():
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        snap[key] = _strip_volatile(json.loads(out or "[]"))
    snap["nft"] = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    # The per-namespace sysctls the lab and `netdwg apply` set inside namespaces must not leak out.
    sysctls = {}
    for key in ROOT_SYSCTLS:
        try:
            sysctls[key] = Path("/proc/sys", key.replace(".", "/")).read_text().strip()
        except OSError:
            sysctls[key] = None
    snap["sysctl"] = sysctls
    return snap


ROOT_SYSCTLS = tuple(s.split("=")[0] for s in NETNS_SYSCTLS) + (
    "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv4.icmp_ratelimit", "net.ipv6.icmp.ratelimit",
    # The dual-stack lab: IPv6 forwarding in routers, networkd's per-link IPv6 switches in nodes.
    "net.ipv6.conf.default.forwarding", "net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6",
    "net.ipv6.conf.all.accept_ra", "net.ipv6.conf.default.accept_ra",
)
