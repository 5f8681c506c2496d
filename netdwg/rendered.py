"""A file a renderer produced: where it goes, what it says, who may read it.

Renderers return these and never touch disk; `netdwg apply` writes them
permission-first and atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

# networkd runs as systemd-network: key-bearing files must be readable by that
# group and by nobody else (0644 warns "too permissive", 0600 root:root gives
# "Permission denied" on 252).
MODE_NETWORKD_SECRET = 0o640
MODE_PUBLIC = 0o644
MODE_PRIVATE = 0o600


@dataclass(frozen=True, slots=True)
class RenderedFile:
    """One file a renderer made for a host: where it goes, its text and its permissions."""

    path: PurePosixPath  # absolute path on the host, e.g. /etc/systemd/network/50-wg0.netdev
    text: str = field(repr=False)  # may hold a key: never in a repr or traceback
    mode: int = MODE_PUBLIC
    owner: str = "root"
    group: str = "root"
    secret: bool = False  # holds a private key or PSK: never print its text
    description: str = ""  # what it is for, shown in plans

    def relative_to_root(self) -> PurePosixPath:
        return self.path.relative_to("/")
