"""The planner: desired vs observed -> Plan, with wg syncconf semantics and no secret in sight."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from pathlib import PurePosixPath

from netdwg.keys import genkey, genpsk
from netdwg.plan import DesiredHost, FileState, HostState, plan_host
from netdwg.plan.show import format_plan, plan_to_json
from netdwg.rendered import RenderedFile
from netdwg.wireguard import Endpoint, LiveDevice, PeerStatus, WgDevice, WgPeer

NOW = 1_800_000_000.0
NETDEV = PurePosixPath("/etc/systemd/network/50-wg0.netdev")
NETWORK = PurePosixPath("/etc/systemd/network/50-wg0.network")


def net(text):
    return ipaddress.ip_network(text)


def peer(name, ip, endpoint=None, psk=None, keepalive=0):
    return WgPeer(genkey().public_key(), (net(ip),), psk, Endpoint.parse(endpoint) if endpoint else None, keepalive, name)


def hub(peers, key=None):
    return WgDevice("wg0", key or genkey(), 51820, 0, tuple(peers))


def live(device, handshakes=None, endpoints=None):
    handshakes = handshakes or {}
    endpoints = endpoints or {}
    peers = tuple(dataclasses.replace(p, name="", endpoint=endpoints.get(p.public_key, p.endpoint)) for p in device.peers)
    status = tuple(PeerStatus(p.public_key, p.endpoint, handshakes.get(p.public_key, 0.0)) for p in peers)
    return LiveDevice(dataclasses.replace(device, peers=peers), status, "userspace")


def state(device_live=None, files=(), managed=(), is_live=True, **kw):
    return HostState(tuple(files), tuple(managed), (device_live,) if device_live else (), now=NOW, live=is_live, **kw)


def netdev_text(device):
    lines = ["[NetDev]", "Name=wg0", "Kind=wireguard", "", "[WireGuard]",
             f"PrivateKey={device.private_key.reveal_base64()}", "ListenPort=51820"]
    for p in device.peers:
        lines += ["", f"# {p.name}", "[WireGuardPeer]", f"PublicKey={p.public_key}",
                  f"AllowedIPs={','.join(map(str, p.allowed_ips))}"]
        if p.preshared_key:
            lines.append(f"PresharedKey={p.preshared_key.reveal_base64()}")
    return "\n".join(lines) + "\n"


def rendered(device):
    return (RenderedFile(NETDEV, netdev_text(device), 0o640, "root", "systemd-network", True),
            RenderedFile(NETWORK, "[Match]\nName=wg0\n\n[Network]\nAddress=10.99.0.1/24\n"))


def on_disk(files):
    return tuple(FileState(f.path, f.text, f.mode, f.owner, f.group) for f in files)


def test_a_host_that_matches_gets_an_empty_plan_and_says_so():
    device = hub([peer("oslo", "10.99.0.2/32", psk=genpsk()), peer("ana", "10.99.0.4/32")])
    files = rendered(device)
    plan = plan_host(DesiredHost(files, (device,)), state(live(device), on_disk(files), [f.path for f in files]))
    assert plan.is_empty
    assert plan.steps() == ()
    assert format_plan(plan).startswith("Nothing to do")


def test_adding_a_spoke_adds_one_peer_and_touches_no_other():
    oslo, ana = peer("oslo", "10.99.0.2/32"), peer("ana", "10.99.0.4/32")
    before = hub([oslo, ana])
    bergen = peer("bergen", "10.99.0.3/32", psk=genpsk())
    after = dataclasses.replace(before, peers=(oslo, ana, bergen))
    plan = plan_host(DesiredHost((), (after,)), state(live(before)))
    assert [(c.action, c.peer.public_key) for c in plan.peers] == [("add", bergen.public_key)]
    assert plan.devices == ()


def test_removing_a_peer_removes_exactly_it():
    oslo, ana = peer("oslo", "10.99.0.2/32"), peer("ana", "10.99.0.4/32")
    plan = plan_host(DesiredHost((), (hub([oslo]),)), state(live(hub([oslo, ana]))))
    assert [(c.action, c.peer.public_key) for c in plan.peers] == [("remove", ana.public_key)]


def test_an_update_sends_only_the_fields_that_differ():
    oslo = peer("oslo", "10.99.0.2/32", endpoint="198.51.100.2:51820", keepalive=25)
    changed = dataclasses.replace(oslo, allowed_ips=(net("10.99.0.2/32"), net("172.20.10.0/24")))
    plan = plan_host(DesiredHost((), (hub([changed]),)), state(live(hub([oslo]))))
    (change,) = plan.peers
    assert change.action == "update"
    assert change.fields == ("allowed_ips",)
    assert "172.20.10.0/24" in change.describe()


def test_allowed_ips_are_compared_as_a_set():
    a = WgPeer(genkey().public_key(), (net("10.0.0.0/24"), net("10.1.0.0/24")))
    b = dataclasses.replace(a, allowed_ips=tuple(reversed(a.allowed_ips)))
    device = hub([a])
    assert plan_host(DesiredHost((), (device,)), state(live(dataclasses.replace(device, peers=(b,))))).is_empty


def test_a_roaming_peers_live_endpoint_is_left_alone_when_the_topology_sets_none():
    ana = peer("ana", "10.99.0.4/32")  # no endpoint: a laptop behind NAT
    roamed = {ana.public_key: Endpoint.parse("203.0.113.77:40001")}
    device = hub([ana])
    observed = live(device, handshakes={ana.public_key: NOW - 5}, endpoints=roamed)
    plan = plan_host(DesiredHost((), (device,)), state(observed))
    assert plan.is_empty


def test_a_changed_endpoint_in_the_topology_is_sent():
    oslo = peer("oslo", "10.99.0.2/32", endpoint="198.51.100.2:51820")
    moved = dataclasses.replace(oslo, endpoint=Endpoint.parse("198.51.100.9:51820"))
    (change,) = plan_host(DesiredHost((), (hub([moved]),)), state(live(hub([oslo])))).peers
    assert change.fields == ("endpoint",)


def test_a_changed_private_key_is_a_device_change_shown_hidden():
    device = hub([peer("oslo", "10.99.0.2/32")])
    rotated = dataclasses.replace(device, private_key=genkey())
    plan = plan_host(DesiredHost((), (rotated,)), state(live(device)))
    (change,) = plan.devices
    assert change.private_key == rotated.private_key
    assert rotated.private_key.reveal_base64() not in format_plan(plan)
    assert "(hidden)" in change.describe()


def test_no_private_key_or_psk_appears_in_text_json_or_diffs():
    old = hub([peer("oslo", "10.99.0.2/32", psk=genpsk())])
    new = hub([peer("oslo", "10.99.0.2/32", psk=genpsk()), peer("ana", "10.99.0.4/32", psk=genpsk())])
    old_files, new_files = rendered(old), rendered(new)
    plan = plan_host(DesiredHost(new_files, (new,)), state(live(old), on_disk(old_files), [f.path for f in old_files]))
    shown = format_plan(plan) + json.dumps(plan_to_json(plan)) + repr(plan)
    secrets = [d.private_key for d in (old, new)] + [p.preshared_key for d in (old, new) for p in d.peers]
    for secret in secrets:
        assert secret.reveal_base64() not in shown
        assert secret.reveal_hex() not in shown
    assert "PresharedKey=(hidden)" in shown
    assert str(new.peers[1].public_key) in shown  # public keys stay visible


def test_a_wrong_mode_is_fixed_without_rewriting():
    device = hub([peer("oslo", "10.99.0.2/32")])
    files = rendered(device)
    loose = [dataclasses.replace(s, mode=0o644, group="root") if s.path == NETDEV else s for s in on_disk(files)]
    plan = plan_host(DesiredHost(files, (device,)), state(live(device), loose, [f.path for f in files]))
    (change,) = plan.files
    assert change.action == "chmod"
    assert "0644 root:root -> 0640 root:systemd-network" in change.describe()


def test_a_managed_file_the_topology_dropped_is_removed_and_others_are_never_touched():
    device = hub([])
    files = rendered(device)[:1]
    stale = FileState(PurePosixPath("/etc/systemd/network/60-old.network"), "[Match]\nName=old\n", 0o644, "root", "root")
    foreign = FileState(PurePosixPath("/etc/systemd/network/10-eth0.network"), "[Match]\nName=eth0\n", 0o644, "root", "root")
    plan = plan_host(DesiredHost(files, (device,)),
                     state(live(device), on_disk(files) + (stale, foreign), [files[0].path, stale.path]))
    assert [(c.action, c.path) for c in plan.files] == [("remove", stale.path)]


def test_a_changed_wireguard_netdev_needs_no_networkd_reload_when_the_device_exists():
    old = hub([peer("oslo", "10.99.0.2/32")])
    new = dataclasses.replace(old, peers=old.peers + (peer("ana", "10.99.0.4/32"),))
    old_files, new_files = rendered(old), rendered(new)
    desired = DesiredHost(new_files, (new,), wireguard_netdevs=((NETDEV, "wg0"),))  # as desired_from_files reads it
    plan = plan_host(desired, state(live(old), on_disk(old_files)))
    assert [c.path for c in plan.files] == [NETDEV]
    assert plan.networkd is None  # < 257 would ignore it, >= 257 would drop every session
    assert len(plan.peers) == 1


def test_a_changed_network_file_reloads_and_reconfigures_that_link():
    device = hub([])
    files = rendered(device)
    changed = (files[0], dataclasses.replace(files[1], text=files[1].text + "Address=fd99:1::1/64\n"))
    plan = plan_host(DesiredHost(changed, (device,)), state(live(device), on_disk(files)))
    assert plan.networkd is not None and plan.networkd.reload
    assert plan.networkd.reconfigure == ("wg0",)


def test_root_mode_plans_files_only():
    device = hub([peer("oslo", "10.99.0.2/32")])
    desired = DesiredHost(rendered(device), (device,), (("net.ipv4.ip_forward", "1"),), "table inet netdwg {}\n")
    plan = plan_host(desired, state(None, is_live=False))
    assert {c.action for c in plan.files} == {"create"}
    assert plan.networkd is None and plan.sysctls == () and plan.firewall is None and plan.peers == ()


def test_sysctl_and_firewall_changes_follow_the_live_values():
    desired = DesiredHost((), (), (("net.ipv4.ip_forward", "1"), ("net.ipv4.conf.all.send_redirects", "0")),
                          "table inet netdwg {}\n")
    observed = state(None, sysctls=(("net.ipv4.ip_forward", "0"), ("net.ipv4.conf.all.send_redirects", "0")),
                     firewall_present=False)
    plan = plan_host(desired, observed)
    assert [(s.key, s.old, s.new) for s in plan.sysctls] == [("net.ipv4.ip_forward", "0", "1")]
    assert plan.firewall is not None and plan.firewall.reason == "table not loaded"


HUB_SYSCTLS = (("net.ipv4.ip_forward", "1"), ("net.ipv4.conf.wg0.send_redirects", "0"))


def test_a_dash_sysctl_of_a_device_wg_quick_has_not_created_yet_is_a_note_not_a_step():
    # The drop-in says "-net.ipv4.conf.wg0.send_redirects = 0": systemd-sysctl ignores its failure.
    # Before `wg-quick up` the key does not exist; a step would fail and roll the whole apply back.
    desired = DesiredHost((), (hub([]),), HUB_SYSCTLS, backend="wg-quick",
                          optional_sysctls=frozenset({"net.ipv4.conf.wg0.send_redirects"}))
    plan = plan_host(desired, state(None, sysctls=(("net.ipv4.ip_forward", "0"),)))
    assert [s.key for s in plan.sysctls] == ["net.ipv4.ip_forward"]
    assert any("net.ipv4.conf.wg0.send_redirects skipped" in n and "wg-quick up" in n for n in plan.notes)
    after_up = state(None, sysctls=(("net.ipv4.ip_forward", "1"), ("net.ipv4.conf.wg0.send_redirects", "0")))
    assert plan_host(desired, after_up).is_empty


def test_a_per_interface_sysctl_is_set_after_the_step_that_creates_the_device():
    device = hub([peer("oslo", "10.99.0.2/32")])
    desired = DesiredHost(rendered(device), (device,), HUB_SYSCTLS,
                          optional_sysctls=frozenset({"net.ipv4.conf.wg0.send_redirects"}))
    plan = plan_host(desired, state(None, sysctls=(("net.ipv4.ip_forward", "0"),)))
    forward, per_device = plan.sysctls
    assert per_device.interface == "wg0" and per_device.ignore_failure and forward.interface is None
    steps = plan.steps()
    assert steps.index(forward) < steps.index(plan.networkd) < steps.index(per_device)
    assert "failure ignored" in per_device.describe()


def test_a_sysctl_without_dash_is_still_a_step_when_it_cannot_be_read():
    desired = DesiredHost((), (hub([]),), HUB_SYSCTLS, backend="wg-quick")
    plan = plan_host(desired, state(None, sysctls=()))
    assert [(s.key, s.ignore_failure) for s in plan.sysctls] == [("net.ipv4.ip_forward", False),
                                                                 ("net.ipv4.conf.wg0.send_redirects", False)]


def test_the_dash_prefix_is_read_from_the_drop_in():
    from netdwg.apply.desired import desired_from_files

    text = "# why\nnet.ipv4.ip_forward = 1\n-net.ipv4.conf.wg0.send_redirects = 0\n"
    desired = desired_from_files((RenderedFile(PurePosixPath("/etc/sysctl.d/60-netdwg.conf"), text),))
    assert desired.sysctls == HUB_SYSCTLS
    assert desired.optional_sysctls == {"net.ipv4.conf.wg0.send_redirects"}


def test_a_route_deleted_behind_networkds_back_is_repaired_by_reconfiguring_its_link():
    device = hub([peer("oslo", "10.99.0.2/32")])
    files = rendered(device)
    lan = ipaddress.ip_network("172.20.10.0/24")
    desired = DesiredHost(files, (device,), routes=(("wg0", lan),))
    intact = state(live(device), on_disk(files), [f.path for f in files], routes=(("wg0", lan),))
    assert plan_host(desired, intact).is_empty
    broken = dataclasses.replace(intact, routes=())
    plan = plan_host(desired, broken)
    assert plan.networkd is not None and not plan.networkd.reload and plan.networkd.reconfigure == ("wg0",)
    assert plan.networkd.describe() == "networkd: ReconfigureLink wg0"
    assert any("172.20.10.0/24" in n for n in plan.notes)


def test_a_run_killed_before_networkd_was_told_makes_the_next_plan_tell_it():
    device = hub([peer("oslo", "10.99.0.2/32")])
    files = rendered(device)
    done = state(live(device), on_disk(files), [f.path for f in files])
    assert plan_host(DesiredHost(files, (device,)), done).is_empty
    interrupted = dataclasses.replace(done, pending=(("networkd", "wg0"),))
    plan = plan_host(DesiredHost(files, (device,)), interrupted)
    assert plan.files == () and plan.networkd.reload and plan.networkd.reconfigure == ("wg0",)
