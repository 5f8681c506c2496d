"""plan_host(desired, observed) -> Plan: the pure heart of `netdwg plan` and `apply`.

WireGuard peers follow `wg syncconf`: only what differs is sent, peers are
never replaced wholesale (REPLACE_PEERS would drop every session), and an
endpoint the topology leaves unset is never touched, because on a hub that is
where a roaming peer was last seen.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath

from netdwg.plan.model import (
    DesiredHost,
    DeviceChange,
    FileChange,
    FirewallChange,
    HostState,
    NetplanGenerate,
    PeerChange,
    Plan,
    RecordManaged,
    Reload,
    SysctlChange,
)
from netdwg.errors import ParseError
from netdwg.networkd_versions import has
from netdwg.plan.networkmanager import plan_networkmanager
from netdwg.plan.redact import secrets_of, unified_diff
from netdwg.sysctl import normalize_key
from netdwg.unitfile.effective import EffectiveUnit, effective_unit
from netdwg.unitfile.syntax import parse_unit
from netdwg.unitfile.views import match_view
from netdwg.wireguard import LiveDevice, WgDevice, WgPeer

NETWORKD_DIRS = (PurePosixPath("/etc/systemd/network"), PurePosixPath("/run/systemd/network"))
NETPLAN_DIR = PurePosixPath("/etc/netplan")
# A handshake younger than this means the session is alive (WireGuard's
# REJECT_AFTER_TIME is 180 s): the peer's live endpoint is where it really is.
RECENT_HANDSHAKE = 180.0


def plan_host(desired: DesiredHost, observed: HostState) -> Plan:
    # Every textual form of every key: only worth computing when some file differs.
    secrets = _Lazy(lambda: secrets_of([*desired.devices, *(d.device for d in observed.devices)]))
    files = diff_files(desired, observed, secrets)
    notes: list[str] = []

    device_changes: list[DeviceChange] = []
    peers: list[PeerChange] = []
    nm_host = desired.backend == "networkmanager"  # NetworkManager owns the devices: their profiles carry the peers
    for device in () if nm_host else desired.devices:
        live = observed.device(device.name)
        if live is not None:
            change, peer_changes, peer_notes = diff_device(device, live, observed.now, dict(observed.peer_names))
            if change is not None:
                device_changes.append(change)
            peers.extend(peer_changes)
            notes.extend(peer_notes)
        elif observed.live:
            notes.append(f"{device.name} does not exist yet: networkd creates it from the .netdev "
                         "(a userspace device must be started by its service first)")

    sysctls: tuple[SysctlChange, ...] = ()
    if observed.sysctls is not None:
        sysctls = plan_sysctls(desired, dict(observed.sysctls), notes)

    pending = {kind for kind, _ in observed.pending}
    firewall = None
    if desired.firewall is not None and observed.firewall_present is not None:
        if not observed.firewall_present:
            firewall = FirewallChange(desired.firewall, "table not loaded")
        elif any(str(f.path).endswith(".nft") for f in files):
            firewall = FirewallChange(desired.firewall, "rules changed")
        elif "firewall" in pending:
            firewall = FirewallChange(desired.firewall, "an interrupted apply may not have loaded it")

    netplan = None
    if observed.live and (any(_under(f.path, NETPLAN_DIR) for f in files if f.action != "chmod") or "netplan" in pending):
        netplan = NetplanGenerate()

    notes.extend(override_notes(observed.overrides))
    networkd = None
    if observed.live:
        networkd = plan_networkd(files, netplan is not None, desired, observed.devices)
        networkd = add_route_repairs(networkd, desired, observed, notes)
        networkd = add_pending_reload(networkd, observed.pending, notes)
        notes.extend(reapply_notes(networkd, files, desired, observed))

    networkmanager = plan_networkmanager(files, desired, observed, notes) if observed.live and nm_host else None
    wanted = tuple(f.path for f in desired.files)
    managed = RecordManaged(wanted) if set(wanted) != set(observed.managed) else None
    return Plan(files=files, netplan=netplan, sysctls=sysctls, firewall=firewall,
                devices=tuple(device_changes), peers=tuple(peers), networkd=networkd, managed=managed,
                notes=tuple(notes), networkmanager=networkmanager)


def plan_sysctls(desired: DesiredHost, live: dict[str, str], notes: list[str]) -> tuple[SysctlChange, ...]:
    """The live kernel settings to change, in the drop-in's order.

    A per-interface key (net.ipv4.conf.IF.*) of one of the host's WireGuard devices is set after
    the devices and networkd steps (networkd creates a kernel device on Reload). A "-" key that
    cannot be read (its device does not exist and nothing in this apply creates it: wg-quick
    creates it at `wg-quick up`) is skipped as systemd-sysctl skips it, with a note: a device
    created later takes net.ipv4.conf.default's value, and udev runs systemd-sysctl for it.
    """
    devices = {d.name for d in desired.devices}
    out = []
    for key, value in desired.sysctls:
        old = live.get(key)
        if old == value:
            continue
        optional = key in desired.optional_sysctls
        interface = _sysctl_interface(key)
        interface = interface if interface in devices else None
        if old is None and optional and (interface is None or desired.backend == "wg-quick"):
            notes.append(f"sysctl {key} skipped: it does not exist now"
                         + (f" ({interface} is created by wg-quick up)" if interface else "")
                         + "; the drop-in's '-' prefix says to ignore that, as systemd-sysctl does")
            continue
        out.append(SysctlChange(key, old, value, ignore_failure=optional, interface=interface))
    return tuple(out)


def _sysctl_interface(key: str) -> str | None:
    """IF of net/ipv4/conf/IF/... or net/ipv6/conf/IF/... (dotted or slashed spelling)."""
    parts = normalize_key(key).split("/")
    if len(parts) == 5 and parts[0] == "net" and parts[1] in ("ipv4", "ipv6") and parts[2] == "conf":
        return parts[3] if parts[3] not in ("all", "default") else None
    return None


class _Lazy:
    def __init__(self, compute) -> None:
        self._compute, self._value = compute, None

    def __call__(self) -> frozenset[bytes]:
        if self._value is None:
            self._value = self._compute()
        return self._value


def _under(path: PurePosixPath, directory: PurePosixPath) -> bool:
    return path.parent == directory or directory in path.parents


def diff_files(desired: DesiredHost, observed: HostState, secrets) -> tuple[FileChange, ...]:
    """File changes with redacted diffs; `secrets()` gives the known secret strings (called lazily)."""
    changes: list[FileChange] = []
    wanted = {f.path for f in desired.files}
    for new in desired.files:
        old = observed.file(new.path)
        if old is None:
            changes.append(FileChange(new.path, "create",
                                      unified_diff(str(new.path), None, new.text, secrets(), new.secret), new, None))
        elif old.text != new.text:
            diff = unified_diff(str(new.path), old.text, new.text, secrets(), new.secret)
            changes.append(FileChange(new.path, "update", diff, new, old))
        elif (old.mode, old.owner, old.group) != (new.mode, new.owner, new.group):
            changes.append(FileChange(new.path, "chmod", "", new, old))
    for path in observed.managed:
        old = observed.file(path)
        if path not in wanted and old is not None:
            changes.append(FileChange(path, "remove", unified_diff(str(path), old.text, None, secrets(), True), None, old))
    return tuple(changes)


def diff_device(desired: WgDevice, live: LiveDevice, now: float,
                names: dict | None = None) -> tuple[DeviceChange | None, tuple[PeerChange, ...], list[str]]:
    """`wg syncconf` semantics: the smallest set of changes turning live into desired."""
    have = live.device
    notes: list[str] = []
    key = desired.private_key if desired.private_key is not None and desired.private_key != have.private_key else None
    port = desired.listen_port if desired.listen_port is not None and desired.listen_port != have.listen_port else None
    fwmark = desired.fwmark if desired.fwmark != have.fwmark else None
    device_change = None
    if key is not None or port is not None or fwmark is not None:
        device_change = DeviceChange(desired.name, key, port, fwmark, have)

    handshakes = {s.public_key: s.latest_handshake for s in live.status}
    wanted = {p.public_key: p for p in desired.peers}
    removes, updates, adds = [], [], []
    for old in have.peers:
        if old.public_key not in wanted:
            named = replace(old, name=(names or {}).get(old.public_key, old.name))
            removes.append(PeerChange(desired.name, "remove", named, (), named))
    live_peers = {p.public_key: p for p in have.peers}
    for peer in desired.peers:
        old = live_peers.get(peer.public_key)
        if old is None:
            adds.append(PeerChange(desired.name, "add", peer))
            continue
        fields = peer_fields_differing(peer, old)
        if "endpoint" in fields and peer.endpoint is not None and peer.endpoint.address is None:
            # A DNS name: the live endpoint is its resolved address. `netdwg resolve` and netdwg-guard
            # re-resolve names; re-setting it here would only move a working session.
            fields = tuple(f for f in fields if f != "endpoint")
            if now - handshakes.get(peer.public_key, 0.0) > RECENT_HANDSHAKE:
                notes.append(f"peer {peer.name or peer.public_key.short()}: endpoint {peer.endpoint} "
                             "is a name; netdwg resolve (netdwg-resolve.service) follows it")
        if fields:
            updates.append(PeerChange(desired.name, "update", peer, fields, old))
    return device_change, tuple(removes + updates + adds), notes


def peer_fields_differing(want: WgPeer, have: WgPeer) -> tuple[str, ...]:
    fields = []
    if set(want.allowed_ips) != set(have.allowed_ips):
        fields.append("allowed_ips")
    if _psk(want) != _psk(have):
        fields.append("preshared_key")
    # Unset desired endpoint: leave the live one alone (a roaming peer's last
    # known address; WireGuard cannot unset an endpoint anyway).
    if want.endpoint is not None and want.endpoint != have.endpoint:
        fields.append("endpoint")
    if want.persistent_keepalive != have.persistent_keepalive:
        fields.append("persistent_keepalive")
    return tuple(fields)


def _psk(peer: WgPeer):
    """A PSK of 32 zero bytes is WireGuard's "no PSK" (the device reports none): the same as unset."""
    psk = peer.preshared_key
    return None if psk is None or psk.raw == bytes(32) else psk


