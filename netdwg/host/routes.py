"""Routes into an interface, read with `ip -j route` (for `netdwg status`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LiveRoute:
    """A route the kernel holds into one interface."""

    destination: ipaddress.IPv4Network | ipaddress.IPv6Network
    interface: str
    metric: int = 0
    table: str = "main"

    def __str__(self) -> str:
        text = f"{self.destination} dev {self.interface}"
        if self.metric:
            text += f" metric {self.metric}"
        if self.table != "main":
            text += f" table {self.table}"
        return text


def parse_routes(text: str, interface: str) -> tuple[LiveRoute, ...]:
    import json

    out = []
    for entry in json.loads(text or "[]"):
        dst = entry.get("dst", "")
        if entry.get("type", "unicast") != "unicast" or not dst:
            continue
        if dst == "default":
            dst = "0.0.0.0/0" if ":" not in entry.get("gateway", "") else "::/0"
        try:
            net = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        out.append(LiveRoute(net, interface, int(entry.get("metric", 0)), str(entry.get("table", "main"))))
    return tuple(out)


def read_routes(interface: str) -> tuple[LiveRoute, ...]:
    import subprocess

    routes: list[LiveRoute] = []
    for family in ("-4", "-6"):
        result = subprocess.run(["ip", "-j", family, "route", "show", "table", "all", "dev", interface],
                                capture_output=True, text=True)
        if result.returncode == 0:
            routes.extend(parse_routes(result.stdout, interface))
    return tuple(routes)
