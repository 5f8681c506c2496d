"""NDW028: a roaming guard trusts a site's LAN only on a declared proof; lint says when it cannot,
and warns about the passive opt-in. The `trust` key on its way to guard.conf."""

from __future__ import annotations

import pytest

from netdwg.errors import Severity
from netdwg.lint import run_lint
from netdwg.topology import parse_topology

KEY = "172.20.10.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICnrgzVPhXaLp6D300B3wMBjAopZvmsUPqanyTBnhWZ+"
PIN = "172.20.10.5:443 sha256:" + "ab" * 32
PASSIVE = "dhcp_server = 172.20.10.1\n  router_mac = 02:00:00:0a:0a:01\n  domain = oslo.test"

TOPOLOGY = """\
[network]
name = t
interface = wg0
pool = 10.9.0.0/16

[hosts]
  [[hub]]
  role = hub
  endpoint = 192.0.2.1:51820
  address = 10.9.0.1

  [[oslo]]
  role = site
  address = 10.9.0.2
  lan = 172.20.10.0/24
  lan_address = 172.20.10.2
  {oslo}

  [[ana]]
  role = roaming
  address = 10.9.0.4
  {ana}
"""


def ndw028(oslo: str, ana: str = "guard = yes"):
    text = TOPOLOGY.format(oslo=oslo, ana=ana)
    return [d for d in run_lint(parse_topology(text, "t.conf")) if d.code == "NDW028"], text.splitlines()


def test_guard_yes_with_no_fingerprint_and_no_proof_does_nothing():
    [d], lines = ndw028("")
    assert d.severity is Severity.WARNING and "lan = " in lines[d.span.line - 1]
    assert "guard = yes on ana does nothing on this LAN" in d.message and "no fingerprint and no proof" in d.message
    assert "ssh_host_key" in d.fix and "ssh-keyscan" in d.fix and "tls_pin" in d.fix


def test_passive_facts_alone_leave_the_site_unverified():
    [d], _ = ndw028(PASSIVE)
    assert d.severity is Severity.WARNING and "only passive facts" in d.message and "unverified" in d.message
    assert "ssh_host_key" in d.fix


def test_trusting_passive_facts_is_an_opt_in_lint_warns_about():
    [d], lines = ndw028(PASSIVE + "\n  trust = passive")
    assert d.severity is Severity.WARNING and lines[d.span.line - 1].strip() == "trust = passive"
    assert "passive facts alone" in d.message and "café" in d.message
    assert "remove trust = passive" in d.fix


def test_trust_passive_next_to_a_proof_has_no_effect():
    [d], _ = ndw028(f"ssh_host_key = {KEY}\n  trust = passive")
    assert "no effect" in d.message and d.fix == "remove trust = passive"


@pytest.mark.parametrize("proof", [f"ssh_host_key = {KEY}", f"tls_pin = {PIN}", f"{PASSIVE}\n  tls_pin = {PIN}"])
def test_a_declared_proof_is_silent(proof):
    assert ndw028(proof)[0] == []


@pytest.mark.parametrize("ana", ["guard = no", "guard = yes\n  reach = hub"])
def test_silent_without_a_guard_on_that_site(ana):
    # no guard; a guard that does not route oslo's LAN
    assert ndw028(PASSIVE, ana)[0] == []


def test_a_guarded_wg_quick_laptop_is_warned_like_a_networkd_one():
    [d], _ = ndw028(PASSIVE, "guard = yes\n  backend = wg-quick")
    assert d.severity is Severity.WARNING and "does nothing on this LAN" in d.message and "ana" in d.message


def test_the_topology_key_reaches_the_guard_conf():
    from netdwg.topology.guard_config import Trust
    from netdwg.topology.compile import compile_topology
    from netdwg.topology.secrets import Secrets, complete_secrets

    text = TOPOLOGY.format(oslo=PASSIVE + "\n  trust = passive", ana="guard = yes")
    topology = parse_topology(text, "t.conf")
    guard = compile_topology(topology, complete_secrets(topology, Secrets())[0])["ana"].guard
    assert guard.sites[0].trust is Trust.PASSIVE
    assert parse_topology(TOPOLOGY.format(oslo=PASSIVE, ana=""), "t.conf").host("oslo").lans[0].trust == "proof"


def test_a_widened_site_needs_no_guard_to_leave_the_tunnel():
    # guard_action = widen: laptops route the covering prefix, so the LAN's own route wins without
    # the guard; nothing for NDW028 to say unless the site opts into passive trust
    assert ndw028(PASSIVE + "\n  guard_action = widen\n  widen_to = 172.20.0.0/16")[0] == []
    assert len(ndw028(PASSIVE + "\n  guard_action = widen\n  widen_to = 172.20.0.0/16\n  trust = passive")[0]) == 1
