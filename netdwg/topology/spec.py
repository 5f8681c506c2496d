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
  tls_pin = string(default=None)

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


# --- the fast checker -------------------------------------------------------------------------
#
# configobj's Validator costs ~25 us per key, and a hub with 10,000 clients has
# 250,000 of them (written or defaulted): seconds. `fast_validate` does the
# same conversions straight from the parsed file, for files configobj would
# accept as they are. It never reports anything: whenever it meets what it
# does not handle exactly like the Validator (an error, an unknown key, a
# missing required key), it returns
# None and the loader runs the Validator, whose diagnostics are the reference.


class _Fallback(Exception):
    """The fast checker cannot vouch for this value: let configobj's Validator decide."""


_REQUIRED = object()


def _validate_module():
    try:  # configobj >= 5.0.9 ships validate inside the package; Debian 12's 5.0.8 as a top-level module
        from configobj import validate  # noqa: PLC0415
    except ImportError:  # pragma: no cover - depends on the installed configobj
        import validate  # type: ignore[no-redef]  # noqa: PLC0415
    return validate


def _bounds(kwargs: dict) -> tuple[int | None, int | None]:
    low, high = kwargs.get("min"), kwargs.get("max")
    return (None if low is None else int(low)), (None if high is None else int(high))


def _checker(name: str, args: list, kwargs: dict):
    """A converter doing exactly what configobj's check function `name` does on success."""
    low, high = _bounds(kwargs)
    if name == "string":
        def check(value):
            if type(value) is not str or (low is not None and len(value) < low) or (high is not None and len(value) > high):
                raise _Fallback
            return value
    elif name == "integer":
        def check(value):
            if type(value) is not str:
                raise _Fallback
            try:
                number = int(value)  # what is_integer does, spaces, '+' and '_' included
            except ValueError:
                raise _Fallback from None
            if (low is not None and number < low) or (high is not None and number > high):
                raise _Fallback
            return number
    elif name == "option":
        options = frozenset(args)

        def check(value):
            if type(value) is not str or value not in options:
                raise _Fallback
            return value
    elif name == "boolean":
        bool_dict = _validate_module().bool_dict  # the Validator's own table

        def check(value):
            if type(value) is not str:
                raise _Fallback
            try:
                return bool_dict[value.lower()]
            except KeyError:
                raise _Fallback from None
    elif name == "force_list":
        def check(value):
            value = list(value) if type(value) is list else [value]
            if (low is not None and len(value) < low) or (high is not None and len(value) > high):
                raise _Fallback
            return value
    else:  # pragma: no cover - CONFIGSPEC uses only the checks above
        raise AssertionError(f"no fast check for {name!r}")
    return check


def _section_checks(spec) -> tuple[tuple[str, object, object], ...]:
    """(key, converter, default or _REQUIRED) for every key of a configspec section, in spec order."""
    validator = _validate_module().Validator()
    out = []
    for key in spec.scalars:
        check = spec[key]
        name, args, kwargs, default = validator._parse_with_caching(check)  # configobj's own spec parser
        out.append((key, _checker(name, args, kwargs),
                    _REQUIRED if default is None else validator.get_default_value(check)))
    return tuple(out)


def _build_checks():
    import io  # noqa: PLC0415

    from configobj import ConfigObj  # noqa: PLC0415

    spec = ConfigObj(io.StringIO(CONFIGSPEC), list_values=False, _inspec=True)  # as configobj reads a configspec
    return (_SectionChecks(_section_checks(spec["network"])), _SectionChecks(_section_checks(spec["hosts"]["__many__"])),
            _SectionChecks(_section_checks(spec["pairs"]["__many__"])))


_CHECKS: tuple | bool | None = None  # built on first use; False: unavailable


class _SectionChecks:
    """A configspec section's converters by key, and which defaults a section with given keys gets."""

    def __init__(self, checks: tuple[tuple[str, object, object], ...]) -> None:
        self.by_key = {key: check for key, check, _ in checks}
        self.order = checks
        self._missing: dict[tuple[str, ...], tuple[tuple[str, object], ...] | None] = {}

    def missing(self, written: tuple[str, ...]):
        """(key, default) of the keys not written, in spec order; None when a required one is missing.

        Remembered per set of written keys: 10,000 laptops write the same few.
        """
        try:
            return self._missing[written]
        except KeyError:
            pass
        found: list[tuple[str, object]] | None = []
        for key, _, default in self.order:
            if key not in written:
                if default is _REQUIRED:
                    found = None
                    break
                found.append((key, default))
        result = self._missing[written] = tuple(found) if found is not None else None
        return result


