"""netdwg-guard end to end: real networkd 252 (DHCP client) on the laptop, real
dnsmasq on the office LAN and in a café, wireguard-go tunnels through a hub,
and the guard process itself (tests/guard_scenario.py draws the world)."""

from __future__ import annotations

import ipaddress
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guard_scenario import (DEVICE, OFFICE_LAN, OTHER_HOST, REPO, build_roaming_lab, iperf_mbps, ping)
from netdwg.lab.sandbox import Sandbox, wait_until
from netdwg.topology.guard_config import Action, Fingerprint

pytestmark = pytest.mark.root


def world(tunnel: str):
    with Sandbox(prefix="ndwt") as sb:
        lab = build_roaming_lab(sb, tunnel=tunnel)
        lab.baseline = sorted(json.dumps(r, sort_keys=True) for r in lab.wg_routes())
        yield lab


@pytest.fixture(scope="module")
def lab():
    yield from world("networkd")


@pytest.fixture(scope="module")
def wg_quick_lab():
    """The laptop's tunnel made by `wg-quick up wg0`; networkd only takes its leases."""
    yield from world("wg-quick")


def wg_route_set(lab) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in lab.wg_routes())


def allowed_ips(lab) -> set[str]:
    out = lab.lap.run(["wg", "show", "wg0", "allowed-ips"]).stdout
    return {ip for line in out.splitlines() for ip in line.split("\t", 1)[1].split()}


def route_dev(lab, dst) -> str:
    try:
        return lab.route_dev(dst)
    except Exception:  # "Network is unreachable" while networkd reconfigures
        return ""


def wait_dev(lab, dst, dev: str, timeout: float = 20.0) -> None:
    wait_until(lambda: route_dev(lab, dst) == dev, timeout=timeout,
               what=f"ip route get {dst} -> dev {dev}; guard log:\n{lab.guard_log()[-2500:]}")


def wait_verdict(lab, verdict: str, site: str = "oslo", timeout: float = 20.0) -> dict:
    def ok():
        st = lab.guard_status() or {}
        return any(s["site"] == site and s["verdict"] == verdict for s in st.get("sites", []))
    wait_until(ok, timeout=timeout, what=f"guard verdict {verdict}; log:\n{lab.guard_log()[-2500:]}")
    return lab.guard_status()


def cleaned(lab):
    """Every test starts away, with no guard, and must leave the tunnel routes as found."""
    yield lab
    lab.reset()
    wait_until(lambda: wg_route_set(lab) == lab.baseline, timeout=10,
               what=f"tunnel routes back to the baseline: {wg_route_set(lab)}")
    assert not lab.paths.get("state") or not lab.paths["state"].exists()


@pytest.fixture
def clean(lab):
    yield from cleaned(lab)


@pytest.fixture
def clean_wg_quick(wg_quick_lab):
    yield from cleaned(wg_quick_lab)


def test_away_office_traffic_goes_through_the_tunnel(clean):
    lab = clean
    assert route_dev(lab, DEVICE) == "wg0"
    assert ping(lab.lap, DEVICE), "the office device answers through hub and site gateway"


@pytest.mark.parametrize("action", [Action.REMOVE, Action.METRIC, Action.WIDEN])
def test_join_and_leave_the_office(clean, action):
    join_and_leave(clean, action)


@pytest.mark.parametrize("action", [Action.REMOVE, Action.METRIC, Action.WIDEN])
def test_join_and_leave_the_office_on_wg_quicks_routes(clean_wg_quick, action):
    """The tunnel is wg-quick's: the guard removes, demotes or widens the routes `wg-quick up`
    added for AllowedIPs (main table, protocol boot, metric 0), and leaving puts back exactly those
    (the fixture compares every wg0 route with what wg-quick made)."""
    office = [r for r in clean_wg_quick.wg_routes() if r["dst"] == str(OFFICE_LAN)]
    # ip leaves out the protocol when it is boot (what `ip route add` gives) and a metric of 0
    assert office == [{"dst": str(OFFICE_LAN), "scope": "link", "flags": []}], office
    join_and_leave(clean_wg_quick, action)