def plan_networkd(files: tuple[FileChange, ...], netplan: bool, desired: DesiredHost,
                  live: tuple[LiveDevice, ...]) -> Reload | None:
    """Which networkd calls the file changes need.

    A changed WireGuard .netdev of a device that already exists needs no
    Reload: its peers are synced live above. networkd < 257 would ignore the
    change anyway, and >= 257 re-applies the netdev and drops every session
    (netdwg.networkd_versions: reload_reapplies_changed_wireguard_netdev).
    """
    reload = netplan
    reconfigure: list[str] = []
    devices = desired.devices
    synced = {change.path for change, _name in _live_wireguard_netdevs(files, desired, live)}
    for change in files:
        if change.action == "chmod" or not any(_under(change.path, d) for d in NETWORKD_DIRS):
            continue
        text = change.new.text if change.new else change.old.text if change.old else ""
        suffix = change.path.suffix
        if suffix == ".netdev":
            if change.path in synced:
                continue
            reload = True
        elif suffix == ".network":
            reload = True
            unit = _read_unit(text, change.path)
            names = match_view(unit).names if unit is not None else ()
            if len(names) == 1 and names[0] not in reconfigure and not any(c in names[0] for c in "*?["):
                reconfigure.append(names[0])
        else:
            reload = True
    if netplan:
        reconfigure.extend(d.name for d in devices if d.name not in reconfigure)
    if not reload:
        return None
    return Reload(True, tuple(reconfigure), tuple(reconfigure))


