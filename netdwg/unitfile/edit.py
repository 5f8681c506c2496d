"""Minimal edits of a parsed unit file: change only the lines that must change.

Every function is pure: it takes a `UnitFile` and returns a new one in which
every untouched node is the very same object (so its bytes are identical).

Where comments belong: the run of comment lines directly above a section
header (no blank line between) belongs to that section; it is removed with a
removed peer. New lines use the file's own line ending (CRLF files stay CRLF),
and a file without a trailing newline gets one only when something is appended
after its last line.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Iterable, Sequence

from netdwg.errors import ConfigError
from netdwg.keys import PublicKey
from netdwg.unitfile.builder import make_assignment, make_comment, render_value
from netdwg.unitfile.syntax import Assignment, Blank, Comment, Entry, Section, UnitFile
from netdwg.wireguard import WgPeer

PEER = "WireGuardPeer"


def _eol_of(unit: UnitFile) -> str:
    """The file's line ending, judged by its first line ("\\n" for an empty file)."""
    for _line, _sec, node in unit.walk():
        raw = node.header if isinstance(node, Section) else node.raw
        first = raw.split("\n", 1)[0]
        if "\n" in raw:
            return "\r\n" if first.endswith("\r") else "\n"
        return "\r\n" if raw.endswith("\r\n") else "\n"
    return "\n"


def _with_raw(entry: Entry, raw: str) -> Entry:
    """The same node with other bytes that read the same (a different line ending)."""
    return dataclasses.replace(entry, raw=raw)


def _retarget_eol(entry: Entry, eol: str) -> Entry:
    if eol == "\n" or not entry.raw.endswith("\n"):
        return entry
    return _with_raw(entry, entry.raw[:-1] + eol)


def _key_text(key: PublicKey | str) -> str:
    return key.base64 if isinstance(key, PublicKey) else str(key).strip()


def find_peer(unit: UnitFile, public_key: PublicKey | str) -> int | None:
    """Index in ``unit.sections`` of the [WireGuardPeer] whose PublicKey= is ``public_key``."""
    wanted = _key_text(public_key)
    for index, section in enumerate(unit.sections):
        # The substring test skips parsing the bodies of the other 9,999 peers.
        if section.name == PEER and wanted in section.body:
            last = section.last("PublicKey")
            if last is not None and last.value == wanted:
                return index
    return None


def _require_peer(unit: UnitFile, public_key: PublicKey | str) -> int:
    index = find_peer(unit, public_key)
    if index is None:
        raise ConfigError(f"no [WireGuardPeer] with PublicKey={_key_text(public_key)} in {unit.path or 'the file'}",
                          fix="list the peers with 'netdwg check FILE' or 'wg show'")
    return index


def _split_tail(entries: Sequence[Entry]) -> int:
    """Index where the trailing trivia (after the last assignment) starts."""
    for i in range(len(entries) - 1, -1, -1):
        if type(entries[i]) is Assignment:
            return i + 1
    return 0


def _attached_start(entries: Sequence[Entry]) -> int:
    """Index where the comment run directly above the next header starts."""
    i = len(entries)
    while i > 0 and type(entries[i - 1]) is Comment:
        i -= 1
    return i


def _container(unit: UnitFile, index: int) -> tuple[Entry, ...]:
    return unit.preamble if index == 0 else unit.sections[index - 1].entries


def _with_container(unit: UnitFile, index: int, entries: Sequence[Entry],
                    sections: list[Section]) -> tuple[tuple[Entry, ...], list[Section]]:
    if index == 0:
        return tuple(entries), sections
    prev = sections[index - 1]
    sections[index - 1] = Section.of(prev.name, prev.header, tuple(entries), prev.header_nlines)
    return unit.preamble, sections


