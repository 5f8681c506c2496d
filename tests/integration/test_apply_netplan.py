"""A netplan host: YAML 0600, `netplan generate` (never `netplan apply`), the 0.106
permission fix on generated key-bearing .netdev files, peers synced live."""

from __future__ import annotations

import grp
import stat

import pytest
from test_apply_lab import ENV, PYTHON, STATE_DIR, wg_dump, write_tree

from netdwg.keys import genkey, genpsk

pytestmark = [pytest.mark.root, pytest.mark.slow]

YAML = "/etc/netplan/60-netdwg-wg0.yaml"


def render(out, key, peers):
    lines = ["network:", "  version: 2", "  renderer: networkd", "  tunnels:", "    wg0:", "      mode: wireguard",
             "      addresses: [10.99.0.1/24]", "      port: 51820", f"      key: {key.reveal_base64()}", "      peers:"]
    for public, psk, ip in peers:
        lines += [f"        - keys: {{public: {public}, shared: {psk}}}", f"          allowed-ips: [{ip}]"]
    return write_tree(out, {YAML.lstrip("/"): "\n".join(lines) + "\n"})


# netplan generate also writes /run/udev and /run/NetworkManager, which need not exist on the host
# (and must not be created there). In this run's own mount namespace /run becomes a fresh tmpfs that
# holds them, with the node's own /run directories (networkd's, dbus's, wireguard-go's sockets, netdwg's
# state) bound back from a handle kept in the test's tmp dir: writes there reach the node.
def apply(node, source, scratch):
    scratch.mkdir(exist_ok=True)
    command = (f"set -e; mount --rbind /run {scratch}; mount -t tmpfs -o mode=0755 tmpfs /run; "
               f"for d in systemd dbus wireguard netdwg; do mkdir /run/$d; mount --rbind {scratch}/$d /run/$d; done; "
               "mkdir /run/udev /run/NetworkManager; "
               f"exec {PYTHON} -m netdwg apply --from {source} --state-dir {STATE_DIR} --wait 30")
    return node.run(["unshare", "-m", "--propagation", "private", "sh", "-c", command], check=False, env=ENV, timeout=120)


def test_netplan_host(networkd_node, tmp_path):
    node = networkd_node
    node.start_wireguard_go("wg0")
    key = genkey()
    peers = [(genkey().public_key().base64, genpsk().reveal_base64(), f"10.99.0.{i}/32") for i in (2, 3)]
    result = apply(node, render(tmp_path / "v1", key, peers), tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert "[#] netplan generate" in result.stderr
    assert stat.S_IMODE(node.path(YAML).stat().st_mode) == 0o600
    generated = node.path("/run/systemd/network/10-netplan-wg0.netdev")
    st = generated.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_gid == grp.getgrnam("systemd-network").gr_gid
    assert {k: v.allowed_ips for k, v in wg_dump(node).items()} == {p: ip for p, _, ip in peers}

    peers2 = peers[:1] + [(genkey().public_key().base64, genpsk().reveal_base64(), "10.99.0.4/32")]
    result = apply(node, render(tmp_path / "v2", key, peers2), tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert {k: v.allowed_ips for k, v in wg_dump(node).items()} == {p: ip for p, _, ip in peers2}
    assert stat.S_IMODE(generated.stat().st_mode) == 0o640
    assert key.reveal_base64() not in result.stdout + result.stderr
