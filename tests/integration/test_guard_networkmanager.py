"""The guard's D-Bus source against the real NetworkManager 1.42: NetworkManager in the laptop's namespace
manages its LAN veth and takes a DHCP lease from dnsmasq on the office LAN; the source reads the lease from
DHCP4Config, and sees NetworkManager and the bus daemon restart. (This replaces a stand-in D-Bus service.)
The laptop's tunnel is a wireguard-go wg0 configured by `netdwg apply` from the laptop's topology
(tests/guard_scenario.py, backend networkd), beside NetworkManager managing its LAN links."""

# No `from __future__ import annotations`: kept like the other D-Bus tests.

import asyncio
import json
import ipaddress
import os
import signal
import time

import pytest

from netdwg.guard.observed import LeaseSeen
from netdwg.guard.sources.dbus import DbusSources
from netdwg.host.networkmanager import NetworkManagerBus
from nm_support import CONNECTIONS, bus_address, ethernet_profile, start_networkmanager, wait_until_bus_name_released

pytestmark = pytest.mark.root

LAN_PROFILE = ethernet_profile("lan", "lan0")


def _stop(pid: int, comm: str) -> None:
    """Stop a process this test started, by PID, after checking it is still that program."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            if f.read().strip() != comm:
                return
    except OSError:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(500):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ", 1)[1].startswith("Z"):
                    return
        except OSError:
            return
        time.sleep(0.01)


async def _wait(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:.0f} s")
        await asyncio.sleep(0.02)


def _office(sandbox):
    office = sandbox.netns("office")
    laptop = sandbox.node(sandbox.netns("nml"))
    sandbox.veth(office, "lanp", laptop.netns, "lan0")
    office.run(["ip", "addr", "add", "10.20.0.1/24", "dev", "lanp"])
    sandbox.spawn(office, ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--interface=lanp",
                           "--bind-interfaces", "--except-interface=lo", "--port=0",
                           "--dhcp-range=10.20.0.50,10.20.0.99,255.255.255.0,12h",
                           "--dhcp-option=option:router,10.20.0.1", "--domain=office.example", "--dhcp-authoritative",
                           f"--dhcp-leasefile={sandbox.rundir / 'office.leases'}", "--pid-file=", "--user=root",
                           "--no-ping"], name="dnsmasq")
    return laptop


def test_lease_from_networkmanager_and_its_restarts(sandbox):
    laptop = _office(sandbox)
    nm_pid = start_networkmanager(laptop)
    laptop.write_file(f"{CONNECTIONS}/lan.nmconnection", LAN_PROFILE, mode=0o600)
    assert NetworkManagerBus(bus_address(laptop)).load_connections([f"{CONNECTIONS}/lan.nmconnection"]) == []
    asyncio.run(_scenario(laptop, nm_pid))


async def _scenario(laptop, nm_pid):
    leases: list = []
    events: list = []
    restarts: list = []

    def deliver(batch, at):
        events.extend(batch)
        leases.extend(e for e in batch if isinstance(e, LeaseSeen))

    source = DbusSources(deliver, restarts.append, bus_address=bus_address(laptop))
    source.start()
    try:
        # NetworkManager autoconnects the profile on lan0 and takes the lease from dnsmasq
        await _wait(lambda: leases, timeout=30, what="a lease on D-Bus")
        lease = leases[-1].lease
        assert (lease.dev, lease.server_id, lease.router, lease.domain, lease.source) == (
            "lan0", ipaddress.ip_address("10.20.0.1"), ipaddress.ip_address("10.20.0.1"), "office.example",
            "networkmanager")
        assert ipaddress.ip_address(lease.address) in ipaddress.ip_network("10.20.0.0/24")

        # NetworkManager restarts: the source says so, reads the devices again, and ends with the same lease
        # (an unchanged lease is not delivered twice; one that went away while NetworkManager started is
        # delivered again when it is back)
        _stop(nm_pid, "NetworkManager")
        laptop.daemons.pop("NetworkManager", None)
        wait_until_bus_name_released(laptop)
        nm_pid = laptop.spawn(["/usr/sbin/NetworkManager", "--debug"], name="NetworkManager")
        await _wait(lambda: "NetworkManager" in restarts, timeout=30, what="NetworkManager's restart seen")

        def ends_with_the_lease() -> bool:
            on_lan = [e for e in events if getattr(e, "lease", None) is not None and e.lease.dev == "lan0"
                      or getattr(e, "dev", None) == "lan0"]
            return bool(on_lan) and isinstance(on_lan[-1], LeaseSeen) and \
                on_lan[-1].lease.server_id == ipaddress.ip_address("10.20.0.1")

        # on a loaded machine NetworkManager may take seconds to publish the lease again
        await _wait(ends_with_the_lease, timeout=30, what="the same lease after NetworkManager's restart")

        # the bus daemon restarts (NetworkManager leaves with it, and is started again)
        _stop(laptop.daemons["dbus-daemon"], "dbus-daemon")
        _stop(nm_pid, "NetworkManager")
        laptop.run(["rm", "-f", "/run/dbus/system_bus_socket"])
        laptop.start_dbus()
        laptop.spawn(["/usr/sbin/NetworkManager", "--debug"], name="NetworkManager")
        await _wait(lambda: "dbus" in restarts, timeout=30, what="the bus restart seen")
        # the source reads NetworkManager again on the new bus; a lease equal to the one it delivered is
        # not delivered twice (NetworkManager may publish it before or after the source is back), so what
        # must hold is that its view of lan0 ends with the office's lease
        await _wait(ends_with_the_lease, timeout=30, what="the office lease after the bus restart")
    finally:
        await source.stop()


@pytest.fixture(scope="module")
def nm_lab():
    from guard_scenario import build_roaming_lab
    from netdwg.lab.sandbox import Sandbox

    with Sandbox(prefix="ndwt") as sb:
        yield build_roaming_lab(sb, lan_manager="networkmanager")


def test_the_laptops_tunnel_is_what_netdwg_apply_made_of_the_topology(nm_lab):
    """wg0 carries traffic to the hub and both sites' LANs route into it: the setup is netdwg apply's, and
    a plan afterwards has nothing to do (NetworkManager leaves the unmanaged wg0 and networkd's routes alone)."""
    from guard_scenario import DEVICE, OTHER_HOST, laptop_netdwg, ping

    lab = nm_lab
    plan = laptop_netdwg(lab.lap, "plan")
    assert plan.returncode == 0 and plan.stdout.startswith("Nothing to do"), plan.stdout + plan.stderr
    assert "/etc/systemd/network/50-wg0.netdev" in lab.lap.run(["ls", "/etc/systemd/network/50-wg0.netdev"]).stdout
    assert ping(lab.lap, "10.99.0.1", count=3), "a handshake with the hub (keys and PSK from the topology's store)"
    assert lab.route_dev(DEVICE) == "wg0" and lab.route_dev(OTHER_HOST) == "wg0"
    status = laptop_netdwg(lab.lap, "status")
    assert status.returncode == 0 and "peer hub" in status.stdout, status.stdout + status.stderr


def test_joining_the_office_under_networkmanager_makes_the_lan_route_win_and_leaving_restores_the_tunnel(nm_lab):
    """NetworkManager takes the office lease (its DHCP route has metric 100, the tunnel's 0): the guard reads
    the lease from DHCP4Config, trusts the office and removes the tunnel route; leaving puts it back."""
    from guard_scenario import DEVICE, OFFICE_LAN, OTHER_HOST
    from netdwg.lab.sandbox import wait_until
    from netdwg.topology.guard_config import Action

    lab = nm_lab
    baseline = sorted(str(r) for r in lab.wg_routes())
    lab.write_guard_config(Action.REMOVE)
    lab.start_guard()
    try:
        assert lab.route_dev(DEVICE) == "wg0"
        lab.join("office")
        wait_until(lambda: lab.route_dev(DEVICE) == "lan0", timeout=30,
                   what=f"the LAN route to win; guard log:\n{lab.guard_log()[-2500:]}")
        wait_until(lambda: any(s["site"] == "oslo" and s["verdict"] == "trusted"
                               for s in (lab.guard_status() or {}).get("sites", [])), timeout=10,
                   what=f"the guard's verdict 'trusted'; log:\n{lab.guard_log()[-2500:]}")
        assert any(s.get("dev") == "lan0" for s in lab.guard_status()["sites"])
        assert [r for r in lab.wg_routes() if r["dst"] == str(OFFICE_LAN)] == []
        assert lab.route_dev(OTHER_HOST) == "wg0", "the other site's LAN stays in the tunnel"
        lan = [r for r in json.loads(lab.lap.run(["ip", "-j", "route", "show", "dev", "lan0"]).stdout)
               if r["dst"] == str(OFFICE_LAN)]
        assert [r.get("metric") for r in lan] == [100], "the route is NetworkManager's DHCP route"
        lab.leave("office")
        wait_until(lambda: lab.route_dev(DEVICE) == "wg0", timeout=30,
                   what=f"the tunnel route back; guard log:\n{lab.guard_log()[-2500:]}")
        wait_until(lambda: sorted(str(r) for r in lab.wg_routes()) == baseline, timeout=10,
                   what="tunnel routes exactly as before")
    finally:
        lab.stop_guard()


def test_a_foreign_lan_handing_out_the_office_prefix_keeps_the_tunnel_under_networkmanager(nm_lab):
    """A café whose router hands out the office prefix: NetworkManager takes that lease (metric 100), the
    guard calls the LAN foreign and pins the office host named in keep_hosts to the tunnel."""
    from guard_scenario import DEVICE
    from netdwg.lab.sandbox import wait_until
    from netdwg.topology.guard_config import Action

    lab = nm_lab
    baseline = sorted(str(r) for r in lab.wg_routes())
    lab.write_guard_config(Action.REMOVE)
    lab.start_guard()
    try:
        lab.join("cafe")
        wait_until(lambda: lab.has_lan_address("cafe0"), timeout=30, what="NetworkManager's café lease")
        wait_until(lambda: any(s["site"] == "oslo" and s["verdict"] == "foreign"
                               for s in (lab.guard_status() or {}).get("sites", [])), timeout=20,
                   what=f"the guard's verdict 'foreign'; log:\n{lab.guard_log()[-2500:]}")
        assert lab.route_dev(DEVICE) == "wg0", "the office host stays in the tunnel"
        assert lab.route_dev("172.20.10.77") == "wg0", "the office prefix is not handed to the café"
        lab.leave("cafe")
        wait_until(lambda: sorted(str(r) for r in lab.wg_routes()) == baseline, timeout=30,
                   what="tunnel routes exactly as before")
    finally:
        lab.stop_guard()
