"""plan/apply on a NetworkManager host, without root's NetworkManager: real files under tmp_path and an
in-memory NetworkManager with the semantics its D-Bus API documents (LoadConnections re-reads files and
refuses a profile others may read; Reapply applies the stored profile to the active device; in reapply
mode nm-device-wireguard.c replaces every peer only when one was removed). Activating a WireGuard profile
needs the kernel module, which the test machines lack, so the active path is proven here; the loading
path also runs against the real NetworkManager (tests/integration/test_networkmanager_profile.py)."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from pathlib import Path

import pytest

from netdwg.apply.desired import desired_from_files
from netdwg.apply.execute import apply_plan
from netdwg.apply.observe import Ports, observe
from netdwg.errors import ApplyError, ExternalError
from netdwg.host.files import RootFiles
from netdwg.keyfiles import load_nm_wireguard
from netdwg.keys import genkey
from netdwg.plan import plan_host
from netdwg.render import render_host
from netdwg.topology.compile import compile_topology
from netdwg.wireguard import Endpoint, WgPeer
from golden_support import load_scenario

IFACE = "wg-fjord"
PROFILE = "etc/NetworkManager/system-connections/wg-fjord.nmconnection"


class MemoryNetworkManager:
    def __init__(self, root: Path, running: bool = True) -> None:
        self.root = root
        self.running = running
        self.stored: dict[str, object] = {}  # uuid -> profile
        self.path_of: dict[str, str] = {}  # uuid -> the file it was loaded from
        self.active: dict[str, str] = {}  # interface -> uuid
        self.applied: dict[str, object] = {}  # interface -> profile
        self.sessions: dict[str, dict] = {}  # interface -> {public key: session number}
        self.calls: list[str] = []
        self.refuse: set[str] = set()
        self.counter = 0

    def version(self) -> str:
        if not self.running:
            raise ExternalError("NetworkManager is not running (nothing owns org.freedesktop.NetworkManager)")
        return "1.42.4"

    def load_connections(self, filenames: list[str]) -> list[str]:
        self.calls.append("load " + " ".join(filenames))
        failed = []
        for name in filenames:
            path = self.root / name.lstrip("/")
            if not path.exists():  # a removed file unloads its profile
                self.stored = {u: p for u, p in self.stored.items() if self.path_of.get(u) != name}
                continue
            if path.stat().st_mode & 0o077 or name in self.refuse:  # "File permissions (100644) are insecure"
                failed.append(name)
                continue
            profile = load_nm_wireguard(path.read_text(), name)
            self.stored[profile.uuid] = profile
            self.path_of[profile.uuid] = name
        return failed

    def is_active(self, interface: str, uuid: str) -> bool:
        return self.active.get(interface) == uuid

    def held_profile(self, uuid: str, secrets: bool):
        if uuid not in self.stored:
            return None
        return self.path_of[uuid], self.stored[uuid]

    def activate(self, interface: str, uuid: str) -> None:
        self.active[interface] = uuid
        self.applied[interface] = self.stored[uuid]
        self.sessions[interface] = {p.public_key: self._session() for p in self.stored[uuid].device.peers}

    def _session(self) -> int:
        self.counter += 1
        return self.counter

    def reapply(self, interface: str, version_id: int | None = None) -> None:
        self.calls.append(f"reapply {interface}")
        old, new = self.applied[interface], self.stored[self.active[interface]]
        kept = {p.public_key for p in new.device.peers}
        replace_peers = any(p.public_key not in kept for p in old.device.peers)
        before = self.sessions[interface]
        self.sessions[interface] = {p.public_key: before[p.public_key] if p.public_key in before and not replace_peers
                                    else self._session() for p in new.device.peers}
        self.applied[interface] = new


def files_of(host: str = "ana", change=None):
    topology, secrets = load_scenario("networkmanager")
    config = compile_topology(topology, secrets)[host]
    if change is not None:
        config = change(config)
    return render_host(config)


def apply_files(tmp_path: Path, nm: MemoryNetworkManager, files) -> tuple[list[str], object]:
    ports = Ports(RootFiles(tmp_path), live=True, networkmanager=nm, open_wg=lambda name: pytest.fail("no wg"),
                  sysctls=None)
    desired = desired_from_files(tuple(files))
    observed = observe(desired, ports)
    plan = plan_host(desired, observed)
    said: list[str] = []
    apply_plan(plan, ports, desired, observed, said.append)
    return said, plan


def with_peers(config, peers):
    iface = config.interfaces[0]
    iface = dataclasses.replace(iface, device=dataclasses.replace(iface.device, peers=tuple(peers)))
    return dataclasses.replace(config, interfaces=(iface,))


def with_endpoint(config, endpoint):
    return with_peers(config, [dataclasses.replace(config.interfaces[0].device.peers[0],
                                                   endpoint=Endpoint.parse(endpoint))] + OTHERS)


OTHERS = [WgPeer(genkey().public_key(), (ipaddress.ip_network("10.70.0.50/32"),), name="extra")]


def test_first_apply_writes_the_profile_0600_and_has_networkmanager_load_it(tmp_path):
    nm = MemoryNetworkManager(tmp_path)
    said, plan = apply_files(tmp_path, nm, files_of())
    assert oct(os.stat(tmp_path / PROFILE).st_mode & 0o777) == "0o600"
    assert nm.calls == [f"load /{PROFILE}"]
    assert said[-1] == f"NetworkManager: LoadConnections /{PROFILE}"
    assert any("not active" in note for note in plan.notes)
    assert apply_files(tmp_path, nm, files_of())[1].is_empty  # a second run has nothing to do


def active_with_two_peers(tmp_path) -> MemoryNetworkManager:
    nm = MemoryNetworkManager(tmp_path)
    apply_files(tmp_path, nm, files_of(change=lambda c: with_peers(c, list(c.interfaces[0].device.peers) + OTHERS)))
    (uuid,) = nm.stored
    nm.activate(IFACE, uuid)
    return nm


def test_a_changed_peer_on_an_active_connection_is_reapplied_and_the_other_keeps_its_session(tmp_path):
    nm = active_with_two_peers(tmp_path)
    other = nm.sessions[IFACE][OTHERS[0].public_key]
    said, plan = apply_files(tmp_path, nm, files_of(change=lambda c: with_endpoint(c, "198.51.100.71:51820")))
    assert nm.calls[-2:] == [f"load /{PROFILE}", f"reapply {IFACE}"]
    assert said[-1].endswith(f"Reapply on {IFACE} (active)")
    assert str(nm.applied[IFACE].device.peers[0].endpoint) == "198.51.100.71:51820"
    assert "198.51.100.71:51820" in (tmp_path / PROFILE).read_text()  # the stored profile changed too
    assert nm.sessions[IFACE][OTHERS[0].public_key] == other
    assert not [n for n in plan.notes if "replaces every peer" in n]


def test_a_removed_peer_is_said_to_reset_every_session(tmp_path):
    nm = active_with_two_peers(tmp_path)
    hub = nm.applied[IFACE].device.peers[0]
    before = nm.sessions[IFACE][hub.public_key]
    said, plan = apply_files(tmp_path, nm, files_of(change=lambda c: with_peers(c, c.interfaces[0].device.peers)))
    assert any("replaces every peer" in note for note in plan.notes)
    assert [p.public_key for p in nm.applied[IFACE].device.peers] == [hub.public_key]
    assert nm.sessions[IFACE][hub.public_key] != before  # what the note warns about


def test_a_profile_networkmanager_refuses_rolls_everything_back(tmp_path):
    nm = MemoryNetworkManager(tmp_path)
    apply_files(tmp_path, nm, files_of())
    (uuid,) = nm.stored
    nm.activate(IFACE, uuid)
    before = (tmp_path / PROFILE).read_text()
    nm.refuse.add(f"/{PROFILE}")
    with pytest.raises(ApplyError) as err:
        apply_files(tmp_path, nm, files_of(change=lambda c: with_endpoint(c, "198.51.100.72:51820")))
    assert "NetworkManager did not load" in str(err.value) and "everything applied was rolled back" in str(err.value)
    assert (tmp_path / PROFILE).read_text() == before
    nm.refuse.clear()
    assert nm.calls[-1] == f"load /{PROFILE}"  # told about the old profile again


def test_a_profile_networkmanager_holds_otherwise_than_its_file_is_loaded_again(tmp_path):
    """The file is as rendered, NetworkManager's copy is not (loaded from an edited file since put back):
    plan says so and apply has it re-read the file (and reapplied, the connection being active)."""
    nm = MemoryNetworkManager(tmp_path)
    apply_files(tmp_path, nm, files_of())
    (uuid,) = nm.stored
    nm.stored[uuid] = dataclasses.replace(nm.stored[uuid], mtu=1420)
    nm.activate(IFACE, uuid)
    nm.calls.clear()
    said, plan = apply_files(tmp_path, nm, files_of())
    assert not plan.files and plan.networkmanager.paths == (Path(f"/{PROFILE}"),)
    assert plan.networkmanager.reapply == (IFACE,)
    assert any("NetworkManager holds" in note and "otherwise than the file" in note for note in plan.notes)
    assert nm.calls == [f"load /{PROFILE}", f"reapply {IFACE}"]
    assert nm.stored[uuid].mtu == 1380
    assert apply_files(tmp_path, nm, files_of())[1].is_empty
    nm.stored.clear()  # unloaded behind netdwg's back (the file still there): loaded again
    assert apply_files(tmp_path, nm, files_of())[1].networkmanager.paths == (Path(f"/{PROFILE}"),)
    assert uuid in nm.stored


def test_networkmanager_not_running_fails_before_any_change(tmp_path):
    nm = MemoryNetworkManager(tmp_path, running=False)
    with pytest.raises(ApplyError) as err:
        apply_files(tmp_path, nm, files_of())
    assert "NetworkManager is not running" in str(err.value)
    assert not (tmp_path / PROFILE).exists()


class MemorySysctls:
    def __init__(self) -> None:
        self.values = {"net.ipv4.ip_forward": "0", "net.ipv6.conf.all.forwarding": "0"}

    def read(self, key: str) -> str | None:
        return self.values.get(key)

    def write(self, key: str, value: str) -> None:
        self.values[key] = value


def test_a_site_on_networkmanager_gets_its_sysctls_set_live_too(tmp_path):
    """NetworkManager owns the devices, not the rest of the host: forwarding is read and set as on any backend."""
    nm, sysctls = MemoryNetworkManager(tmp_path), MemorySysctls()
    ports = Ports(RootFiles(tmp_path), live=True, networkmanager=nm, sysctls=sysctls,
                  open_wg=lambda name: pytest.fail("no wg"))
    files = [f for f in files_of("depot") if f.path.suffix != ".nft"]  # no nft here
    desired = desired_from_files(tuple(files))
    plan = plan_host(desired, observe(desired, ports))
    apply_plan(plan, ports, desired, observe(desired, ports), lambda line: None)
    assert sysctls.values == {"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"}
    assert nm.calls == ["load /etc/NetworkManager/system-connections/wg-fjord.nmconnection"]
