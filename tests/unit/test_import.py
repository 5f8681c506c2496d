"""`netdwg import` of the golden outputs gives back an equivalent topology, and re-rendering it
gives every host the same peers, keys, PSKs, AllowedIPs, endpoints, addresses and MTU."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest

from netdwg.cli import main
from netdwg.errors import ConfigError, NetdwgError
from netdwg.render import render_host
from netdwg.topology import load_topology, parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.importer import compare_hosts, import_hosts
from netdwg.topology.importer_files import read_hosts
from netdwg.topology.secrets import load_secrets

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
SCENARIOS = sorted(p.name for p in GOLDEN.iterdir() if (p / "expected").is_dir()) if GOLDEN.is_dir() else []


def golden_hosts(scenario: str):
    return read_hosts(sorted((GOLDEN / scenario / "expected").iterdir()))


def wire_view(hosts):
    """What must survive an import: per host and interface, the WireGuard and address facts."""
    view = {}
    for host in hosts:
        for iface in host.interfaces:
            peers = {(p.public_key, frozenset(p.allowed_ips), p.preshared_key, p.endpoint, p.persistent_keepalive)
                     for p in iface.device.peers}
            view[(host.name, iface.name)] = (iface.device.private_key, iface.device.listen_port,
                                             frozenset(iface.addresses), iface.mtu, frozenset(peers))
    return view


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_import_of_golden_output_gives_an_equivalent_topology(scenario):
    original = load_topology(GOLDEN / scenario / "topology.conf")
    imported = import_hosts(golden_hosts(scenario), original.network.name)
    topology = parse_topology(imported.text, "imported.conf")
    assert [h.name for h in sorted(topology.hosts, key=lambda h: h.name)] == sorted(h.name for h in original.hosts)
    for host in topology.hosts:
        old = original.host(host.name)
        assert host.role == old.role, host.name
        assert host.addresses == old.addresses, host.name
        assert host.backend == old.backend, host.name
        assert host.lan_prefixes == old.lan_prefixes, host.name
        assert host.guard == old.guard, host.name
        assert (host.endpoint is None) == (old.endpoint is None), host.name
        assert host.public_key == old.public_key, host.name  # set exactly for hosts keeping their own key
    assert [(p.ends, p.transfer) for p in topology.pairs] == [(p.ends, p.transfer) for p in original.pairs]
    assert topology.network.pool == original.network.pool
    assert topology.network.interface == original.network.interface or not original.network.pool


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rerendering_the_import_keeps_every_wireguard_fact(scenario, tmp_path):
    hosts = golden_hosts(scenario)
    imported = import_hosts(hosts, scenario)
    topology = parse_topology(imported.text, str(tmp_path / "imported.conf"))
    compiled = compile_topology(topology, imported.secrets)
    assert compare_hosts(hosts, compiled) == ()
    for name, config in compiled.items():
        for rendered in render_host(config):
            target = tmp_path / "out" / name / rendered.relative_to_root()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rendered.text)
    again = read_hosts(sorted((tmp_path / "out").iterdir()))
    assert wire_view(again) == wire_view(hosts)


def test_psk_that_differs_between_the_ends_is_refused(tmp_path):
    hosts = golden_hosts("hub-spokes")
    relay = tmp_path / "relay" / "etc" / "systemd" / "network"
    relay.mkdir(parents=True)
    for path in (GOLDEN / "hub-spokes" / "expected" / "relay" / "etc" / "systemd" / "network").iterdir():
        text = path.read_text()
        # ben's PSK on the hub side replaced by another valid key
        text = text.replace("msZiycXWsY7vDcUKD2YA7I4U6hKu75RYmWgJRwur+PA=", "QTIn+XKCsrVWyEqO4W1b/pZMLzXkY5PqtY1UgO53TSA=")
        (relay / path.name).write_text(text)
    hosts = [h for h in hosts if h.name != "relay"] + list(read_hosts([tmp_path / "relay"]))
    with pytest.raises(ConfigError) as err:
        import_hosts(hosts)
    [diag] = err.value.diagnostics
    assert diag.code == "NDW031" and "ben <-> relay" in diag.message and "wg-harbor.conf" in diag.message


def test_cli_import_writes_topology_and_private_store(tmp_path, capsys):
    out = tmp_path / "etc" / "harbor.conf"
    trees = [str(p) for p in sorted((GOLDEN / "hub-spokes" / "expected").iterdir())]
    assert main(["import", *trees, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "every host keeps its peers, keys, PSKs" in printed
    store = tmp_path / "etc" / "harbor.secrets"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    secrets = load_secrets(store)
    golden = load_secrets(GOLDEN / "hub-spokes" / "topology.secrets") if stat.S_IMODE(
        (GOLDEN / "hub-spokes" / "topology.secrets").stat().st_mode) == 0o600 else None
    assert set(secrets.private_keys) == {"relay", "oslo", "ana", "ben"}  # bergen keeps its own
    assert len(secrets.preshared_keys) == 4
    if golden is not None:
        assert secrets.preshared_keys == golden.preshared_keys
    for value in secrets.private_keys.values():  # never printed
        assert value.reveal_base64() not in printed
    assert main(["import", *trees, "--out", str(out)]) == 2  # refuses to overwrite
    assert "exists" in capsys.readouterr().err


def test_cli_reports_what_a_topology_cannot_say(tmp_path, capsys):
    # a hand-written hub that sends keepalives to a spoke: netdwg would not render that
    tree = tmp_path / "relay"
    src = GOLDEN / "hub-spokes" / "expected" / "relay"
    for path in src.rglob("*"):
        if path.is_file():
            target = tree / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text().replace("AllowedIPs=10.99.0.5/32\n",
                                                       "AllowedIPs=10.99.0.5/32\nPersistentKeepalive=10\n"))
    others = [str(p) for p in sorted((GOLDEN / "hub-spokes" / "expected").iterdir()) if p.name != "relay"]
    assert main(["import", str(tree), *others, "--out", str(tmp_path / "n.conf")]) == 1
    err = capsys.readouterr().err
    assert "differs: relay wg-harbor: peer ben: PersistentKeepalive 10 -> 0" in err


def test_hand_written_network_with_key_files_and_a_corpus_mismatch(tmp_path):
    """A network written by hand (wg-quick hub and laptop, networkd office reading key files) imports
    with no difference; the sample corpus's hub and laptop (tests/data), whose PSKs disagree, are refused with file names."""
    from netdwg.keys import genkey, genpsk, pubkey

    hub, laptop, office = genkey(), genkey(), genkey()
    psk_l, psk_o = genpsk(), genpsk()
    (tmp_path / "gw" / "etc" / "wireguard").mkdir(parents=True)
    (tmp_path / "gw" / "etc" / "wireguard" / "wg0.conf").write_text(f"""\
# the VPS, configured by hand in 2021
[Interface]
Address = 10.8.0.1/24
ListenPort = 51820
PrivateKey = {hub.reveal_base64()}

[Peer]  # laptop
PublicKey = {pubkey(laptop)}
PresharedKey = {psk_l.reveal_base64()}
AllowedIPs = 10.8.0.2/32

[Peer]
# office
PublicKey = {pubkey(office)}
PresharedKey = {psk_o.reveal_base64()}
AllowedIPs = 10.8.0.3/32, 192.168.7.0/24
""")
    (tmp_path / "laptop.conf").write_text(f"""\
[Interface]
PrivateKey = {laptop.reveal_base64()}
Address = 10.8.0.2/24
MTU = 1280

[Peer]
PublicKey = {pubkey(hub)}
PresharedKey = {psk_l.reveal_base64()}
Endpoint = 203.0.113.8:51820
AllowedIPs = 10.8.0.0/24, 192.168.7.0/24
PersistentKeepalive = 25
""")
    net = tmp_path / "office" / "etc" / "systemd" / "network"
    net.mkdir(parents=True)
    keys = tmp_path / "office" / "etc" / "wireguard"
    keys.mkdir(parents=True)
    (keys / "wg0.key").write_text(office.reveal_base64() + "\n")
    (keys / "hub.psk").write_text(psk_o.reveal_base64() + "\n")
    (net / "90-wg0.netdev").write_text(f"""\
[NetDev]
Name=wg0
Kind=wireguard
MTUBytes=1420

[WireGuard]
PrivateKeyFile=/etc/wireguard/wg0.key

[WireGuardPeer]
PublicKey={pubkey(hub)}
PresharedKeyFile=/etc/wireguard/hub.psk
AllowedIPs=10.8.0.0/24
Endpoint=203.0.113.8:51820
PersistentKeepalive=25
""")
    (net / "90-wg0.network").write_text("[Match]\nName=wg0\n\n[Network]\nAddress=10.8.0.3/24\n")
    hosts = read_hosts([f"gw={tmp_path / 'gw'}", str(tmp_path / "laptop.conf"), str(tmp_path / "office")])
    assert [h.name for h in hosts] == ["gw", "laptop", "office"]
    imported = import_hosts(hosts, "hand")
    topology = parse_topology(imported.text, "hand.conf")
    assert topology.hub.name == "gw" and str(topology.hub.endpoint) == "203.0.113.8:51820"
    assert topology.host("office").lan_prefixes == (ipaddress.ip_network("192.168.7.0/24"),)
    assert topology.host("laptop").backend.value == "wg-quick" and topology.host("laptop").mtu == 1280
    assert imported.secrets.private_key("office") == office  # read from the key file under the tree
    assert imported.secrets.psk("gw", "office") == psk_o
    assert compare_hosts(hosts, compile_topology(topology, imported.secrets)) == ()

    corpus = Path(__file__).resolve().parents[1] / "data"  # tests/data/README.md
    with pytest.raises(ConfigError) as err:
        import_hosts(read_hosts([f"relay={corpus / 'networkd' / '30-relay-wg.netdev'}",
                                 f"relay={corpus / 'networkd' / '30-relay-wg.network'}",
                                 str(corpus / "wg-quick" / "ana.conf")]))
    [diag] = err.value.diagnostics
    assert diag.code == "NDW031" and "ana <-> relay" in diag.message and "ana.conf" in diag.message


