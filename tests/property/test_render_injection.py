"""Hypothesis: no topology value can become a line, a section, a hook, a rule or a path of its own.

Topologies get hostile strings (line breaks, '[Section]' text, 'PostUp =', quotes, braces, ';',
'#', '..', very long...) in every string field. Either the loader refuses them, or every file
rendered for every host re-parses, with netdwg's own parsers, to exactly the sections, keys,
hooks and rules the compiled model asked for and nothing more. Below that, each output format's
one quoting function either refuses a hostile string or writes it so it reads back as itself.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import shlex
from pathlib import PurePosixPath

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from netdwg.errors import ConfigError, InternalError
from netdwg.keys import PresharedKey, PrivateKey
from netdwg.lint import run_lint
from netdwg.keyfiles import check_keyfile_syntax, keyfile_line, keyfile_list, load_nm_wireguard, parse_keyfile
from netdwg.netplan import load_netplan, netplan_comment
from netdwg.render import render_host
from netdwg.render.lanrouter import text_line
from netdwg.render.nftables import nft_comment, nft_ifname
from netdwg.render.wgquick import _settings as wgquick_settings
from netdwg.sysctl import LineKind, parse_sysctl, sysctl_comment, sysctl_line
from netdwg.topology import parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.secrets import Secrets, complete_secrets
from netdwg.unitfile import effective_unit, parse_unit
from netdwg.unitfile.quote import assignment_text, comment_text
from netdwg.unitfile.syntax import Assignment
from netdwg.unitfile.views import network_view, route_views, to_wg_device
from netdwg.wgquick import load_wgquick
from netdwg.wgquick.syntax import parse_wgquick_file
from netdwg.wgquick.write import hook_command, wgquick_comment, wgquick_line

HOSTILE = ["\n", "\r", "\r\n", "\0", "\x85", "\u2028", "\x1b", "\x7f", "\t", " ", "[Peer]", "[Interface]", "[NetDev]",
           "PostUp = touch /tmp/ndw-pwned", "\nPostUp = id", "Name=x", '"', "'", '"""', "{", "}", ";", "#", "..",
           "../", "/", "=", "\\", "%i", "$(id)", "`id`", "accept", "\n\t\taccept", "require = nothing", "[site x]",
           "x" * 300, "é", ":", "%", "*"]
pieces = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(alphabet="abz019-_.+", min_size=1, max_size=4)),
                  min_size=1, max_size=4).map("".join)


def hostile_or(*benign: str):
    return st.sampled_from(benign)


def quoted(value: str) -> str:
    """The value as configobj reads it back, when configobj can hold it at all."""
    if any(c in value for c in "\n\r\x85\u2028\u2029\x0b\x0c\x1c\x1d\x1e"):
        return f"'''{value}'''" if "'''" not in value else f'"""{value}"""'
    if '"' in value:
        return f"'{value}'" if "'" not in value else f"'''{value}'''"
    return f'"{value}"'


SSH_KEY = "172.20.10.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
TEMPLATE = """\
[network]
name = {name}
pool = 10.99.0.0/16
interface = {interface}
secrets = {secrets}

[hosts]
  [[{hub}]]
  role = hub
  endpoint = {endpoint}
  address = 10.99.0.1
  uplink_interface = {uplink}

  [[{site}]]
  role = site
  address = 10.99.0.2
  endpoint = 203.0.113.7:51820
  lan = 172.20.10.0/24
  lan_address = 172.20.10.2
  lan_interface = {lan_interface}
  return_path = masquerade
  domain = {domain}
  dhcp_server = {dhcp_server}
  lan_router = {lan_router}
  router_mac = {router_mac}
  ssh_host_key = {ssh_host_key}
  keep_hosts = {keep_hosts}
  lan_within = {lan_within}
  trust = {trust}
  allow = {allow}

  [[{site2}]]
  role = site
  address = 10.99.0.3
  endpoint = 203.0.113.8:51820
  lan = 172.20.20.0/24
  lan_address = 172.20.20.2
  public_key = {public_key}
  guard_action = {guard_action}
  widen_to = {widen_to}

  [[{laptop}]]
  role = roaming
  address = 10.99.0.4
  guard = yes
  reach = {reach}

  [[{phone}]]
  role = roaming
  backend = wg-quick
  address = 10.99.0.5

  [[{tablet}]]
  role = roaming
  backend = netplan
  address = 10.99.0.6

  [[{nmlaptop}]]
  role = roaming
  backend = networkmanager
  address = 10.99.0.7

[pairs]
  [[{pair}]]
  ends = {site}, {site2}
  transfer = 10.255.0.0/31
  interface = {pair_interface}
"""

