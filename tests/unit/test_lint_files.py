"""Cross-file checks: public-key and PSK mismatches between two ends, keys in world-readable files."""

from __future__ import annotations

import os

from netdwg.cli.check import read_host_files
from netdwg.keys import genkey, genpsk, pubkey
from netdwg.lint import check_files as check_read_files


def check_files(paths, permissions=True):
    """The cross-file checks of files read as `netdwg check` reads them."""
    return check_read_files(read_host_files(paths), permissions)

HUB, LAPTOP, OLD = genkey(), genkey(), genkey()
PSK, OTHER_PSK = genpsk(), genpsk()


def netdev(peer_key, psk) -> str:
    return f"""\
[NetDev]
Name=wg0
Kind=wireguard

[WireGuard]
PrivateKey={HUB.reveal_base64()}
ListenPort=51820

# laptop
[WireGuardPeer]
PublicKey={peer_key.base64}
PresharedKey={psk.reveal_base64()}
AllowedIPs=10.9.0.2/32
"""


def wgquick(psk) -> str:
    return f"""\
[Interface]
PrivateKey = {LAPTOP.reveal_base64()}
Address = 10.9.0.2/24

[Peer]
PublicKey = {pubkey(HUB).base64}
PresharedKey = {psk.reveal_base64()}
AllowedIPs = 10.9.0.0/24
Endpoint = 192.0.2.1:51820
"""


def write(path, text, mode=0o600):
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_matching_ends_are_clean(tmp_path):
    a = write(tmp_path / "50-wg0.netdev", netdev(pubkey(LAPTOP), PSK), 0o640)
    b = write(tmp_path / "laptop.conf", wgquick(PSK))
    assert check_files([a, b]) == ()


def test_psk_mismatch_names_the_peer_line(tmp_path):
    a = write(tmp_path / "50-wg0.netdev", netdev(pubkey(LAPTOP), PSK), 0o640)
    b = write(tmp_path / "laptop.conf", wgquick(OTHER_PSK))
    [diag] = check_files([a, b])
    assert diag.code == "NDW031"
    assert "the preshared keys differ" in diag.message
    assert diag.span.path == str(a) and diag.span.line == 11  # the PublicKey= line of that peer


def test_stale_public_key_on_one_end(tmp_path):
    # the hub still lists the laptop's old key; the laptop lists the hub
    a = write(tmp_path / "50-wg0.netdev", netdev(pubkey(OLD), PSK), 0o640)
    b = write(tmp_path / "laptop.conf", wgquick(PSK))
    [diag] = check_files([a, b])
    assert diag.code == "NDW030" and diag.span.path == str(a)
    assert pubkey(LAPTOP).base64 in diag.message and pubkey(OLD).short() in diag.message


def test_world_readable_key_files(tmp_path):
    a = write(tmp_path / "50-wg0.netdev", netdev(pubkey(LAPTOP), PSK), 0o644)
    b = write(tmp_path / "laptop.conf", wgquick(PSK), 0o600)
    diags = check_files([a, b])
    assert [(d.code, d.span.path) for d in diags] == [("NDW032", str(a))]
    assert "0644" in diags[0].message
    assert check_files([a, b], permissions=False) == ()  # for a caller whose per-file checks already warn


def test_unreadable_inputs_are_skipped_not_raised(tmp_path):
    """Binary files and directories are the per-file checker's business; check_files never raises on them."""
    junk = tmp_path / "junk.netdev"
    junk.write_bytes(b"\xff\xfe\x00garbage")
    assert check_files([junk, tmp_path]) == ()
