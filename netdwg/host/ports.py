"""The ports apply talks through: small Protocols with real adapters beside them.

Tests and `--root` mode pass other implementations (a directory tree instead
of the live system); nothing above this layer imports pyroute2, D-Bus or
subprocess.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Protocol

from netdwg.plan.model import DeviceChange, FileState, PeerChange
from netdwg.rendered import RenderedFile
from netdwg.wireguard import LiveDevice


class Files(Protocol):
    def read(self, path: PurePosixPath) -> FileState | None: ...
    def write(self, file: RenderedFile) -> None: ...
    def remove(self, path: PurePosixPath) -> None: ...
    def managed(self) -> tuple[PurePosixPath, ...]: ...
    def set_managed(self, paths: tuple[PurePosixPath, ...]) -> None: ...


class WgLink(Protocol):
    """One WireGuard interface, kernel (genetlink) or userspace (UAPI socket)."""

    backend: str
    ifname: str

    def prefetch(self) -> None: ...  # start reading the device for peer_texts (a hint; may do nothing)
    def peer_texts(self) -> dict[str, str] | None: ...  # hex key -> netdwg.peertext lines; None: no fast path
    def read(self, omit: frozenset[str] = frozenset()) -> LiveDevice: ...  # without the peers in omit (hex keys)
    def set_device(self, change: DeviceChange) -> None: ...
    def apply_peer(self, change: PeerChange) -> None: ...


class Networkd(Protocol):
    def check_running(self) -> None: ...
    def reload(self) -> None: ...
    def reconfigure(self, ifname: str) -> None: ...
    def link_state(self, ifname: str) -> tuple[str, str]: ...  # (AdministrativeState, OperationalState)
    def wait_configured(self, ifnames: tuple[str, ...], timeout: float) -> None: ...


class Firewall(Protocol):
    def present(self) -> bool: ...
    def current(self) -> str | None: ...
    def replace(self, script: str | None) -> None: ...  # None removes the table


class Sysctls(Protocol):
    def read(self, key: str) -> str | None: ...
    def write(self, key: str, value: str) -> None: ...
