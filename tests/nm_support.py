"""NetworkManager 1.42 in a sandbox node: a private system bus, the keyfile plugin, no udev (read-only
/sys), its state on tmpfs; never on the host itself. Stopped by PID with the node's sandbox."""

from __future__ import annotations

import time

from netdwg.lab.sandbox import Node

NM_CONF = """[main]
plugins=keyfile
dhcp=internal
dns=none
rc-manager=unmanaged
hostname-mode=none
no-auto-default=*
auth-polkit=root-only

[keyfile]
unmanaged-devices={unmanaged}
"""
CONNECTIONS = "/etc/NetworkManager/system-connections"


def start_networkmanager(node: Node, unmanaged: tuple[str, ...] = ()) -> int:
    """Mounts tmpfs over NetworkManager's directories inside the node, then starts dbus-daemon (if not yet)
    and NetworkManager, leaving the `unmanaged` interfaces alone. Returns NetworkManager's PID."""
    for directory in ("/var/lib/NetworkManager", "/run/NetworkManager", "/etc/NetworkManager"):
        node.run(["mkdir", "-p", directory])
        node.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", directory])
    node.run(["mkdir", "-p", CONNECTIONS])
    node.write_file("/etc/NetworkManager/NetworkManager.conf", NM_CONF.format(
        unmanaged=";".join(f"interface-name:{name}" for name in unmanaged) or "none"))
    if "dbus-daemon" not in node.daemons:
        node.start_dbus()
    # --debug: stay in the foreground and log to stderr (the node keeps it in NetworkManager.log)
    pid = node.spawn(["/usr/sbin/NetworkManager", "--debug"], name="NetworkManager")
    # Ready when its Settings object answers: NetworkManager owns its bus name a moment before it
    # exports the objects (under load the gap is long enough for a LoadConnections to fail).
    node.wait_for("NetworkManager", lambda: node.run(
        ["busctl", "--system", "call", "org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager/Settings",
         "org.freedesktop.NetworkManager.Settings", "ListConnections"], check=False, timeout=10).returncode == 0,
        timeout=30, pid=pid)
    return pid


def wait_until_bus_name_released(node: Node, name: str = "org.freedesktop.NetworkManager",
                                 timeout: float = 30.0) -> None:
    """After a stopped NetworkManager: dbus-daemon releases its name only when it reads the closed
    connection, and a NetworkManager started before that exits with 'Service already taken'."""
    deadline = time.monotonic() + timeout
    while node.run(["busctl", "--system", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                    "org.freedesktop.DBus", "NameHasOwner", "s", name], check=False,
                   timeout=10).stdout.strip() == "b true":
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} still owned on the bus {timeout:.0f} s after its owner stopped")
        time.sleep(0.05)


def ethernet_profile(name: str, interface: str) -> str:
    """A DHCP profile for an Ethernet link, as NetworkManager would hold it (autoconnect on carrier)."""
    return (f"[connection]\nid={name}\ntype=ethernet\ninterface-name={interface}\n\n"
            "[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=disabled\n")


def bus_address(node: Node) -> str:
    """The node's system bus, reachable from outside (through /proc/PID/root)."""
    return f"unix:path={node.path('/run/dbus/system_bus_socket')}"