def _live_wireguard_netdevs(files: tuple[FileChange, ...], desired: DesiredHost,
                            live: tuple[LiveDevice, ...]) -> list[tuple[FileChange, str]]:
    """Changed .netdev files of WireGuard devices that exist and stay: their peers are synced live.

    Which device a desired .netdev describes is known from reading it (DesiredHost.wireguard_netdevs):
    a 5,000-peer .netdev is not parsed again here."""
    wireguard = dict(desired.wireguard_netdevs)
    existing = {d.device.name for d in live} & {d.name for d in desired.devices}
    out = []
    for change in files:
        if change.action == "chmod" or change.new is None or change.path.suffix != ".netdev" \
                or not any(_under(change.path, d) for d in NETWORKD_DIRS):
            continue
        name = wireguard.get(change.path)
        if name is not None and name in existing:
            out.append((change, name))
    return out


def reapply_notes(networkd: Reload | None, files: tuple[FileChange, ...], desired: DesiredHost,
                  observed: HostState) -> list[str]:
    """networkd 257+ re-applies a changed WireGuard .netdev on the next Reload, this apply's (planned
    for another file) or a later one: every peer is replaced and the sessions drop
    (netdwg.networkd_versions: reload_reapplies_changed_wireguard_netdev, systemd issue #38196)."""
    if not has("reload_reapplies_changed_wireguard_netdev", observed.networkd_version):
        return []
    now = networkd is not None and networkd.reload
    return [f"networkd {observed.networkd_version} re-applies the changed {change.path} on "
            + ("this Reload" if now else "its next Reload (apply syncs the peers live and does not Reload)")
            + f": every peer of {name} is then replaced and its sessions drop (systemd issue #38196)"
            for change, name in _live_wireguard_netdevs(files, desired, observed.devices)]


