"""The static return route a LAN router needs (return_path = static-route).

Not a file the gateway uses: an instruction for the admin of the LAN's
router, rendered beside the gateway's files and printed by `netdwg render`.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from netdwg.errors import InternalError
from netdwg.rendered import MODE_PUBLIC, RenderedFile
from netdwg.topology.hostconfig import HostConfig

INSTRUCTIONS_PATH = PurePosixPath("/etc/netdwg/lan-router-routes.txt")


_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def text_line(text: str) -> str:
    """One line of the instructions (a '#' comment or a command): the one way a value enters this file.

    An admin may paste the commands into a root shell: a line break would add a command.
    """
    if _UNSAFE.search(text) is not None:
        raise InternalError(f"cannot write {text[:60]!r} into {INSTRUCTIONS_PATH}: a line break or control character")
    return text


def instructions(host: HostConfig) -> str:
    """'ip route add POOL via LAN_ADDRESS' lines, grouped by LAN, with what they are for."""
    if not host.return_routes:
        return ""
    lines = [text_line(f"# The router of each LAN behind {host.name} needs these routes, so that replies"),
             "# to VPN addresses go back through the WireGuard gateway (return_path = static-route):"]
    lan = None
    for route in host.return_routes:
        if route.lan != lan:
            lan = route.lan
            lines.append(text_line(f"# on the router of {lan}:"))
        lines.append(text_line(route.instruction()))
    return "\n".join(lines) + "\n"


def render(host: HostConfig) -> tuple[RenderedFile, ...]:
    text = instructions(host)
    if not text:
        return ()
    return (RenderedFile(INSTRUCTIONS_PATH, text, mode=MODE_PUBLIC,
                         description="routes the LAN router needs (for the admin; not applied)"),)
