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
hub_keepalive = integer(min=0, max=65535, default=0)
systemd_version = integer(min=200, max=9999, default=252)
secrets = string(default=None)

[hosts]
  [[__many__]]
  role = option('hub', 'site', 'roaming')
  address = force_list(default=list())
  endpoint = string(default=None)
  backend = option('networkd', 'wg-quick', 'netplan', 'networkmanager', default='networkd')
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
  lan_within = force_list(default=list())
  keep_hosts = force_list(default=list())
  dhcp_server = string(default=None)
  router_mac = string(default=None)
  domain = string(default=None)
  ssh_host_key = string(default=None)
  tls_pin = string(default=None)
  trust = option('proof', 'passive', default='proof')

[pairs]
  [[__many__]]
  ends = force_list(min=2, max=2)
  transfer = string
  interface = force_list(min=1, max=2, default=list('wg-s2s'))
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


def locate_keys(text: str) -> dict[tuple[str, ...], int]:
    """Map (section, ..., key) and (section, ...) paths to 1-based line numbers.

    The first occurrence wins (configobj rejects duplicates anyway).
    """
    return scan_lines(text)[0]


def scan_lines(text: str) -> tuple[dict[tuple[str, ...], int], dict[tuple[str, ...], dict[str, int]]]:
    """`locate_keys`'s map, and the same keys grouped by section: {section path: {key: line}}.

    One pass; key lines are split with str methods rather than a regular
    expression (a 10,000-host file has 40,000 lines), to the same effect as
    ``^\\s*([^=#\\[\\s][^=]*?)\\s*=``.
    """
    where: dict[tuple[str, ...], int] = {}
    keys_of: dict[tuple[str, ...], dict[str, int]] = {}
    stack: list[str] = []
    current = keys_of.setdefault((), {})
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if not stripped:
            continue
        first = stripped[0]
        if first == "[":
            section = _SECTION.match(line)
            if section:
                depth = len(section.group(1))
                name = section.group(2).strip("'\"")
                stack = stack[: depth - 1] + [name]
                path = tuple(stack)
                where.setdefault(path, number)
                current = keys_of.setdefault(path, {})
            continue  # a line starting with '[' is never a key
        if first == "=" or first == "#":
            continue
        key, equals, _ = stripped.partition("=")
        if equals:
            key = key.rstrip().strip("'\"")
            where.setdefault((*stack, key), number)
            current.setdefault(key, number)
    return where, keys_of


# --- the checker ------------------------------------------------------------------------------
#
# Every value is converted and checked by configobj's Validator (`Validator.check`: its
# conversions and its messages). The walk over the file is this module's: configobj's own
# `ConfigObj.validate` also runs every key a section does not write through the Validator
# and its Section machinery, 25 keys per host (a 10,000-host file: seconds); here each
# configspec section's defaults are computed once. What it reports follows
# `ConfigObj.validate` + `flatten_errors` + `get_extra_values` (configobj 5.0.8):
# errors sorted by section path and key, then the unknown keys and sections in file order.

Problem = tuple[tuple[str, ...], "str | None", object]  # (section path, key, error or False: missing)


def _validate_module():
    try:  # configobj >= 5.0.9 ships validate inside the package; Debian 12's 5.0.8 as a top-level module
        from configobj import validate
    except ImportError:  # pragma: no cover - depends on the installed configobj
        import validate  # type: ignore[no-redef]
    return validate


class _SpecSection:
    """One configspec section: each key's check (spec order) and the default a key not written gets."""

    def __init__(self, spec, validator) -> None:
        self.checks = {key: spec[key] for key in spec.scalars}
        self.defaults: dict[str, object] = {}
        for key, check in self.checks.items():
            try:
                self.defaults[key] = validator.check(check, None, missing=True)
            except validator.baseErrorClass:
                pass  # required: no default


class Checker:
    """The configspec, read once per process, and the walk over a parsed file."""

    def __init__(self) -> None:
        import io

        from configobj import ConfigObj

        self.validator = _validate_module().Validator()
        spec = ConfigObj(io.StringIO(CONFIGSPEC), list_values=False, _inspec=True)  # as configobj reads a configspec
        self.sections = {"network": _SpecSection(spec["network"], self.validator),
                         "hosts": _SpecSection(spec["hosts"]["__many__"], self.validator),
                         "pairs": _SpecSection(spec["pairs"]["__many__"], self.validator)}

    def check(self, conf) -> tuple[tuple[dict, dict, dict], list[Problem], list[tuple[tuple[str, ...], str]]]:
        """((network, {host: values}, {pair: values}), errors, unknown (section path, name)) of a parsed file."""
        errors: list[Problem] = []
        extra: list[tuple[tuple[str, ...], str]] = []
        root_extra = [key for key in conf.scalars if key not in self.sections]
        errors += [((), key, self._error(f"Section {key!r} was provided as a single value"))
                   for key in self.sections if key in conf.scalars]
        groups: dict[str, dict] = {"hosts": {}, "pairs": {}}
        network: dict = {}
        nested = []
        for name in conf.sections:
            if name not in self.sections:
                if name != "DEFAULT":  # configobj leaves DEFAULT alone
                    root_extra.append(name)
                continue
            section = conf[name]
            if name == "network":
                network = self._values(section, (name,), self.sections[name], errors, nested)
                continue
            nested.append(((name,), list(section.scalars)))  # [hosts] and [pairs] hold only sections
            for key in section.sections:
                groups[name][key] = self._values(section[key], (name, key), self.sections[name], errors, nested)
        if "network" not in conf:  # configobj creates the section, and then misses its required keys
            network = self._values({}, ("network",), self.sections["network"], errors, [])
        extra += [((), name) for name in root_extra]
        extra += [(where, name) for where, names in nested for name in names]
        errors.sort(key=lambda problem: (list(problem[0]), problem[1]))
        return (network, groups["hosts"], groups["pairs"]), errors, extra

    def _error(self, message: str):
        return self.validator.baseErrorClass(message)

    def _values(self, section, where: tuple[str, ...], spec: _SpecSection, errors: list[Problem], nested: list) -> dict:
        """One section's values as the Validator converts them; its problems go to `errors`, its
        unknown keys and subsections to `nested` (reported after every error, as configobj does)."""
        scalars = section.scalars if hasattr(section, "scalars") else list(section)
        subsections = section.sections if hasattr(section, "sections") else []
        values: dict = {}
        check = self.validator.check
        for key, spec_check in spec.checks.items():
            if key in subsections:
                errors.append((where, key, self._error(f"Value {key!r} was provided as a section")))
            elif key in scalars:
                try:
                    values[key] = check(spec_check, section[key])
                except self.validator.baseErrorClass as err:
                    errors.append((where, key, err))
            elif key in spec.defaults:
                default = spec.defaults[key]
                values[key] = list(default) if type(default) is list else default
            else:
                errors.append((where, key, False))
        nested.append((where, [key for key in scalars if key not in spec.checks] + list(subsections)))
        return values


_CHECKER: Checker | None = None


def checker() -> Checker:
    global _CHECKER
    if _CHECKER is None:
        _CHECKER = Checker()
    return _CHECKER