def remove_section(unit: UnitFile, index: int) -> UnitFile:
    """Remove ``unit.sections[index]`` with the comments directly above it."""
    sections = list(unit.sections)
    section = sections[index]
    before = list(_container(unit, index))
    before = before[:_attached_start(before)]
    tail = section.entries[_split_tail(section.entries):]
    j = 0
    while j < len(tail) and type(tail[j]) is Blank:
        j += 1
    kept = list(tail[j:])  # e.g. the next section's own comments
    if not kept and index == len(sections) - 1:
        while before and type(before[-1]) is Blank:
            before.pop()
    before.extend(kept)
    del sections[index]
    preamble, sections = _with_container(unit, index, before, sections)
    return UnitFile(unit.path, preamble, tuple(sections))


def remove_peer(unit: UnitFile, public_key: PublicKey | str) -> UnitFile:
    """Remove the [WireGuardPeer] with ``public_key`` and the comments directly above it."""
    return remove_section(unit, _require_peer(unit, public_key))


def _peer_pairs(peer: WgPeer, psk_file: str | None) -> list[tuple[str, object]]:
    pairs: list[tuple[str, object]] = [("PublicKey", peer.public_key)]
    if peer.preshared_key is not None:
        pairs.append(("PresharedKey", peer.preshared_key))
    elif psk_file:
        pairs.append(("PresharedKeyFile", psk_file))
    if peer.endpoint is not None:
        pairs.append(("Endpoint", peer.endpoint))
    if peer.allowed_ips:
        pairs.append(("AllowedIPs", peer.allowed_ips))
    if peer.persistent_keepalive:
        pairs.append(("PersistentKeepalive", peer.persistent_keepalive))
    return pairs


def append_section(unit: UnitFile, name: str, pairs: Iterable[tuple[str, object]], comment: str = "") -> UnitFile:
    """Add a new ``[name]`` section at the end, after one blank line, in the file's line ending."""
    eol = _eol_of(unit)
    sections = list(unit.sections)
    container = list(sections[-1].entries if sections else unit.preamble)
    if sections and not container and not sections[-1].header.endswith(("\n", "\r")):
        last = sections[-1]
        sections[-1] = Section.of(last.name, last.header + eol, last.entries, last.header_nlines)
    elif container and not container[-1].raw.endswith(("\n", "\r")):
        container[-1] = _with_raw(container[-1], container[-1].raw + eol)
    if (sections or container) and (not container or type(container[-1]) is not Blank):
        container.append(Blank(eol))
    if comment:
        container.extend(_retarget_eol(c, eol) for c in make_comment(comment))
    entries = tuple(_retarget_eol(make_assignment(k, v), eol) for k, v in pairs)
    preamble = unit.preamble
    if sections:
        last = sections[-1]
        sections[-1] = Section.of(last.name, last.header, tuple(container), last.header_nlines)
    else:
        preamble = tuple(container)
    sections.append(Section.of(name, f"[{name}]" + eol, entries))
    return UnitFile(unit.path, preamble, tuple(sections))


def add_peer(unit: UnitFile, peer: WgPeer, comment: str = "", psk_file: str | None = None) -> UnitFile:
    """Append a [WireGuardPeer] for ``peer`` (comment goes directly above it)."""
    if find_peer(unit, peer.public_key) is not None:
        raise ConfigError(f"a [WireGuardPeer] with PublicKey={peer.public_key} already exists in "
                          f"{unit.path or 'the file'}", fix="use set_peer_allowed_ips/set_value to change it")
    return append_section(unit, PEER, _peer_pairs(peer, psk_file), comment or peer.name)


def _replace_value(entry: Assignment, text: str, key: str | None = None) -> Assignment:
    """The same line with a new value: indentation, key spelling and spacing around '=' kept."""
    new = make_assignment(key or entry.key, text)  # validates the value
    lines = entry.raw.splitlines(keepends=True)
    first, last = lines[0], lines[-1]
    eol = last[len(last.rstrip("\r\n")):]
    body = first.rstrip("\r\n")
    eq = body.index("=")
    after = body[eq + 1:]
    prefix = body[:eq + 1] + after[:len(after) - len(after.lstrip(" \t"))]
    if key and key != entry.key:
        prefix = prefix.replace(entry.key, key, 1)
    return Assignment(new.key, new.value, prefix + new.value + eol)