benign_fields = st.fixed_dictionaries({
    "name": hostile_or("harbor", "harbor.net_1", "h" * 64),
    "interface": hostile_or("wg0", "wg-harbor", "wg.x+1", "w" * 15),
    "hub": hostile_or("relay", "relay.example-1"), "site": hostile_or("oslo", "oslo_1"),
    "site2": hostile_or("bergen"), "laptop": hostile_or("ana", "ana.laptop"), "phone": hostile_or("ben"),
    "tablet": hostile_or("cy"), "nmlaptop": hostile_or("dee", "dee.nm"), "uplink": hostile_or("eth0", "enp3s0", "eth0.100"),
    "lan_interface": hostile_or("eth1", "br-lan", "lan+0"),
    "domain": hostile_or("oslo.example.com", "a-b.c"),
    "endpoint": hostile_or("198.51.100.10:51820", "vpn.example.com:51820", "[2001:db8::1]:51820"),
    "allow": hostile_or("@laptop"), "reach": hostile_or("@site", "@site, @site2"),
    "pair": hostile_or("link", "oslo-bergen"), "pair_interface": hostile_or("wg-s2s", "s2s.0", "wg-a, wg-b"),
    "secrets": hostile_or("net.secrets", "keys/harbor.secrets"),
    "dhcp_server": hostile_or("172.20.10.1"), "lan_router": hostile_or("172.20.10.1"),
    "router_mac": hostile_or("aa:bb:cc:dd:ee:01", "AA-BB-CC-DD-EE-02"),
    "ssh_host_key": hostile_or(SSH_KEY, SSH_KEY + " office#1"), "keep_hosts": hostile_or("172.20.10.5"),
    "lan_within": hostile_or("172.16.0.0/12"), "trust": hostile_or("proof", "passive"),
    "public_key": hostile_or("7kvBXBelMiBAzO8Pryc5S7sbbPFS4TcXGK+Mt4LFdlo="),
    "guard_action": hostile_or("remove", "metric", "widen"), "widen_to": hostile_or("172.20.0.0/16"),
})


@st.composite
def fields(draw):
    """Benign values everywhere but in up to three fields, which get hostile (or merely odd) strings."""
    values = draw(benign_fields)
    for key in draw(st.lists(st.sampled_from(sorted(values)), max_size=3, unique=True)):
        values[key] = draw(pieces)
    return values


def topology_text(values: dict[str, str]) -> str:
    names = {k: values[k] for k in ("site", "site2", "laptop")}
    out = {}
    for key, value in values.items():
        for ref, name in names.items():  # allow/reach name the generated hosts
            value = value.replace(f"@{ref}", name) if value.startswith("@") or ", @" in value else value
        # section names are written as configobj quotes them; values quoted unless they are lists
        if key in ("hub", "site", "site2", "laptop", "phone", "tablet", "pair", "allow", "reach", "pair_interface"):
            out[key] = value if re.fullmatch(r"[A-Za-z0-9_.+, -]+", value) else quoted(value)
        else:
            out[key] = quoted(value)
    return TEMPLATE.format(**out)


