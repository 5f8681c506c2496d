"""The topology: one file describes the whole network.

    load_topology(path) -> Topology       netdwg.topology.load
    Topology, Host, Lan, SitePair, ...    netdwg.topology.model
    secrets store (keys and PSKs)         netdwg.topology.secrets
    input checks, --topology option       netdwg.topology.inputs

The names below load their module on first use: plan/apply import
netdwg.topology.inputs, which must not bring in the loader (configobj).
"""

from __future__ import annotations

import importlib

_LAZY = {"load_topology": "netdwg.topology.load", "parse_topology": "netdwg.topology.load",
         "Topology": "netdwg.topology.model", "DEFAULT_TOPOLOGY": "netdwg.topology.model"}

__all__ = ["load_topology", "parse_topology", "Topology", "DEFAULT_TOPOLOGY"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'netdwg.topology' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
