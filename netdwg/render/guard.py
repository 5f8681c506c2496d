"""The roaming guard's configuration file, /etc/netdwg/guard.conf (guard = yes).

The format belongs to the guard (`netdwg.guard.config.render_guard_config`);
this only places it. 0644: it names public keys and prefixes, no secrets.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from netdwg.rendered import MODE_PUBLIC, RenderedFile
from netdwg.topology.hostconfig import HostConfig

GUARD_PATH = PurePosixPath("/etc/netdwg/guard.conf")


def render(host: HostConfig) -> tuple[RenderedFile, ...]:
    if host.guard is None:
        return ()
    from netdwg.guard.config import render_guard_config  # only guarded laptops need the guard package

    return (RenderedFile(GUARD_PATH, render_guard_config(host.guard), mode=MODE_PUBLIC,
                         description="netdwg-guard: sites and how to recognise them"),)