def join_and_leave(lab, action: Action) -> None:
    lab.write_guard_config(action)
    lab.start_guard()
    tunnel_mbps = iperf_mbps(lab.lap, seconds=1)
    lab.join("office")
    wait_dev(lab, DEVICE, "lan0")
    status = wait_verdict(lab, "trusted")
    assert status["warnings"] == []
    lan_mbps = iperf_mbps(lab.lap, seconds=1)
    print(f"{action}: tunnel {tunnel_mbps:.0f} Mbit/s, LAN {lan_mbps:.0f} Mbit/s")
    assert lan_mbps > 3 * tunnel_mbps and lan_mbps > 1000, (tunnel_mbps, lan_mbps)
    assert route_dev(lab, OTHER_HOST) == "wg0", "the other site's LAN stays in the tunnel"
    assert ping(lab.lap, OTHER_HOST)
    routes = lab.wg_routes()
    office = [r for r in routes if r["dst"] == str(OFFICE_LAN)]
    if action is Action.REMOVE:
        assert office == []
        assert str(OFFICE_LAN) in allowed_ips(lab), "remove keeps AllowedIPs"
    elif action is Action.METRIC:
        assert [r.get("metric", 0) for r in office] == [1025]
    else:
        assert office == []
        assert any(r["dst"] == "172.20.0.0/16" for r in routes)
        assert "172.20.0.0/16" in allowed_ips(lab) and str(OFFICE_LAN) not in allowed_ips(lab)
    lab.leave("office")
    wait_dev(lab, DEVICE, "wg0")
    wait_until(lambda: wg_route_set(lab) == lab.baseline, timeout=5, what="tunnel routes exactly as before")
    # undo runs in reverse order of apply: for widen the routes come back first, then the
    # AllowedIPs (one UAPI call later), so wait for that too rather than racing it
    wait_until(lambda: str(OFFICE_LAN) in allowed_ips(lab) and "172.20.0.0/16" not in allowed_ips(lab),
               timeout=5, what="AllowedIPs exactly as before")
    assert ping(lab.lap, DEVICE, count=3), "office device reachable through the tunnel again"
    wait_verdict(lab, "away")
    assert not lab.paths["state"].exists(), "nothing left in effect, nothing recorded"


def test_foreign_lan_with_the_office_prefix_is_not_trusted(clean):
    lab = clean
    lab.write_guard_config(Action.REMOVE)
    lab.start_guard()
    lab.join("cafe")
    wait_until(lambda: lab.has_lan_address("cafe0"), timeout=20, what="a café lease")
    status = wait_verdict(lab, "foreign")
    view = next(s for s in status["sites"] if s["site"] == "oslo")
    assert any("router MAC" in r or "DNS domain" in r for r in view["reasons"]), view
    assert route_dev(lab, DEVICE) == "wg0", "the office host named in keep_hosts stays in the tunnel"
    assert any(r["dst"] == str(DEVICE) for r in lab.wg_routes()), "pinned by a host route"
    assert route_dev(lab, "172.20.10.77") == "wg0", "the office prefix is not handed to the café"
    assert ping(lab.lap, DEVICE), "and the office host answers through the tunnel"
    assert "not oslo" in lab.guard_log(), "a warning is logged"
    lab.leave("cafe")
    wait_until(lambda: not any(r["dst"] == str(DEVICE) for r in lab.wg_routes()), timeout=10,
               what="the host route to go")


