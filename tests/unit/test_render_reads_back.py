"""What the renderers write reads back: networkd files parse losslessly (with and without key
files) and to the compiled device; wg-quick confs load to the compiled device."""

from __future__ import annotations

import pytest

from netdwg.render import networkd
from netdwg.render.wgquick import conf_text
from netdwg.topology.compile import compile_topology
from netdwg.unitfile import effective_unit, format_unit, parse_unit, to_wg_device
from netdwg.wgquick import load_wgquick
from golden_support import SCENARIOS, load_scenario

CASES = [(s, h.name) for s in SCENARIOS for h in load_scenario(s)[0].hosts]


@pytest.mark.parametrize("key_files", [False, True])
@pytest.mark.parametrize("scenario,host", CASES)
def test_networkd_files_parse_back_losslessly(scenario, host, key_files):
    config = compile_topology(*load_scenario(scenario))[host]
    files = {f.path: f.text for f in networkd.render(config, key_files=key_files)}
    for iface in config.interfaces:
        netdev_path, network_path = networkd.unit_paths(iface)
        for path in (netdev_path, network_path):
            assert format_unit(parse_unit(files[path], str(path))) == files[path]
        if not key_files and iface.device.private_key is not None:  # else PrivateKeyFile=
            device = to_wg_device(effective_unit(parse_unit(files[netdev_path], str(netdev_path))), peer_names=True)
            assert device == iface.device


@pytest.mark.parametrize("scenario,host", CASES)
def test_wg_quick_confs_load_back_to_the_device(scenario, host):
    config = compile_topology(*load_scenario(scenario))[host]
    for iface in config.interfaces:
        assert load_wgquick(conf_text(iface), f"/etc/wireguard/{iface.name}.conf", iface.name).device == iface.device