def _validated(section, checks: _SectionChecks) -> dict:
    """One section's values as the Validator leaves them: written keys in file order, then defaults in spec order."""
    by_key = checks.by_key
    values = {}
    for key, value in dict.items(section):  # the parsed values (the loader turns interpolation off)
        check = by_key.get(key)
        if check is None:  # a key the spec does not know
            raise _Fallback
        values[key] = check(value)  # a subsection (a dict) is no str or list: _Fallback
    missing = checks.missing(tuple(values))
    if missing is None:
        raise _Fallback
    for key, default in missing:
        values[key] = list(default) if type(default) is list else default  # a list of its own, as the Validator's
    return values


def _subsections(section) -> dict:
    """A section that must hold only sections (the root, [hosts], [pairs]): its subsections, in file order."""
    found = dict(dict.items(section))
    if not all(isinstance(value, dict) for value in found.values()):
        raise _Fallback
    return found


def fast_validate(tree):
    """(network, {host: values}, {pair: values}) as configobj's Validator would convert them, or None.

    `tree` is the parsed file without configspec or interpolation: a ConfigObj,
    or `fast_parse`'s nested dicts (sections are dicts, values str or list).
    None means: run the Validator (there is an error to report, or something
    this checker leaves to configobj).
    """
    global _CHECKS
    if _CHECKS is None:
        try:
            _CHECKS = _build_checks()
        except Exception:  # noqa: BLE001 - a configobj whose internals differ: the Validator does it all
            _CHECKS = False
    if not _CHECKS:
        return None
    network_checks, host_checks, pair_checks = _CHECKS
    try:
        root = _subsections(tree)
        if "network" not in root or not set(root) <= {"network", "hosts", "pairs"}:
            return None
        network = _validated(root["network"], network_checks)
        groups = []
        for name, checks in (("hosts", host_checks), ("pairs", pair_checks)):
            group = _subsections(root[name]) if name in root else {}
            groups.append({key: _validated(values, checks) for key, values in group.items()})
    except _Fallback:
        return None
    return network, groups[0], groups[1]


# --- the fast parser --------------------------------------------------------------------------
#
# ConfigObj's parser runs several regular expressions per line (a quarter of a
# second for a 10,000-host file). `fast_parse` reads the plain subset real
# topology files are written in: [section] and [[subsection]] lines, `key =
# value` with unquoted values, comma lists, '#' comments. Anything else
# (quotes, triple quotes, odd names, duplicates, a line configobj would reject)
# returns None and ConfigObj parses the file, so its syntax errors stay the
# diagnostics (tests/property/test_topology_load_fast.py compares both parsers).

_FAST_SECTION = re.compile(r"(\[{1,2})([A-Za-z0-9_.-]+)(\]{1,2})\s*(?:#.*)?")
_FAST_KEY = re.compile(r"[A-Za-z0-9_.:-]+")  # ":" for the secrets store's "a:b" PSK names
# str.splitlines() splits on these too (configobj splits with it); "\r" and a BOM are left to configobj
_ODD_CHARACTERS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\ufeff]")


def fast_parse(text: str):
    """(tree, where, keys_of) or None (let ConfigObj parse it).

    tree: the file as nested dicts, exactly as ConfigObj(list_values=True)
    parses it; where, keys_of: what `scan_lines` finds, from the same pass.
    """
    if _ODD_CHARACTERS.search(text):
        return None
    root: dict = {}
    where: dict[tuple[str, ...], int] = {}
    keys_of: dict[tuple[str, ...], dict[str, int]] = {(): {}}
    top: dict | None = None  # the current [section]
    top_name = ""
    current, path, lines = root, (), keys_of[()]
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            continue
        if stripped[0] == "[":
            match = _FAST_SECTION.fullmatch(stripped)
            if match is None or len(match.group(1)) != len(match.group(3)):
                return None
            name = match.group(2)
            if len(match.group(1)) == 1:
                parent, path = root, (name,)
            elif top is not None:
                parent, path = top, (top_name, name)
            else:
                return None  # [[x]] before any [section]: "Section too nested"
            if name in parent:
                return None  # duplicate
            current = parent[name] = {}
            if parent is root:
                top, top_name = current, name
            where[path] = number
            lines = keys_of[path] = {}
            continue
        key, equals, value = stripped.partition("=")
        key = key.rstrip()
        if not equals or not _FAST_KEY.fullmatch(key) or key in current:
            return None
        body = value.partition("#")[0].strip()  # an unquoted value ends at '#'
        if not body or "'" in body or '"' in body:
            return None  # empty values and quoting: configobj's own rules
        if "," in body:
            items = [item.strip() for item in body.split(",")]
            if items[-1] == "":
                items.pop()  # "a, b," is the list [a, b]
            if not items or "" in items:
                return None  # "," alone, or "a,,b"
            current[key] = items
        else:
            current[key] = body
        where.setdefault((*path, key), number)
        lines[key] = number
    return root, where, keys_of
