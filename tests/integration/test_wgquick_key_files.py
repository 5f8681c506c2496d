"""`netdwg render --key-files` for wg-quick hosts, brought up by the real wg-quick (wireguard-go):
PostUp `wg set %i peer ... preshared-key FILE` and `wg set %i private-key FILE` load the keys from
the 0600 files beside the .conf; the device holds them, the PSK agrees with the other end's, and
traffic passes."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from test_apply_lab import ENV, PYTHON, ping

pytestmark = [pytest.mark.root, pytest.mark.slow]

TOPOLOGY = """[network]
name = keyfiles
pool = 10.97.0.0/24

[hosts]
  [[hub]]
  role = hub
  backend = wg-quick
  endpoint = 198.51.100.1:51820
  address = 10.97.0.1

  [[laptop]]
  role = roaming
  backend = wg-quick
  address = 10.97.0.2
"""


def test_wg_quick_loads_the_rendered_key_files(sandbox, tmp_path):
    topology = tmp_path / "keyfiles.conf"
    topology.write_text(TOPOLOGY)
    out = tmp_path / "out"
    subprocess.run([PYTHON, "-m", "netdwg", "render", "--topology", str(topology), "--out", str(out), "--key-files"],
                   check=True, capture_output=True, env={**os.environ, **ENV})
    switch = sandbox.netns("sw")
    switch.run(["ip", "link", "add", "br0", "type", "bridge"])
    switch.run(["ip", "link", "set", "br0", "up"])
    nodes = {}
    for index, (name, address) in enumerate((("hub", "198.51.100.1"), ("laptop", "198.51.100.2")), 1):
        ns = sandbox.netns(name)
        sandbox.veth(switch, f"p{index}", ns, "eth0")
        switch.run(["ip", "link", "set", f"p{index}", "master", "br0"])
        node = nodes[name] = sandbox.node(ns)
        node.run(["ip", "addr", "add", f"{address}/24", "dev", "eth0"])
        files = sorted(p for p in (out / name / "etc" / "wireguard").iterdir())
        assert [p.name for p in files] == ["wg0-" + ("laptop" if name == "hub" else "hub") + ".psk", "wg0.conf", "wg0.key"]
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            node.write_file(f"/etc/wireguard/{path.name}", path.read_text(), mode=0o600)
        assert "PrivateKey" not in path.with_name("wg0.conf").read_text()
        up = node.wg_quick_up("wg0")
        assert up.returncode == 0, up.stderr
        key = (out / name / "etc/wireguard/wg0.key").read_text().strip()
        assert node.run(["wg", "show", "wg0", "private-key"]).stdout.strip() == key
    psks = {name: node.run(["wg", "show", "wg0", "preshared-keys"]).stdout.split() for name, node in nodes.items()}
    assert psks["hub"][1] == psks["laptop"][1] != "(none)"
    assert ping(nodes["laptop"], "10.97.0.1")
