"""sysctl.d drop-in: forwarding on hubs and gateways, no ICMP redirects on a hub.

/etc/sysctl.d/60-netdwg.conf, 0644. Each setting is preceded by the reason
for it, so an admin reading /etc/sysctl.d knows who wants it and why.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from netdwg.rendered import MODE_PUBLIC, RenderedFile
from netdwg.sysctl import sysctl_comment, sysctl_line
from netdwg.topology.hostconfig import HostConfig

SYSCTL_PATH = PurePosixPath("/etc/sysctl.d/60-netdwg.conf")


def render(host: HostConfig) -> tuple[RenderedFile, ...]:
    if not host.sysctls:
        return ()
    lines = [sysctl_comment("Managed by netdwg: edit the topology and run 'netdwg render', not this file."),
             sysctl_comment(f"{host.role} {host.name}")]
    last_reason = None
    for setting in host.sysctls:
        if setting.reason and setting.reason != last_reason:
            lines += ["", sysctl_comment(setting.reason)]
            last_reason = setting.reason
        lines.append(sysctl_line(setting.key, setting.value, setting.ignore_missing))
    return (RenderedFile(SYSCTL_PATH, "\n".join(lines) + "\n", mode=MODE_PUBLIC,
                         description="forwarding and ICMP redirect settings"),)
