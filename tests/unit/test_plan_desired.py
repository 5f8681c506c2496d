"""`--from DIR` reads back exactly what the renderers wrote: for every golden scenario and
host, the devices equal the compiler's and the file modes equal the renderer's."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from netdwg.apply.desired import desired_from_files, read_rendered_dir
from netdwg.keys import genkey

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
SCENARIOS = sorted(p.name for p in GOLDEN.iterdir() if (p / "expected").is_dir()) if GOLDEN.is_dir() else []


def compiled(scenario: str, tmp_path: Path):
    from netdwg.topology.prepare import prepare

    for name in ("topology.conf", "topology.secrets"):
        shutil.copy(GOLDEN / scenario / name, tmp_path / name)
    os.chmod(tmp_path / "topology.secrets", 0o600)
    return prepare(tmp_path / "topology.conf").compile()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rendered_trees_read_back_as_the_compiled_devices(scenario, tmp_path):
    configs = compiled(scenario, tmp_path)
    for host in sorted(p.name for p in (GOLDEN / scenario / "expected").iterdir()):
        files = read_rendered_dir(GOLDEN / scenario / "expected" / host)
        own_key = genkey().reveal_base64()  # hosts that keep their own key: the file is on the host
        desired = desired_from_files(files, lambda path, span: own_key)
        want = {i.device.name: i.device for i in configs[host].interfaces}
        got = {d.name: d for d in desired.devices}
        assert set(got) == set(want), host
        for name, device in want.items():
            if device.private_key is not None:
                assert got[name].private_key == device.private_key, host
            assert got[name].listen_port == device.listen_port, host
            assert len(got[name].peers) == len(device.peers), host
            for mine, theirs in zip(got[name].peers, device.peers):
                assert mine.same_config(theirs), f"{scenario}/{host}: peer {theirs.name}"
                if configs[host].backend.value == "networkd":
                    assert mine.name == theirs.name  # named from the renderer's comment


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_file_modes_match_the_renderers(scenario):
    modes = GOLDEN / scenario / "modes.txt"
    if not modes.exists():
        pytest.skip("no modes.txt")
    for line in modes.read_text().splitlines():
        host, path, mode, owner, *flags = line.split()
        files = {str(f.path): f for f in read_rendered_dir(GOLDEN / scenario / "expected" / host)}
        f = files[path]
        assert (f"{f.mode:04o}", f"{f.owner}:{f.group}") == (mode, owner), f"{scenario}/{host}{path}"
        assert f.secret == ("secret" in flags) or not f.secret, f"{scenario}/{host}{path}"


def test_one_prefix_on_two_peers_is_refused_with_both_names():
    """WireGuard keeps a prefix on one peer: each apply would move it back and the plan would never be empty."""
    from pathlib import PurePosixPath

    from netdwg.errors import ConfigError
    from netdwg.rendered import RenderedFile

    text = ("[NetDev]\nName=wg0\nKind=wireguard\n\n[WireGuard]\nListenPort=51820\n\n"
            f"# alpha\n[WireGuardPeer]\nPublicKey={genkey().public_key()}\nAllowedIPs=10.9.0.0/24\n\n"
            f"# beta\n[WireGuardPeer]\nPublicKey={genkey().public_key()}\nAllowedIPs=10.8.0.1/32, 10.9.0.0/24\n")
    files = (RenderedFile(PurePosixPath("/etc/systemd/network/50-wg0.netdev"), text),)
    with pytest.raises(ConfigError, match="wg0: AllowedIPs 10.9.0.0/24 is on two peers, alpha and beta"):
        desired_from_files(files)


def test_a_zero_psk_is_no_psk():
    """32 zero bytes is WireGuard's "no PSK": a file that writes it out matches a device without one."""
    from netdwg.keys import PresharedKey
    from netdwg.plan.diff import peer_fields_differing
    from netdwg.wireguard import WgPeer

    key = genkey().public_key()
    assert peer_fields_differing(WgPeer(key, (), PresharedKey(bytes(32))), WgPeer(key, (), None)) == ()
    assert peer_fields_differing(WgPeer(key, (), PresharedKey(bytes(range(32)))), WgPeer(key, (), None)) == (
        "preshared_key",)


def test_the_wireguard_netdevs_are_named_with_their_devices():
    """plan decides from this whether a changed .netdev needs a networkd Reload (a WireGuard
    device that exists gets its peers synced live instead)."""
    from pathlib import PurePosixPath

    from netdwg.rendered import RenderedFile

    wg = PurePosixPath("/etc/systemd/network/50-wg0.netdev")
    files = (RenderedFile(wg, "[NetDev]\nName=wg0\nKind=wireguard\n\n[WireGuard]\nListenPort=51820\n"),
             RenderedFile(PurePosixPath("/etc/systemd/network/50-br0.netdev"), "[NetDev]\nName=br0\nKind=bridge\n"))
    assert desired_from_files(files).wireguard_netdevs == ((wg, "wg0"),)
