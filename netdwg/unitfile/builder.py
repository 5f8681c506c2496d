"""Writing new unit files: the builder renderers use, sharing the parser's node types.

    unit = (UnitFile.new("/etc/systemd/network/50-wg0.netdev")
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
from pathlib import PurePath
from typing import Iterable

from netdwg.keys import PresharedKey, PrivateKey, PublicKey
from netdwg.unitfile.syntax import (WHITESPACE, Assignment, Blank, Comment, Entry, Section, UnitFile,
                                    _continues, _UNSAFE_SECTION)
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


def make_assignment(key: str, value: object, sep: str = ",") -> Assignment:
    """One ``Key=value\\n`` line, exactly as the parser would read it back."""
    text = render_value(value, sep)
    if not key or key != key.strip(WHITESPACE) or "=" in key or "\n" in key or "\r" in key or key[0] in "#;[":
        raise ValueError(f"invalid key name {key!r}")
    if "\n" in text or "\r" in text or "\0" in text:
        raise ValueError(f"{key}= value must be one line")
    if text != text.strip(WHITESPACE):
        raise ValueError(f"{key}= value {text!r} has surrounding whitespace, which systemd strips")
    if _continues(text):
        raise ValueError(f"{key}= value ends in a backslash, which systemd reads as a line continuation")
    return Assignment(key, text, f"{key}={text}\n")


def make_comment(text: str) -> tuple[Comment, ...]:
    """``# text`` lines (one per line of ``text``)."""
    return tuple(Comment(f"# {line}".rstrip() + "\n") for line in text.splitlines() or [""])


class UnitBuilder:
    """Mutable while building (appending to tuples would be quadratic for 10,000 peers)."""

    def __init__(self, path: str = "") -> None:
        self.path = str(path)
        self._preamble: list[Entry] = []
        self._sections: list[tuple[str, list[Entry]]] = []

    def _current(self) -> list[Entry]:
        return self._sections[-1][1] if self._sections else self._preamble

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
        if not name or _UNSAFE_SECTION.search(name) or "[" in name or "]" in name:
            raise ValueError(f"invalid section name {name!r}")
        current = self._current()
        if (self._sections or self._preamble) and (not current or type(current[-1]) is not Blank):
            current.append(Blank("\n"))
        if comment:
            current.extend(make_comment(comment))
        self._sections.append((name, []))
        return self

    def append(self, key: str, value: object, sep: str = ",") -> "UnitBuilder":
        """Add ``key=value`` to the current section; lists become ``a,b`` (``sep``)."""
        if not self._sections:
            raise ValueError(f"{key}= needs a section: call add_section() first")
        self._sections[-1][1].append(make_assignment(key, value, sep))
        return self

    def extend(self, pairs: Iterable[tuple[str, object]]) -> "UnitBuilder":
        for key, value in pairs:
            self.append(key, value)
        return self

    def build(self) -> UnitFile:
        return UnitFile(self.path, tuple(self._preamble),
                        tuple(Section.of(name, f"[{name}]\n", tuple(entries)) for name, entries in self._sections))

    def format(self) -> str:
        return self.build().format()
