"""systemd-networkd 257 in the lab: a Debian 13 (trixie) root made once with debootstrap and
kept outside the source tree; its networkd runs chrooted inside a node's namespaces.

The node's own /etc/systemd/network, /run/systemd, /run/dbus and /run/wireguard are bound
into the root, so files written in the node, the node's dbus-daemon and wireguard-go's UAPI
sockets are the ones the chrooted networkd sees. The mounts live in the node's private mount
namespace and go with it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

from netdwg.errors import ExternalError

# networkd release -> the root it runs from (None: this machine's own, Debian 12's 252)
ROOT = Path(os.environ.get("NETDWG_TRIXIE_ROOT", "/var/cache/netdwg-test/trixie"))
RELEASES: dict[int, Path | None] = {252: None, 257: ROOT}
NETWORKD_IN_ROOT = "/usr/lib/systemd/systemd-networkd"
BOUND = ("/etc/systemd/network", "/run/systemd", "/run/dbus", "/run/wireguard")

_MOUNTS = r"""
set -e
R="$1"; shift
mountpoint -q "$R/proc" || mount -t proc proc "$R/proc"
mountpoint -q "$R/sys" || mount -t sysfs -o ro sysfs "$R/sys"
mountpoint -q "$R/dev" || mount --bind /dev "$R/dev"
for d in "$@"; do
  mkdir -p "$d" "$R$d"
  mountpoint -q "$R$d" || mount --bind "$d" "$R$d"
done
"""


class RootError(ExternalError):
    """The trixie root cannot be made or used: says why and what to install."""


def ensure_root(root: Path = ROOT) -> Path:
    """The root with networkd 257, made with debootstrap when missing (under a lock: test
    runs share it). Fails, never falls back to another networkd."""
    if (root / NETWORKD_IN_ROOT.lstrip("/")).exists():
        return root
    if shutil.which("debootstrap") is None:
        raise RootError(f"{root} is missing and debootstrap is not installed",
                        fix="apt-get install debootstrap (make test installs it)")
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / NETWORKD_IN_ROOT.lstrip("/")).exists():
            return root  # another run made it meanwhile
        partial = root.with_name(root.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        done = subprocess.run(["debootstrap", "--variant=minbase", "--include=systemd,dbus", "trixie", str(partial),
                               "http://deb.debian.org/debian"], capture_output=True, text=True, timeout=1800)
        if done.returncode != 0 or not (partial / NETWORKD_IN_ROOT.lstrip("/")).exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RootError(f"debootstrap of the trixie root failed: {' / '.join(tail)}",
                            fix=f"run 'debootstrap --variant=minbase --include=systemd,dbus trixie {root}' by hand")
        partial.rename(root)
    return root


def chrooted_networkd(node, root: Path) -> list[str]:
    """Make the node's mounts under ``root`` and return the argv that runs its networkd there."""
    node.run(["sh", "-c", _MOUNTS, "mounts", str(root), *BOUND])
    return ["chroot", str(root), NETWORKD_IN_ROOT]
