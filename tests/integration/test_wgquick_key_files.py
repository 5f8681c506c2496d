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
from test_apply_wgquick import WGQ_TOPOLOGY, hub_and_site

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_wg_quick_loads_the_rendered_key_files(sandbox, tmp_path):
    topology = tmp_path / "wgq.conf"
    topology.write_text(WGQ_TOPOLOGY)
    out = tmp_path / "out"
    subprocess.run([PYTHON, "-m", "netdwg", "render", "--topology", str(topology), "--out", str(out), "--key-files"],
                   check=True, capture_output=True, env={**os.environ, **ENV})
    nodes = hub_and_site(sandbox)
    for name, node in nodes.items():
        files = sorted((out / name / "etc" / "wireguard").iterdir())
        other = "site" if name == "hub" else "hub"
        assert [p.name for p in files] == [f"wg0-{other}.psk", "wg0.conf", "wg0.key"]
        assert "PrivateKey" not in (out / name / "etc/wireguard/wg0.conf").read_text()
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            node.write_file(f"/etc/wireguard/{path.name}", path.read_text(), mode=0o600)
        up = node.wg_quick_up("wg0")
        assert up.returncode == 0, up.stderr
        key = (out / name / "etc/wireguard/wg0.key").read_text().strip()
        assert node.run(["wg", "show", "wg0", "private-key"]).stdout.strip() == key
    psks = {name: node.run(["wg", "show", "wg0", "preshared-keys"]).stdout.split() for name, node in nodes.items()}
    assert psks["hub"][1] == psks["site"][1] != "(none)"
    assert ping(nodes["site"], "10.98.0.1")
