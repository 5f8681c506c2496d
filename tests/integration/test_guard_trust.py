"""The guard trusts only proof, in namespaces: a café that copies the office's prefix, DHCP server
identifier, router address and MAC and DNS domain (and even runs an sshd on the office server's
address) keeps the tunnel; the real office is trusted once its sshd proves the pinned host key.
A site with passive facts only stays unverified. Real networkd 252, dnsmasq, wireguard-go, sshd and
the guard process (tests/guard_scenario.py draws the world)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from guard_scenario import (DEVICE, OFFICE_MAC, OFFICE_ROUTER, REPO, build_roaming_lab, ping)
from netdwg.lab.sandbox import Sandbox, wait_until
from netdwg.topology.guard_config import Action, Fingerprint, SshHostKey, Trust

pytestmark = pytest.mark.root
OFFICE_FACTS = Fingerprint(dhcp_servers=(OFFICE_ROUTER,), routers=(OFFICE_ROUTER,), router_macs=(OFFICE_MAC,),
                           dns_domains=("oslo.harbor.test",))


def _sshd(sb, ns, key_path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key_path)], check=True)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    sb.spawn(ns, ["/usr/sbin/sshd", "-D", "-e", "-f", "/dev/null", "-h", str(key_path),
                  "-o", f"ListenAddress={DEVICE}", "-o", "PidFile=none"], name="sshd")
    log = sb.rundir / f"{ns.name}-sshd.log"
    wait_until(lambda: log.exists() and "Server listening" in log.read_text(errors="replace"), timeout=10,
               what=f"sshd in {ns.name}")


@pytest.fixture(scope="module")
def lab():
    if not os.path.exists("/usr/sbin/sshd"):
        pytest.skip("openssh-server is not installed (make deps)")
    with Sandbox(prefix="ndwq") as sb:
        lab = build_roaming_lab(sb, cafe_copies_office=True)
        # the office server, and an impostor on the same address in the café with a key of its own
        _sshd(sb, lab.dev, sb.rundir / "office_host_key")
        lab.cafe.run(["ip", "addr", "add", f"{DEVICE}/24", "dev", "c-lap"])
        _sshd(sb, lab.cafe, sb.rundir / "cafe_host_key")
        lab.office_key = SshHostKey.parse(f"{DEVICE} {(sb.rundir / 'office_host_key.pub').read_text()}")
        yield lab


def route_dev(lab, dst) -> str:
    try:
        return lab.route_dev(dst)
    except Exception:  # "Network is unreachable" while networkd reconfigures
        return ""


def oslo(lab) -> dict:
    return next(s for s in (lab.guard_status() or {}).get("sites", []) if s["site"] == "oslo")


def wait_verdict(lab, verdict: str, timeout: float = 20.0) -> dict:
    wait_until(lambda: lab.guard_status() and oslo(lab)["verdict"] == verdict, timeout=timeout,
               what=f"guard verdict {verdict}; log:\n{lab.guard_log()[-2500:]}")
    return oslo(lab)


@pytest.fixture
def clean(lab):
    yield lab
    lab.reset()
    if lab.paths.get("learned"):
        lab.paths["learned"].unlink(missing_ok=True)


def test_a_cafe_copying_every_passive_fact_keeps_the_tunnel_and_the_office_is_trusted_on_its_proof(clean):
    lab = clean
    lab.write_guard_config(Action.REMOVE, fingerprint=Fingerprint(
        OFFICE_FACTS.dhcp_servers, OFFICE_FACTS.routers, OFFICE_FACTS.router_macs, OFFICE_FACTS.dns_domains,
        ssh_host_keys=(lab.office_key,)), trust=Trust.PROOF)
    lab.start_guard()

    # the real office: the sshd on 172.20.10.5 signs with the pinned key
    lab.join("office")
    proven = wait_verdict(lab, "trusted")
    assert [p["result"] for p in proven["proofs"]] == ["proven"], proven
    wait_until(lambda: route_dev(lab, DEVICE) == "lan0", timeout=10, what="the LAN route to win in the office")
    # what this office looks like, recorded while in it: passive facts the café will copy
    res = lab.lap.run([sys.executable, "-m", "netdwg", "guard", "learn", "oslo", "--config",
                       "/etc/netdwg/guard.conf", "--learned", str(lab.paths["learned"]),
                       "--status", str(lab.paths["status"])], env={"PYTHONPATH": str(REPO)})
    assert "learned oslo on lan0" in res.stdout and f"(pid {lab.guard_pid}) re-read it" in res.stdout, res
    lab.leave("office")
    wait_verdict(lab, "away")

    # the café: same prefix, DHCP server identifier, router, router MAC and domain, an sshd on the
    # office server's address; the learned fingerprint matches it too, and none of it is proof
    lab.join("cafe")
    wait_until(lambda: lab.has_lan_address("cafe0"), timeout=20, what="a café lease")
    view = wait_verdict(lab, "foreign")
    assert all("SSH" in r for r in view["reasons"]), view  # every passive fact matched: only the key did not
    assert any("not the pinned ssh-ed25519" in r for r in view["reasons"]), view
    assert [p["result"] for p in view["proofs"]] == ["wrong"], view
    learned = json.loads(lab.paths["learned"].read_text())["sites"]["oslo"]
    assert learned[0]["router_macs"] == [OFFICE_MAC] and learned[0]["dns_domains"] == ["oslo.harbor.test"]
    time.sleep(4)  # well past identify_timeout: still not trusted
    assert oslo(lab)["verdict"] == "foreign"
    assert route_dev(lab, DEVICE) == "wg0", "the office server stays in the tunnel"
    assert route_dev(lab, "172.20.10.77") == "wg0", "the office prefix is not handed to the café"
    assert ping(lab.lap, DEVICE), "and answers through the tunnel"
    assert "is not oslo" in lab.guard_log() or "is not verified as oslo" in lab.guard_log()

    # back in the office: trusted again once the proof answers
    lab.leave("cafe")
    wait_verdict(lab, "away")
    lab.join("office")
    wait_verdict(lab, "trusted")
    wait_until(lambda: route_dev(lab, DEVICE) == "lan0", timeout=10, what="the LAN route to win again")


def test_an_office_with_passive_facts_only_stays_unverified_and_says_how_to_add_a_proof(clean):
    lab = clean
    lab.write_guard_config(Action.REMOVE, fingerprint=OFFICE_FACTS, trust=Trust.PROOF)
    lab.start_guard()
    lab.join("office")
    wait_until(lambda: lab.has_lan_address("lan0"), timeout=20, what="an office lease")
    view = wait_verdict(lab, "unverified")
    assert "declares no proof" in view["reasons"][0] and "passive facts match" in view["reasons"][0]
    assert "ssh-keyscan" in view["reasons"][1] and "trust = passive" in view["reasons"][1]
    time.sleep(4)
    assert oslo(lab)["verdict"] == "unverified" and route_dev(lab, DEVICE) == "wg0"
    status = lab.guard_status()
    assert any("is not verified as oslo" in w and "ssh_host_key" in w for w in status["warnings"]), status
    assert "declares no proof" in lab.guard_log(), "the journal says why"
    # `netdwg guard status` prints the same
    out = lab.lap.run([sys.executable, "-m", "netdwg", "guard", "status", "--config", "/etc/netdwg/guard.conf",
                       "--learned", str(lab.paths["learned"]), "--status", str(lab.paths["status"])],
                      env={"PYTHONPATH": str(REPO)}).stdout
    assert "oslo: unverified on lan0" in out and "ssh-keyscan" in out


def test_learn_says_the_guard_re_read_the_file_only_when_its_status_shows_it(clean):
    lab = clean
    lab.write_guard_config(Action.REMOVE, fingerprint=OFFICE_FACTS, trust=Trust.PROOF)
    lab.start_guard()
    lab.join("office")
    wait_verdict(lab, "unverified")

    def learn(*extra: str):
        return lab.lap.run([sys.executable, "-m", "netdwg", "guard", "learn", "oslo", "--config",
                            "/etc/netdwg/guard.conf", "--status", str(lab.paths["status"]), *extra],
                           check=False, env={"PYTHONPATH": str(REPO)})

    # another file than the guard reads: written, and said not to be seen
    other = lab.lap.rundir / "other-learned.json"
    res = learn("--learned", str(other))
    assert res.returncode == 1 and other.exists(), res
    assert f"reads {lab.paths['learned']}, not {other}: it does not see this fingerprint" in res.stdout
    assert not lab.paths["learned"].exists()
    # a guard that does not answer (stopped): not claimed
    os.kill(lab.guard_pid, signal.SIGSTOP)
    try:
        res = learn("--learned", str(lab.paths["learned"]))
        assert res.returncode == 1 and "did not confirm re-reading it" in res.stdout, res
    finally:
        os.kill(lab.guard_pid, signal.SIGCONT)
    # its own file, answered: said, and true (the status shows the bytes learn wrote)
    res = learn("--learned", str(lab.paths["learned"]))
    assert res.returncode == 0 and f"the running guard (pid {lab.guard_pid}) re-read it" in res.stdout, res
    assert lab.guard_status()["learned"]["sha256"] == hashlib.sha256(lab.paths["learned"].read_bytes()).hexdigest()
    # passive facts, learned, are still no proof: the site stays unverified, and learn said so
    assert "declares no proof, so these facts alone do not make the guard trust it" in res.stdout
    time.sleep(1)
    assert oslo(lab)["verdict"] == "unverified" and route_dev(lab, DEVICE) == "wg0"
    out = lab.lap.run([sys.executable, "-m", "netdwg", "guard", "status", "--config", "/etc/netdwg/guard.conf",
                       "--learned", str(lab.paths["learned"]), "--status", str(lab.paths["status"])],
                      env={"PYTHONPATH": str(REPO)}).stdout
    assert f"learned fingerprints from {lab.paths['learned']}: oslo (1)" in out, out
