"""What `netdwg metrics` exports: the status session (desired, observed, plan) and the guard's
status file, as Prometheus metric families labelled with the topology's names.

Labels: `interface`, `peer` (the peer's host name in the topology, else empty), `public_key`,
`role` (hub, site, roaming; empty when the source is not a topology) and `site` (the peer's
name when it is a site gateway, so site dashboards select `site!=""`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

GUARD_VERDICTS = ("trusted", "foreign", "unverified", "identifying", "away")
PEER_LABELS = ("interface", "peer", "public_key", "role", "site")


@dataclass(frozen=True, slots=True)
class PeerRow:
    interface: str
    peer: str
    public_key: str
    role: str
    site: str
    configured: bool  # the configuration wants this peer
    live: bool  # the device has it
    latest_handshake: float = 0.0
    rx_bytes: int = 0
    tx_bytes: int = 0
    endpoint: str = ""
    allowed_ips: int = 0

    def labels(self) -> list[str]:
        return [self.interface, self.peer, self.public_key, self.role, self.site]


def topology_roles(args) -> dict[str, str]:
    """Host name -> role, from the topology when the source is one; empty for --from DIR."""
    from netdwg.topology.inputs import DEFAULT_TOPOLOGY
    from netdwg.topology.load import load_topology

    if args.from_dir is not None:
        return {}
    path = args.topology or (DEFAULT_TOPOLOGY if Path(DEFAULT_TOPOLOGY).exists() else None)
    if path is None:
        return {}
    return {h.name: str(h.role) for h in load_topology(path).hosts}


def peer_rows(session, roles: dict[str, str]) -> list[PeerRow]:
    rows = []
    for device in session.desired.devices:
        live_device = session.observed.device(device.name)
        wanted = {p.public_key: p for p in device.peers}
        seen = set()
        if live_device is not None:
            for peer, status in zip(live_device.device.peers, live_device.status):
                seen.add(peer.public_key)
                rows.append(_row(device.name, wanted.get(peer.public_key), peer, roles, live=True, status=status))
        rows.extend(_row(device.name, peer, peer, roles, live=False)
                    for key, peer in wanted.items() if key not in seen)
    return rows


def _row(interface: str, configured, peer, roles: dict[str, str], live: bool, status=None) -> PeerRow:
    name = configured.name if configured is not None else ""
    role = roles.get(name, "")
    return PeerRow(interface, name, peer.public_key.base64, role, name if role == "site" else "",
                   configured is not None, live,
                   latest_handshake=status.latest_handshake if status else 0.0,
                   rx_bytes=status.rx_bytes if status else 0, tx_bytes=status.tx_bytes if status else 0,
                   endpoint=str(status.endpoint) if status and status.endpoint else "",
                   allowed_ips=len(peer.allowed_ips))


def drift_counts(plan) -> dict[str, int]:
    """Pending plan steps by what differs: the files from the source, the live state from the files."""
    return {"files": len(plan.files), "device": len(plan.devices) + len(plan.peers),
            "sysctl": len(plan.sysctls), "firewall": int(plan.firewall is not None)}


def read_guard_status(path: Path) -> dict | None:
    """The guard's status file, when a guard is running (its pid is alive); None otherwise."""
    try:
        status = json.loads(path.read_text())
        pid = int(status["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return status if pid > 0 and Path(f"/proc/{pid}").exists() else None


def _change_action(description: str) -> str:
    """The guard's change kinds, from netdwg.guard.policy's describe(): delete route, add route, rule, widen."""
    if description.startswith("delete route"):
        return "delete_route"
    if description.startswith("add route"):
        return "add_route"
    if description.startswith("rule "):
        return "add_rule"
    return "widen"


def guard_counter_families(guard: dict) -> list:
    """The guard's decisions by action and site, and its reaction-time histogram (netdwg/guard/tally.py).
    Counters restart at zero with the guard; `_created` carries its start, so a restart reads as a
    counter reset. A status file without readable counters (an older guard) exports none of them."""
    from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

    from netdwg.guard.tally import REACTION_BOUNDS, tally_from_json

    try:
        tally = tally_from_json(guard["counters"])
    except (ValueError, KeyError, TypeError):
        return []
    decisions = CounterMetricFamily(
        "netdwg_guard_decisions", "Changes the guard made since it started, by action (do_delete_route: a tunnel "
        "route removed for a trusted LAN; undo_delete_route: put back; do_add_route: a route added: demoted tunnel "
        "route, pinned office host, or NetworkManager's guard table; do_swap_allowed_ips: widened; do_add_rule: the "
        "rule in front of main) and site", labels=["action", "site"])
    failures = CounterMetricFamily("netdwg_guard_decision_failures", "Changes the guard tried since it started and "
                                   "the kernel or the WireGuard device refused, by action and site",
                                   labels=["action", "site"])
    for family, rows in ((decisions, tally.decisions), (failures, tally.failures)):
        for action, site, count in rows:
            family.add_metric([action, site], count, created=tally.started)
    reaction = HistogramMetricFamily(
        "netdwg_guard_reaction_seconds", "Seconds from the event the guard acted on to its change done (kernel ack): "
        "trigger=lease from the lease as its source delivered it (networkd or NetworkManager over D-Bus, a lease "
        "file), trigger=link from the first netlink event after the guard last had nothing to do",
        labels=["trigger"])
    bounds = [repr(float(b)) for b in REACTION_BOUNDS] + ["+Inf"]
    for trigger, histogram in tally.reactions:
        reaction.add_metric([trigger], list(zip(bounds, histogram.buckets)), histogram.sum)
    return [decisions, failures, reaction]


def families(rows: list[PeerRow], drift: dict[str, int], devices: dict[str, str | None],
             guard: dict | None, host: str):
    """The metric families of one scrape (prometheus_client's core types)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

    info = InfoMetricFamily("netdwg_host", "This host's name in the topology", labels=["host"])
    info.add_metric([host], {})
    up = GaugeMetricFamily("netdwg_device_up", "1 when the WireGuard interface exists", labels=["interface", "backend"])
    for name, backend in devices.items():
        up.add_metric([name, backend or ""], 1 if backend else 0)
    handshake = GaugeMetricFamily("netdwg_peer_last_handshake_timestamp_seconds",
                                  "Unix time of the peer's latest handshake (0: never)", labels=PEER_LABELS)
    received = CounterMetricFamily("netdwg_peer_receive_bytes", "Bytes received from the peer", labels=PEER_LABELS)
    sent = CounterMetricFamily("netdwg_peer_transmit_bytes", "Bytes sent to the peer", labels=PEER_LABELS)
    endpoint = InfoMetricFamily("netdwg_peer_endpoint", "The peer's current endpoint", labels=PEER_LABELS)
    allowed = GaugeMetricFamily("netdwg_peer_allowed_ips", "Number of AllowedIPs prefixes of the peer",
                                labels=PEER_LABELS)
    configured = GaugeMetricFamily("netdwg_peer_configured",
                                   "1 when the configuration wants the peer, 0 for a peer only the device has",
                                   labels=PEER_LABELS)
    expected = GaugeMetricFamily("netdwg_peer_expected",
                                 "1 for a peer the configuration wants that has never completed a handshake",
                                 labels=PEER_LABELS)
    for row in rows:
        labels = row.labels()
        configured.add_metric(labels, 1 if row.configured else 0)
        if row.configured and not row.latest_handshake:
            expected.add_metric(labels, 1)
        if not row.live:
            continue
        handshake.add_metric(labels, row.latest_handshake)
        received.add_metric(labels, row.rx_bytes)
        sent.add_metric(labels, row.tx_bytes)
        allowed.add_metric(labels, row.allowed_ips)
        if row.endpoint:
            endpoint.add_metric(labels, {"endpoint": row.endpoint})
    pending = GaugeMetricFamily("netdwg_drift_changes",
                                "Changes `netdwg apply` would make, by what differs (files: the installed files from "
                                "the topology; device, sysctl, firewall: the live host from the files)", labels=["kind"])
    for kind, count in drift.items():
        pending.add_metric([kind], count)
    out = [info, up, handshake, received, sent, endpoint, allowed, configured, expected, pending]
    running = GaugeMetricFamily("netdwg_guard_running", "1 when netdwg-guard runs and has written its status")
    running.add_metric([], 1 if guard else 0)
    out.append(running)
    if guard:
        verdict = GaugeMetricFamily("netdwg_guard_site_verdict", "1 for the guard's current verdict on each site",
                                    labels=["site", "verdict"])
        for site in guard.get("sites", []):
            for value in GUARD_VERDICTS:
                verdict.add_metric([str(site.get("site", "")), value], 1 if site.get("verdict") == value else 0)
        changes = GaugeMetricFamily("netdwg_guard_changes_in_effect", "Changes the guard holds now, by action",
                                    labels=["action"])
        actions = {"delete_route": 0, "add_route": 0, "add_rule": 0, "widen": 0}
        for description in guard.get("in_effect", []):
            actions[_change_action(str(description))] += 1
        for action, count in actions.items():
            changes.add_metric([action], count)
        resets = CounterMetricFamily("netdwg_guard_endpoint_resets", "Endpoint resets the guard made since it started")
        resets.add_metric([], int(guard.get("endpoint_resets") or 0))
        updated = GaugeMetricFamily("netdwg_guard_last_update_timestamp_seconds", "Unix time of the guard's last decision")
        updated.add_metric([], float(guard.get("updated") or 0))
        out += [verdict, changes, resets, updated] + guard_counter_families(guard)
        if guard.get("last_reaction_ms") is not None:
            reaction = GaugeMetricFamily("netdwg_guard_last_reaction_seconds",
                                         "Seconds of the guard's latest reaction (see netdwg_guard_reaction_seconds)")
            reaction.add_metric([], float(guard["last_reaction_ms"]) / 1000)
            out.append(reaction)
    return out


class Collector:
    """A prometheus_client collector: each scrape reads the host afresh, as `netdwg status` does."""

    def __init__(self, args, guard_status: Path) -> None:
        self.args = args
        self.guard_status = guard_status

    def collect(self):
        import socket

        from netdwg.cli.status import open_status_session

        session = open_status_session(self.args)
        rows = peer_rows(session, topology_roles(self.args))
        devices = {}
        for device in session.desired.devices:
            live = session.observed.device(device.name)
            devices[device.name] = live.backend if live is not None else None
        host = self.args.host or socket.gethostname().split(".")[0]
        yield from families(rows, drift_counts(session.plan), devices, read_guard_status(self.guard_status), host)


def render_text(collector: Collector) -> bytes:
    """One scrape in the Prometheus text format (0.0.4), as node_exporter's textfile collector reads it."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
