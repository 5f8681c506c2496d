"""The guard under the real NetworkManager 1.42 through a DHCP renewal: NetworkManager renews the office
lease (dnsmasq's 2-minute lease: at half-time), DHCP4Config.Options changes only `expiry`, and the guard
neither re-decides nor touches a route: the LAN route keeps winning the whole time (no flapping)."""

from __future__ import annotations

import json
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
    from guard_scenario import DEVICE, OFFICE_LAN, build_roaming_lab
    from netdwg.topology.guard_config import Action

    with Sandbox(prefix="ndwr") as sb:
        lab = build_roaming_lab(sb, lan_manager="networkmanager")
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
            # NetworkManager's internal client renews at half the 2-minute lease; sample the route meanwhile
            deadline, devices, renewed = time.monotonic() + 100, set(), None
            while time.monotonic() < deadline:
                devices.add(lab.route_dev(DEVICE))
                now = _dhcp4_options(lab)
                if now.get("expiry") != first["expiry"]:
                    renewed = now
                    break
                time.sleep(0.2)
            assert renewed is not None, "NetworkManager renewed the lease"
            for _ in range(10):  # and a moment after it
                devices.add(lab.route_dev(DEVICE))
                time.sleep(0.1)
            assert {k: v for k, v in renewed.items() if k != "expiry"} == \
                {k: v for k, v in first.items() if k != "expiry"}, "a renewal changes only expiry"
            assert devices == {"lan0"}, "the LAN route won throughout the renewal"
            assert lab.guard_log().count("[#]") == acted, \
                f"the guard changed nothing on renewal; log:\n{lab.guard_log()[-2500:]}"
            assert sorted(json.dumps(r, sort_keys=True) for r in lab.wg_routes()) == wg_before
            assert not [r for r in lab.wg_routes() if r["dst"] == str(OFFICE_LAN)]
        finally:
            lab.stop_guard()
