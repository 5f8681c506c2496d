"""guard.conf: the format netdwg render writes and netdwg-guard reads."""

from __future__ import annotations

import ipaddress

import pytest

from netdwg.errors import ConfigError, ParseError
from netdwg.guard.configfile import load_guard_config
from netdwg.keys import genkey
from netdwg.topology.guard_config import (Action, Fingerprint, GuardConfig, GuardSite, parse_guard_config,
                                          render_guard_config)
from netdwg.wireguard import Endpoint

HUB = genkey().public_key()

GOOD = f"""\
# a comment
[guard]
interface = wg-harbor
hub_peer = {HUB.base64}
hub_endpoint = relay.example.net:51820

[site oslo]
lan = 172.20.10.0/24
action = widen          ; trailing comment
widen_to = 172.20.0.0/16
peer = {HUB.base64}
dhcp_server = 172.20.10.1
router = 172.20.10.1
router_mac = 02:00:00:0A:0A:01
dns_domain = Oslo.Harbor.Test.
keep_hosts = 172.20.10.5, 172.20.10.6
keep_hosts = 172.20.10.7
"""


def test_parse_reads_every_field():
    config = parse_guard_config(GOOD)
    assert config.interface == "wg-harbor"
    assert config.hub_endpoint == Endpoint("relay.example.net", 51820)
    (site,) = config.sites
    assert site.action is Action.WIDEN
    assert site.widen_to == ipaddress.ip_network("172.20.0.0/16")
    assert site.fingerprint.router_macs == ("02:00:00:0a:0a:01",)
    assert site.fingerprint.dns_domains == ("oslo.harbor.test",)
    assert [str(h) for h in site.keep_hosts] == ["172.20.10.5", "172.20.10.6", "172.20.10.7"]


def test_render_then_parse_gives_the_same_config():
    site = GuardSite("bergen", ipaddress.ip_network("172.20.20.0/24"), Action.METRIC, HUB,
                     fingerprint=Fingerprint(dhcp_servers=(ipaddress.ip_address("172.20.20.1"),)),
                     keep_hosts=(ipaddress.ip_address("172.20.20.9"),))
    config = GuardConfig("wg0", HUB, Endpoint("198.51.100.10", 51820), (site,), identify_timeout=1.5)
    assert parse_guard_config(render_guard_config(config)) == config


@pytest.mark.parametrize("line, old, message, fix", [
    (9, "action = widen", "action = metrik", "use remove, metric or widen"),
    (8, "lan = 172.20.10.0/24", "lan = 172.20.10.1/24", "network address"),
    (14, "router_mac = 02:00:00:0A:0A:01", "router_mac = 02:00:00", "six hex pairs"),
    (10, "widen_to = 172.20.0.0/16", "widen_to = 10.0.0.0/8", "containing the LAN, e.g. 172.20.0.0/16"),
    (16, "keep_hosts = 172.20.10.5, 172.20.10.6", "keep_hosts = 10.1.1.1", "this site's LAN"),
    (9, "action = widen ", "colour = blue ", "known keys"),
])
def test_mistakes_point_at_their_line_with_a_fix(line, old, message, fix):
    text = GOOD.replace(old, message)
    with pytest.raises((ParseError, ConfigError)) as err:
        parse_guard_config(text, "guard.conf")
    assert err.value.span.path == "guard.conf" and err.value.span.line == line, str(err.value)
    assert fix in str(err.value)


def test_widen_without_widen_to_is_an_error_with_a_suggestion():
    with pytest.raises(ConfigError) as err:
        parse_guard_config(GOOD.replace("widen_to = 172.20.0.0/16\n", ""))
    assert "widen_to = 172.20.0.0/16" in err.value.fix


def test_overlapping_sites_are_refused():
    text = GOOD + f"\n[site copy]\nlan = 172.20.10.128/25\naction = remove\npeer = {HUB.base64}\n"
    with pytest.raises(ConfigError, match="overlapping"):
        parse_guard_config(text)


def test_missing_guard_section_and_missing_file():
    with pytest.raises(ConfigError, match="exactly one \\[guard\\]"):
        parse_guard_config("[site a]\nlan = 10.0.0.0/24\n")
    with pytest.raises(ConfigError) as err:
        load_guard_config("/nonexistent/guard.conf")
    assert "netdwg render" in err.value.fix


def test_bad_key_is_reported_without_revealing_more_than_a_public_key():
    with pytest.raises(ParseError) as err:
        parse_guard_config(GOOD.replace(f"hub_peer = {HUB.base64}", "hub_peer = nope"))
    assert err.value.span.line == 4


def test_defaults_when_optional_keys_are_left_out():
    config = parse_guard_config(f"[guard]\ninterface = wg0\nhub_peer = {HUB.base64}\n")
    assert config.identify_timeout == 3.0 and config.hub_endpoint is None and config.sites == ()
    assert "identify_timeout" not in render_guard_config(config)


def test_tls_pins_parse_render_and_explain_mistakes():
    from netdwg.topology.guard_config import TlsPin

    text = GOOD + "tls_pin = 172.20.10.5:443 SHA256:" + "AB:" * 31 + "AB\n"
    (site,) = parse_guard_config(text).sites
    assert site.fingerprint.tls_pins == (TlsPin(ipaddress.ip_address("172.20.10.5"), 443, "ab" * 32),)
    assert parse_guard_config(render_guard_config(parse_guard_config(text))) == parse_guard_config(text)
    with pytest.raises(ParseError) as err:
        parse_guard_config(GOOD + "tls_pin = 172.20.10.5 deadbeef\n")
    assert err.value.span.line == 18 and "HOST:PORT sha256:HEX" in err.value.fix
