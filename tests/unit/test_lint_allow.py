"""`allow` lists that name the site itself, or a host whose `reach` leaves the site out: lint says
what to change (a warning with its fix) and render goes on; never NDW020 "this is a compiler bug"."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from netdwg.cli import main
from netdwg.errors import Severity
from netdwg.lint import run_lint
from netdwg.topology import parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.secrets import Secrets, complete_secrets

TOPOLOGY = """\
[network]
name = t
pool = 10.9.0.0/24

[hosts]
  [[hub]]
  role = hub
  endpoint = 198.51.100.1:51820
  address = 10.9.0.1

  [[office]]
  role = site
  address = 10.9.0.2
  lan = 192.168.50.0/24
  lan_address = 192.168.50.2
  allow = {allow}

  [[ann]]
  role = roaming
  address = 10.9.0.3
  guard = yes

  [[bob]]
  role = roaming
  address = 10.9.0.4
  reach = ,
"""


def lint(allow: str):
    topology = parse_topology(TOPOLOGY.format(allow=allow), "t.conf")
    secrets, _ = complete_secrets(topology, Secrets())
    return topology, tuple(run_lint(topology, compile_topology(topology, secrets)))


@pytest.mark.parametrize("allow, named, fix", [
    ("office, ann", "allow names this site itself", "remove 'office' from allow"),
    ("ann, bob", "allow names 'bob', which does not route this LAN", "add 'office' to reach of 'bob', or drop 'bob'"),
])
def test_allow_of_a_host_that_cannot_use_it_is_a_warning_with_its_fix(allow, named, fix):
    _, diags = lint(allow)
    assert [d for d in diags if d.severity is Severity.ERROR] == []
    assert not any("compiler bug" in (d.fix or "") for d in diags)
    [warning] = [d for d in diags if d.code == "NDW020" and d.severity is Severity.WARNING]
    assert named in warning.message and fix in warning.fix
    assert warning.span.line == 16  # the allow line


@pytest.mark.parametrize("allow", ["office, ann", "ann, bob"])
def test_render_goes_on(allow, tmp_path, capsys):
    conf = tmp_path / "t.conf"
    conf.write_text(TOPOLOGY.format(allow=allow))
    assert main(["render", "--topology", str(conf), "--out", str(tmp_path / "out")]) == 0
    assert "compiler bug" not in capsys.readouterr().err
    nft = (tmp_path / "out/office/etc/netdwg/netdwg.nft").read_text()
    assert "10.9.0.3" in nft and "10.9.0.4" not in nft  # ann may open connections, bob routes nothing there


def test_a_compiled_allow_list_that_misses_a_listed_client_is_still_an_error():
    """The compiled-output check stays: a firewall that leaves out a client who reaches the LAN."""
    topology, _ = lint("ann")
    secrets, _ = complete_secrets(topology, Secrets())
    compiled = dict(compile_topology(topology, secrets))
    office = compiled["office"]
    firewall = dataclasses.replace(office.firewall, allow=tuple(
        dataclasses.replace(a, sources=tuple(s for s in a.sources if str(s) != "10.9.0.3/32"))
        for a in office.firewall.allow))
    compiled["office"] = dataclasses.replace(office, firewall=firewall)
    errors = [d for d in run_lint(topology, compiled) if d.severity is Severity.ERROR]
    assert [d.code for d in errors] == ["NDW020"] and "10.9.0.3 of 'ann'" in errors[0].message
