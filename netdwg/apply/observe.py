"""Gather a HostState through the ports: the only place apply reads the host."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from netdwg.apply.desired import desired_from_files
from netdwg.errors import NetdwgError
from netdwg.host.detect import open_wg_link
from netdwg.host.files import RootFiles
from netdwg.host.ports import Firewall, Networkd, NetworkManager, Sysctls, WgLink
from netdwg.plan.diff import NETWORKD_DIRS
from netdwg.plan.model import DesiredHost, HostState, NmHeld
from netdwg.plan.networkmanager import desired_profiles
from netdwg.rendered import RenderedFile
from netdwg.unitfile.effective import locate_unit


@dataclass
class Ports:
    """The adapters one apply run uses. `live` False (--root DIR): files only."""

    files: RootFiles
    live: bool = False
    open_wg: Callable[[str], WgLink | None] = open_wg_link
    networkd: Networkd | None = None
    firewall: Firewall | None = None
    sysctls: Sysctls | None = None
    netplan_generate: Callable[[], None] | None = None
    routes: Callable[[str], tuple] | None = None  # interface -> its live routes (host.routes.read_routes)
    networkmanager: NetworkManager | None = None  # NetworkManager hosts (backend = networkmanager)
    wait_timeout: float = 30.0
    links: dict[str, WgLink | None] = field(default_factory=dict)

    def wg(self, ifname: str) -> WgLink | None:
        if ifname not in self.links:
            self.links[ifname] = self.open_wg(ifname) if self.live else None
        return self.links[ifname]


def live_ports(root: Path = Path("/"), state_dir: Path | None = None) -> Ports:
    from netdwg.host.networkd import NetworkdBus
    from netdwg.host.networkmanager import NetworkManagerBus
    from netdwg.host.nft import NftFirewall
    from netdwg.host.routes import read_routes
    from netdwg.host.sysctl_live import ProcSysctls

    return Ports(RootFiles(root, state_dir), True, networkd=NetworkdBus(), firewall=NftFirewall(),
                 sysctls=ProcSysctls(), netplan_generate=run_netplan_generate, routes=read_routes,
                 networkmanager=NetworkManagerBus())


def run_netplan_generate() -> None:
    from netdwg.host.netplan_gen import netplan_generate

    netplan_generate()


def observe(desired: DesiredHost, ports: Ports) -> HostState:
    files = ports.files
    managed = files.managed()
    paths = {f.path for f in desired.files} | set(managed)
    states = tuple(s for p in sorted(paths, key=str) if (s := files.read(p)) is not None)
    devices = []
    sysctls = None
    firewall_present = None
    routes = None
    nm_active = nm_held = None
    if ports.live:
        if desired.backend == "networkmanager":
            profiles = desired_profiles(desired) if ports.networkmanager is not None else ()
            nm_active = _nm_active(profiles, ports)  # NetworkManager owns the devices: netdwg does not read them
            nm_held = _nm_held(profiles, ports)
        for device in () if desired.backend == "networkmanager" else desired.devices:
            link = ports.wg(device.name)
            if link is not None:
                devices.append(link.read())
        if ports.sysctls is not None:
            sysctls = tuple((k, v) for k, _ in desired.sysctls if (v := ports.sysctls.read(k)) is not None)
        if ports.firewall is not None and desired.firewall is not None:
            firewall_present = ports.firewall.present()
        if desired.routes and ports.routes is not None:
            routes = tuple((name, r.destination) for name in sorted({n for n, _ in desired.routes})
                           for r in ports.routes(name))
    # Names of peers about to be removed come from the installed files; parse them only then.
    wanted = {p.public_key for d in desired.devices for p in d.peers}
    removing = any(p.public_key not in wanted for d in devices for p in d.device.peers)
    return HostState(states, managed, tuple(devices), sysctls, firewall_present, time.time(), ports.live,
                     installed_peer_names(states, files) if removing else (), routes,
                     files.pending() if ports.live else (), unit_overrides(desired, files.root),
                     _networkd_version(desired, states, ports), nm_active, nm_held)


def _nm_active(profiles: tuple, ports: Ports) -> tuple[str, ...] | None:
    """The interfaces on which NetworkManager has netdwg's connection (by its uuid) activated."""
    if ports.networkmanager is None:
        return None
    return tuple(p.interface_name for _, p in profiles
                 if p.uuid and ports.networkmanager.is_active(p.interface_name, p.uuid))


def _nm_held(profiles: tuple, ports: Ports) -> tuple[NmHeld, ...] | None:
    """What NetworkManager holds for each desired profile; its secrets only as root (GetSecrets needs it
    under NetworkManager's default polkit policy)."""
    if ports.networkmanager is None:
        return None
    secrets = os.geteuid() == 0
    out = []
    for path, profile in profiles:
        uuid = profile.uuid
        held = ports.networkmanager.held_profile(uuid, secrets) if uuid else None
        out.append(NmHeld(path, uuid or "", held is not None, held[0] if held else "", held[1] if held else None,
                          secrets))
    return tuple(out)


def _networkd_version(desired: DesiredHost, states: tuple, ports: Ports) -> int | None:
    """The running networkd's release, asked only when a .netdev changes (the one case where plan's
    networkd steps depend on it: netdwg.networkd_versions); an apply of peers alone stays fast."""
    if not ports.live or ports.networkd is None:
        return None
    installed = {s.path: s.text for s in states}
    if not any(f.path.suffix == ".netdev" and installed.get(f.path) != f.text for f in desired.files):
        return None
    return ports.networkd.version()


def unit_overrides(desired: DesiredHost, root: Path) -> tuple:
    """Drop-ins, masks and same-named files that change what networkd reads for a desired unit.

    netdwg writes no drop-ins; one an admin (or another tool) put beside its file
    is merged over it by networkd, and apply would not know: say so.
    """
    out = []
    for f in desired.files:
        if f.path.suffix not in (".netdev", ".network") or f.path.parent not in NETWORKD_DIRS:
            continue
        location = locate_unit(f.path.name, root)
        if location.masked:
            out.append((f.path, PurePosixPath("/dev/null"), "masked"))
        elif location.main is not None and location.main != f.path:
            out.append((f.path, location.main, "shadowed"))
        out.extend((f.path, dropin, "drop-in") for dropin in location.dropins)
    return tuple(out)


def installed_peer_names(states, files: RootFiles):
    """Peer names from the files installed now, so a removed peer is announced by name."""
    def read_secret(path, span):
        state = files.read(path)
        if state is None:
            raise NetdwgError(f"{path} missing")
        return state.text

    try:
        installed = desired_from_files(tuple(RenderedFile(s.path, s.text) for s in states), read_secret)
    except (NetdwgError, OSError, ValueError):
        return ()
    return tuple((p.public_key, p.name) for d in installed.devices for p in d.peers if p.name)
