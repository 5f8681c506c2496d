"""The comparison `netdwg status` makes on a NetworkManager host (netdwg/plan/nm_drift.py): the rendered
profile against what NetworkManager reports, every differing setting named as NetworkManager names it,
secrets compared but never shown, order of AllowedIPs/addresses/routes not a difference."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from pathlib import PurePosixPath

from netdwg.keyfiles import load_nm_wireguard
from netdwg.keyfiles.wireguard import NmRoute
from netdwg.keys import PresharedKey, genkey
from netdwg.plan.model import NmHeld
from netdwg.plan.nm_drift import held_differences, profile_differences
from netdwg.wireguard import Endpoint, WgPeer
from golden_support import render_scenario


def rendered(host: str = "ana"):
    (f,) = [f for f in render_scenario("networkmanager")[host] if f.path.suffix == ".nmconnection"]
    return load_nm_wireguard(f.text, str(f.path))


def held_like(profile, **device_changes):
    """As NetworkManager reports it: no peer names (they are comments in the file), other changes applied."""
    device = profile.device
    peers = tuple(dataclasses.replace(p, name="") for p in device.peers)
    return dataclasses.replace(profile, device=dataclasses.replace(device, **({"peers": peers} | device_changes)))


def with_peer(profile, index: int, **changes):
    device = profile.device
    peers = list(device.peers)
    peers[index] = dataclasses.replace(peers[index], **changes)
    return dataclasses.replace(profile, device=dataclasses.replace(device, peers=tuple(peers)))


RELAY = f"wireguard-peer.{rendered().device.peers[0].public_key}"


def settings(differences):
    return [d.setting for d in differences]


def test_the_same_profile_has_no_differences_though_nm_keeps_no_peer_names():
    wanted = rendered()
    assert profile_differences(wanted, held_like(wanted)) == ()
    assert profile_differences(rendered("depot"), held_like(rendered("depot"))) == ()


def test_order_of_allowed_ips_addresses_and_routes_is_no_difference():
    wanted = rendered()
    held = held_like(wanted)
    peer = held.device.peers[0]
    held = with_peer(held, 0, allowed_ips=tuple(reversed(peer.allowed_ips)))
    held = dataclasses.replace(held, ipv4=dataclasses.replace(held.ipv4, routes=tuple(reversed(held.ipv4.routes))))
    assert profile_differences(wanted, held) == ()


def test_each_changed_setting_is_named_with_both_values():
    wanted = rendered()
    held = with_peer(held_like(wanted), 0, endpoint=Endpoint.parse("198.51.100.77:51820"), persistent_keepalive=0)
    held = dataclasses.replace(held, mtu=1420, peer_routes=True,
                               ipv4=dataclasses.replace(held.ipv4, routes=held.ipv4.routes[:1] + (
                                   NmRoute(ipaddress.ip_network("172.16.99.0/24")),)))
    found = {d.setting: d for d in profile_differences(wanted, held)}
    assert set(found) == {"wireguard.mtu", "wireguard.peer-routes", f"{RELAY}.endpoint",
                          f"{RELAY}.persistent-keepalive", "ipv4.route-data"}
    assert (found["wireguard.mtu"].wanted, found["wireguard.mtu"].held) == ("1380", "1420")
    assert found[f"{RELAY}.endpoint"].describe() == \
        f"{RELAY}.endpoint: the profile says 198.51.100.70:51820, NetworkManager holds 198.51.100.77:51820"
    assert found[f"{RELAY}.persistent-keepalive"].held == "(none)"
    assert found["ipv4.route-data"].held == "172.16.70.0/24, 172.16.99.0/24"


def test_a_missing_and_an_extra_peer_are_named():
    wanted = rendered()
    stranger = WgPeer(genkey().public_key(), (ipaddress.ip_network("10.70.0.99/32"),))
    held = held_like(wanted, peers=(stranger,))
    found = {d.setting: d for d in profile_differences(wanted, held)}
    assert (found[RELAY].wanted, found[RELAY].held) == ("(this peer)", "(none)")
    assert (found[f"wireguard-peer.{stranger.public_key}"].wanted, found[f"wireguard-peer.{stranger.public_key}"].held) \
        == ("(none)", "(this peer)")


def test_secrets_are_compared_but_never_shown_and_skipped_without_getsecrets():
    wanted = rendered()
    other_key, other_psk = genkey(), PresharedKey(bytes(range(32)))
    held = with_peer(held_like(wanted, private_key=other_key), 0, preshared_key=other_psk)
    differences = profile_differences(wanted, held)
    assert settings(differences) == ["wireguard.private-key", f"{RELAY}.preshared-key"]
    shown = json.dumps([d.to_json() for d in differences]) + "".join(d.describe() for d in differences)
    for secret in (wanted.device.private_key, other_key, wanted.device.peers[0].preshared_key, other_psk):
        assert secret.reveal_base64() not in shown
    assert all(d.wanted == d.held == "(secret)" for d in differences)
    # GetSettings alone (no root): NetworkManager leaves the secrets out, so they are not compared
    no_secrets = with_peer(held_like(wanted, private_key=None), 0, preshared_key=None)
    assert profile_differences(wanted, no_secrets, secrets=False) == ()
    assert settings(profile_differences(wanted, no_secrets)) == ["wireguard.private-key",
                                                                 f"{RELAY}.preshared-key"]
    missing = profile_differences(wanted, no_secrets)[0]
    assert (missing.wanted, missing.held) == ("(secret)", "(none)")


def test_not_loaded_loaded_from_another_file_or_held_otherwise_are_differences():
    wanted = rendered()
    path = PurePosixPath("/etc/NetworkManager/system-connections/wg-fjord.nmconnection")
    (missing,) = held_differences(wanted, NmHeld(path, wanted.uuid))
    assert (missing.setting, missing.held) == ("connection.uuid", "(no such connection: not loaded)")
    same = NmHeld(path, wanted.uuid, True, str(path), held_like(wanted), secrets=True)
    assert held_differences(wanted, same) == ()
    elsewhere = dataclasses.replace(same, loaded_from="/run/NetworkManager/system-connections/x.nmconnection")
    assert [d.setting for d in held_differences(wanted, elsewhere)] == ["connection.filename"]
    otherwise = dataclasses.replace(same, profile=dataclasses.replace(held_like(wanted), mtu=1420))
    assert [d.setting for d in held_differences(wanted, otherwise)] == ["wireguard.mtu"]
    # without GetSecrets (not root) the secrets NetworkManager did not report are no difference
    unread = dataclasses.replace(same, secrets=False, profile=held_like(wanted, private_key=None))
    assert held_differences(wanted, unread) == ()
