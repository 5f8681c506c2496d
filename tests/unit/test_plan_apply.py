"""The apply transaction without root: real files under tmp_path, an in-memory WireGuard
device and networkd (the real ones are exercised in tests/integration/test_apply_*)."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path, PurePosixPath

import pytest

from netdwg.apply.execute import apply_plan
from netdwg.apply.observe import Ports, observe
from netdwg.errors import ApplyError, ExternalError
from netdwg.host.files import RootFiles
from netdwg.keys import genkey
from netdwg.plan import DesiredHost, plan_host
from netdwg.rendered import RenderedFile
from netdwg.wireguard import LiveDevice, PeerStatus, WgDevice, WgPeer


class MemoryWg:
    """A WireGuard device in memory with the kernel's semantics; can fail on the n-th change."""

    backend = "memory"

    def __init__(self, device: WgDevice, fail_on: int | None = None) -> None:
        self.ifname = device.name
        self.device = device
        self.fail_on = fail_on
        self.calls = 0

    def read(self) -> LiveDevice:
        return LiveDevice(self.device, tuple(PeerStatus(p.public_key) for p in self.device.peers), self.backend)

    def set_device(self, change) -> None:
        self.device = dataclasses.replace(self.device, private_key=change.private_key or self.device.private_key)

    def apply_peer(self, change) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise ExternalError("device went away")
        peers = {p.public_key: p for p in self.device.peers}
        if change.action == "remove":
            peers.pop(change.peer.public_key)
        elif change.action == "add":
            peers[change.peer.public_key] = change.peer
        else:
            peers[change.peer.public_key] = dataclasses.replace(
                peers[change.peer.public_key], **{f: getattr(change.peer, f) for f in change.fields})
        self.device = dataclasses.replace(self.device, peers=tuple(peers.values()))


class MemoryNetworkd:
    def __init__(self, state: str = "configured", version: int | None = 252) -> None:
        self.state = state
        self.release = version
        self.calls: list[str] = []

    def version(self) -> int | None:
        return self.release

    def check_running(self) -> None:
        self.calls.append("ping")

    def reload(self) -> None:
        self.calls.append("reload")

    def reconfigure(self, ifname: str) -> None:
        self.calls.append(f"reconfigure {ifname}")

    def link_state(self, ifname):
        return self.state, "routable"

    def wait_configured(self, ifnames, timeout) -> None:
        if self.state != "configured":
            state, self.state = self.state, "configured"  # the old files configure fine again
            raise ApplyError(f"networkd did not configure {ifnames[0]}: {state}")


def peer(ip: str) -> WgPeer:
    return WgPeer(genkey().public_key(), (ipaddress.ip_network(ip),))


def files_for(device: WgDevice, address: str) -> tuple[RenderedFile, ...]:
    netdev = "[NetDev]\nName=wg0\nKind=wireguard\n" + "".join(
        f"\n[WireGuardPeer]\nPublicKey={p.public_key}\nAllowedIPs={p.allowed_ips[0]}\n" for p in device.peers)
    return (RenderedFile(PurePosixPath("/etc/systemd/network/50-wg0.netdev"), netdev, 0o640),
            RenderedFile(PurePosixPath("/etc/systemd/network/50-wg0.network"),
                         f"[Match]\nName=wg0\n\n[Network]\nAddress={address}\n"))


def desired_host(device: WgDevice, address: str) -> DesiredHost:
    """What desired_from_files gives for files_for(device, address): the device, and which .netdev holds it."""
    files = files_for(device, address)
    return DesiredHost(files, (device,), wireguard_netdevs=((files[0].path, device.name),))


def run(tmp_path: Path, wg: MemoryWg, networkd: MemoryNetworkd, desired_device: WgDevice, address: str):
    ports = Ports(RootFiles(tmp_path), live=True, open_wg=lambda name: wg, networkd=networkd)
    desired = desired_host(desired_device, address)
    observed = observe(desired, ports)
    plan = plan_host(desired, observed)
    said: list[str] = []
    apply_plan(plan, ports, desired, observed, said.append)
    return said


