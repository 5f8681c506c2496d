"""The real consumers accept files rendered from values at the edge of what the loader lets through.

Names of 64 characters with '.', '_' and '-', interface names of 15 bytes with '.', '+', '_' and
'-' (WireGuard, pair, LAN and uplink interfaces), a long DNS domain: the values
tests/property/test_render_injection.py draws besides hostile ones. `wg-quick strip`, `nft -c -f`
in a namespace, systemd-networkd 252 (no warning about our files) and `netplan generate` read
every file as the model meant it.
"""

from __future__ import annotations

import itertools
import os
import subprocess

import pytest

from netdwg.keys import PresharedKey, PrivateKey
from netdwg.render import render_host, render_interfaces
from netdwg.topology import parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.secrets import Secrets, complete_secrets
from netdwg.wgquick import strip

pytestmark = pytest.mark.root

HUB = "relay.edge_" + "r" * 53  # 64 characters
SITE = "oslo-1.edge_" + "o" * 52
SITE2 = "bergen_2"
LAPTOP = "ana.laptop-3"
TOPOLOGY = f"""\
[network]
name = harbor.edge_{"n" * 51}
pool = 10.99.0.0/16
interface = wg.edge+1_lng-x

[hosts]
  [[{HUB}]]
  role = hub
  endpoint = 198.51.100.10:51820
  address = 10.99.0.1
  uplink_interface = eth0.100

  [[{SITE}]]
  role = site
  address = 10.99.0.2
  endpoint = 203.0.113.7:51820
  lan = 172.20.10.0/24
  lan_address = 172.20.10.2
  lan_interface = br-lan+0.v_1
  return_path = masquerade
  domain = {"a" * 63}.{"b" * 63}.example-office.com
  dhcp_server = 172.20.10.1
  allow = {LAPTOP}

  [[{SITE2}]]
  role = site
  address = 10.99.0.3
  endpoint = 203.0.113.8:51820
  lan = 172.20.20.0/24
  lan_address = 172.20.20.2

  [[{LAPTOP}]]
  role = roaming
  address = 10.99.0.4
  guard = yes
  reach = {SITE}

  [[ben]]
  role = roaming
  backend = wg-quick
  address = 10.99.0.5

  [[cy]]
  role = roaming
  backend = netplan
  address = 10.99.0.6

[pairs]
  [[oslo.bergen_s2s-link]]
  ends = {SITE}, {SITE2}
  transfer = 10.255.0.0/31
  interface = s2s+0.x_y-zzzzz
"""


@pytest.fixture(scope="module")
def configs():
    counter = itertools.count(1)
    topology = parse_topology(TOPOLOGY, "edge.conf")
    secrets, _ = complete_secrets(topology, Secrets(), lambda: PrivateKey(next(counter).to_bytes(32, "big")),
                                  lambda: PresharedKey((next(counter) + 500).to_bytes(32, "big")))
    return compile_topology(topology, secrets)


def test_the_edge_names_are_what_the_files_carry(configs):
    hub = configs[HUB]
    assert {i.name for i in configs[SITE].interfaces} == {"wg.edge+1_lng-x", "s2s+0.x_y-zzzzz"}
    text = "".join(f.text for f in render_host(hub))
    assert f"# {SITE}" in text and "wg.edge+1_lng-x" in text


def test_wg_quick_strip_reads_every_conf(tmp_path, configs):
    for host, config in configs.items():
        for f in render_interfaces(config, "wg-quick"):
            path = tmp_path / host / f.path.name
            path.parent.mkdir(exist_ok=True)
            path.write_text(f.text)
            os.chmod(path, f.mode)
            res = subprocess.run(["wg-quick", "strip", str(path)], capture_output=True, text=True, timeout=60)
            assert res.returncode == 0, f"{host}: {res.stderr}"
            assert res.stdout == strip(f.text)


def test_nft_checks_and_loads_every_ruleset(sandbox, tmp_path, configs):
    ns = sandbox.netns("nfte")
    checked = 0
    for host, config in configs.items():
        for f in render_host(config):
            if f.path.suffix != ".nft":
                continue
            path = tmp_path / "ruleset.nft"
            path.write_text(f.text)
            res = ns.run(["nft", "-c", "-f", str(path)], check=False)
            assert res.returncode == 0, f"{host}: {res.stderr}"
            ns.run(["nft", "-f", str(path)])
            listed = ns.run(["nft", "list", "table", "inet", "netdwg"]).stdout
            for name in config.firewall.tunnel_interfaces:
                assert f'"{name}"' in listed
            ns.run(["nft", "delete", "table", "inet", "netdwg"])
            checked += 1
    assert checked >= 3


def test_netplan_generate_reads_every_yaml(tmp_path, configs):
    for host, config in configs.items():
        root = tmp_path / host
        for f in render_interfaces(config, "netplan", key_files=True):
            target = root / f.relative_to_root()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.text)
            os.chmod(target, f.mode)
        res = subprocess.run(["netplan", "generate", "--root-dir", str(root)], capture_output=True, text=True,
                             timeout=120)
        assert res.returncode == 0 and "too open" not in res.stderr, f"{host}: {res.stderr}"
        made = {p.name for p in (root / "run/systemd/network").iterdir()}
        for iface in config.interfaces:
            assert f"10-netplan-{iface.name}.netdev" in made, (host, made)


@pytest.mark.parametrize("host", [HUB, SITE])
def test_networkd_252_configures_the_edge_names_without_warnings(networkd_node, configs, host):
    from test_render_clients import assert_networkd_loads

    config = configs[host]
    assert_networkd_loads(networkd_node, config, render_interfaces(config, "networkd", key_files=True))


def test_systemd_sysctl_applies_every_dropin(sandbox, tmp_path, configs):
    ns = sandbox.netns("sysce")
    for host, config in configs.items():
        for f in render_host(config):
            if not str(f.path).startswith("/etc/sysctl.d/"):
                continue
            path = tmp_path / f"{len(host)}.conf"
            path.write_text(f.text)
            res = ns.run(["/lib/systemd/systemd-sysctl", str(path)], check=False)
            assert res.returncode == 0 and not res.stderr.strip(), f"{host}: {res.stderr}"
            assert any("wg/edge+1_lng-x" in s.key for s in configs[HUB].sysctls)