def _keys():
    counter = itertools.count(1)
    return (lambda: PrivateKey(next(counter).to_bytes(32, "big")),
            lambda: PresharedKey((next(counter) + 1000).to_bytes(32, "big")))


KNOWN_DIRS = {"/etc/systemd/network", "/etc/wireguard", "/etc/netplan", "/etc/sysctl.d", "/etc/netdwg",
              "/etc/netdwg/keys", "/etc/NetworkManager/system-connections"}


@given(fields())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_load_refuses_or_every_file_reads_back_as_the_model(values):
    text = topology_text(values)
    try:
        topology = parse_topology(text, "hostile.conf")
    except ConfigError:
        event("refused at load")
        return  # refused at load, with diagnostics
    if any(d.code == "NDW026" and d.severity.value == "error" for d in run_lint(topology)):
        event("refused by lint: two interfaces of a host share a name (render stops there too)")
        return
    event("loaded and rendered")
    make_key, make_psk = _keys()
    secrets, _ = complete_secrets(topology, Secrets(), make_key, make_psk)
    for host in compile_topology(topology, secrets).values():
        for key_files in (False, True):
            rendered = render_host(host, key_files=key_files)
            for file in rendered:
                assert_reads_back(host, file, rendered, key_files)


def test_the_template_renders_with_benign_values():
    values = {"name": "harbor", "interface": "wg0", "hub": "relay", "site": "oslo", "site2": "bergen", "laptop": "ana",
              "phone": "ben", "tablet": "cy", "nmlaptop": "dee", "uplink": "eth0", "lan_interface": "eth1", "domain": "oslo.example.com",
              "endpoint": "198.51.100.10:51820", "allow": "@laptop", "reach": "@site", "pair": "link",
              "pair_interface": "wg-a, wg-b", "secrets": "net.secrets", "dhcp_server": "172.20.10.1",
              "lan_router": "172.20.10.1", "router_mac": "aa:bb:cc:dd:ee:01", "ssh_host_key": SSH_KEY,
              "keep_hosts": "172.20.10.5", "lan_within": "172.16.0.0/12", "trust": "proof",
              "public_key": "7kvBXBelMiBAzO8Pryc5S7sbbPFS4TcXGK+Mt4LFdlo=", "guard_action": "widen",
              "widen_to": "172.20.0.0/16"}
    topology = parse_topology(topology_text(values), "t.conf")
    make_key, make_psk = _keys()
    secrets, _ = complete_secrets(topology, Secrets(), make_key, make_psk)
    kinds = set()
    for host in compile_topology(topology, secrets).values():
        rendered = render_host(host, key_files=True)
        for file in rendered:
            assert_reads_back(host, file, rendered, True)
            kinds.add(PurePosixPath(file.path).suffix or PurePosixPath(file.path).name)
    assert kinds >= {".netdev", ".network", ".conf", ".yaml", ".nft", ".txt", ".nmconnection"}


def assert_reads_back(host, file, rendered, key_files: bool) -> None:
    path = PurePosixPath(file.path)
    assert ".." not in path.parts and str(path.parent) in KNOWN_DIRS, path
    name = path.name
    if name.endswith((".key", ".psk")):
        assert re.fullmatch(r"[A-Za-z0-9+/]{43}=\n", file.text)
    elif name.endswith(".netdev"):
        _netdev(host, file, {str(f.path): f.text for f in rendered})
    elif name.endswith(".network"):
        _network(host, file)
    elif str(path.parent) == "/etc/wireguard":
        _wgquick(host, file, key_files)
    elif name.endswith(".yaml"):
        _netplan(host, file)
    elif name.endswith(".nmconnection"):
        _nmconnection(host, file)
    elif str(path.parent) == "/etc/sysctl.d":
        found = [(line.key, line.value, line.ignore_failure) for line in parse_sysctl(file.text).lines
                 if line.kind is not LineKind.BLANK and line.kind is not LineKind.COMMENT]
        assert found == [(s.key, s.value, s.ignore_missing) for s in host.sysctls]
    elif name.endswith(".nft"):
        _nft(host, file.text)
    elif name == "guard.conf":
        from netdwg.topology.guard_config import parse_guard_config

        assert parse_guard_config(file.text) == host.guard
    elif name == "lan-router-routes.txt":
        commands = [line for line in file.text.splitlines() if not line.startswith("#")]
        assert commands == [r.instruction() for r in host.return_routes]
    else:
        raise AssertionError(f"a rendered file this test does not know: {path}")


