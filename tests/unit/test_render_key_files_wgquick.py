"""`netdwg render --key-files` on wg-quick hosts: no key inline; PostUp loads the private key and the
PSKs with `wg set` (what admins do: wg-quick has no PrivateKeyFile) from 0600 files beside the .conf.
Before, the flag was silently ignored for wg-quick hosts."""

from __future__ import annotations

import stat
from pathlib import Path

from golden_support import load_scenario
from netdwg.cli import main
from netdwg.render import render_host
from netdwg.render.wgquick import conf_text
from netdwg.topology import parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.importer import compare_hosts, import_hosts
from netdwg.topology.importer_files import read_hosts
from netdwg.wgquick import load_wgquick


def ben_files(key_files: bool):
    topology, secrets = load_scenario("hub-spokes")
    config = compile_topology(topology, secrets)["ben"]
    return config, {str(f.path): f for f in render_host(config, key_files=key_files)}


def test_key_files_take_every_key_out_of_the_conf():
    config, files = ben_files(key_files=True)
    iface = config.interfaces[0]
    conf = files["/etc/wireguard/wg-harbor.conf"]
    assert "PrivateKey" not in conf.text and "PresharedKey" not in conf.text and not conf.secret
    relay = iface.device.peers[0]
    assert conf.text.splitlines()[5:7] == [
        f"PostUp = wg set %i peer {relay.public_key.base64} preshared-key /etc/wireguard/wg-harbor-relay.psk",
        "PostUp = wg set %i private-key /etc/wireguard/wg-harbor.key"]  # the private key last: no early handshake
    key, psk = files["/etc/wireguard/wg-harbor.key"], files["/etc/wireguard/wg-harbor-relay.psk"]
    assert key.text == iface.device.private_key.reveal_base64() + "\n"
    assert psk.text == relay.preshared_key.reveal_base64() + "\n"
    for file in (conf, key, psk):
        assert file.mode == 0o600 and (file.owner, file.group) == ("root", "root")
    assert key.secret and psk.secret
    assert conf.text == conf_text(iface, key_files=True)
    config_read = load_wgquick(conf.text, "wg-harbor.conf")
    assert config_read.device.private_key is None and config_read.device.peers[0].preshared_key is None


def test_without_key_files_nothing_changes():
    _, files = ben_files(key_files=False)
    assert sorted(files) == ["/etc/wireguard/wg-harbor.conf"]
    assert "PostUp" not in files["/etc/wireguard/wg-harbor.conf"].text


def test_cli_writes_the_key_files_0600_and_import_and_check_read_them_back(tmp_path, capsys):
    src = Path(__file__).resolve().parents[1] / "golden" / "hub-spokes"
    conf = tmp_path / "net.conf"
    conf.write_text((src / "topology.conf").read_text())
    store = tmp_path / "net.secrets"
    store.write_text((src / "topology.secrets").read_text())
    store.chmod(0o600)
    out = tmp_path / "out"
    assert main(["render", "--topology", str(conf), "--out", str(out), "--key-files"]) == 0
    key = out / "ben/etc/wireguard/wg-harbor.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    capsys.readouterr()
    assert main(["check", str(out)]) == 0  # both ends agree on the PSK read from ben's file
    assert "NDW031" not in capsys.readouterr().out
    hosts = read_hosts(sorted(out.iterdir()))
    [ben] = [h for h in hosts if h.name == "ben"]
    assert ben.interfaces[0].device.private_key is not None
    assert ben.interfaces[0].device.peers[0].preshared_key is not None
    imported = import_hosts(hosts, "harbor")
    topology, secrets = load_scenario("hub-spokes")
    assert imported.secrets.private_key("ben") == secrets.private_key("ben")
    assert imported.secrets.psk("ben", "relay") == secrets.psk("ben", "relay")
    assert compare_hosts(hosts, compile_topology(parse_topology(imported.text, "i.conf"), imported.secrets)) == ()
