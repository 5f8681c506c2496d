"""Writing new unit files: the builder renderers use, sharing the parser's node types.

    unit = (UnitBuilder("/etc/systemd/network/50-wg0.netdev")
            .comment("Managed by netdwg: edit the topology, not this file.")
            .add_section("NetDev").append("Name", "wg0").append("Kind", "wireguard")
            .add_section("WireGuard").append("PrivateKeyFile", "/etc/systemd/network/50-wg0.key")
            .add_section("WireGuardPeer").append("PublicKey", key)
            .append("AllowedIPs", [net1, net2])
            .build())
    text = unit.format()

Sections are separated by one blank line; every line ends with ``\\n``. Values
are rendered with `render_value`; a value the format cannot carry (a newline,
a trailing backslash, surrounding whitespace) raises `ValueError`, because
systemd would read something else than what was meant. What is built always
satisfies ``parse_unit(unit.format()) == unit``.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import PurePath, PurePosixPath
from typing import Iterable

from netdwg.keys import PresharedKey, PrivateKey, PublicKey
from netdwg.unitfile.quote import assignment_text, comment_text
from netdwg.unitfile.syntax import Assignment, Blank, Comment, Entry, Section, UnitFile, _UNSAFE_SECTION
from netdwg.wireguard import Endpoint

_SCALARS = (str, int, PublicKey, Endpoint, PurePath,
            ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network,
            ipaddress.IPv4Interface, ipaddress.IPv6Interface)


def render_value(value: object, sep: str = ",") -> str:
    """systemd's spelling of a value: yes/no, decimal, base64 keys, ``a,b`` lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (PrivateKey, PresharedKey)):
        # The one deliberate reveal: the file being written is where the secret lives.
        return value.reveal_base64()
    if isinstance(value, _SCALARS):
        return str(value)
    if isinstance(value, Iterable):
        return sep.join(render_value(v, sep) for v in value)
    raise TypeError(f"cannot write a {type(value).__name__} into a unit file")


# Public values of these types repeat across the hosts of one render (the same prefixes,
# routes, public keys in 10,000 files): their lines are made once. Secrets are never kept.
_SHARED_TYPES = frozenset({str, int, PublicKey, Endpoint, PurePosixPath, ipaddress.IPv4Address, ipaddress.IPv6Address,
                           ipaddress.IPv4Network, ipaddress.IPv6Network, ipaddress.IPv4Interface,
                           ipaddress.IPv6Interface})


def make_assignment(key: str, value: object, sep: str = ",") -> Assignment:
    """One ``Key=value\\n`` line, exactly as the parser would read it back."""
    if type(value) in _SHARED_TYPES:
        return _shared_assignment(key, value, sep)
    return _assignment(key, value, sep)


@lru_cache(maxsize=1 << 16, typed=True)
def _shared_assignment(key: str, value: object, sep: str) -> Assignment:
    return _assignment(key, value, sep)


def _assignment(key: str, value: object, sep: str) -> Assignment:
    text = render_value(value, sep)
    return Assignment(key, text, assignment_text(key, text))  # netdwg.unitfile.quote: refuses, never escapes


# The compiler hands many hosts the very same tuple (a laptop's AllowedIPs to the hub: the
# pool and every LAN): its lines are made once per tuple, which is kept so its id is not reused.
_EACH: dict[tuple[str, int], tuple[tuple, tuple[Assignment, ...]]] = {}


def _each(key: str, values: tuple) -> tuple[Assignment, ...]:
    found = _EACH.get((key, id(values)))
    if found is not None and found[0] is values:
        return found[1]
    lines = tuple(make_assignment(key, value) for value in values)
    if len(_EACH) >= 4096:
        _EACH.clear()
    _EACH[(key, id(values))] = (values, lines)
    return lines


@lru_cache(maxsize=1 << 14)
def make_comment(text: str) -> tuple[Comment, ...]:
    """``# text`` lines (one per line of ``text``; netdwg.unitfile.quote)."""
    return tuple(Comment(line + "\n") for line in comment_text(text).splitlines())


@lru_cache(maxsize=256)
def _check_section_name(name: str) -> None:
    if not name or _UNSAFE_SECTION.search(name) or "[" in name or "]" in name:
        raise ValueError(f"invalid section name {name!r}")


class UnitBuilder:
    """Mutable while building (appending to tuples would be quadratic for 10,000 peers)."""

    def __init__(self, path: str = "") -> None:
        self.path = str(path)
        self._preamble: list[Entry] = []
        self._sections: list[tuple[str, list[Entry]] | Section] = []

    def _current(self) -> list[Entry]:
        if not self._sections:
            return self._preamble
        last = self._sections[-1]
        if type(last) is Section:  # included whole (see `include`): copied once something is added to it
            last = self._sections[-1] = (last.name, list(last.entries))
        return last[1]

    def _separate(self) -> list[Entry]:
        """The entries before a new section, ended by a blank line (the one between sections)."""
        current = self._current()
        if (self._sections or self._preamble) and (not current or type(current[-1]) is not Blank):
            current.append(Blank("\n"))
        return current

    def comment(self, text: str) -> "UnitBuilder":
        """Comment lines at the current position (before add_section: they sit above it)."""
        self._current().extend(make_comment(text))
        return self

    def blank(self) -> "UnitBuilder":
        self._current().append(Blank("\n"))
        return self

    def add_section(self, name: str, comment: str = "") -> "UnitBuilder":
        """Start a new ``[name]`` (a new instance even if one exists: a new peer, route...).

        ``comment`` goes directly above the header (edits move it with the section).
        """
        _check_section_name(name)
        current = self._separate()
        if comment:
            current.extend(make_comment(comment))
        self._sections.append((name, []))
        return self

    def include(self, unit: UnitFile) -> "UnitBuilder":
        """Add the sections of a unit built before (its preamble: the comment above the first).

        The sections are shared, not rebuilt: a block that many files hold (the same
        routes in 10,000 laptops' .network) is built once.
        """
        if unit.sections:
            self._separate().extend(unit.preamble)
            self._sections.extend(unit.sections)
        return self

    def append(self, key: str, value: object, sep: str = ",") -> "UnitBuilder":
        """Add ``key=value`` to the current section; lists become ``a,b`` (``sep``)."""
        if not self._sections:
            raise ValueError(f"{key}= needs a section: call add_section() first")
        self._current().append(make_assignment(key, value, sep))
        return self

    def append_each(self, key: str, values: tuple) -> "UnitBuilder":
        """``key=value`` once for each of ``values`` (a list networkd reads line by line, e.g. AllowedIPs=)."""
        if not self._sections:
            raise ValueError(f"{key}= needs a section: call add_section() first")
        self._current().extend(_each(key, values))
        return self

    def extend(self, pairs: Iterable[tuple[str, object]]) -> "UnitBuilder":
        for key, value in pairs:
            self.append(key, value)
        return self

    def build(self) -> UnitFile:
        return UnitFile(self.path, tuple(self._preamble),
                        tuple(s if type(s) is Section else Section.of(s[0], f"[{s[0]}]\n", tuple(s[1]))
                              for s in self._sections))

    def format(self) -> str:
        return self.build().format()