def _interface(host, path: PurePosixPath, stem: str):
    (iface,) = [i for i in host.interfaces if i.name == stem]
    return iface


def _sections(text: str, path: str) -> list[str]:
    unit = parse_unit(text, path)
    assert not [n for n in unit.preamble if type(n) is Assignment], "an assignment outside any section"
    return [s.name for s in unit.sections]


def _same_peers(read, expected) -> None:
    assert len(read) == len(expected)
    for got, want in zip(read, expected):
        assert got.same_config(want) or (got.public_key == want.public_key and got.allowed_ips == want.allowed_ips
                                        and got.endpoint == want.endpoint
                                        and got.persistent_keepalive == want.persistent_keepalive)


def _netdev(host, file, texts: dict[str, str]) -> None:
    path = PurePosixPath(file.path)
    iface = _interface(host, path, path.stem.removeprefix("50-"))
    assert _sections(file.text, str(path)) == ["NetDev", "WireGuard"] + ["WireGuardPeer"] * len(iface.device.peers)
    # a key file netdwg rendered is read from the render; a host's own key (not rendered) reads as a dummy
    dummy = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    device = to_wg_device(effective_unit(parse_unit(file.text, str(path))),
                          lambda key_path, span=None: texts.get(str(key_path), dummy))
    assert device.name == iface.name and device.listen_port == iface.device.listen_port
    _same_peers(device.peers, iface.device.peers)


def _network(host, file) -> None:
    path = PurePosixPath(file.path)
    iface = _interface(host, path, path.stem.removeprefix("50-"))
    assert _sections(file.text, str(path)) == ["Match", "Link", "Network"] + ["Route"] * len(iface.routes)
    eff = effective_unit(parse_unit(file.text, str(path)))
    assert eff.section("Match").get("Name").text == iface.name
    assert tuple(network_view(eff).addresses) == iface.addresses
    assert [r.destination for r in route_views(eff)] == [r.destination for r in iface.routes]


def _wgquick(host, file, key_files: bool) -> None:
    path = PurePosixPath(file.path)
    iface = _interface(host, path, path.stem)
    read = parse_wgquick_file(file.text, str(path))
    sections = [line.text.strip() for line in read.lines if line.text.strip().startswith("[")]
    assert sections == ["[Interface]"] + ["[Peer]"] * len(iface.device.peers)
    config = load_wgquick(file.text, str(path))
    table, post_up = wgquick_settings(iface, key_files)
    quick = config.settings
    assert (quick.table, quick.post_up, quick.pre_up, quick.pre_down, quick.post_down) == (table, post_up, (), (), ())
    for command in post_up:
        assert shlex.split(command)[0] in ("wg", "ip")
    assert config.device.name == iface.name and quick.addresses == iface.addresses and quick.mtu == iface.mtu
    _same_peers(config.device.peers, iface.device.peers)


def _netplan(host, file) -> None:
    path = PurePosixPath(file.path)
    iface = _interface(host, path, path.stem.removeprefix("60-netdwg-"))
    document = yaml.safe_load(file.text)
    assert list(document) == ["network"] and list(document["network"]["tunnels"]) == [iface.name]
    (tunnel,) = load_netplan(file.text, str(path))
    assert tunnel.device.name == iface.name and tunnel.addresses == iface.addresses
    _same_peers(tunnel.device.peers, iface.device.peers)