def add_pending_reload(networkd: Reload | None, pending: tuple[tuple[str, str], ...], notes: list[str]) -> Reload | None:
    """An apply killed between writing files and telling networkd: tell it now."""
    links = tuple(name for kind, name in pending if kind == "networkd" and name)
    if not any(kind == "networkd" for kind, _ in pending):
        return networkd
    notes.append("an earlier apply was interrupted before networkd was told: Reload again")
    if networkd is None:
        return Reload(True, links, links)
    extra = tuple(n for n in links if n not in networkd.reconfigure)
    return Reload(True, networkd.reconfigure + extra, networkd.wait_for + extra)


def add_route_repairs(networkd: Reload | None, desired: DesiredHost, observed: HostState,
                      notes: list[str]) -> Reload | None:
    """A route networkd should hold but the link lacks (deleted behind its back):
    `ReconfigureLink` puts it back (`Reload` alone does not, on 252)."""
    if observed.routes is None:
        return networkd
    live = set(observed.routes)
    links = {name for name, _ in observed.routes} | {d.device.name for d in observed.devices}
    busy = set(networkd.reconfigure) if networkd else set()
    repair = []
    for name, destination in desired.routes:
        if name in links and name not in busy and (name, destination) not in live:
            notes.append(f"route {destination} dev {name} is missing: ReconfigureLink {name} restores it")
            if name not in repair:
                repair.append(name)
    if not repair:
        return networkd
    if networkd is None:
        return Reload(False, tuple(repair), tuple(repair))
    extra = tuple(n for n in repair if n not in networkd.reconfigure)
    return Reload(networkd.reload, networkd.reconfigure + extra, networkd.wait_for + extra)


def _read_unit(text: str, path: PurePosixPath) -> EffectiveUnit | None:
    """What networkd reads in a unit file (netdwg.unitfile); None for one it refuses as a whole."""
    try:
        return effective_unit(parse_unit(text, str(path)))
    except ParseError:
        return None


def override_notes(overrides) -> list[str]:
    """What an admin should know when networkd reads something else than netdwg's file."""
    notes = []
    for path, other, kind in overrides:
        if kind == "drop-in":
            notes.append(f"networkd also reads {other} after {path}: its settings override netdwg's "
                         "(remove it, or put the setting in the topology)")
        elif kind == "masked":
            notes.append(f"{path} is masked (a same-named link to {other} in a networkd directory): networkd ignores it")
        else:
            notes.append(f"networkd reads {other} instead of {path} (same name, earlier directory): remove one")
    return notes
