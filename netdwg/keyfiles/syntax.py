"""NetworkManager keyfiles (GLib's GKeyFile syntax), line by line: the lossless model and the one quoting function.

    parse_keyfile(text, path) -> Keyfile     never fails; Keyfile.format() == text byte for byte
    Keyfile.get(group, key) -> str | None    the value as NetworkManager reads it (unescaped; the last one wins)
    keyfile_value(value, list_item=False)    THE way a value enters a keyfile (escapes, or refuses)
    keyfile_line / keyfile_list / keyfile_group / keyfile_comment: lines built from keyfile_value

How GLib reads a line (glib gkeyfile.c, 2.74 in Debian 12, which NetworkManager 1.42 links): a CR before
LF is dropped; leading whitespace is skipped; `#` or nothing starts a comment; `[name]` (whitespace may
follow) is a group, merged with an earlier group of the same name; `key=value` has whitespace trimmed
before `=` and after it, never at the end of the value; a key repeated in a group: the last one wins.
Escapes in a value: `\\s` space, `\\n`, `\\t`, `\\r`, `\\\\`, and in a list `\\;`; any other escape, or a
backslash at the end, makes NetworkManager's g_key_file_get_string() fail (the value is not read).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from netdwg.errors import Diagnostic, Severity, Span
from netdwg.values import ValueRefused, refuse_control, shown

CODE = "NMK001"  # a line GLib refuses (the file is not loaded)
VALUE_CODE = "NMK002"  # a value NetworkManager cannot read (bad escape)

_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # what netdwg writes (NetworkManager's property names)
_GLIB_KEY = re.compile(r"[^\[\]=]+(\[[^\[\]=]+\])?")  # what GLib reads: any name, a [locale] suffix
_GROUP_BAD = re.compile(r"[\[\]\x00-\x1f\x7f]")


class LineKind(enum.Enum):
    BLANK = "blank"
    COMMENT = "comment"
    GROUP = "group"
    KEY = "key"
    INVALID = "invalid"  # GLib refuses the whole file


@dataclass(frozen=True, slots=True)
class KeyfileLine:
    text: str  # as written, without the line end
    eol: str  # "\n", "\r\n" or "" (the last line)
    kind: LineKind
    group: str = ""  # the group the line is in ("" before the first)
    key: str = ""
    raw: str = ""  # the value as written (escapes not yet read)


@dataclass(frozen=True, slots=True)
class Keyfile:
    """One keyfile, every line kept: format() gives back the text it was parsed from."""

    path: str
    lines: tuple[KeyfileLine, ...]

    def format(self) -> str:
        return "".join(line.text + line.eol for line in self.lines)

    def groups(self) -> tuple[str, ...]:
        """Group names in first-seen order (GLib merges a repeated group into the first)."""
        return tuple(dict.fromkeys(line.group for line in self.lines if line.kind is LineKind.GROUP))

    def entries(self, group: str) -> dict[str, KeyfileLine]:
        """key -> the line GLib keeps for it (the last), in first-seen key order."""
        out: dict[str, KeyfileLine] = {}
        for line in self.lines:
            if line.kind is LineKind.KEY and line.group == group:
                out[line.key] = line
        return out

    def get(self, group: str, key: str) -> str | None:
        """The value; None when absent or when GLib cannot read it (as NetworkManager then has no value:
        check_keyfile_syntax reports why)."""
        line = self.entries(group).get(key)
        try:
            return None if line is None else read_value(line.raw)
        except ValueError:
            return None

    def get_list(self, group: str, key: str) -> list[str] | None:
        line = self.entries(group).get(key)
        try:
            return None if line is None else read_list(line.raw)
        except ValueError:
            return None

    def line_number(self, group: str, key: str = "") -> int:
        """1-based line of a key (or the group header when key is empty), 0 if absent."""
        found = 0
        for number, line in enumerate(self.lines, start=1):
            if line.group == group and (line.kind is LineKind.KEY and line.key == key
                                        or not key and line.kind is LineKind.GROUP):
                found = number
                if not key:
                    return found
        return found


def parse_keyfile(text: str, path: str = "<input>") -> Keyfile:
    lines = []
    group = ""
    segments = text.split("\n")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if last and segment == "":
            break
        eol = "" if last else "\n"
        if eol and segment.endswith("\r"):
            segment, eol = segment[:-1], "\r\n"
        line = _classify(segment, eol, group)
        if line.kind is LineKind.GROUP:
            group = line.group
        lines.append(line)
    return Keyfile(path, tuple(lines))


def _classify(text: str, eol: str, group: str) -> KeyfileLine:
    start = text.lstrip(" \t\n\v\f\r")
    if not start:
        return KeyfileLine(text, eol, LineKind.BLANK, group)
    if start.startswith("#"):
        return KeyfileLine(text, eol, LineKind.COMMENT, group)
    if start.startswith("["):
        close = start.find("]")
        if close > 0 and not start[close + 1:].strip(" \t") and not _GROUP_BAD.search(start[1:close]):
            return KeyfileLine(text, eol, LineKind.GROUP, start[1:close])
        return KeyfileLine(text, eol, LineKind.INVALID, group)
    key, sep, value = start.partition("=")
    key = key.rstrip(" \t\n\v\f\r")
    if not sep or not key or not group or not _GLIB_KEY.fullmatch(key):
        return KeyfileLine(text, eol, LineKind.INVALID, group, key)
    return KeyfileLine(text, eol, LineKind.KEY, group, key, value.lstrip(" \t\n\v\f\r"))


def read_value(raw: str) -> str:
    """The string NetworkManager reads (g_key_file_get_string); ValueError where it reads nothing."""
    return _unescape(raw, False)[0]


def read_list(raw: str) -> list[str]:
    """A `;`-separated list (g_key_file_get_string_list); a trailing `;` ends the last item."""
    return _unescape(raw, True)


def _unescape(raw: str, pieces: bool) -> list[str]:
    out: list[str] = []
    items: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\":
            if index + 1 == len(raw):
                raise ValueError("a backslash at the end of the value (GLib: escape character at end of line)")
            nxt = raw[index + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif pieces and nxt == ";":
                out.append(";")
            else:
                also = " and \\; in a list" if pieces else ""
                raise ValueError(f"invalid escape sequence '\\{nxt}' (GLib reads \\s \\n \\t \\r \\\\{also})")
            index += 2
            continue
        if pieces and char == ";":
            items.append("".join(out))
            out = []
        else:
            out.append(char)
        index += 1
    if not pieces:
        return ["".join(out)]
    if out:
        items.append("".join(out))
    return items


# ---- writing: every value goes through keyfile_value ------------------------------------------


def keyfile_value(value: str, list_item: bool = False) -> str:
    """`value` as GLib reads it back, or ValueRefused.

    Refused: control characters (GLib could escape LF, CR and tab, but no value netdwg writes means
    one, and other programs reading the file split lines at them) and text that is not UTF-8
    (GLib refuses the value). Escaped: backslash, spaces at either end (GLib trims them after `=`;
    a trailing one is escaped too, so editors that strip trailing blanks do not change the value),
    and in a list item the separator `;`.
    """
    refuse_control(value, "keyfile value")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueRefused(f"keyfile value {shown(value)} is not UTF-8 text", "remove the lone surrogate") from None
    text = value.replace("\\", "\\\\")
    if list_item:
        text = text.replace(";", "\\;")
    core = text.strip(" ")
    if not core:
        return "\\s" * len(text)
    lead = len(text) - len(text.lstrip(" "))
    trail = len(text) - len(text.rstrip(" "))
    return "\\s" * lead + core + "\\s" * trail


def _check_key(key: str) -> None:
    if not _KEY.fullmatch(key):
        raise ValueRefused(f"keyfile key {shown(key)}: NetworkManager's keys are letters, digits, '_', '.' and '-'",
                           "use a property name of settings-nmcli(5)")


def keyfile_line(key: str, value: object) -> str:
    """``key=value\\n``; the value through keyfile_value."""
    _check_key(key)
    return f"{key}={keyfile_value(str(value))}\n"


def keyfile_list(key: str, items) -> str:
    """``key=a;b;\\n`` as NetworkManager writes string lists (each item through keyfile_value)."""
    _check_key(key)
    return f"{key}=" + "".join(keyfile_value(str(item), list_item=True) + ";" for item in items) + "\n"


def keyfile_group(name: str) -> str:
    """``[name]\\n``: a group name holds no bracket and no control character (GLib refuses the file)."""
    if not name or _GROUP_BAD.search(name) or name != name.strip():
        raise ValueRefused(f"keyfile group {shown(name)}: GLib refuses '[' , ']', control characters and "
                           f"surrounding blanks in a group name", "use a setting name such as wireguard or ipv4")
    return f"[{name}]\n"


def keyfile_comment(text: str) -> str:
    """``# text`` lines (one per line of text)."""
    out = []
    for line in text.split("\n"):
        refuse_control(line, "keyfile comment")
        out.append(f"# {line}".rstrip() + "\n")
    return "".join(out)


