"""The record of what the guard changed, under /run (gone at reboot, like the
routes it describes).

Written ahead: before a change is made, the state file already lists it, so a
crash between the two leaves an over-complete record, never a missing one;
undo is idempotent (re-adding a route that exists, deleting one that is gone:
both are fine). The next start undoes everything listed, then decides afresh.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from netdwg.errors import ParseError, Span
from netdwg.host.files import Tree
from netdwg.guard.observed import Route
from netdwg.guard.policy import AddRoute, AddRule, Change, DeleteRoute, SwapAllowedIps
from netdwg.keys import PublicKey

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class GuardState:
    changes: tuple[Change, ...] = ()
    pid: int = 0  # the guard that wrote it; a different live pid means "not ours"


def change_to_json(change: Change) -> dict:
    if isinstance(change, DeleteRoute):
        return {"kind": "delete-route", "site": change.site, "route": change.route.to_json()}
    if isinstance(change, AddRoute):
        return {"kind": "add-route", "site": change.site, "route": change.route.to_json()}
    if isinstance(change, SwapAllowedIps):
        return {"kind": "swap-allowed-ips", "site": change.site, "peer": change.peer.base64,
                "lan": str(change.lan), "widen_to": str(change.widen_to)}
    if isinstance(change, AddRule):
        return {"kind": "add-rule", "site": change.site, "family": change.family, "table": change.table,
                "priority": change.priority}
    raise TypeError(change)


def change_from_json(data: dict) -> Change:
    kind = data["kind"]
    if kind == "delete-route":
        return DeleteRoute(Route.from_json(data["route"]), data.get("site", ""))
    if kind == "add-route":
        return AddRoute(Route.from_json(data["route"]), data.get("site", ""))
    if kind == "swap-allowed-ips":
        return SwapAllowedIps(PublicKey.from_base64(data["peer"]), ipaddress.ip_network(data["lan"]),
                              ipaddress.ip_network(data["widen_to"]), data.get("site", ""))
    if kind == "add-rule":
        if data["family"] not in (4, 6):
            raise ValueError(f"family {data['family']!r}")
        return AddRule(data["family"], int(data["table"]), int(data["priority"]), data.get("site", ""))
    raise ValueError(f"unknown change kind {kind!r}")


def render_state(state: GuardState) -> str:
    return json.dumps({"version": STATE_VERSION, "pid": state.pid,
                       "changes": [change_to_json(c) for c in state.changes]}, indent=1) + "\n"


def parse_state(text: str, path: str = "guard.state") -> GuardState:
    try:
        data = json.loads(text)
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"version {data.get('version')!r}")
        return GuardState(tuple(change_from_json(c) for c in data["changes"]), int(data.get("pid", 0)))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ParseError(f"unreadable guard state ({err})", Span(path),
                         fix="check the routes by hand ('ip route show dev WG'), then delete the file") from None


def load_state(path: Path) -> GuardState:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return GuardState()
    return parse_state(text, str(path))


def save_state(path: Path, state: GuardState) -> None:
    """Atomic, through netdwg's one writer (netdwg/host/files.py). An empty state removes the file.

    /run is a tmpfs: the writer's fsync costs nothing there."""
    tree = Tree(path.parent)
    if not state.changes:
        tree.remove(path.name)
        return
    tree.write(path.name, render_state(state).encode("utf-8"), 0o644)
