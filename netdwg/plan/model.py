"""What a host should have, what it has, and the plan between them: values only.

`DesiredHost` comes from the topology compiler (or a directory of rendered
files); `HostState` is what the host adapters observed; `Plan` is the pure
difference that `netdwg plan` prints and `netdwg apply` executes, the same
object both times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from netdwg.keys import PrivateKey, PublicKey
from netdwg.rendered import RenderedFile
from netdwg.wireguard import IPNetwork, LiveDevice, WgDevice, WgPeer

NFT_TABLE = "inet netdwg"


@dataclass(frozen=True, slots=True)
class DesiredHost:
    """Everything one host should have, as plain values."""

    files: tuple[RenderedFile, ...] = ()
    devices: tuple[WgDevice, ...] = ()  # one per WireGuard interface
    sysctls: tuple[tuple[str, str], ...] = ()  # ("net.ipv4.ip_forward", "1")
    firewall: str | None = None  # nft script for `table inet netdwg`, None = netdwg manages no firewall
    backend: str = "networkd"  # "networkd" | "netplan" | "wg-quick" | "networkmanager"
    routes: tuple[tuple[str, IPNetwork], ...] = ()  # (interface, destination) networkd should hold
    # Keys written with sysctl.d's "-" prefix: a failure to set them is ignored, as systemd-sysctl does.
    optional_sysctls: frozenset[str] = frozenset()
    # (path, device name) of each networkd .netdev that describes a WireGuard device above
    wireguard_netdevs: tuple[tuple[PurePosixPath, str], ...] = ()


@dataclass(frozen=True, slots=True)
class FileState:
    """A file as found on the host (under the root)."""

    path: PurePosixPath
    text: str = field(repr=False)  # may hold a key: never in a repr or a log line
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"


@dataclass(frozen=True, slots=True)
class HostState:
    """What the adapters observed. None means "not looked at" (e.g. --root mode)."""

    files: tuple[FileState, ...] = ()  # every desired path that exists, plus every managed one
    managed: tuple[PurePosixPath, ...] = ()  # files netdwg wrote last time (its manifest)
    devices: tuple[LiveDevice, ...] = ()  # the desired interfaces that exist live
    sysctls: tuple[tuple[str, str], ...] | None = None
    firewall_present: bool | None = None  # is `table inet netdwg` loaded?
    now: float = 0.0  # unix time of observation, to judge handshake recency
    live: bool = False  # a live host (root "/") rather than a directory tree
    peer_names: tuple[tuple[PublicKey, str], ...] = ()  # from the files installed now: names removed peers had
    routes: tuple[tuple[str, IPNetwork], ...] | None = None  # live (interface, destination) of desired interfaces
    # Live steps an interrupted apply had planned but maybe not done: ("networkd", "wg0"),
    # ("netplan", ""), ("firewall", ""). Their files are already new, so only this says so.
    pending: tuple[tuple[str, str], ...] = ()
    # What makes networkd read something else than a desired unit file: (desired path, the other
    # file, "drop-in" | "masked" | "shadowed"). A drop-in is read after it and overrides it.
    overrides: tuple[tuple[PurePosixPath, PurePosixPath, str], ...] = ()
    # The running networkd's release (netdwg.networkd_versions), when a networkd file changes.
    networkd_version: int | None = None
    # NetworkManager hosts: the interfaces whose connection is active now (None: not asked)
    nm_active: tuple[str, ...] | None = None
    # NetworkManager hosts: what it holds for each desired profile (None: not asked)
    nm_held: tuple["NmHeld", ...] | None = None

    def file(self, path: PurePosixPath) -> FileState | None:
        return next((f for f in self.files if f.path == path), None)

    def device(self, ifname: str) -> LiveDevice | None:
        return next((d for d in self.devices if d.device.name == ifname), None)


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file to create, update, remove or re-permission, with its redacted diff."""

    path: PurePosixPath
    action: str  # "create" | "update" | "remove" | "chmod"
    diff: str  # unified diff, secrets redacted
    # RenderedFile's repr includes its text (perhaps a key): keep it out of ours.
    new: RenderedFile | None = field(default=None, repr=False)
    old: FileState | None = field(default=None, repr=False)

    def describe(self) -> str:
        if self.action == "chmod":
            return (f"fix mode/owner of {self.path}: {_perm(self.old)} -> "
                    f"{self.new.mode:04o} {self.new.owner}:{self.new.group}")
        if self.action == "create":
            return f"create {self.path} ({self.new.mode:04o} {self.new.owner}:{self.new.group})"
        if self.action == "remove":
            return f"remove {self.path} (no longer in the topology)"
        return f"update {self.path}"


