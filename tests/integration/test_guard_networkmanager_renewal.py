"""The guard under the real NetworkManager 1.42 through DHCP renewals: NetworkManager renews the office
lease (the gateway's dnsmasq asks for it every 3 s, option T1), DHCP4Config.Options changes only `expiry`,
and the guard touches no route: the LAN route keeps winning the whole time (no flapping)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from netdwg.lab.sandbox import Sandbox, wait_until

pytestmark = pytest.mark.root

NM_DEST = "org.freedesktop.NetworkManager"


def _busctl(lab, *args: str):
    out = lab.lap.run(["busctl", "--system", "-j", *args], timeout=10).stdout
    return json.loads(out)["data"]


def _dhcp4_options(lab, iface: str = "lan0") -> dict:
    """DHCP4Config.Options of the device, as NetworkManager publishes them on its bus."""
    device = _busctl(lab, "call", NM_DEST, "/org/freedesktop/NetworkManager", NM_DEST, "GetDeviceByIpIface",
                     "s", iface)[0]
    config = _busctl(lab, "get-property", NM_DEST, device, NM_DEST + ".Device", "Dhcp4Config")
    if config in ("", "/"):
        return {}
    options = _busctl(lab, "get-property", NM_DEST, config, NM_DEST + ".DHCP4Config", "Options")
    return {key: value["data"] for key, value in options.items()}


def test_a_renewal_under_networkmanager_changes_only_expiry_and_no_route():
    from guard_scenario import DEVICE, OFFICE_LAN, _dnsmasq, _reap_dead, build_roaming_lab
    from netdwg.topology.guard_config import Action

    with Sandbox(prefix="ndwr") as sb:
        lab = build_roaming_lab(sb, lan_manager="networkmanager")
        # the gateway's DHCP server again, asking for a renewal every 3 s (T1) instead of at half the lease
        pid = lab.gw.daemons.pop("dnsmasq")
        with open(f"/proc/{pid}/comm") as f:
            assert f.read().strip() == "dnsmasq"
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: _reap_dead(pid), timeout=10, what="dnsmasq to stop")
        lab.gw.spawn(_dnsmasq("lan0", "172.20.10.1", "oslo.harbor.test", lab.gw.rundir / "dnsmasq-t1.leases")
                     + ["--dhcp-option=option:T1,3", "--dhcp-option=option:T2,100"], name="dnsmasq")
        lab.write_guard_config(Action.REMOVE)
        lab.start_guard()
        try:
            lab.join("office")
            wait_until(lambda: lab.route_dev(DEVICE) == "lan0", timeout=30,
                       what=f"the LAN route to win; guard log:\n{lab.guard_log()[-2500:]}")
            first = _dhcp4_options(lab)
            assert first["dhcp_server_identifier"] == "172.20.10.1" and "expiry" in first
            acted = lab.guard_log().count("[#]")
            wg_before = sorted(json.dumps(r, sort_keys=True) for r in lab.wg_routes())
            devices: set[str] = set()
            for renewal in (1, 2):
                expiry, renewed, deadline = _dhcp4_options(lab)["expiry"], None, time.monotonic() + 20
                while renewed is None and time.monotonic() < deadline:  # sample the route meanwhile
                    devices.add(lab.route_dev(DEVICE))
                    now = _dhcp4_options(lab)
                    if now.get("expiry") not in (None, expiry):
                        renewed = now
                    time.sleep(0.1)
                assert renewed is not None, f"NetworkManager renewed the lease ({renewal})"
                assert {k: v for k, v in renewed.items() if k != "expiry"} == \
                    {k: v for k, v in first.items() if k != "expiry"}, "a renewal changes only expiry"
            for _ in range(10):  # and a moment after
                devices.add(lab.route_dev(DEVICE))
                time.sleep(0.1)
            assert devices == {"lan0"}, "the LAN route won throughout the renewal"
            assert lab.guard_log().count("[#]") == acted, \
                f"the guard changed nothing on renewal; log:\n{lab.guard_log()[-2500:]}"
            assert sorted(json.dumps(r, sort_keys=True) for r in lab.wg_routes()) == wg_before
            assert not [r for r in lab.wg_routes() if r["dst"] == str(OFFICE_LAN)]
        finally:
            lab.stop_guard()
