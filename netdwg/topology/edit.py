"""Edits of the topology file that keep the user's comments, order and layout.

    add_host(text, name, values) -> Edit      a new [[name]] at the end of [hosts]
    remove_host(text, name) -> Edit           its section, the comments directly above it,
                                              its name in every allow/reach list, pairs it ends
    set_host_values(text, name, values) -> Edit   replace or add keys of [[name]] (e.g. the
                                              public_key a fleet's hosts report)

Nothing here writes: `netdwg.apply.writes.write_topology` replaces the file
atomically, keeping its mode.

Why line edits rather than `ConfigObj.write()`: configobj keeps comments and
order, but re-indents every key and re-aligns every inline comment, so a
one-host change would rewrite the whole file. These functions touch only the
lines they must, then parse the result with configobj (`parse_topology`) so
an edit never leaves a file netdwg cannot load.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Mapping

from netdwg.errors import ConfigError, NetdwgError, Span
from netdwg.topology.load import parse_topology
from netdwg.topology.spec import KNOWN_KEYS

_SECTION = re.compile(r"^(\s*)(\[+)\s*([^\]]*?)\s*(\]+)\s*(?:#.*)?$")
_KEY = re.compile(r"^(\s*)([^=#\[\s][^=]*?)(\s*=\s*)(.*)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
LIST_KEYS = ("allow", "reach")


@dataclass(frozen=True, slots=True)
class Edit:
    """The new text and what changed, one line per change (for announcing)."""

    text: str
    changes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Header:
    index: int  # 0-based line index
    depth: int
    name: str
    indent: str


def _headers(lines: list[str]) -> list[_Header]:
    found = []
    for index, line in enumerate(lines):
        match = _SECTION.match(line.rstrip("\r\n"))
        if match and len(match.group(2)) == len(match.group(4)):
            found.append(_Header(index, len(match.group(2)), match.group(3).strip("'\""), match.group(1)))
    return found


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _is_blank(line: str) -> bool:
    return not line.strip()


def _section_range(lines: list[str], headers: list[_Header], path: tuple[str, ...]) -> tuple[_Header, int] | None:
    """The header of the section at `path` and the index just past its last line (sub-sections included)."""
    stack: list[str] = []
    for position, header in enumerate(headers):
        stack = stack[: header.depth - 1] + [header.name]
        if tuple(stack) == path:
            end = next((h.index for h in headers[position + 1:] if h.depth <= header.depth), len(lines))
            return header, end
    return None


def _attached_comments_before(lines: list[str], index: int) -> int:
    """First index of the comment block directly above line `index` (no blank line between)."""
    start = index
    while start > 0 and _is_comment(lines[start - 1]):
        start -= 1
    return start


def _eol(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _format_value(value: str) -> str:
    value = value.strip()
    if "#" in value and not (value[:1] in "'\"" and value[-1:] == value[:1]):
        return '"' + value.replace('"', "") + '"'
    return value


def add_host(text: str, name: str, values: Mapping[str, str], path: str = "<topology>") -> Edit:
    """Append a host section to [hosts] in the file's own indentation; validates the result."""
    if not _NAME.match(name):
        raise NetdwgError(f"host name {name!r} may hold only letters, digits, '.', '_' and '-'",
                          fix="pick a name like oslo-gw or ana.laptop")
    _check_keys(values)
    if "role" not in values:
        raise NetdwgError(f"host '{name}' needs a role", fix="add role=hub, role=site or role=roaming")
    eol = _eol(text)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += eol
    headers = _headers(lines)
    if _section_range(lines, headers, ("hosts", name)):
        raise NetdwgError(f"host '{name}' already exists", fix=f"pick another name, or run 'netdwg host remove {name}' first")
    hosts = _section_range(lines, headers, ("hosts",))
    head_indent, key_indent, spaced = "  ", "  ", True
    host_headers = [h for h in headers if h.depth == 2 and hosts and hosts[0].index < h.index < hosts[1]]
    if host_headers:
        head_indent = host_headers[-1].indent
        body = lines[host_headers[-1].index + 1: hosts[1]]
        key_line = next((l for l in body if _KEY.match(l) and not _is_comment(l)), None)
        key_indent = _KEY.match(key_line).group(1) if key_line else head_indent
        spaced = any(_is_blank(lines[_attached_comments_before(lines, h.index) - 1])
                     for h in host_headers[1:]) if len(host_headers) > 1 else None
    block = [f"{head_indent}[[{name}]]{eol}"] + [f"{key_indent}{k} = {_format_value(v)}{eol}" for k, v in values.items()]
    if hosts is None:
        prefix = [] if not lines or _is_blank(lines[-1]) else [eol]
        new_lines = lines + prefix + [f"[hosts]{eol}"] + block
    else:
        _, end = hosts
        insert = _attached_comments_before(lines, end) if end < len(lines) else end
        while insert > hosts[0].index + 1 and _is_blank(lines[insert - 1]):
            insert -= 1
        if spaced is None:  # one host so far: spaced if a blank line follows it
            spaced = insert >= len(lines) or _is_blank(lines[insert])
        before = [eol] if spaced and host_headers else []
        after = [eol] if spaced and insert < len(lines) and not _is_blank(lines[insert]) else []
        new_lines = lines[:insert] + before + block + after + lines[insert:]
    new_text = "".join(new_lines)
    _validate(new_text, path)
    return Edit(new_text, (f"added host '{name}' ({values['role']})",))


