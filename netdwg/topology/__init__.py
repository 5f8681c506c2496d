"""The topology: one file describes the whole network.

    load_topology(path) -> Topology       netdwg.topology.load
    Topology, Host, Lan, SitePair, ...    netdwg.topology.model
    secrets store (keys and PSKs)         netdwg.topology.secrets
"""

from netdwg.topology.load import load_topology, parse_topology
from netdwg.topology.model import DEFAULT_TOPOLOGY, Topology

__all__ = ["load_topology", "parse_topology", "Topology", "DEFAULT_TOPOLOGY"]
