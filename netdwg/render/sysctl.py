"""sysctl.d drop-in: forwarding on hubs and gateways, no ICMP redirects on a hub.

/etc/sysctl.d/60-netdwg.conf, 0644. Each setting is preceded by the reason
for it, so an admin reading /etc/sysctl.d knows who wants it and why.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from netdwg.rendered import MODE_PUBLIC, RenderedFile
from netdwg.topology.hostconfig import HostConfig

SYSCTL_PATH = PurePosixPath("/etc/sysctl.d/60-netdwg.conf")


def render(host: HostConfig) -> tuple[RenderedFile, ...]:
    if not host.sysctls:
        return ()
    lines = ["# Managed by netdwg: edit the topology and run 'netdwg render', not this file.",
             f"# {host.role} {host.name}"]
    last_reason = None
    for setting in host.sysctls:
        if setting.reason and setting.reason != last_reason:
            lines += ["", f"# {setting.reason}"]
            last_reason = setting.reason
        lines.append(f"{'-' if setting.ignore_missing else ''}{setting.key} = {setting.value}")
    return (RenderedFile(SYSCTL_PATH, "\n".join(lines) + "\n", mode=MODE_PUBLIC,
                         description="forwarding and ICMP redirect settings"),)