def _nmconnection(host, file) -> None:
    path = PurePosixPath(file.path)
    iface = _interface(host, path, path.stem)
    keyfile = parse_keyfile(file.text, str(path))
    assert not check_keyfile_syntax(keyfile)
    peers = [f"wireguard-peer.{p.public_key.base64}" for p in iface.device.peers]
    assert keyfile.groups() == ("connection", "wireguard", *peers, "ipv4", "ipv6")
    profile = load_nm_wireguard(file.text, str(path))
    assert profile.interface_name == iface.name and profile.ipv4.addresses + profile.ipv6.addresses == iface.addresses
    assert sorted(map(str, [r.destination for r in profile.ipv4.routes + profile.ipv6.routes])) == \
        sorted(map(str, [r.destination for r in iface.routes]))
    _same_peers(profile.device.peers, iface.device.peers)


@given(pieces, st.booleans())
@settings(max_examples=300)
def test_keyfile_values_refuse_or_read_back(value, as_list):
    try:
        line = keyfile_list("allowed-ips", [value]) if as_list else keyfile_line("id", value)
    except ValueError:
        event("refused")
        return
    file = parse_keyfile("[connection]\n" + line + "[ipv4]\n")
    assert file.groups() == ("connection", "ipv4")
    assert (file.get_list("connection", "allowed-ips") if as_list else [file.get("connection", "id")]) == [value]


_RULE = re.compile(r'((iif|oif)name ("[^"]*"|\{ [^}]* \}) )*(ip6?|tcp) .*')


def _nft(host, text: str) -> None:
    fw = host.firewall
    names = set(fw.tunnel_interfaces) | {a.in_interface for a in fw.allow} | {a.out_interface for a in fw.allow}
    names |= {m.out_interface for m in fw.masquerade}
    statements = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        assert set(re.findall(r'"([^"]*)"', stripped)) <= names
        if _RULE.fullmatch(stripped):
            statements.append(stripped.rsplit(" ", 1)[-1])
    allows = sum(any(s.version == a.destination.version for s in a.sources) for a in fw.allow)
    masquerades = sum(any(s.version == m.destination.version for s in m.sources) for m in fw.masquerade)
    assert statements.count("accept") == allows and statements.count("drop") == len(fw.guarded)
    assert statements.count("masquerade") == masquerades and statements.count("mtu") == (2 if fw.mss_clamp else 0)


# --- each format's one quoting function: refuse, or write what reads back as itself ---------------

hostile_text = st.one_of(pieces, st.text(max_size=30))


@given(hostile_text)
@settings(max_examples=400, deadline=None)
def test_unit_file_values_read_back_as_written(value):
    try:
        line = assignment_text("Description", value)
    except ValueError:
        return
    unit = parse_unit("[Link]\n" + line + "MTUBytes=1420\n", "x.link")
    (section,) = unit.sections
    assignments = [n for n in section.entries if type(n) is Assignment]
    assert [(a.key, a.value) for a in assignments] == [("Description", value), ("MTUBytes", "1420")]


@given(hostile_text)
@settings(max_examples=400, deadline=None)
def test_unit_file_comments_stay_comments(value):
    try:
        text = comment_text(value)
    except ValueError:
        return
    unit = parse_unit(text + "[Link]\nMTUBytes=1420\n", "x.link")
    (section,) = unit.sections
    assert [(a.key, a.value) for a in section.entries if type(a) is Assignment] == [("MTUBytes", "1420")]
    assert not [n for n in unit.preamble if type(n) is Assignment]


@given(hostile_text)
@settings(max_examples=400, deadline=None)
def test_wgquick_hooks_and_comments_read_back_as_written(value):
    try:
        line = wgquick_line("PostUp", value)
        comment = wgquick_comment(value)
    except ValueError:
        return
    config = load_wgquick(f"[Interface]\n{line}\n{comment}\nMTU = 1420\n", "/etc/wireguard/wg0.conf")
    assert config.settings.post_up == (value,) and config.settings.mtu == 1420


