"""lint's widening hint (NDW022) for a LAN that is part of a larger network (`lan_within`): network
(5)'s cameras at 10.11.12.0/24 on a home 10.0.0.0/8. A laptop at home gets the /8 as its connected
route, so widening to a /16 (the old hint) leaves the tunnel route winning; the hint must go shorter
than the /8, or say why widening cannot help."""

from __future__ import annotations

import ipaddress

import pytest

from netdwg.errors import Severity
from netdwg.lint import run_lint
from netdwg.topology import parse_topology

NETWORK5 = """\
[network]
name = webcam
pool = 172.27.0.0/16
keepalive = 25

[hosts]
  [[hub-1]]
  role = hub
  endpoint = 198.51.100.15:51820
  address = 172.27.0.1

  [[spoke-1]]
  role = roaming
  address = 172.27.0.2

  [[spoke-2]]
  role = site
  address = 172.27.0.3
  lan = {lan}
  lan_interface = wlp0s0f0
  return_path = masquerade
{extra}"""


def lint(lan="10.11.12.0/24", extra=""):
    return run_lint(parse_topology(NETWORK5.format(lan=lan, extra=extra), "webcam.conf"))


def laptop_warning(diags):
    [warning] = [d for d in diags if d.code == "NDW022" and d.severity is Severity.WARNING]
    return warning


def tunnel_wins(connected: str, tunnel: str) -> bool:
    """Linux picks the longest prefix; on a tie the lower metric: the tunnel's 0 beats DHCP's 1024."""
    return ipaddress.ip_network(tunnel).prefixlen >= ipaddress.ip_network(connected).prefixlen


def test_camera_range_inside_a_home_slash8_says_widening_cannot_help():
    warning = laptop_warning(lint(extra="  lan_within = 10.0.0.0/8\n"))
    assert "10.11.0.0/16" not in warning.fix  # what the hint said before: it does not fix the laptop
    assert tunnel_wins("10.0.0.0/8", "10.11.0.0/16")
    assert warning.fix.startswith("set guard = yes on 'spoke-1' (widening cannot help: on 10.0.0.0/8")
    assert "10.0.0.0/7" in warning.fix and "outside private space" in warning.fix


def test_a_smaller_covering_network_gets_a_widen_to_shorter_than_it():
    warning = laptop_warning(lint(lan="192.168.1.0/24", extra="  lan_within = 192.168.0.0/22\n"))
    assert "widen_to = 192.168.0.0/21 on 'spoke-2'" in warning.fix
    assert not tunnel_wins("192.168.0.0/22", "192.168.0.0/21")


def test_widen_to_no_shorter_than_the_covering_network_is_a_warning():
    diags = lint(extra="  lan_within = 10.0.0.0/8\n  guard_action = widen\n  widen_to = 10.11.0.0/16\n")
    [warning] = [d for d in diags if d.code == "NDW022" and d.severity is Severity.WARNING]
    assert "widen_to 10.11.0.0/16 does not help on 10.0.0.0/8" in warning.message
    assert warning.span.line == 24  # the widen_to line
    assert "guard_action = remove or metric" in warning.fix
    assert [d for d in diags if d.severity is Severity.ERROR] == []


def test_lan_within_must_contain_a_lan():
    with pytest.raises(Exception) as err:
        lint(extra="  lan_within = 192.168.0.0/16\n")
    assert "lan_within 192.168.0.0/16 contains none of this site's LANs" in str(err.value.diagnostics[0].message)


def test_without_lan_within_the_hint_is_as_before_and_points_at_lan_within():
    warning = laptop_warning(lint())
    assert "widen_to = 10.11.0.0/16 on 'spoke-2'" in warning.fix and "lan_within" in warning.fix
