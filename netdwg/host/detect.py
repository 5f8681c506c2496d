"""Which WireGuard implementation runs an interface: userspace (UAPI socket) or kernel."""

from __future__ import annotations

from pathlib import Path

from netdwg.host.uapi import RUN_DIR, UapiWgLink


def detect_backend(ifname: str, run_dir: Path = RUN_DIR, sys_class_net: Path = Path("/sys/class/net")) -> str | None:
    """"userspace", "kernel", or None when the interface does not exist.

    A UAPI socket wins: wireguard-go creates a TUN device (no DEVTYPE), and
    wg(8) itself prefers the socket when both exist.
    """
    if (run_dir / f"{ifname}.sock").is_socket():
        return "userspace"
    uevent = sys_class_net / ifname / "uevent"
    try:
        text = uevent.read_text()
    except OSError:
        return None
    return "kernel" if "DEVTYPE=wireguard" in text else None


def open_wg_link(ifname: str, run_dir: Path = RUN_DIR):
    """The `WgLink` for an interface, or None when it does not exist (yet)."""
    backend = detect_backend(ifname, run_dir)
    if backend == "userspace":
        return UapiWgLink(ifname, run_dir / f"{ifname}.sock")
    if backend == "kernel":
        from netdwg.host.kernel_wg import KernelWgLink

        return KernelWgLink(ifname)
    return None