def _perm(state: FileState | None) -> str:
    return f"{state.mode:04o} {state.owner}:{state.group}" if state else "-"


@dataclass(frozen=True, slots=True)
class DeviceChange:
    """Device-wide settings of the WireGuard interface that differ."""

    ifname: str
    private_key: PrivateKey | None = None  # set when it differs
    listen_port: int | None = None
    fwmark: int | None = None
    old: WgDevice | None = None  # for rollback

    def describe(self) -> str:
        parts = []
        if self.private_key is not None:
            parts.append("private key (hidden)")
        if self.listen_port is not None:
            parts.append(f"listen port {self.old.listen_port if self.old else '-'} -> {self.listen_port}")
        if self.fwmark is not None:
            parts.append(f"fwmark {self.old.fwmark if self.old else 0:#x} -> {self.fwmark:#x}")
        return f"{self.ifname}: set " + ", ".join(parts)


PEER_FIELDS = ("allowed_ips", "preshared_key", "endpoint", "persistent_keepalive")


@dataclass(frozen=True, slots=True)
class PeerChange:
    """One peer to add, remove or update (only `fields` are sent for an update)."""

    ifname: str
    action: str  # "add" | "remove" | "update"
    peer: WgPeer  # desired config (for remove: the live config being removed)
    fields: tuple[str, ...] = ()  # for update: which of PEER_FIELDS differ
    old: WgPeer | None = None  # live config before, for rollback and messages

    @property
    def label(self) -> str:
        name = self.peer.name or (self.old.name if self.old else "")
        key = self.peer.public_key.short()
        return f"{name} ({key})" if name else key

    def describe(self) -> str:
        if self.action == "add":
            ips = ",".join(str(n) for n in self.peer.allowed_ips) or "none"
            return f"{self.ifname}: add peer {self.label} allowed-ips {ips}"
        if self.action == "remove":
            return f"{self.ifname}: remove peer {self.label}"
        parts = []
        for name in self.fields:
            if name == "allowed_ips":
                parts.append("allowed-ips " + (",".join(str(n) for n in self.peer.allowed_ips) or "none"))
            elif name == "preshared_key":
                parts.append("preshared-key (hidden)")
            elif name == "endpoint":
                parts.append(f"endpoint {self.peer.endpoint}")
            elif name == "persistent_keepalive":
                parts.append(f"persistent-keepalive {self.peer.persistent_keepalive or 'off'}")
        return f"{self.ifname}: update peer {self.label}: " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class SysctlChange:
    """A kernel setting to change live: key, value now (None: unreadable), value wanted."""

    key: str
    old: str | None
    new: str
    ignore_failure: bool = False  # the drop-in's "-" prefix: a failure is announced and skipped
    # The interface a per-interface key names (net.ipv4.conf.IF.*), when it is one of the host's
    # WireGuard devices: set after the devices and networkd steps, which may create it.
    interface: str | None = None

    def describe(self) -> str:
        text = f"sysctl {self.key}: {self.old if self.old is not None else '?'} -> {self.new}"
        return text + (" (failure ignored: '-' in the drop-in)" if self.ignore_failure else "")


