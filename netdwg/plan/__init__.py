"""The planner: desired host vs observed host -> a Plan value (pure, no I/O)."""

from netdwg.plan.diff import diff_device, plan_host
from netdwg.plan.model import (
    DesiredHost,
    DeviceChange,
    FileChange,
    FileState,
    FirewallChange,
    HostState,
    NetplanGenerate,
    PeerChange,
    Plan,
    RecordManaged,
    Reload,
    SysctlChange,
)

__all__ = [
    "DesiredHost", "DeviceChange", "FileChange", "FileState", "FirewallChange", "HostState",
    "NetplanGenerate", "PeerChange", "Plan", "RecordManaged", "Reload", "SysctlChange", "diff_device", "plan_host",
]
