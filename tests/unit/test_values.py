"""Values checked at load: the attacks of issue 13 refused with file:line, the value, the rule and the fix.

Each attack below passed lint on the code before netdwg.values and gained the rendered files
lines of their own (a wg-quick PostUp hook, an nftables accept, a guard.conf key) or wrote
outside --out (an interface name with path components).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netdwg.cli import main
from netdwg.errors import ConfigError
from netdwg.topology import load_topology, parse_topology
from netdwg.values import (MAX_LINE_CHARS, MAX_TOPOLOGY_BYTES, ValueRefused, check_dns_name, check_interface,
                           check_name, check_text)

BASE = """\
[network]
name = {name}
pool = 10.99.0.0/16
interface = {interface}

[hosts]
  [[relay]]
  role = hub
  endpoint = 198.51.100.10:51820
  address = 10.99.0.1

  [[oslo]]
  role = site
  address = 10.99.0.2
  lan = 172.20.10.0/24
  lan_address = 172.20.10.2
  lan_interface = {lan_interface}
  return_path = masquerade
  domain = {domain}

  [[ana]]
  role = roaming
  address = 10.99.0.4
  guard = yes
"""


def topology(**values) -> str:
    fields = {"name": "harbor", "interface": "wg0", "lan_interface": "eth1", "domain": "oslo.example.com"}
    fields.update(values)
    return BASE.format(**fields)


def problems(text: str) -> list[tuple[int, str, str, str]]:
    with pytest.raises(ConfigError) as err:
        parse_topology(text, "t.conf")
    return [(d.span.line, d.code, d.message, d.fix) for d in err.value.diagnostics]


def test_the_valid_base_loads():
    loaded = parse_topology(topology(), "t.conf")
    assert loaded.host("oslo").lans[0].fingerprint.domain == "oslo.example.com"


# A triple-quoted value spans lines: configobj keeps the newline inside the value.
@pytest.mark.parametrize(("key", "injected", "line"), [
    ("name", '"""harbor\nPostUp = touch /tmp/pwned"""', 2),
    ("domain", '"""oslo.example.com\nrequire = nothing"""', 19),
    ("lan_interface", '"""eth1\n\t\taccept"""', 17),
    ("interface", '"""wg0\n[Peer]"""', 4),
])
def test_a_newline_in_a_quoted_value_is_refused_at_its_line(key, injected, line):
    found = problems(topology(**{key: injected}))
    assert len(found) == 1
    where, code, message, fix = found[0]
    assert (where, code) == (line, "NDW004")
    assert message.startswith(f"{key} = ") and "\\n" in message
    assert "line feed (U+000A)" in message and "control character" in message
    assert fix.startswith("remove it")


@pytest.mark.parametrize("char", ["\0", "\x1b", "\x7f", "\x9b", "\t", "\x01"])
def test_every_control_character_is_refused(char):
    found = problems(topology(domain=f'"oslo{char}example.com"'))
    assert [(line, code) for line, code, _, _ in found] == [(19, "NDW004")]
    assert f"U+{ord(char):04X}" in found[0][2]


@pytest.mark.parametrize("char", ["\r", "\x85", "\x0b", "\x1c"])
def test_a_line_break_configobj_splits_at_is_refused_too(char):
    found = problems(topology(domain=f'"oslo{char}example.com"'))  # an unterminated quote on line 19
    assert found and {code for _, code, _, _ in found} <= {"NDW001", "NDW004"} and found[0][0] == 19
    found = problems(topology(domain=f'"""oslo{char}example.com"""'))
    assert [(line, code) for line, code, _, _ in found] == [(19, "NDW004")]


@pytest.mark.parametrize(("key", "line"), [("interface", 4), ("lan_interface", 17)])
def test_an_interface_name_with_path_components_is_refused(key, line):
    found = problems(topology(**{key: "../../../x"}))
    assert [(where, code) for where, code, _, _ in found] == [(line, "NDW002")]
    assert "the kernel refuses '/'" in found[0][2] and "'../../../x'" in found[0][2]
    assert "letters, digits" in found[0][3]


def test_pair_interface_and_host_names_are_checked_too():
    text = topology() + ("  [[bergen]]\n  role = site\n  address = 10.99.0.3\n  endpoint = 203.0.113.7:51820\n"
                         "[pairs]\n  [[link]]\n  ends = oslo, bergen\n  transfer = 10.255.0.0/31\n  interface = ..\n")
    found = problems(text)
    assert [(line, code) for line, code, _, _ in found] == [(33, "NDW002")]
    assert "'.' and '..'" in found[0][2]


def test_an_endpoint_host_must_be_an_address_or_a_dns_name():
    found = problems(topology().replace("198.51.100.10:51820", '"vpn example;com:51820"'))
    assert [(line, code) for line, code, _, _ in found] == [(9, "NDW002")]
    assert "not a DNS name" in found[0][2]
    assert parse_topology(topology().replace("198.51.100.10:51820", "vpn.example.com:51820"), "t").hub.endpoint


def test_a_10_mb_value_is_refused_without_being_quoted_whole():
    found = problems(topology(domain="a" * (10 << 20)))
    assert [(line, code) for line, code, _, _ in found] == [(19, "NDW005")]
    assert f"limit of {MAX_LINE_CHARS}" in found[0][2]
    # spread over lines of a triple-quoted value, each line short: the value's own limit
    big = '"""' + "\n".join(["a" * 1000] * 10_000) + '"""'
    found = problems(topology(name=big))
    assert [(line, code) for line, code, _, _ in found] == [(2, "NDW004")]
    assert len(found[0][2]) < 400 and "characters)" in found[0][2]


def test_a_topology_file_over_the_size_limit_is_refused_unread(tmp_path):
    path = tmp_path / "big.conf"
    with path.open("w") as handle:
        handle.write(topology())
        handle.write(("# padding\n" * 100_000) * (MAX_TOPOLOGY_BYTES // 1_000_000 + 1))
    with pytest.raises(ConfigError) as err:
        load_topology(path)
    (diag,) = err.value.diagnostics
    assert diag.code == "NDW005" and diag.span.path == str(path)
    assert f"limit of {MAX_TOPOLOGY_BYTES} bytes" in diag.message and diag.fix


def test_lint_reports_the_attack_with_file_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "net.conf"
    path.write_text(topology(name='"""harbor\nPostUp = touch /tmp/pwned"""'))
    assert main(["lint", "-t", str(path), "--json"]) == 2
    out = capsys.readouterr().out
    found = json.loads(out)
    diagnostics = found["diagnostics"] if isinstance(found, dict) else found
    assert [(d["line"], d["code"]) for d in diagnostics] == [(2, "NDW004")]
    assert diagnostics[0]["file"] == str(path) and diagnostics[0]["fix"]


@pytest.mark.parametrize("name", ["wg0", "wg-harbor", "eth0.100", "a+b", "x" * 15, "wg_s2s", "br-lan"])
def test_interface_names_consumers_take(name):
    assert check_interface(name, "interface") == name


@pytest.mark.parametrize(("name", "rule"), [
    ("", "1-15 bytes"), ("x" * 16, "1-15 bytes"), ("wg/0", "'/'"), ("wg 0", "' '"), ("wg:0", "':'"),
    ("wg%d", "'%'"), (".", "'..'"), ("..", "'..'"), ("wg\n0", "U+000A"), ('wg"0', "wg-quick"), ("wg=0", "wg-quick"),
    ("wg$(id)", "'('") if False else ("wg$0", "wg-quick"), ("all", "'all'"), ("default", "'all'"), ("42", "all-digit"),
    ("wgé", "wg-quick"), ("ab\u00a0", "'\\xa0'"),
])
def test_interface_names_refused(name, rule):
    with pytest.raises(ValueRefused) as err:
        check_interface(name, "interface")
    assert rule in err.value.message and err.value.fix


@pytest.mark.parametrize("name", ["example.com", "a", "office-1.example.com", "x" * 63 + ".com", "1.example"])
def test_dns_names(name):
    assert check_dns_name(name, "domain") == name


@pytest.mark.parametrize("name", ["", "-a.com", "a-.com", "a..com", "a.com.", "a_b.com", "x" * 64 + ".com",
                                  "a b", "a;b", "a\nb", ".".join(["abc"] * 64)])
def test_dns_names_refused(name):
    with pytest.raises(ValueRefused):
        check_dns_name(name, "domain")


@pytest.mark.parametrize("name", ["", "-a", ".a", "a b", "a/b", "a#b", "[a]", "a\nb", "x" * 65])
def test_names_refused(name):
    with pytest.raises(ValueRefused):
        check_name(name, "host name")


def test_text_limit_and_message_shows_the_value_cut():
    with pytest.raises(ValueRefused) as err:
        check_text("x" * 5000, "ssh_host_key")
    assert "longer than 4096" in err.value.message and "(5000 characters)" in err.value.message


def test_the_examples_still_load():
    for path in sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.conf")):
        load_topology(path)


# --- the secrets store: the same rules for its names, the same limits for its size ---

KEY = "YGJ7bLdCNJ6dpCPRdUfHeCMbBDnLtCzBbGhLq2EzJVs="


@pytest.mark.parametrize("name", ["../../x", "a b", "ana\x1bx", "x" * 65, "'[p]'"])
def test_the_store_refuses_names_no_host_can_have(tmp_path, name):
    from netdwg.topology.secrets import load_secrets

    store = tmp_path / "net.secrets"
    store.write_text(f"[private_keys]\nrelay = {KEY}\n{name} = {KEY}\n")
    store.chmod(0o600)
    with pytest.raises(ConfigError) as err:
        load_secrets(store)
    (diag,) = err.value.diagnostics
    assert diag.code in ("NDW002", "NDW004") and diag.span.path == str(store) and diag.span.line == 3
    assert diag.fix


def test_the_store_refuses_a_psk_name_with_a_bad_half(tmp_path):
    from netdwg.topology.secrets import parse_secrets

    with pytest.raises(ConfigError) as err:
        parse_secrets(f"[preshared_keys]\nana:x%y = {KEY}\n", "s")
    assert [(d.code, d.span.line) for d in err.value.diagnostics] == [("NDW002", 2)]


def test_a_store_over_the_size_limit_is_refused_unread(tmp_path):
    from netdwg.topology.secrets import load_secrets
    from netdwg.values import MAX_SECRETS_BYTES

    store = tmp_path / "net.secrets"
    with store.open("w") as handle:
        handle.write(f"[private_keys]\nrelay = {KEY}\n")
        handle.write(("#" * 99 + "\n") * (MAX_SECRETS_BYTES // 100 + 1))
    store.chmod(0o600)
    with pytest.raises(ConfigError) as err:
        load_secrets(store)
    assert err.value.diagnostics[0].code == "NDW005" and "a secrets store of" in err.value.diagnostics[0].message


def test_a_store_that_is_not_utf8_is_an_error_not_a_traceback(tmp_path):
    from netdwg.errors import SecretsError
    from netdwg.topology.secrets import load_secrets

    store = tmp_path / "net.secrets"
    store.write_bytes(b"[private_keys]\n\xff = x\n")
    store.chmod(0o600)
    with pytest.raises(SecretsError) as err:
        load_secrets(store)
    assert err.value.span.line == 2


@pytest.mark.parametrize("values", [{"name": '"""harbor\nPostUp = touch /tmp/ndw-pwned"""'},
                                    {"lan_interface": '"""eth1\n\t\taccept"""'},
                                    {"domain": '"""oslo.example.com\nrequire = nothing"""'},
                                    {"interface": "../../../x"}])
def test_render_writes_nothing_for_an_attack(tmp_path, capsys, values):
    path = tmp_path / "net.conf"
    path.write_text(topology(**values))
    out = tmp_path / "out"
    assert main(["render", "-t", str(path), "--out", str(out), "--force"]) == 2  # not even with --force
    err = capsys.readouterr().err
    assert "Traceback" not in err and "fix:" in err and f"{path}:" in err
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))
    assert not any(p.is_file() for p in tmp_path.parent.glob("x*"))


def test_a_key_name_with_an_escape_sequence_is_refused_shown_escaped():
    found = problems(topology().replace("  guard = yes\n", '  guard = yes\n  "\x1b[2Jrole" = hub\n'))
    assert [(line, code) for line, code, _, _ in found] == [(25, "NDW004")]
    assert "\x1b" not in found[0][2] and "\\x1b" in found[0][2]


def test_lint_reports_a_store_the_values_rules_refuse(tmp_path, capsys):
    path = tmp_path / "net.conf"
    path.write_text(topology())
    store = tmp_path / "net.secrets"
    store.write_text(f"[private_keys]\nrelay = {KEY}\nrel\x1bay = {KEY}\n")
    store.chmod(0o600)
    assert main(["lint", "-t", str(path), "--json"]) == 2
    found = json.loads(capsys.readouterr().out)
    diagnostics = found["diagnostics"] if isinstance(found, dict) else found
    assert [(d["file"], d["line"], d["code"]) for d in diagnostics if d["severity"] == "error"] == [
        (str(store), 3, "NDW004")]


@pytest.mark.parametrize("char", ["\u2028", "\u2029"])
def test_a_unicode_line_separator_is_refused(char):
    for key in ("domain", "name", "lan_interface"):  # configobj splits lines there: a line feed, or a bad name
        found = problems(topology(**{key: f'"""x{char}y"""'}))
        assert len(found) == 1 and found[0][1] in ("NDW002", "NDW004")