@dataclass(frozen=True, slots=True)
class FirewallChange:
    """Replace `table inet netdwg` (and only it) in one nft transaction."""

    script: str  # the desired table definition
    reason: str

    def describe(self) -> str:
        return f"nftables: replace table {NFT_TABLE} ({self.reason})"


@dataclass(frozen=True, slots=True)
class NetplanGenerate:
    """`netplan generate` after YAML changes; never `netplan apply` (it restarts networkd)."""

    def describe(self) -> str:
        return "netplan generate (then fix key file permissions netplan 0.106 leaves world-readable)"


@dataclass(frozen=True, slots=True)
class Reload:
    """networkd Reload, then ReconfigureLink for links whose .network changed."""

    reload: bool = True
    reconfigure: tuple[str, ...] = ()  # interface names
    wait_for: tuple[str, ...] = ()  # links to wait for until configured

    def describe(self) -> str:
        calls = ["Reload"] if self.reload else []
        if self.reconfigure:
            calls.append("ReconfigureLink " + " ".join(self.reconfigure))
        return "networkd: " + ", ".join(calls)


@dataclass(frozen=True, slots=True)
class NmHeld:
    """What NetworkManager holds for a profile netdwg renders: the connection with its uuid (None: not
    loaded), the file it was loaded from, and its settings as a profile (GetSettings; the secrets from
    GetSecrets only when `secrets`, which needs root)."""

    path: PurePosixPath  # the rendered keyfile
    uuid: str
    loaded: bool = False  # a connection with that uuid exists
    loaded_from: str = ""  # its Filename ("": held in memory only)
    profile: object | None = None  # netdwg.keyfiles.wireguard.NmWireGuard, when loaded
    secrets: bool = False


@dataclass(frozen=True, slots=True)
class NmLoad:
    """NetworkManager: re-read the changed profiles (Settings.LoadConnections; a removed file unloads its
    profile), then Reapply the stored profile on each device where that connection is active."""

    paths: tuple[PurePosixPath, ...]
    reapply: tuple[str, ...] = ()  # interfaces whose connection is active

    def describe(self) -> str:
        text = "NetworkManager: LoadConnections " + " ".join(str(p) for p in self.paths)
        if self.reapply:
            text += "; Reapply on " + " ".join(self.reapply) + " (active)"
        return text


@dataclass(frozen=True, slots=True)
class RecordManaged:
    """Update netdwg's list of the files it manages (so a file dropped later is removed)."""

    paths: tuple[PurePosixPath, ...]

    def describe(self) -> str:
        return f"record {len(self.paths)} managed file(s)"


@dataclass(frozen=True, slots=True)
class Plan:
    """Every step apply takes, in order; empty means the host already matches."""

    files: tuple[FileChange, ...] = ()
    netplan: NetplanGenerate | None = None
    sysctls: tuple[SysctlChange, ...] = ()
    firewall: FirewallChange | None = None
    devices: tuple[DeviceChange, ...] = ()
    peers: tuple[PeerChange, ...] = ()
    networkd: Reload | None = None
    managed: RecordManaged | None = None
    notes: tuple[str, ...] = field(default=())  # things the admin should know, not steps
    networkmanager: NmLoad | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.files or self.netplan or self.sysctls or self.firewall
                    or self.devices or self.peers or self.networkd or self.managed or self.networkmanager)

    def steps(self) -> tuple[object, ...]:
        """Every step in the order apply runs them."""
        out: list[object] = list(self.files)
        if self.managed:
            out.append(self.managed)
        if self.netplan:
            out.append(self.netplan)
        out.extend(s for s in self.sysctls if s.interface is None)
        if self.firewall:
            out.append(self.firewall)
        out.extend(self.devices)
        out.extend(self.peers)
        if self.networkd:
            out.append(self.networkd)
        if self.networkmanager:
            out.append(self.networkmanager)
        out.extend(s for s in self.sysctls if s.interface is not None)
        return tuple(out)
