"""The static return route a LAN router needs (return_path = static-route).

Not a file the gateway uses: an instruction for the admin of the LAN's
router, rendered beside the gateway's files and printed by `netdwg render`.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from netdwg.rendered import MODE_PUBLIC, RenderedFile
from netdwg.topology.hostconfig import HostConfig

INSTRUCTIONS_PATH = PurePosixPath("/etc/netdwg/lan-router-routes.txt")


def instructions(host: HostConfig) -> str:
    """'ip route add POOL via LAN_ADDRESS' lines, grouped by LAN, with what they are for."""
    if not host.return_routes:
        return ""
    lines = [f"# The router of each LAN behind {host.name} needs these routes, so that replies",
             "# to VPN addresses go back through the WireGuard gateway (return_path = static-route):"]
    lan = None
    for route in host.return_routes:
        if route.lan != lan:
            lan = route.lan
            lines.append(f"# on the router of {lan}:")
        lines.append(route.instruction())
    return "\n".join(lines) + "\n"


def render(host: HostConfig) -> tuple[RenderedFile, ...]:
    text = instructions(host)
    if not text:
        return ()
    return (RenderedFile(INSTRUCTIONS_PATH, text, mode=MODE_PUBLIC,
                         description="routes the LAN router needs (for the admin; not applied)"),)
