"""The running lab: where its record lives and a handle to its namespaces and nodes.

``netdwg lab up`` leaves the lab running and exits; ``check``, ``roam``,
``exec``, ``status`` and ``down`` find it again through the sandbox record
under /run/netdwg-lab/ (``ndwl*.json``), which also holds the topology text
the lab was built from, so the world is re-derived exactly as it was.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from netdwg.errors import NetdwgError
from netdwg.lab.sandbox import STATE_DIR, Netns, Node, Sandbox, destroy_recorded, stale_records
from netdwg.lab.world import World, plan_world
from netdwg.topology import parse_topology
from netdwg.topology.model import Topology

LAB_PREFIX = "ndwl"


class LabError(NetdwgError):
    """The lab is not up, already up, or a lab command was used wrongly."""


def lab_topology(topology: Topology) -> Topology:
    """The topology as the lab runs it: every host gets a lab-generated key.

    Hosts that keep their own private key (public_key set) cannot be simulated
    with that key: the lab has no access to it.
    """
    hosts = tuple(dataclasses.replace(h, public_key=None) for h in topology.hosts)
    return dataclasses.replace(topology, hosts=hosts)


def lab_topology_text(text: str) -> str:
    """The topology file as the lab's hosts get it: without ``public_key =`` lines (see lab_topology)."""
    return "".join(line for line in text.splitlines(keepends=True)
                   if line.split("=", 1)[0].strip() != "public_key")


@dataclass
class Lab:
    """A handle on a running (or being built) lab."""

    sandbox: Sandbox
    topology: Topology
    world: World
    kernel_wireguard: bool = False  # the kernel has the WireGuard module (else wireguard-go)
    networkd: int = 252  # the networkd release the hosts run (netdwg.lab.trixie: 252 or 257)

    def ns(self, short: str) -> Netns:
        return Netns(f"{self.sandbox.id}-{short}")

    def node(self, host: str) -> Node:
        if not self.topology.has_host(host):
            raise LabError(f"no host '{host}' in the lab",
                           fix="hosts: " + ", ".join(h.name for h in self.topology.hosts))
        return self.sandbox.node_of(self.ns(host).name)

    @property
    def started(self) -> float:
        return float(self.sandbox.record.extra.get("started", 0))

    def set_extra(self, **values) -> None:
        self.sandbox.record.extra.update(values)
        self.sandbox.record.save()


def lab_records(state_dir: Path = STATE_DIR) -> list[Path]:
    return sorted(state_dir.glob(f"{LAB_PREFIX}*.json"), key=lambda p: p.stat().st_mtime)


def find_lab(state_dir: Path = STATE_DIR) -> Lab:
    """The running lab (the newest complete one); LabError when none is up."""
    complete = []
    for path in lab_records(state_dir):
        sb = Sandbox.resume(path)
        if sb.record.extra.get("detached"):
            complete.append(sb)
    if not complete:
        raise LabError("no lab is up", fix="run 'netdwg lab up TOPOLOGY' first")
    sb = complete[-1]
    extra = sb.record.extra
    topology = lab_topology(parse_topology(extra["topology_text"], extra["topology_path"]))
    return Lab(sb, topology, plan_world(topology), networkd=int(extra.get("networkd", 252)))


def destroy_labs(state_dir: Path = STATE_DIR) -> list[str]:
    """Remove every lab (complete or left by a killed `up`) and stale test sandboxes; what was removed."""
    removed = []
    paths = set(lab_records(state_dir)) | set(stale_records(state_dir))
    for path in sorted(paths):
        removed += destroy_recorded(path)
    return removed


def age(lab: Lab) -> str:
    seconds = int(time.time() - lab.started)
    return f"{seconds // 60}m{seconds % 60:02d}s"
