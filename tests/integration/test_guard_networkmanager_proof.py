"""The guard's active proof with the real NetworkManager 1.42 taking the leases: the office is trusted once
its sshd proves the pinned host key; a café that copies every passive fact (prefix, DHCP server identifier,
router address and MAC, domain) and runs an sshd of its own on the office server's address keeps the
tunnel. While in the office the system bus restarts (NetworkManager with it): the LAN route keeps winning."""

from __future__ import annotations

import os
import signal
import time

import pytest

from netdwg.lab.sandbox import Sandbox, wait_until

pytestmark = pytest.mark.root


def test_networkmanager_office_proven_cafe_copy_foreign_and_a_bus_restart():
    if not os.path.exists("/usr/sbin/sshd"):
        pytest.skip("openssh-server is not installed (make deps)")
    from guard_scenario import DEVICE, _reap_dead, build_roaming_lab, ping
    from netdwg.topology.guard_config import Action, SshHostKey, Trust
    from netdwg.topology.guard_config import Fingerprint
    from test_guard_trust import OFFICE_FACTS, _sshd, oslo, route_dev, wait_verdict

    with Sandbox(prefix="ndwp") as sb:
        lab = build_roaming_lab(sb, cafe_copies_office=True, lan_manager="networkmanager")
        _sshd(sb, lab.dev, sb.rundir / "office_host_key")
        lab.cafe.run(["ip", "addr", "add", f"{DEVICE}/24", "dev", "c-lap"])
        _sshd(sb, lab.cafe, sb.rundir / "cafe_host_key")
        office_key = SshHostKey.parse(f"{DEVICE} {(sb.rundir / 'office_host_key.pub').read_text()}")
        lab.write_guard_config(Action.REMOVE, fingerprint=Fingerprint(
            OFFICE_FACTS.dhcp_servers, OFFICE_FACTS.routers, OFFICE_FACTS.router_macs, OFFICE_FACTS.dns_domains,
            ssh_host_keys=(office_key,)), trust=Trust.PROOF)
        lab.start_guard()
        try:
            lab.join("office")
            proven = wait_verdict(lab, "trusted")
            assert [p["result"] for p in proven["proofs"]] == ["proven"], proven
            wait_until(lambda: route_dev(lab, DEVICE) == "lan0", timeout=10, what="the LAN route to win")

            # the bus restarts; NetworkManager leaves with it and is started again
            seen_before = lab.guard_log().count("dbus (re)started")
            for name in ("NetworkManager", "dbus-daemon"):
                pid = lab.lap.daemons.pop(name)
                with open(f"/proc/{pid}/comm") as f:
                    assert f.read().strip() == name
                os.kill(pid, signal.SIGTERM)
                wait_until(lambda: _reap_dead(pid), timeout=10, what=f"{name} to stop")
            lab.lap.run(["rm", "-f", "/run/dbus/system_bus_socket"])
            lab.lap.start_dbus()
            lab.lap.spawn(["/usr/sbin/NetworkManager", "--debug"], name="NetworkManager")
            wait_until(lambda: lab.guard_log().count("dbus (re)started") > seen_before, timeout=30, what=f"the guard to see the bus again; log:\n{lab.guard_log()[-2500:]}")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # the LAN route keeps winning meanwhile
                assert route_dev(lab, DEVICE) in ("lan0", ""), lab.guard_log()[-2500:]
                time.sleep(0.2)
            assert oslo(lab)["verdict"] == "trusted" and route_dev(lab, DEVICE) == "lan0"

            lab.leave("office")
            wait_verdict(lab, "away")
            wait_until(lambda: route_dev(lab, DEVICE) == "wg0", timeout=20, what="the tunnel route back")

            # the café copying every passive fact, with an sshd of its own on the office server's address
            lab.join("cafe")
            wait_until(lambda: lab.has_lan_address("cafe0"), timeout=30, what="NetworkManager's café lease")
            view = wait_verdict(lab, "foreign")
            assert [p["result"] for p in view["proofs"]] == ["wrong"], view
            time.sleep(4)  # well past identify_timeout: still not trusted
            assert oslo(lab)["verdict"] == "foreign"
            assert route_dev(lab, DEVICE) == "wg0", "the office server stays in the tunnel"
            assert route_dev(lab, "172.20.10.77") == "wg0", "the office prefix is not handed to the café"
            assert ping(lab.lap, DEVICE), "and answers through the tunnel"
        finally:
            lab.stop_guard()