def _check_keys(values: Mapping[str, str]) -> None:
    known = KNOWN_KEYS["host"]
    for key in values:
        if key not in known:
            guess = difflib.get_close_matches(key, known, n=1)
            raise NetdwgError(f"unknown host key '{key}'",
                              fix=f"did you mean '{guess[0]}'?" if guess else f"known keys: {', '.join(known)}")


def _host_section(lines: list[str], headers: list[_Header], name: str, path: str) -> tuple[_Header, int]:
    """The section of host `name`, or an error naming the nearest host there is."""
    found = _section_range(lines, headers, ("hosts", name))
    if found is None:
        hosts = [h.name for h in headers if h.depth == 2]
        guess = difflib.get_close_matches(name, hosts, n=1)
        raise NetdwgError(f"no host '{name}' in {path}",
                          fix=f"did you mean '{guess[0]}'?" if guess else f"hosts: {', '.join(hosts) or 'none'}")
    return found


def set_host_values(text: str, name: str, values: Mapping[str, str], path: str = "<topology>") -> Edit:
    """Give keys of host `name` these values: a line already there keeps its place, indentation and
    inline comment; a new key goes after the section's last key. No change, no changes listed."""
    _check_keys(values)
    eol = _eol(text)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += eol
    headers = _headers(lines)
    found = _host_section(lines, headers, name, path)
    header, end = found
    body_end = next((h.index for h in headers if header.index < h.index < end), end)  # before sub-sections
    changes: list[str] = []
    last_key, key_indent = header.index, header.indent + "  "
    for key, value in values.items():
        new_value = _format_value(value)
        for index in range(header.index + 1, body_end):
            match = _KEY.match(lines[index].rstrip("\r\n"))
            if match is None or _is_comment(lines[index]) or match.group(2) != key:
                continue
            old, comment = _split_comment(match.group(4))
            if old != new_value:
                lines[index] = f"{match.group(1)}{key}{match.group(3)}{new_value}{comment}{eol}"
                changes.append(f"set {key} of '{name}'")
            break
        else:
            for index in range(header.index + 1, body_end):
                match = _KEY.match(lines[index].rstrip("\r\n"))
                if match is not None and not _is_comment(lines[index]):
                    last_key, key_indent = index, match.group(1)
            lines.insert(last_key + 1, f"{key_indent}{key} = {new_value}{eol}")
            body_end += 1
            last_key += 1
            changes.append(f"added {key} to '{name}'")
    new_text = "".join(lines) if changes else text
    _validate(new_text, path)
    return Edit(new_text, tuple(changes))


