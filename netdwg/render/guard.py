"""The roaming guard's configuration file, /etc/netdwg/guard.conf (guard = yes).

The format is the model's (`netdwg.topology.guard_config.render_guard_config`),
read back by the daemon and the importer; this only places it. 0644: it names public keys and prefixes, no secrets.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from netdwg.rendered import MODE_PUBLIC, RenderedFile
from netdwg.topology.guard_config import render_guard_config
from netdwg.topology.hostconfig import HostConfig

GUARD_PATH = PurePosixPath("/etc/netdwg/guard.conf")


def render(host: HostConfig) -> tuple[RenderedFile, ...]:
    if host.guard is None:
        return ()
    return (RenderedFile(GUARD_PATH, render_guard_config(host.guard), mode=MODE_PUBLIC,
                         description="netdwg-guard: sites and how to recognise them"),)