@given(st.lists(hostile_text, min_size=1, max_size=4))
@settings(max_examples=300, deadline=None)
def test_hook_words_are_the_words_bash_sees(words):
    try:
        command = wgquick_line("PostUp", hook_command(*words))
    except ValueError:
        return
    assert shlex.split(command.partition(" = ")[2]) == words


@given(hostile_text, hostile_text)
@settings(max_examples=300, deadline=None)
def test_sysctl_lines_read_back_as_written(key, value):
    try:
        line = sysctl_line(key, value)
    except ValueError:
        return
    (setting,) = [x for x in parse_sysctl(line + "\n").lines if x.kind is LineKind.ASSIGNMENT]
    assert (setting.key, setting.value) == (key, value)


@given(hostile_text)
@settings(max_examples=300, deadline=None)
def test_sysctl_and_text_comments_stay_comments(value):
    try:
        comment = sysctl_comment(value)
    except ValueError:
        return
    assert all(x.kind in (LineKind.COMMENT, LineKind.BLANK) for x in parse_sysctl(comment + "\n").lines)


@given(hostile_text)
@settings(max_examples=300, deadline=None)
def test_netplan_comments_stay_comments(value):
    try:
        text = netplan_comment(value)
    except ValueError:
        return
    assert yaml.safe_load(text + "network: {version: 2}\n") == {"network": {"version": 2}}


@given(hostile_text)
@settings(max_examples=300, deadline=None)
def test_nft_strings_and_comments_cannot_leave_their_place(value):
    try:
        quoted_name = nft_ifname(value)
    except InternalError:
        quoted_name = None
    if quoted_name is not None:
        assert re.fullmatch(r'"[A-Za-z0-9_.+-]{1,15}"', quoted_name) and quoted_name[1:-1] == value
    for write in (nft_comment, text_line):
        try:
            line = write(value if write is not text_line else "# " + value)
        except InternalError:
            continue
        assert len(line.splitlines()) <= 1 and line.startswith("#")


@pytest.mark.parametrize("value", ["eth1\n\t\taccept", "../../x", 'a"b', "a b"])
def test_nft_refuses_what_would_change_the_ruleset(value):
    with pytest.raises(InternalError):
        nft_ifname(value)
    assert ipaddress.ip_network("10.0.0.0/8")


@given(hostile_text, hostile_text)
@settings(max_examples=300, deadline=None)
def test_guard_conf_values_and_site_names_read_back_as_written(value, name):
    from netdwg.topology.guard_config import _split_sections, guard_line, guard_section

    try:
        lines = ["[guard]", guard_line("interface", value), guard_section(name), guard_line("dns_domain", value)]
    except ValueError:
        return
    sections = _split_sections("\n".join(lines) + "\n", "guard.conf")
    assert [s.title for s in sections] == ["guard", f"site {name}"]
    assert [[v for v, _ in s.values[k]] for s, k in zip(sections, ("interface", "dns_domain"))] == [[value], [value]]
    assert [sorted(s.values) for s in sections] == [["interface"], ["dns_domain"]]


@given(hostile_text, hostile_text)
@settings(max_examples=300, deadline=None)
def test_secrets_store_lines_read_back_as_written(a, b):
    from netdwg.topology.secrets import parse_secrets, store_line

    key = PrivateKey(bytes(range(32))).reveal_base64()
    try:
        lines = ["[private_keys]", store_line(a, key), "[preshared_keys]", store_line(f"{a}:{b}", key)]
    except ValueError:
        return
    store = parse_secrets("\n".join(lines) + "\n", "s")
    assert list(store.private_keys) == [a] and len(store.preshared_keys) == 1
