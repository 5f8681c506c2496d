"""A Plan as text for people and as JSON for scripts (secrets already redacted)."""

from __future__ import annotations

from netdwg.plan.model import FileChange, PeerChange, Plan


def format_plan(plan: Plan, diffs: bool = True) -> str:
    if plan.is_empty:
        lines = ["Nothing to do: the host matches its configuration."]
        lines.extend(f"note: {n}" for n in plan.notes)
        return "\n".join(lines) + "\n"
    lines = [f"{len(plan.steps())} change(s):"]
    for step in plan.steps():
        lines.append(f"  {_marker(step)} {step.describe()}")
    if diffs:
        for change in plan.files:
            if change.diff:
                lines.append("")
                lines.append(change.diff.rstrip("\n"))
    lines.extend(f"note: {n}" for n in plan.notes)
    return "\n".join(lines) + "\n"


def _marker(step: object) -> str:
    action = getattr(step, "action", "")
    return {"create": "+", "add": "+", "remove": "-", "update": "~", "chmod": "~"}.get(action, "*")


def plan_to_json(plan: Plan) -> dict:
    return {
        "empty": plan.is_empty,
        "files": [_file_json(c) for c in plan.files],
        "netplan_generate": plan.netplan is not None,
        "sysctls": [{"key": s.key, "old": s.old, "new": s.new} for s in plan.sysctls],
        "firewall": {"reason": plan.firewall.reason} if plan.firewall else None,
        "devices": [{
            "interface": d.ifname,
            "private_key_changes": d.private_key is not None,
            "listen_port": d.listen_port,
            "fwmark": d.fwmark,
        } for d in plan.devices],
        "peers": [_peer_json(c) for c in plan.peers],
        "networkd": None if plan.networkd is None else {
            "reload": plan.networkd.reload, "reconfigure": list(plan.networkd.reconfigure)},
        "networkmanager": None if plan.networkmanager is None else {
            "load": [str(p) for p in plan.networkmanager.paths], "reapply": list(plan.networkmanager.reapply)},
        "managed_files": [str(p) for p in plan.managed.paths] if plan.managed else None,
        "steps": [s.describe() for s in plan.steps()],
        "notes": list(plan.notes),
    }


def _file_json(change: FileChange) -> dict:
    new = change.new
    return {"path": str(change.path), "action": change.action, "diff": change.diff,
            "mode": f"{new.mode:04o}" if new else None,
            "owner": f"{new.owner}:{new.group}" if new else None}


def _peer_json(change: PeerChange) -> dict:
    peer = change.peer
    return {"interface": change.ifname, "action": change.action, "name": peer.name,
            "public_key": peer.public_key.base64, "fields": list(change.fields),
            "allowed_ips": [str(n) for n in peer.allowed_ips],
            "endpoint": str(peer.endpoint) if peer.endpoint else None,
            "persistent_keepalive": peer.persistent_keepalive,
            "preshared_key": "(hidden)" if peer.preshared_key else None}