def _insert_into(section: Section, new: Sequence[Entry], eol: str) -> Section:
    """Add entries after the section's last assignment (before comments of the next section)."""
    entries = list(section.entries)
    at = _split_tail(entries)
    if at and not entries[at - 1].raw.endswith(("\n", "\r")):
        entries[at - 1] = _with_raw(entries[at - 1], entries[at - 1].raw + eol)
    header = section.header
    if at == 0 and not header.endswith(("\n", "\r")):
        header += eol
    entries[at:at] = [_retarget_eol(e, eol) for e in new]
    return Section.of(section.name, header, tuple(entries), section.header_nlines)


def _replace_section(unit: UnitFile, index: int, section: Section) -> UnitFile:
    sections = list(unit.sections)
    sections[index] = section
    return UnitFile(unit.path, unit.preamble, tuple(sections))


def _split_list(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").split() if w]


def _normalise_networks(words: Iterable[object]) -> set:
    out = set()
    for word in words:
        try:
            out.add(ipaddress.ip_network(str(word), strict=False))
        except ValueError:
            out.add(str(word))
    return out


def set_peer_allowed_ips(unit: UnitFile, public_key: PublicKey | str, networks: Iterable[object]) -> UnitFile:
    """Make the peer's AllowedIPs exactly ``networks`` (one ``AllowedIPs=a,b`` line).

    Unchanged (same object) when the peer already has that set.
    """
    index = _require_peer(unit, public_key)
    section = unit.sections[index]
    networks = list(networks)
    current: list[str] = []
    for entry in section.assignments("AllowedIPs"):
        if not entry.value:
            current.clear()
        else:
            current.extend(_split_list(entry.value))
    if _normalise_networks(current) == _normalise_networks(networks):
        return unit
    text = render_value(networks)
    olds = [i for i, e in enumerate(section.entries) if type(e) is Assignment and e.key == "AllowedIPs"]
    if not networks:
        entries = [e for i, e in enumerate(section.entries) if i not in set(olds)]
        return _replace_section(unit, index, Section.of(section.name, section.header, tuple(entries),
                                                     section.header_nlines))
    if olds:
        entries = list(section.entries)
        entries[olds[0]] = _replace_value(entries[olds[0]], text)  # type: ignore[arg-type]
        drop = set(olds[1:])
        entries = [e for i, e in enumerate(entries) if i not in drop]
        new_section = Section.of(section.name, section.header, tuple(entries), section.header_nlines)
    else:
        new_section = _insert_into(section, [make_assignment("AllowedIPs", text)], _eol_of(unit))
    return _replace_section(unit, index, new_section)


def set_value(unit: UnitFile, section: str, key: str, value: object, index: int | None = None) -> UnitFile:
    """Set ``key=value`` in ``[section]`` (or in ``unit.sections[index]``).

    Replaces the assignment that wins today (earlier ones are overridden
    anyway and stay as they are); adds a line after the section's last
    assignment when the key is absent; adds the section at the end when the
    file has none. Unchanged (same object) when the value is already that.
    """
    text = render_value(value)
    make_assignment(key, text)  # validate early
    if index is None:
        candidates = [i for i, s in enumerate(unit.sections) if s.name == section]
        holding = [i for i in candidates if unit.sections[i].last(key) is not None]
        index = holding[-1] if holding else (candidates[-1] if candidates else None)
    if index is None:
        return append_section(unit, section, [(key, text)])
    target = unit.sections[index]
    if target.name != section:
        raise ValueError(f"section {index} is [{target.name}], not [{section}]")
    last = target.last(key)
    if last is not None:
        if last.value == text:
            return unit
        entries = list(target.entries)
        at = max(i for i, e in enumerate(entries) if e is last)
        entries[at] = _replace_value(last, text)
        return _replace_section(unit, index, Section.of(target.name, target.header, tuple(entries),
                                                     target.header_nlines))
    return _replace_section(unit, index, _insert_into(target, [make_assignment(key, text)], _eol_of(unit)))


def remove_key(unit: UnitFile, section: str, key: str) -> UnitFile:
    """Remove every ``key=`` line from every ``[section]``; unchanged if there is none."""
    sections = list(unit.sections)
    changed = False
    for i, sec in enumerate(sections):
        if sec.name != section or sec.last(key) is None:
            continue
        entries = tuple(e for e in sec.entries if not (type(e) is Assignment and e.key == key))
        sections[i] = Section.of(sec.name, sec.header, entries, sec.header_nlines)
        changed = True
    return UnitFile(unit.path, unit.preamble, tuple(sections)) if changed else unit





def set_peer_value(unit: UnitFile, public_key: PublicKey | str, key: str, value: object) -> UnitFile:
    """Set ``key=value`` inside the peer's own [WireGuardPeer] (e.g. Endpoint, PersistentKeepalive)."""
    return set_value(unit, PEER, key, value, index=_require_peer(unit, public_key))


def remove_peer_key(unit: UnitFile, public_key: PublicKey | str, key: str) -> UnitFile:
    """Remove ``key=`` lines from the peer's own section only; unchanged if it has none."""
    index = _require_peer(unit, public_key)
    section = unit.sections[index]
    if section.last(key) is None:
        return unit
    kept = [e for e in section.entries if not (type(e) is Assignment and e.key == key)]
    return _replace_section(unit, index, section.replace_entries(kept))


def _sync_one(unit: UnitFile, want: WgPeer, psk_file: str | None) -> UnitFile:
    """Make one existing peer section say what ``want`` says, line by line."""
    key = want.public_key
    section = unit.sections[_require_peer(unit, key)]
    unit = set_peer_allowed_ips(unit, key, want.allowed_ips)
    scalars: list[tuple[str, object | None]] = [
        ("Endpoint", want.endpoint),
        ("PersistentKeepalive", want.persistent_keepalive or None),
    ]
    if psk_file:
        scalars += [("PresharedKeyFile", psk_file), ("PresharedKey", None)]
    elif section.last("PresharedKeyFile") is not None:
        pass  # the PSK lives in a file: the caller writes that file, the reference stays
    else:
        scalars.append(("PresharedKey", want.preshared_key))
    for name, value in scalars:
        unit = remove_peer_key(unit, key, name) if value is None else set_peer_value(unit, key, name, value)
    return unit


def sync_peers(unit: UnitFile, peers: Sequence[WgPeer], psk_files: dict[PublicKey, str] | None = None) -> UnitFile:
    """Edit the file's [WireGuardPeer] sections to be exactly ``peers``, touching only what differs.

    Peers absent from ``peers`` are removed (with their comments), new ones are
    appended (with their name as comment), and existing ones get only their
    differing lines changed. A peer whose PSK lives in a file keeps its
    PresharedKeyFile= unless ``psk_files`` names another one. Sections of other
    kinds are never touched.
    """
    psk_files = psk_files or {}
    wanted = {p.public_key.base64: p for p in peers}
    present = []
    for section in unit.sections:
        if section.name == PEER:
            last = section.last("PublicKey")
            if last is not None and last.value:
                present.append(last.value)
    for key in present:
        if key not in wanted:
            unit = remove_peer(unit, key)
    for peer in peers:
        psk_file = psk_files.get(peer.public_key)
        if peer.public_key.base64 in present:
            unit = _sync_one(unit, peer, psk_file)
        else:
            unit = add_peer(unit, peer, psk_file=psk_file)
    return unit


__all__ = ["add_peer", "append_section", "find_peer", "remove_key", "remove_peer", "remove_peer_key",
           "remove_section", "set_peer_allowed_ips", "set_peer_value", "set_value", "sync_peers"]