def test_a_failing_networkd_rolls_back_files_and_peers_in_reverse_order(tmp_path):
    old = WgDevice("wg0", None, None, 0, (peer("10.0.0.2/32"), peer("10.0.0.3/32")))
    wg, networkd = MemoryWg(old), MemoryNetworkd()
    run(tmp_path, wg, networkd, old, "10.0.0.1/24")
    before = {p: (tmp_path / p).read_text() for p in ("etc/systemd/network/50-wg0.netdev", "etc/systemd/network/50-wg0.network")}
    new = dataclasses.replace(old, peers=old.peers[:1] + (peer("10.0.0.4/32"),))
    networkd.state = "failed"
    with pytest.raises(ApplyError) as err:
        run(tmp_path, wg, networkd, new, "10.0.0.1/16")
    assert "everything applied was rolled back" in str(err.value)
    assert {p: (tmp_path / p).read_text() for p in before} == before
    assert wg.device.peers == old.peers or set(wg.device.peers) == set(old.peers)
    assert networkd.calls[-2:] == ["reload", "reconfigure wg0"]  # networkd told about the old files again


def test_a_device_failing_mid_way_is_synced_back_to_what_it_was(tmp_path):
    old = WgDevice("wg0", None, None, 0, tuple(peer(f"10.0.0.{i}/32") for i in range(2, 6)))
    wg = MemoryWg(old)
    run(tmp_path, wg, MemoryNetworkd(), old, "10.0.0.1/24")
    new = dataclasses.replace(old, peers=old.peers[2:] + tuple(peer(f"10.0.1.{i}/32") for i in range(3)))
    wg.fail_on, wg.calls = 4, 0  # two removes and one add succeed, the fourth change fails
    with pytest.raises(ApplyError) as err:
        run(tmp_path, wg, MemoryNetworkd(), new, "10.0.0.1/24")
    assert "device went away" in str(err.value)
    assert set(wg.device.peers) == set(old.peers)


def test_every_step_is_announced_before_it_runs(tmp_path):
    device = WgDevice("wg0", None, None, 0, (peer("10.0.0.2/32"),))
    said = run(tmp_path, MemoryWg(dataclasses.replace(device, peers=())), MemoryNetworkd(), device, "10.0.0.1/24")
    assert said[:2] == ["create /etc/systemd/network/50-wg0.netdev (0640 root:root)",
                        "create /etc/systemd/network/50-wg0.network (0644 root:root)"]
    assert any(s.startswith("wg0: add peer") for s in said)
    assert said[-2:] == ["networkd: Reload, ReconfigureLink wg0", "waiting for networkd to configure wg0"]


def test_live_steps_are_promised_before_files_change_and_cleared_after(tmp_path):
    device = WgDevice("wg0", None, None, 0, (peer("10.0.0.2/32"),))
    wg, networkd = MemoryWg(device), MemoryNetworkd()
    files = RootFiles(tmp_path)
    seen = []
    real_reload = networkd.reload
    networkd.reload = lambda: (seen.append(files.pending()), real_reload())
    run(tmp_path, wg, networkd, device, "10.0.0.1/24")
    assert seen == [(("networkd", "wg0"),)]  # on disk while networkd was being told
    assert files.pending() == ()  # and gone once it was


def test_a_dash_sysctl_that_fails_after_networkd_is_announced_and_ignored(tmp_path):
    # networkd creates a kernel device on Reload; the per-interface key is tried after it. When the
    # device still does not exist, the drop-in's "-" says what systemd-sysctl does: ignore it.
    from netdwg.host.sysctl_live import ProcSysctls

    proc = tmp_path / "proc"
    (proc / "net/ipv4").mkdir(parents=True)
    (proc / "net/ipv4/ip_forward").write_text("0\n")
    device = WgDevice("wg0", None, None, 0, (peer("10.0.0.2/32"),))
    ports = Ports(RootFiles(tmp_path / "root"), live=True, open_wg=lambda name: MemoryWg(device),
                  networkd=MemoryNetworkd(), sysctls=ProcSysctls(proc))
    desired = DesiredHost(files_for(device, "10.0.0.1/24"), (device,),
                          (("net.ipv4.ip_forward", "1"), ("net.ipv4.conf.wg0.send_redirects", "0")),
                          optional_sysctls=frozenset({"net.ipv4.conf.wg0.send_redirects"}))
    observed = observe(desired, ports)
    said: list[str] = []
    apply_plan(plan_host(desired, observed), ports, desired, observed, said.append)
    assert (proc / "net/ipv4/ip_forward").read_text() == "1\n"
    ignored = next(i for i, s in enumerate(said) if "send_redirects not set" in s)
    assert "ignored, as its '-' prefix says" in said[ignored]
    assert ignored > said.index("networkd: Reload, ReconfigureLink wg0")
    assert not any(s.startswith("rollback") for s in said)