def test_a_site_without_fingerprint_is_never_trusted_until_learned(clean):
    lab = clean
    lab.write_guard_config(Action.REMOVE, fingerprint=Fingerprint())
    lab.start_guard()
    lab.join("office")
    wait_until(lambda: lab.has_lan_address("lan0"), timeout=20, what="an office lease")
    status = wait_verdict(lab, "foreign")
    assert any("netdwg guard learn oslo" in w for w in status["warnings"])
    assert route_dev(lab, DEVICE) == "wg0"
    # learn the office while in it; the guard picks it up (SIGHUP) and trusts it
    res = lab.lap.run([sys.executable, "-m", "netdwg", "guard", "learn", "oslo", "--config",
                       "/etc/netdwg/guard.conf", "--learned", str(lab.paths["learned"]),
                       "--status", str(lab.paths["status"])],
                      env={"PYTHONPATH": str(REPO), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert "learned" in res.stdout
    learned = json.loads(lab.paths["learned"].read_text())["sites"]["oslo"][0]
    assert learned["dhcp_servers"] == ["172.20.10.1"] and learned["dns_domains"] == ["oslo.harbor.test"]
    wait_dev(lab, DEVICE, "lan0")
    wait_verdict(lab, "trusted")
    lab.paths["learned"].unlink()


def test_sigterm_on_the_lan_puts_the_tunnel_route_back(clean):
    lab = clean
    lab.write_guard_config(Action.METRIC)
    lab.start_guard()
    lab.join("office")
    wait_dev(lab, DEVICE, "lan0")
    assert lab.paths["state"].exists()
    lab.stop_guard(signal.SIGTERM)
    assert wg_route_set(lab) == lab.baseline, "undone exactly on SIGTERM"
    assert route_dev(lab, DEVICE) == "wg0"
    assert not lab.paths["state"].exists()


def test_crash_on_the_lan_is_undone_at_the_next_start_and_foreign_routes_are_untouched(clean):
    lab = clean
    # an admin's own route on the same prefix and device: the guard must never touch it
    lab.lap_sh(f"ip route add {OFFICE_LAN} dev wg0 metric 3000")
    try:
        lab.baseline_with_admin = wg_route_set(lab)
        lab.write_guard_config(Action.REMOVE)
        lab.start_guard()
        lab.join("office")
        wait_dev(lab, DEVICE, "lan0")
        recorded = json.loads(lab.paths["state"].read_text())
        assert [c["kind"] for c in recorded["changes"]] == ["delete-route"]
        lab.stop_guard(signal.SIGKILL)
        assert lab.paths["state"].exists(), "a crash leaves the record behind"
        # restarted while still on the LAN: undo the old record, decide afresh, end up right
        lab.start_guard()
        wait_verdict(lab, "trusted")
        wait_dev(lab, DEVICE, "lan0")
        assert "left by a previous netdwg-guard" in lab.guard_log()
        assert any(r.get("metric") == 3000 for r in lab.wg_routes())
        lab.stop_guard(signal.SIGKILL)
        lab.leave("office")
        wait_until(lambda: not lab.has_lan_address("lan0"), timeout=20, what="lease dropped")
        lab.start_guard()
        wait_until(lambda: wg_route_set(lab) == lab.baseline_with_admin, timeout=10,
                   what="the crashed guard's change undone")
        assert "left by a previous netdwg-guard" in lab.guard_log()
        assert any(r.get("metric") == 3000 for r in lab.wg_routes()), "the admin's route is still there"
    finally:
        lab.stop_guard()
        lab.lap_sh(f"ip route del {OFFICE_LAN} dev wg0 metric 3000", check=False)


def test_networkd_restart_is_re_asserted(clean):
    lab = clean
    lab.write_guard_config(Action.METRIC)
    lab.start_guard()
    lab.join("office")
    wait_dev(lab, DEVICE, "lan0")
    lab.restart_daemon("networkd")  # flushes foreign routes (ours) and re-adds its own wg routes
    wait_dev(lab, DEVICE, "lan0", timeout=30)
    time.sleep(1.0)  # networkd configures links in phases: the answer must hold, not flicker
    assert route_dev(lab, DEVICE) == "lan0"
    office = [r for r in lab.wg_routes() if r["dst"] == str(OFFICE_LAN)]
    assert [r.get("metric", 0) for r in office] == [1025], office
    assert "networkd (re)started" in lab.guard_log()


def test_dbus_restart_reconnects(clean):
    lab = clean
    lab.write_guard_config(Action.REMOVE)
    lab.start_guard()
    wait_until(lambda: "connected to the system bus" in lab.guard_log(), timeout=10, what="D-Bus connection")
    lab.restart_daemon("dbus-daemon")
    wait_until(lambda: lab.guard_log().count("connected to the system bus") >= 2, timeout=15,
               what=f"D-Bus reconnect; log:\n{lab.guard_log()[-2000:]}")
    lab.join("office")
    wait_dev(lab, DEVICE, "lan0")
    lab.leave("office")
    wait_dev(lab, DEVICE, "wg0")
    lab.restart_daemon("networkd")  # it lost its bus too; give the next test a healthy one
    wait_until(lambda: wg_route_set(lab) == lab.baseline, timeout=20, what="networkd back")


def test_boot_already_on_the_lan_before_the_tunnel(clean):
    lab = clean
    lab.write_guard_config(Action.WIDEN)
    lab.lap_sh("ip link set wg0 down")  # no tunnel yet: its routes are gone
    try:
        lab.join("office")
        wait_until(lambda: lab.has_lan_address("lan0"), timeout=20, what="an office lease")
        lab.start_guard()
        lab.lap_sh("ip link set wg0 up")  # networkd configures wg0 and adds the office route
        wait_until(lambda: any(r["dst"] == "172.20.0.0/16" for r in lab.wg_routes()), timeout=20,
                   what=f"widened route; log:\n{lab.guard_log()[-2000:]}")
        wait_dev(lab, DEVICE, "lan0")
        assert route_dev(lab, OTHER_HOST) == "wg0"
    finally:
        lab.lap_sh("ip link set wg0 up")


def test_uplink_move_re_sets_the_endpoint(clean):
    lab = clean
    lab.write_guard_config(Action.REMOVE)
    lab.start_guard()
    lab.join("office")
    wait_dev(lab, DEVICE, "lan0")
    assert ping(lab.lap, "10.99.0.1")
    lab.lap_sh("ip link set inet0 down")  # the internet uplink goes: only the office NAT is left
    try:
        wait_until(lambda: ping(lab.lap, "10.99.0.1", timeout=1), timeout=3,
                   what=f"the tunnel back over the LAN; log:\n{lab.guard_log()[-2000:]}")
        assert "uplink changed" in lab.guard_log()
    finally:
        lab.lap_sh("ip link set inet0 up")


def test_service_protocol_ready_watchdog_stopping(clean, tmp_path):
    """What systemd sees over $NOTIFY_SOCKET: READY=1 once the first snapshot is in, WATCHDOG=1
    at half of WatchdogSec, STOPPING=1 on SIGTERM."""
    import socket as socketlib

    lab = clean
    lab.write_guard_config(Action.REMOVE)
    path = lab.lap.rundir / "notify.sock"
    with socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(10)
        pid = lab.lap.spawn(lab.guard_argv(), name="netdwg-guard",
                            env={"PYTHONPATH": str(REPO), "NOTIFY_SOCKET": str(path),
                                 "WATCHDOG_USEC": "400000"})
        lab.guard_pid = pid
        seen: list[str] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (any("READY=1" in m for m in seen)
                                                   and sum("WATCHDOG=1" in m for m in seen) >= 2):
            seen.append(sock.recv(4096).decode())
        assert any("READY=1" in m and "STATUS=" in m for m in seen), seen
        assert sum("WATCHDOG=1" in m for m in seen) >= 2, seen
        lab.stop_guard(signal.SIGTERM)
        rest = []
        sock.settimeout(0.5)
        try:
            while True:
                rest.append(sock.recv(4096).decode())
        except OSError:
            pass
        assert any("STOPPING=1" in m for m in rest), rest


def test_networkd_over_d_bus_alone_identifies_the_office(clean):
    """Without lease files (another path), the DHCP server and router come from networkd's
    DescribeLink over D-Bus (252: ConfigProvider of the DHCPv4 address, DHCPv4 gateway)."""
    from guard_scenario import OFFICE_MAC, OFFICE_ROUTER

    lab = clean
    lab.write_guard_config(Action.REMOVE, fingerprint=Fingerprint(
        dhcp_servers=(OFFICE_ROUTER,), routers=(OFFICE_ROUTER,), router_macs=(OFFICE_MAC,)),
        timeout=10.0)  # D-Bus round trips are slower than inotify on a loaded 2-CPU machine
    lab.start_guard("--leases", "/nonexistent/leases")
    lab.join("office")
    wait_dev(lab, DEVICE, "lan0")
    assert wait_verdict(lab, "trusted")["warnings"] == []


def _self_signed(path_stem):
    """A throwaway certificate for the office host; returns (cert path, key path, sha256 hex)."""
    import datetime
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "files.oslo.harbor.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = path_stem.with_suffix(".crt"), path_stem.with_suffix(".key")
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


@pytest.mark.parametrize("pinned_right", [True, False])
def test_a_pinned_office_certificate_proves_the_office(clean, pinned_right):
    from netdwg.topology.guard_config import TlsPin

    lab = clean
    if not hasattr(lab, "tls_sha256"):
        cert, key, lab.tls_sha256 = _self_signed(lab.sb.rundir / "office-host")
        lab.sb.spawn(lab.dev, ["openssl", "s_server", "-quiet", "-accept", "8443", "-cert", str(cert),
                               "-key", str(key)], name="openssl")
    digest = lab.tls_sha256 if pinned_right else "00" * 32
    lab.write_guard_config(Action.REMOVE, fingerprint=Fingerprint(
        dns_domains=("oslo.harbor.test",), tls_pins=(TlsPin(DEVICE, 8443, digest),)), timeout=10.0)
    lab.start_guard()
    lab.join("office")
    if pinned_right:
        wait_dev(lab, DEVICE, "lan0")
        wait_verdict(lab, "trusted")
    else:
        status = wait_verdict(lab, "foreign")
        assert any("not the pinned" in r for s in status["sites"] for r in s["reasons"])
        assert route_dev(lab, DEVICE) == "wg0", "a forged office stays in the tunnel"


def _ssh_host_key(lab, name: str, address, port: int = 22):
    """A fresh ed25519 host key for an sshd at address:port: (the pin for it, the key file)."""
    from netdwg.topology.guard_config import SshHostKey

    if not Path("/usr/sbin/sshd").exists():
        pytest.skip("openssh-server is not installed (make deps)")
    key = lab.sb.rundir / f"{name}-ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    where = str(address) if port == 22 else f"[{address}]:{port}"
    return SshHostKey.parse(f"{where} {key.with_suffix('.pub').read_text()}"), key


def _run_sshd(lab, netns, name: str, key: Path, address, port: int = 22) -> None:
    """A real OpenSSH sshd serving `key` on address:port, in `netns`; stopped at teardown."""
    import os

    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    lab.sb.spawn(netns, ["/usr/sbin/sshd", "-D", "-e", "-f", "/dev/null", "-h", str(key),
                         "-o", f"ListenAddress={address}:{port}", "-o", "PidFile=none"], name=f"sshd-{name}")
    log = lab.sb.rundir / f"{netns.name}-sshd-{name}.log"
    wait_until(lambda: log.exists() and "Server listening" in log.read_text(errors="replace"), timeout=10,
               what=f"sshd {name}")


def _start_sshd(lab, netns, name: str, address) -> "SshHostKey":
    """A real OpenSSH sshd with a host key of its own on address:22; returns the pin for it."""
    pin, key = _ssh_host_key(lab, name, address)
    _run_sshd(lab, netns, name, key, address)
    return pin


def test_a_pinned_ssh_host_key_proves_the_office_and_the_cafes_sshd_does_not(clean):
    """Only the SSH pin tells the two LANs apart here: same prefix, both have 172.20.10.5:22."""
    lab = clean
    office_key = _start_sshd(lab, lab.dev, "office", DEVICE)
    lab.cafe.run(["ip", "addr", "add", f"{DEVICE}/24", "dev", "c-lap"])  # the café's box poses as the office host
    try:
        cafe_key = _start_sshd(lab, lab.cafe, "cafe", DEVICE)
        assert cafe_key.key != office_key.key
        lab.write_guard_config(Action.REMOVE, fingerprint=Fingerprint(ssh_host_keys=(office_key,)), timeout=10.0)
        lab.start_guard()

        lab.join("cafe")
        status = wait_verdict(lab, "foreign")
        reasons = [r for s in status["sites"] if s["site"] == "oslo" for r in s["reasons"]]
        assert any(f"SSH host key of {DEVICE}:22 is sha256:{cafe_key.sha256[:16]}" in r for r in reasons), reasons
        assert route_dev(lab, DEVICE) == "wg0", "the café's sshd does not make the café the office"
        assert ping(lab.lap, DEVICE), "the office host stays reachable through the tunnel"
        lab.leave("cafe")
        wait_verdict(lab, "away")

        lab.join("office")
        wait_dev(lab, DEVICE, "lan0")
        wait_verdict(lab, "trusted")
        assert f"SSH check of {DEVICE}:22 via lan0: sha256:{office_key.sha256}" in lab.guard_log()
    finally:
        lab.cafe.run(["ip", "addr", "del", f"{DEVICE}/24", "dev", "c-lap"], check=False)


def _oslo_proof(lab) -> dict | None:
    st = lab.guard_status() or {}
    return next((p for s in st.get("sites", []) if s["site"] == "oslo" for p in s.get("proofs", [])), None)


def test_a_failed_ssh_proof_is_retried_while_the_laptop_stays_on_the_lan(clean):
    """The office sshd is not up yet when the laptop joins: the guard keeps the hairpin and
    says why; once sshd answers, the next retry (2 s, 5 s, ... after a failure) proves the
    office and the LAN route wins; leaving puts the tunnel route back."""
    lab = clean
    port = 2222  # not the :22 sshd another test may have left running on the office host
    pin, key = _ssh_host_key(lab, "office-late", DEVICE, port)
    lab.write_guard_config(Action.REMOVE, fingerprint=Fingerprint(dns_domains=("oslo.harbor.test",),
                                                                  ssh_host_keys=(pin,)))
    lab.start_guard()
    lab.join("office")
    # two checks refused, and identify_timeout (3 s) over: judged foreign for want of a proof,
    # which is where a guard without retries stayed until the laptop left
    wait_until(lambda: (_oslo_proof(lab) or {}).get("attempt", 0) >= 2, timeout=20,
               what=f"a second failed SSH check in the status; log:\n{lab.guard_log()[-2500:]}")
    status = wait_verdict(lab, "foreign")
    failed = _oslo_proof(lab)
    assert (failed["result"], failed["error"]) == ("failed", "Connection refused"), failed
    assert failed["attempt"] == 2 and failed["next_try"] - failed["at"] == pytest.approx(5.0, abs=0.01), failed
    oslo = next(s for s in status["sites"] if s["site"] == "oslo")
    assert any("not proven: Connection refused (retrying)" in r for r in oslo["reasons"]), oslo
    assert route_dev(lab, DEVICE) == "wg0", "no proof, no trust: office traffic stays in the tunnel"
    assert any(r["dst"] == str(OFFICE_LAN) for r in lab.wg_routes()), "the tunnel route is kept"
    shown = lab.lap.run([sys.executable, "-m", "netdwg", "guard", "status", "--config", "/etc/netdwg/guard.conf",
                         "--status", str(lab.paths["status"]), "--learned", str(lab.paths["learned"])],
                        env={"PYTHONPATH": str(REPO)}).stdout
    assert f"ssh {DEVICE}:{port} via lan0: failed (" in shown and "next try in" in shown, shown

    started = time.monotonic()
    _run_sshd(lab, lab.dev, "office-late", key, DEVICE, port)
    wait_dev(lab, DEVICE, "lan0", timeout=15)
    took = time.monotonic() - started
    status = wait_verdict(lab, "trusted")
    proof = _oslo_proof(lab)
    print(f"sshd up -> LAN route in {took:.1f} s (attempt {proof['attempt']})")
    assert took <= 8.0, f"proved {took:.1f} s after sshd came up; log:\n{lab.guard_log()[-2500:]}"
    assert proof["result"] == "proven" and proof["attempt"] >= 2 and proof["next_try"] is None, proof
    assert status["warnings"] == []
    # every attempt was started once: never two checks of the same host at once
    attempts = [int(line.rsplit("(attempt ", 1)[1].rstrip(")")) for line in lab.guard_log().splitlines()
                if f"SSH check of {DEVICE}:{port} via lan0: " in line]
    assert attempts == list(range(1, proof["attempt"] + 1)), attempts

    lab.leave("office")
    wait_dev(lab, DEVICE, "wg0")
    wait_until(lambda: wg_route_set(lab) == lab.baseline, timeout=5, what="tunnel routes exactly as before")
    wait_verdict(lab, "away")


def test_a_hub_endpoint_by_name_is_followed_when_its_address_changes(clean):
    """networkd resolves an Endpoint name once (systemd #9911); the guard re-resolves it."""
    from netdwg.wireguard import Endpoint

    lab = clean
    hosts = lab.lap.read_file("/etc/hosts")
    lab.hub.run(["ip", "addr", "add", "198.51.100.11/24", "dev", "eth0"])
    try:
        lab.lap.write_file("/etc/hosts", hosts + "198.51.100.10 relay.harbor.test\n")
        lab.write_guard_config(Action.REMOVE, hub_endpoint=Endpoint("relay.harbor.test", 51820))
        lab.start_guard("--dns-refresh", "0.3")
        wait_until(lambda: "relay.harbor.test:51820 resolves to 198.51.100.10:51820" in lab.guard_log(), timeout=10)
        lab.lap.write_file("/etc/hosts", hosts + "198.51.100.11 relay.harbor.test\n")  # the relay moved
        wait_until(lambda: "now resolves to 198.51.100.11:51820" in lab.guard_log(), timeout=10,
                   what=f"re-resolution; log:\n{lab.guard_log()[-1500:]}")
        assert ping(lab.lap, "10.99.0.1", count=3), "the tunnel works through the new address"
    finally:
        lab.lap.write_file("/etc/hosts", hosts)
        lab.hub.run(["ip", "addr", "del", "198.51.100.11/24", "dev", "eth0"])
        lab.lap.run(["wg", "set", "wg0", "peer", lab.hub_key.base64, "endpoint", "198.51.100.10:51820"])