# ---- what GLib refuses -------------------------------------------------------------------------


def check_keyfile_syntax(file: Keyfile) -> list[Diagnostic]:
    """Lines GLib refuses (NetworkManager then loads nothing of the file) and values it cannot read."""
    out = []
    for number, line in enumerate(file.lines, start=1):
        span = Span(file.path, number)
        if line.kind is LineKind.INVALID:
            out.append(Diagnostic(CODE, Severity.ERROR, _invalid_reason(line), span,
                                  fix="write [group], key=value or a # comment; NetworkManager ignores the whole "
                                      "file otherwise"))
        elif line.kind is LineKind.KEY:
            try:
                _unescape(line.raw, True)
            except ValueError as err:
                out.append(Diagnostic(VALUE_CODE, Severity.ERROR, f"{line.key}: {err}", span,
                                      fix="escape a backslash as \\\\ and a leading space as \\s"))
    return out


def _invalid_reason(line: KeyfileLine) -> str:
    start = line.text.lstrip()
    if start.startswith("["):
        return f"invalid group line {line.text[:60]!r} (GLib: a group is [name] with no '[', ']' or control character)"
    if "=" not in start:
        return f"line {line.text[:60]!r} is not a key-value pair, group or comment (GLib's words)"
    if not line.group:
        return "a key before the first [group] (GLib: key file does not start with a group)"
    return f"invalid key name {line.key[:60]!r}"