def test_host_names_from_paths():
    from netdwg.topology.importer_files import host_name_for, parse_spec

    assert host_name_for(Path("/srv/backup/oslo/etc/systemd/network/50-wg0.netdev")) == "oslo"
    # this machine's own /etc: the caller (netdwg import) says which host that is
    assert host_name_for(Path("/etc/systemd/network/50-wg0.netdev"), "thishost") == "thishost"
    with pytest.raises(NetdwgError, match="no host name") as err:
        host_name_for(Path("/etc/systemd/network/50-wg0.netdev"))
    assert err.value.fix == "name the host: HOST=/etc/systemd/network/50-wg0.netdev"
    assert host_name_for(Path("phones/ben.conf")) == "ben"
    assert host_name_for(Path("30-relay-wg.netdev")) == "relay-wg"
    assert host_name_for(Path("30-relay-wg.netdev.d/50-contractor.conf")) == "relay-wg"  # with its .netdev
    assert parse_spec("ben=phones/b.conf") == ("ben", Path("phones/b.conf"))
    assert parse_spec("dir/with=sign") == (None, Path("dir/with=sign"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rerendering_the_import_gives_the_golden_files_byte_for_byte(scenario):
    """Beyond the WireGuard facts: peer order, LAN interfaces (from the nft rules), the guard's site
    fingerprints (from guard.conf) and the systemd version (RouteTable= or not) come back too."""
    original = load_topology(GOLDEN / scenario / "topology.conf")
    imported = import_hosts(golden_hosts(scenario), original.network.name)
    topology = parse_topology(imported.text, "imported.conf")
    rendered = {}
    for name, config in compile_topology(topology, imported.secrets).items():
        for file in render_host(config):
            rendered[f"{name}/{file.relative_to_root()}"] = file.text
    expected = {str(p.relative_to(GOLDEN / scenario / "expected")): p.read_text()
                for p in (GOLDEN / scenario / "expected").rglob("*") if p.is_file()}
    assert sorted(rendered) == sorted(expected)
    for path, text in expected.items():
        assert rendered[path] == text, path


def test_key_files_on_this_machine_are_read_only_through_the_callers_reader(tmp_path):
    """The importer reads the files it is given; a key file named at an absolute path outside
    them is this machine's, read only by the reader the caller passes (netdwg import does)."""
    from pathlib import PurePosixPath

    from netdwg.keys import genkey

    key = genkey()
    key_file = tmp_path / "wg0.key"
    key_file.write_text(key.reveal_base64() + "\n")
    conf = tmp_path / "laptop.conf"
    conf.write_text(f"[Interface]\nAddress = 10.99.0.4/32\nPostUp = wg set %i private-key {key_file}\n\n"
                    f"[Peer]\nPublicKey = {genkey().public_key().base64}\nAllowedIPs = 10.99.0.0/24\n")
    [alone] = read_hosts([str(conf)])
    assert alone.interfaces[0].device.private_key is None
    asked = []

    def read_local(path):
        asked.append(path)
        return key_file.read_text().strip()

    [host] = read_hosts([str(conf)], read_local=read_local)
    assert host.interfaces[0].device.private_key == key and asked == [PurePosixPath(key_file)]