def remove_host(text: str, name: str, path: str = "<topology>") -> Edit:
    """Remove a host, its attached comments, its name from allow/reach lists, and pairs it ends."""
    lines = text.splitlines(keepends=True)
    headers = _headers(lines)
    found = _host_section(lines, headers, name, path)
    changes = [f"removed host '{name}'"]
    drop = [_cut(lines, found)]
    for header in headers:
        if header.depth == 2 and _parent(headers, header) == "pairs":
            rng = _section_range(lines, headers, ("pairs", header.name))
            ends = _values_in(lines, rng, "ends")
            if ends is not None and name in ends:
                drop.append(_cut(lines, rng))
                changes.append(f"removed site pair '{header.name}' (it ended at '{name}')")
    keep = [True] * len(lines)
    for start, end in drop:
        for i in range(start, end):
            keep[i] = False
    for index, line in enumerate(lines):
        if not keep[index]:
            continue
        match = _KEY.match(line.rstrip("\r\n"))
        if not match or match.group(2) not in LIST_KEYS:
            continue
        value, comment = _split_comment(match.group(4))
        items = [v.strip().strip("'\"") for v in value.split(",") if v.strip()]
        if name not in items:
            continue
        rest = [v for v in items if v != name]
        owner = _owner(headers, index)
        new_value = ", ".join(rest) if rest else ","
        eol = line[len(line.rstrip("\r\n")):]
        if comment:  # keep the inline comment in its column
            hash_at = len(value) + len(comment) - len(comment.lstrip())
            comment = " " * max(1, hash_at - len(new_value)) + comment.lstrip()
        lines[index] = f"{match.group(1)}{match.group(2)}{match.group(3)}{new_value}{comment}{eol}"
        changes.append(f"dropped '{name}' from {match.group(2)} of '{owner}'"
                       + ("" if rest else f" (now empty: {'nobody may open connections into it' if match.group(2) == 'allow' else 'it reaches no LAN'})"))
    new_text = "".join(line for index, line in enumerate(lines) if keep[index])
    _validate(new_text, path)
    return Edit(new_text, tuple(changes))


def _cut(lines: list[str], found: tuple[_Header, int]) -> tuple[int, int]:
    header, end = found
    start = _attached_comments_before(lines, header.index)
    stop = _attached_comments_before(lines, end) if end < len(lines) else end
    stop = max(stop, header.index + 1)
    if stop < len(lines) and (start == 0 or not _is_blank(lines[start - 1])):
        while stop > header.index + 1 and _is_blank(lines[stop - 1]):
            stop -= 1  # nothing separates what comes before: keep the blank lines that end this block
    if stop == len(lines):  # the last section: take the blank lines that separated it along
        while stop > header.index + 1 and _is_blank(lines[stop - 1]):
            stop -= 1  # the file's trailing blank lines stay the file's
        while start > 0 and _is_blank(lines[start - 1]):
            start -= 1
    return start, stop


def _parent(headers: list[_Header], header: _Header) -> str | None:
    for other in reversed([h for h in headers if h.index < header.index]):
        if other.depth == header.depth - 1:
            return other.name
    return None


def _owner(headers: list[_Header], index: int) -> str:
    before = [h for h in headers if h.index < index]
    return before[-1].name if before else ""


def _values_in(lines: list[str], found, key: str) -> list[str] | None:
    if found is None:
        return None
    header, end = found
    for line in lines[header.index + 1: end]:
        match = _KEY.match(line.rstrip("\r\n"))
        if match and match.group(2) == key:
            value, _ = _split_comment(match.group(4))
            return [v.strip().strip("'\"") for v in value.split(",") if v.strip()]
    return None


def _split_comment(value: str) -> tuple[str, str]:
    """`ana, ben   # who` -> ('ana, ben', '   # who'); a '#' inside quotes is not a comment."""
    quote = None
    for i, ch in enumerate(value):
        if ch in "'\"":
            quote = None if quote == ch else (quote or ch)
        elif ch == "#" and quote is None:
            stripped = value[:i].rstrip()
            return stripped, value[len(stripped):]
    return value.rstrip(), value[len(value.rstrip()):]


def _validate(text: str, path: str) -> None:
    try:
        parse_topology(text, path)
    except ConfigError as err:
        raise ConfigError(f"{path}: the edit would leave an invalid topology; nothing was written",
                          err.diagnostics) from None
