"""The topology file's configspec (configobj's schema) and the line finder.

configobj validates types and defaults but keeps no line numbers, so
`locate_keys` scans the text once and maps (section path, key) to the line
it was written on; every diagnostic then names file:line.
"""

from __future__ import annotations

import re

CONFIGSPEC = """\
[network]
name = string(min=1)
interface = string(min=1, max=15, default='wg0')
pool = force_list(default=list())
port = integer(min=1, max=65535, default=51820)
mtu = integer(min=576, max=65535, default=1420)
keepalive = integer(min=0, max=65535, default=25)
systemd_version = integer(min=200, max=9999, default=252)
secrets = string(default=None)

[hosts]
  [[__many__]]
  role = option('hub', 'site', 'roaming')
  address = force_list(default=list())
  endpoint = string(default=None)
  backend = option('networkd', 'wg-quick', 'netplan', default='networkd')
  public_key = string(default=None)
  port = integer(min=1, max=65535, default=None)
  mtu = integer(min=576, max=65535, default=None)
  keepalive = integer(min=0, max=65535, default=None)
  uplink_interface = string(min=1, max=15, default=None)
  lan = force_list(default=list())
  lan_address = force_list(default=list())
  lan_interface = string(min=1, max=15, default=None)
  lan_router = string(default=None)
  return_path = option('static-route', 'masquerade', 'none', default='static-route')
  allow = force_list(default=None)
  reach = force_list(default=None)
  guard = boolean(default=False)
  guard_action = option('remove', 'metric', 'widen', default='remove')
  widen_to = string(default=None)
  keep_hosts = force_list(default=list())
  dhcp_server = string(default=None)
  router_mac = string(default=None)
  domain = string(default=None)
  ssh_host_key = string(default=None)

[pairs]
  [[__many__]]
  ends = force_list(min=2, max=2)
  transfer = string
  interface = string(min=1, max=15, default='wg-s2s')
  port = integer(min=1, max=65535, default=51821)
  keepalive = integer(min=0, max=65535, default=0)
"""

KNOWN_KEYS: dict[str, tuple[str, ...]] = {}


def _known_keys() -> dict[str, tuple[str, ...]]:
    """Section kind ('network', 'host', 'pair') -> its keys, for "did you mean"."""
    kinds: dict[str, list[str]] = {"network": [], "host": [], "pair": []}
    current = None
    for line in CONFIGSPEC.splitlines():
        stripped = line.strip()
        if stripped == "[network]":
            current = "network"
        elif stripped == "[hosts]":
            current = "host"
        elif stripped == "[pairs]":
            current = "pair"
        elif "=" in stripped and current:
            kinds[current].append(stripped.split("=", 1)[0].strip())
    return {k: tuple(v) for k, v in kinds.items()}


KNOWN_KEYS.update(_known_keys())

_SECTION = re.compile(r"^\s*(\[+)\s*([^\]]*?)\s*(\]+)\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([^=#\[\s][^=]*?)\s*=")


def locate_keys(text: str) -> dict[tuple[str, ...], int]:
    """Map (section, ..., key) and (section, ...) paths to 1-based line numbers.

    The first occurrence wins (configobj rejects duplicates anyway).
    """
    where: dict[tuple[str, ...], int] = {}
    stack: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        section = _SECTION.match(line)
        if section:
            depth = len(section.group(1))
            name = section.group(2).strip("'\"")
            stack = stack[: depth - 1] + [name]
            where.setdefault(tuple(stack), number)
            continue
        key = _KEY.match(line)
        if key:
            where.setdefault((*stack, key.group(1).strip("'\"")), number)
    return where
