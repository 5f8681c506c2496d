"""systemd-networkd over D-Bus (org.freedesktop.network1, system bus).

Reload re-reads every file; ReconfigureLink re-applies one link's .network.
Neither is enough for WireGuard peers (networkd < 257 ignores changed peers of
an existing netdev on Reload; 257+ reconfigures it and drops every session),
which is why apply syncs peers itself and calls networkd only for what
networkd owns: addresses, routes, new devices.
"""

from __future__ import annotations

import time

from netdwg.errors import ApplyError, ExternalError

BUS_NAME = "org.freedesktop.network1"
MANAGER_PATH = "/org/freedesktop/network1"
MANAGER_IFACE = "org.freedesktop.network1.Manager"
LINK_IFACE = "org.freedesktop.network1.Link"
# States after which waiting longer cannot help.
SETTLED = {"configured", "failed", "unmanaged", "linger"}


class NetworkdBus:
    """The `Networkd` port; each call opens its own short connection (apply is not a daemon)."""

    def __init__(self, bus_address: str | None = None) -> None:
        self.bus_address = bus_address

    async def _call(self, path: str, interface: str, member: str, signature: str = "", body: list | None = None,
                    destination: str = BUS_NAME):
        from netdwg.host.dbus_call import call_method

        return await call_method(self.bus_address, destination, path, interface, member, signature, body,
                                 service="systemd-networkd", start_fix="start it: systemctl start systemd-networkd",
                                 what="networkd")

    def _run(self, path, interface, member, signature="", body=None):
        # Imported here, not at the top: asyncio (and ssl, logging) is a large import that an
        # apply changing only WireGuard peers never needs.
        import asyncio

        return asyncio.run(self._call(path, interface, member, signature, body))

    def version(self) -> int | None:
        """The running networkd's systemd release: the libsystemd-shared-N.so its process has
        mapped (networkd publishes no version on D-Bus; a chrooted 257 maps its own). None
        when that cannot be told."""
        import asyncio
        import re

        try:
            (pid,) = asyncio.run(self._call("/org/freedesktop/DBus", "org.freedesktop.DBus",
                                            "GetConnectionUnixProcessID", "s", [BUS_NAME],
                                            destination="org.freedesktop.DBus"))
            with open(f"/proc/{int(pid)}/maps", encoding="utf-8", errors="replace") as f:
                found = re.search(r"/libsystemd-shared-(\d+)[.\w-]*\.so", f.read())
        except (ExternalError, OSError, ValueError):
            return None
        return int(found.group(1)) if found else None

    def check_running(self) -> None:
        """Before touching anything: is networkd there to be asked at the end?"""
        self._run(MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping")

    def reload(self) -> None:
        self._run(MANAGER_PATH, MANAGER_IFACE, "Reload")

    def ifindex(self, ifname: str) -> int:
        try:
            return int(self._run(MANAGER_PATH, MANAGER_IFACE, "GetLinkByName", "s", [ifname])[0])
        except ExternalError as err:
            if "No such link" in str(err) or "NoSuchLink" in str(err):
                raise ApplyError(f"networkd does not know link {ifname!r}",
                                 fix=f"does the interface exist? (ip link show {ifname})") from None
            raise

    def reconfigure(self, ifname: str) -> None:
        self._run(MANAGER_PATH, MANAGER_IFACE, "ReconfigureLink", "i", [self.ifindex(ifname)])

    def describe_link(self, ifname: str) -> dict:
        import json

        index = self.ifindex(ifname)
        return json.loads(self._run(MANAGER_PATH, MANAGER_IFACE, "DescribeLink", "i", [index])[0])

    def link_state(self, ifname: str) -> tuple[str, str]:
        info = self.describe_link(ifname)
        return info.get("AdministrativeState", ""), info.get("OperationalState", "")

    def wait_configured(self, ifnames: tuple[str, ...], timeout: float) -> None:
        """Until every link is configured; ApplyError naming the ones that are not."""
        deadline = time.monotonic() + timeout
        pending = list(ifnames)
        states: dict[str, tuple[str, str]] = {}
        while pending:
            for name in list(pending):
                states[name] = self.link_state(name)
                if states[name][0] in SETTLED:
                    pending.remove(name)
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        bad = {n: s for n, s in states.items() if s[0] != "configured"}
        if bad:
            detail = ", ".join(f"{n}: {a} ({o})" for n, (a, o) in bad.items())
            raise ApplyError(f"networkd did not configure {detail}",
                             fix="read why in the journal: journalctl -u systemd-networkd -n 50")
