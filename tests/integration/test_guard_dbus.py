"""The D-Bus source against a real private dbus-daemon: a NetworkManager stand-in
(NetworkManager itself is not installed here) exports Device and DHCP4Config
objects as NM 1.42 does; the guard's source must read the lease, see a renewal
(Options change), and reconnect when the bus daemon restarts."""

# No `from __future__ import annotations`: dbus-fast reads D-Bus signatures from annotations.

import asyncio
import ipaddress
import os
import shutil
import signal
import subprocess

import pytest

from netdwg.guard.observed import LeaseSeen
from netdwg.guard.sources.dbus import DbusSources, dbus

pytestmark = pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="dbus-daemon not installed")

service = pytest.importorskip(dbus.__name__ + ".service")
NM = "org.freedesktop.NetworkManager"
DEV = "/org/freedesktop/NetworkManager/Devices/3"
DHCP = "/org/freedesktop/NetworkManager/DHCP4Config/7"


class Manager(service.ServiceInterface):
    def __init__(self):
        super().__init__(NM)

    @service.method()
    def GetDevices(self) -> "ao":
        return [DEV]


class Device(service.ServiceInterface):
    def __init__(self):
        super().__init__(NM + ".Device")

    @service.dbus_property(access=service.PropertyAccess.READ)
    def Interface(self) -> "s":
        return "wlp2s0"

    @service.dbus_property(access=service.PropertyAccess.READ)
    def IpInterface(self) -> "s":
        return "wlp2s0"

    @service.dbus_property(access=service.PropertyAccess.READ)
    def Dhcp4Config(self) -> "o":
        return DHCP


class Dhcp4Config(service.ServiceInterface):
    def __init__(self):
        super().__init__(NM + ".DHCP4Config")
        self.options = {"ip_address": "10.20.0.50", "dhcp_server_identifier": "10.20.0.1",
                        "routers": "10.20.0.1", "domain_name": "corp.example", "expiry": "1700000000"}

    @service.dbus_property(access=service.PropertyAccess.READ)
    def Options(self) -> "a{sv}":
        return {k: dbus.Variant("s", v) for k, v in self.options.items()}

    def renew(self, **changes):
        self.options.update(changes)
        self.emit_properties_changed({"Options": self.Options})


def start_bus(tmp_path, name: str):
    sock = tmp_path / f"{name}.sock"
    proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                             f"--address=unix:path={sock}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if sock.exists():
            break
        import time
        time.sleep(0.01)
    return proc, f"unix:path={sock}"


def stop(proc):
    if proc.poll() is None and open(f"/proc/{proc.pid}/comm").read().strip() == "dbus-daemon":
        proc.send_signal(signal.SIGTERM)
        proc.wait(5)


async def wait_for(predicate, timeout=5.0):
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def serve_nm(address):
    from_aio = __import__(dbus.__name__ + ".aio", fromlist=["MessageBus"])
    bus = await from_aio.MessageBus(bus_address=address).connect()
    dhcp = Dhcp4Config()
    bus.export("/org/freedesktop/NetworkManager", Manager())
    bus.export(DEV, Device())
    bus.export(DHCP, dhcp)
    await bus.request_name(NM)
    return bus, dhcp


def test_networkmanager_lease_renewal_and_bus_restart(tmp_path):
    proc, address = start_bus(tmp_path, "bus")
    try:
        asyncio.run(_scenario(tmp_path, proc, address))
    finally:
        stop(proc)


async def _scenario(tmp_path, proc, address):
    leases: list = []
    restarts: list = []
    src = DbusSources(lambda events, at: leases.extend(e for e in events if isinstance(e, LeaseSeen)),
                      restarts.append, bus_address=address)
    nm_bus, dhcp = await serve_nm(address)
    src.start()
    await wait_for(lambda: leases)
    lease = leases[-1].lease
    assert (lease.dev, lease.server_id, lease.router, lease.domain, lease.source) == (
        "wlp2s0", ipaddress.ip_address("10.20.0.1"), ipaddress.ip_address("10.20.0.1"), "corp.example",
        "networkmanager")
    # a new lease from another server on the same link: NM notifies Options, the source re-reads
    dhcp.renew(dhcp_server_identifier="10.20.0.254", domain_name="cafe.example")
    await wait_for(lambda: leases[-1].lease.server_id == ipaddress.ip_address("10.20.0.254"))
    assert leases[-1].lease.domain == "cafe.example"
    # the bus daemon restarts: the source reconnects by itself and reports it
    nm_bus.disconnect()
    stop(proc)
    if os.path.exists(address.removeprefix("unix:path=")):  # dbus-daemon removes it on exit
        os.unlink(address.removeprefix("unix:path="))
    proc2 = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address={address}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await wait_for(lambda: "dbus" in restarts, timeout=10)
        assert src.connected.is_set()
        nm_bus, dhcp = await serve_nm(address)  # NM comes back too: its lease is read again
        count = len(leases)
        await wait_for(lambda: len(leases) > count, timeout=5)
        nm_bus.disconnect()
    finally:
        await src.stop()
        stop(proc2)
