"""NetworkManager keyfiles: files NetworkManager 1.42 wrote itself (tests/data/networkmanager/) read back
byte for byte and as the profile they describe; GLib's escapes; what NetworkManager refuses."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from netdwg.errors import ConfigError
from netdwg.keyfiles import (LineKind, check_keyfile_syntax, check_nm_wireguard, format_nm_wireguard, keyfile_line,
                             keyfile_list, keyfile_value, load_nm_wireguard, parse_keyfile, read_list, read_value)
from netdwg.values import ValueRefused

DATA = Path(__file__).parent.parent / "data" / "networkmanager"
RECORDED = sorted(DATA.glob("*.nmconnection"))


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
def test_files_networkmanager_wrote_format_back_byte_for_byte(path):
    text = path.read_text()
    assert parse_keyfile(text, str(path)).format() == text
    assert check_keyfile_syntax(parse_keyfile(text, str(path))) == []


def test_imported_profile_is_what_the_wg_quick_file_said():
    profile = load_nm_wireguard((DATA / "imported-wg0.nmconnection").read_text())
    conf = (DATA / "wg0.conf").read_text()
    device = profile.device
    assert (device.name, device.listen_port, device.fwmark, profile.mtu) == ("wg0", 51820, 42, 1380)
    assert f"PrivateKey = {device.private_key.reveal_base64()}" in conf
    first, second = device.peers
    assert f"PublicKey = {first.public_key.base64}" in conf and f"PresharedKey = {first.preshared_key.reveal_base64()}" in conf
    assert [str(n) for n in first.allowed_ips] == ["10.99.0.0/16", "172.20.10.0/24", "fd00:99::/64"]
    assert (str(first.endpoint), first.persistent_keepalive) == ("198.51.100.10:51820", 25)
    assert (str(second.endpoint), second.preshared_key, second.persistent_keepalive) == ("[2001:db8::7]:51821", None, 0)
    assert profile.ipv4.addresses == (ipaddress.ip_interface("10.99.0.4/16"),)
    assert profile.ipv6.addresses == (ipaddress.ip_interface("fd00:99::4/64"),)
    assert (profile.ipv4.route_table, profile.peer_routes, profile.ipv4.never_default) == (1234, True, False)


def test_modified_profile_reads_routes_metrics_tables_booleans_and_the_ternary():
    profile = load_nm_wireguard((DATA / "modified-wg0.nmconnection").read_text())
    (route,) = profile.ipv4.routes
    assert (str(route.destination), route.metric, route.table) == ("10.50.0.0/24", 100, 7)
    assert (profile.ipv4.route_metric, profile.ipv4.never_default) == (50, True)
    assert (profile.peer_routes, profile.ip4_auto_default_route, profile.ip6_auto_default_route) == (False, False, None)


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
def test_writer_writes_what_networkmanager_wrote_byte_for_byte(path):
    """All NetworkManager wrote that the view models, netdwg writes identically and in the same order
    (the view leaves out ipv6.addr-gen-mode and the empty [proxy] group)."""
    text = path.read_text()
    assert format_nm_wireguard(load_nm_wireguard(text)) == \
        text.replace("addr-gen-mode=default\n", "").replace("\n[proxy]\n", "")


@pytest.mark.parametrize("value,written", [
    ("wg0", "wg0"), (" lead", "\\slead"), ("trail ", "trail\\s"), ("  ", "\\s\\s"), ("a\\b", "a\\\\b"),
    ("a;b", "a;b"), ("é", "é"), ("", ""),
])
def test_keyfile_value_escapes_as_glib_reads_back(value, written):
    assert keyfile_value(value) == written
    assert read_value(written) == value


def test_list_items_escape_the_separator():
    line = keyfile_list("allowed-ips", ["a;b", " c", "d\\"])
    assert line == "allowed-ips=a\\;b;\\sc;d\\\\;\n"
    assert read_list(line.split("=", 1)[1].rstrip("\n")) == ["a;b", " c", "d\\"]


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "\t", "\0", "\x85", "\x1b[0m", "\x7f"])
def test_keyfile_value_refuses_control_characters(value):
    with pytest.raises(ValueRefused, match="control character"):
        keyfile_value(value)


def test_keyfile_line_refuses_keys_networkmanager_has_not():
    with pytest.raises(ValueRefused):
        keyfile_line("a=b", "x")
    with pytest.raises(ValueRefused):
        keyfile_line("[x]", "x")


@pytest.mark.parametrize("raw", ["a\\", "a\\x", "\\;"])
def test_escapes_glib_refuses_are_reported(raw):
    with pytest.raises(ValueError):
        read_value(raw)
    file = parse_keyfile(f"[connection]\nid={raw}\n", "x.nmconnection")
    if raw != "\\;":
        (found,) = check_keyfile_syntax(file)
        assert (found.code, found.span.line) == ("NMK002", 2)


def test_lines_glib_refuses_name_the_line():
    file = parse_keyfile("# hi\nid=x\n[connection]\nno equals sign\n[bad]group]\n", "p.nmconnection")
    kinds = [line.kind for line in file.lines]
    assert kinds == [LineKind.COMMENT, LineKind.INVALID, LineKind.GROUP, LineKind.INVALID, LineKind.INVALID]
    found = check_keyfile_syntax(file)
    assert [d.span.line for d in found] == [2, 4, 5]
    assert "does not start with a group" in found[0].message


def test_glib_reading_rules_crlf_whitespace_repeated_groups_and_keys():
    text = "[connection]\r\n  id  =  a b  \r\n[ipv4]\nmethod=manual\n[connection]\nid=last\n"
    file = parse_keyfile(text)
    assert file.format() == text
    assert file.get("connection", "id") == "last"
    assert file.groups() == ("connection", "ipv4")
    assert parse_keyfile("[c]\nk =  v  \n").get("c", "k") == "v  "  # GLib keeps trailing blanks


def test_permissions_and_owner_in_networkmanagers_words():
    text = (DATA / "imported-wg0.nmconnection").read_text()
    assert check_nm_wireguard(text, "wg0.nmconnection", mode=0o600, owner_uid=0) == []
    (found,) = check_nm_wireguard(text, "wg0.nmconnection", mode=0o644, owner_uid=0)
    assert "File permissions (100644) are insecure" in found.message and found.fix == "chmod 600 wg0.nmconnection"
    (found,) = check_nm_wireguard(text, "wg0.nmconnection", mode=0o600, owner_uid=1000)
    assert "owner" in found.message


def test_not_wireguard_and_bad_values_are_errors_with_lines():
    with pytest.raises(ConfigError) as err:
        load_nm_wireguard("[connection]\nid=lan\ntype=ethernet\n", "lan.nmconnection")
    assert "not a WireGuard profile" in err.value.diagnostics[0].message
    bad = (DATA / "imported-wg0.nmconnection").read_text().replace("listen-port=51820", "listen-port=70000")
    with pytest.raises(ConfigError) as err:
        load_nm_wireguard(bad, "wg0.nmconnection")
    (found,) = err.value.diagnostics
    assert found.span.line == bad.splitlines().index("listen-port=70000") + 1 and "listen-port" in found.message
