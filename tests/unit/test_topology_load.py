"""The topology loader: every problem at once, each with file:line and a fix, never a traceback."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from netdwg.cli import main
from netdwg.errors import ConfigError, NetdwgError, ParseError
from netdwg.topology import load_topology, parse_topology
from netdwg.topology.model import Backend, GuardAction, ReturnPath, Role

REPO = Path(__file__).resolve().parents[2]


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ConfigError) as err:
        parse_topology(text, "t.conf")
    return sorted((d.span.line, d.code, d.message) for d in err.value.diagnostics)


def test_harbor_example_loads_into_typed_values():
    topology = load_topology(REPO / "examples" / "harbor.conf")
    assert topology.network.pool == (ipaddress.ip_network("10.99.0.0/16"), ipaddress.ip_network("fd99:1::/64"))
    assert topology.network.mtu == 1380 and topology.network.interface == "wg-harbor"
    assert topology.hub.name == "relay" and str(topology.hub.endpoint) == "198.51.100.10:51820"
    oslo = topology.host("oslo")
    assert oslo.role is Role.SITE and oslo.lans[0].return_path is ReturnPath.MASQUERADE
    assert oslo.lans[0].gateway_address == ipaddress.ip_interface("172.20.10.2/24")
    assert oslo.allow == ("ana", "ben") and oslo.lans[0].interface == "eth1"
    ana = topology.host("ana")
    assert ana.guard and ana.reach == ("oslo", "bergen") and ana.lans == ()
    assert topology.host("ben").backend is Backend.WG_QUICK and topology.host("ben").allow is None
    assert topology.host("bergen").lans[0].guard_action is GuardAction.REMOVE
    # spans: every key written in the file knows its line
    text = (REPO / "examples" / "harbor.conf").read_text().splitlines()
    assert text[oslo.span("return_path").line - 1].strip().startswith("return_path = masquerade")
    assert text[oslo.span().line - 1].strip() == "[[oslo]]"
    assert text[topology.network.span("mtu").line - 1] == "mtu = 1380"


def test_syntax_error_names_the_line():
    assert problems("[network]\nname = x\n[hosts\n") == [
        (3, "NDW001", "Invalid line ('[hosts') (matched as neither section nor keyword)")]


def test_missing_required_keys():
    assert problems("[network]\npool = 10.0.0.0/8\n") == [(1, "NDW001", "missing required key 'name' in [network]")]
    found = problems("[network]\nname = x\n[hosts]\n  [[a]]\n  address = 10.0.0.1\n")
    assert found == [(4, "NDW001", "missing required key 'role' in [hosts/a]")]


def test_type_errors_are_all_reported_at_their_lines():
    found = problems("[network]\nname = x\nport = abc\nmtu = 100\n[hosts]\n  [[a]]\n  role = boss\n  guard = maybe\n")
    assert [(line, code) for line, code, _ in found] == [(3, "NDW001"), (4, "NDW001"), (7, "NDW001"), (8, "NDW001")]
    assert "mtu = '100': the value \"100\" is too small" in found[1][2]
    assert "role = 'boss'" in found[2][2]


def test_unknown_key_suggests_the_right_one():
    with pytest.raises(ConfigError) as err:
        parse_topology("[network]\nname = x\n[hosts]\n  [[a]]\n  role = hub\n  adress = 10.0.0.1\n", "t.conf")
    [diag] = err.value.diagnostics
    assert (diag.span.line, diag.code, diag.fix) == (6, "NDW003", "did you mean 'address'?")
    assert diag.format() == ("t.conf:6: error: [hosts/a]: unknown key or section 'adress' [NDW003]\n"
                             "  fix: did you mean 'address'?")


def test_value_errors_quote_the_value_and_suggest_a_fix():
    found = problems(
        "[network]\nname = x\npool = 10.99.0.1/16\n[hosts]\n  [[a]]\n  role = hub\n"
        "  address = 10.99.0.300, 10.99.0.2/24\n  lan = 172.20.10.1/24\n  endpoint = 198.51.100.1\n"
        "  public_key = abc\n  router_mac = zz\n[pairs]\n  [[p]]\n  ends = a, b\n  transfer = 10.255.0.0/29\n")
    by_line = {}
    for line, code, message in found:
        assert code == "NDW002"
        by_line.setdefault(line, []).append(message)
    assert "did you mean 10.99.0.0/16?" in by_line[3][0]
    assert sorted(by_line[7]) == sorted([
        "address = '10.99.0.300': '10.99.0.300' is not an IP address",
        "address = '10.99.0.2/24': '10.99.0.2/24': write the host address alone (the pool gives the prefix), e.g. 10.99.0.2"])
    assert "did you mean 172.20.10.0/24?" in by_line[8][0]
    assert by_line[9] == ["invalid endpoint '198.51.100.1'"]
    assert by_line[10] == ["invalid public key 'abc': a WireGuard key is 32 bytes written as 44 base64 characters"]
    assert "not a MAC address" in by_line[11][0]
    assert by_line[15] == ["transfer network 10.255.0.0/29 must be a /31 or /30 (/127 or /126)"]


def test_bad_host_name():
    assert problems("[network]\nname = x\n[hosts]\n  [[a b]]\n  role = hub\n") == [
        (4, "NDW002", "host name 'a b' may hold only letters, digits, '.', '_' and '-'")]


def test_files_that_are_not_topologies(tmp_path):
    with pytest.raises(NetdwgError) as missing:
        load_topology(tmp_path / "nope.conf")
    assert "no such topology file" in missing.value.message and "--topology" in missing.value.fix
    binary = tmp_path / "bin.conf"
    binary.write_bytes(b"[network]\nname = x\n\xff\xfe\n")
    with pytest.raises(ParseError) as err:
        load_topology(binary)
    assert err.value.span.line == 3 and "UTF-8" in err.value.message
    nul = tmp_path / "nul.conf"
    nul.write_bytes(b"[network]\n\0")
    with pytest.raises(ParseError) as err:
        load_topology(nul)
    assert err.value.span.line == 2


def test_lists_and_defaults():
    topology = parse_topology("[network]\nname = x\npool = 10.1.0.0/16\n[hosts]\n  [[a]]\n  role = roaming\n"
                              "  address = 10.1.0.2\n  reach = ,\n", "t.conf")
    host = topology.host("a")
    assert host.reach == () and host.allow is None  # empty list vs unset are different
    assert (topology.network.port, topology.network.mtu, topology.network.keepalive) == (51820, 1420, 25)
    assert topology.network.systemd_version == 252 and host.backend is Backend.NETWORKD


def test_cli_lint_prints_every_loader_problem_sorted_and_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.conf"
    path.write_text("[network]\nname = x\nport = abc\nmtu = 100\n[hosts]\n  [[a]]\n  role = boss\n")
    assert main(["lint", "--topology", str(path)]) == 2
    out = capsys.readouterr().out.splitlines()
    lines = [int(l.split(":")[1]) for l in out if l.startswith(str(path))]
    assert lines == [3, 4, 7]
    assert main(["lint", "--json", "--topology", str(path)]) == 2
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 3 and {d["line"] for d in report["diagnostics"]} == {3, 4, 7}


def test_cli_lint_clean_and_strict(tmp_path, capsys):
    path = tmp_path / "h.conf"
    path.write_text((REPO / "examples" / "harbor.conf").read_text().replace("  guard = yes", "  guard = no"))
    assert main(["lint", "--topology", str(path)]) == 0
    assert "NDW022" in capsys.readouterr().out  # ana now collides with the office LANs: a warning
    assert main(["lint", "--strict", "--topology", str(path)]) == 1


def test_cli_lint_explains_every_documented_code(capsys):
    import re

    from netdwg.lint import __doc__ as lint_doc

    for code in sorted(set(re.findall(r"NDW0[1-3]\d", lint_doc))):
        assert main(["lint", "--explain", code]) == 0, code
        assert code in capsys.readouterr().out
    assert main(["lint", "--explain", "NDW099"]) == 2


def test_a_key_written_as_a_section_is_an_error_with_its_line():
    """configobj's own validate() stopped with an AttributeError here (a traceback, exit 70)."""
    from netdwg.errors import ConfigError
    from netdwg.topology.load import parse_topology

    text = "[network]\nname = x\n[hosts]\n  [[a]]\n  role = hub\n    [[[address]]]\n    x = 1\n"
    with pytest.raises(ConfigError) as err:
        parse_topology(text, "t.conf")
    messages = [(str(d.span), d.message) for d in err.value.diagnostics]
    assert ("t.conf:6", "address = {'x': '1'}: Value 'address' was provided as a section") in messages
