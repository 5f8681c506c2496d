"""NetworkManager 1.42 in a sandbox node: a private system bus, the keyfile plugin, no udev (read-only
/sys), its state on tmpfs; never on the host itself. Stopped by PID with the node's sandbox."""

from __future__ import annotations

import time

from netdwg.lab.sandbox import Node

# One implementation: the lab's (netdwg.lab.nm), which runs NetworkManager for backend = networkmanager hosts.
from netdwg.lab.nm import CONNECTIONS, NM_CONF, bus_address, start_networkmanager  # noqa: F401 (re-exported)


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
