"""The lossless syntax tree of a systemd unit file, and its parser and formatter.

`format_unit(parse_unit(text)) == text` byte for byte. Each node keeps its
exact source text (``raw``, end-of-line included); everything else in a node
is derived from ``raw`` the way systemd's conf-parser.c (v252) reads it:

* lines end at ``\\n``, ``\\r\\n``, ``\\n\\r`` or a lone ``\\r`` (read_line()),
  so CRLF files keep their CRs in ``raw`` and never in keys or values;
* a line whose first non-blank character is ``#`` or ``;`` is a comment, also
  in the middle of a backslash continuation (systemd skips it there and keeps
  joining);
* a line ending in an unescaped backslash continues on the next line: the
  backslash becomes a space and the next line is appended as is;
* key and value are stripped of whitespace around ``=``.

Line numbers are not stored: they follow from the position in the tree
(`UnitFile.walk`), so an edit never has to renumber anything.

What the parser refuses (`ParseError` naming file and line), because systemd
refuses the whole file too: NUL bytes or invalid UTF-8 ("binary"), a line
longer than systemd's LONG_LINE_MAX (1 MiB), a section header without its
closing ``]`` ("truncated": a file cut inside ``[WireGuardPe``), a section
name with control characters, quotes or backslashes. Lines systemd only warns
about (``Missing '='``, an assignment before any section) are kept as
`Invalid` nodes and reported by `netdwg.unitfile.check`. A file ending inside
a continuation is accepted (systemd parses the pending text) and is reported
as a warning by the checker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, Union

from netdwg.errors import ParseError, Span

# systemd's LONG_LINE_MAX (src/basic/fileio.h): read_line() fails beyond it.
LONG_LINE_MAX = 1024 * 1024
COMMENT_CHARS = "#;"
WHITESPACE = " \t\n\r"
_BOM = "\ufeff"
# systemd's string_is_safe(): no control characters, quotes or backslash.
_UNSAFE_SECTION = re.compile(r"[\x00-\x1f\x7f\"'\\]")
# One physical line with its end-of-line marker, as read_line() splits them.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n\r|\r|\n)|[^\r\n]+$")


@dataclass(frozen=True, slots=True)
class Blank:
    """An empty or whitespace-only line."""

    raw: str
    nlines: int = 1


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``#`` or ``;`` comment line (possibly indented)."""

    raw: str
    nlines: int = 1

    @property
    def text(self) -> str:
        """The comment without its marker and surrounding whitespace."""
        return self.raw.strip(WHITESPACE)[1:].strip()


@dataclass(frozen=True, slots=True)
class Invalid:
    """A line systemd warns about and ignores (reason says which)."""

    raw: str
    reason: str  # systemd's wording, e.g. "Missing '=', ignoring line."
    nlines: int = 1


@dataclass(frozen=True, slots=True)
class Assignment:
    """``Key=value``, possibly continued over several physical lines.

    ``value`` is what systemd hands the key's parser: continuation joined
    (backslash replaced by a space), comment lines inside it skipped, stripped.
    An empty ``value`` is systemd's "reset this list / back to the default".
    """

    key: str
    value: str
    raw: str
    nlines: int = 1


Trivia = Union[Blank, Comment, Invalid]
Entry = Union[Blank, Comment, Invalid, Assignment]


@dataclass(frozen=True, slots=True)
class Section:
    """One ``[Name]`` header and the lines up to the next header.

    Repeated sections stay separate nodes in file order: for ``[WireGuardPeer]``
    each one is a peer, for ``[Network]`` systemd simply continues the section.
    """

    name: str
    header: str  # the raw header line, e.g. "[WireGuardPeer]\\n"
    entries: tuple[Entry, ...] = ()
    header_nlines: int = 1

    def assignments(self, key: str | None = None) -> Iterator[Assignment]:
        for entry in self.entries:
            if type(entry) is Assignment and (key is None or entry.key == key):
                yield entry

    def last(self, key: str) -> Assignment | None:
        """The last assignment of ``key`` in this section (what wins for a scalar)."""
        for entry in reversed(self.entries):
            if type(entry) is Assignment and entry.key == key:
                return entry
        return None

    def format(self) -> str:
        return self.header + "".join([e.raw for e in self.entries])


@dataclass(frozen=True, slots=True)
class UnitFile:
    """A whole file: lines before the first header, then the sections in order."""

    path: str = ""
    preamble: tuple[Entry, ...] = ()
    sections: tuple[Section, ...] = field(default=())

    def format(self) -> str:
        return format_unit(self)

    def sections_named(self, name: str) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.name == name)

    def walk(self) -> Iterator[tuple[int, Section | None, Entry | Section]]:
        """Yield ``(line, section, node)`` for every node, with 1-based first lines.

        ``section`` is the enclosing section (None in the preamble); a section's
        own header is yielded as ``(line, section, section)``.
        """
        line = 1
        for entry in self.preamble:
            yield line, None, entry
            line += entry.nlines
        for section in self.sections:
            yield line, section, section
            line += section.header_nlines
            for entry in section.entries:
                yield line, section, entry
                line += entry.nlines

    def section_lines(self) -> list[int]:
        """The 1-based line of each section header, in order (cheap: no node walk)."""
        lines = []
        line = 1 + sum(e.nlines for e in self.preamble)
        for section in self.sections:
            lines.append(line)
            line += section.header_nlines + sum(e.nlines for e in section.entries)
        return lines

    def span(self, line: int) -> Span:
        return Span(self.path, line)

    @classmethod
    def new(cls, path: str = "") -> "UnitBuilder":
        """Start writing a new file: ``UnitFile.new().add_section("NetDev").append("Name", "wg0")``."""
        from netdwg.unitfile.builder import UnitBuilder

        return UnitBuilder(path)


def format_unit(unit: UnitFile) -> str:
    """The exact text of ``unit``: the concatenation of every node's ``raw``."""
    parts = [e.raw for e in unit.preamble]
    for section in unit.sections:
        parts.append(section.header)
        parts.extend([e.raw for e in section.entries])
    return "".join(parts)


def decode_unit_bytes(data: bytes, path: str = "") -> str:
    """Bytes of a unit file as text, refusing binary content with file:line."""
    nul = data.find(b"\0")
    if nul >= 0:
        raise ParseError("binary file: NUL byte (systemd reads the rest of the line as a new line and rejects the file)",
                         Span(path or "<input>", data.count(b"\n", 0, nul) + 1),
                         fix="this is not a unit file; restore it from a backup or write it again as text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ParseError(f"invalid UTF-8 at byte {err.start} (systemd: 'invalid UTF-8', the file is ignored)",
                         Span(path or "<input>", line),
                         fix="save the file as UTF-8 text") from None


def split_lines(text: str) -> list[str]:
    """Physical lines with their end-of-line markers, split as systemd's read_line() does."""
    if "\r" not in text:
        lines = text.split("\n")
        last = lines.pop()
        lines = [line + "\n" for line in lines]
        if last:
            lines.append(last)
        return lines
    return _LINE.findall(text)


def _continues(line: str) -> bool:
    """True when the line (without EOL) ends in an unescaped backslash."""
    if not line.endswith("\\"):
        return False
    stripped = line.rstrip("\\")
    return (len(line) - len(stripped)) % 2 == 1


def _strip_eol(raw: str) -> str:
    return raw.rstrip("\r\n")


def parse_unit(text: str | bytes, path: str = "") -> UnitFile:
    """Parse a unit file (.netdev, .network, .link or a drop-in) losslessly.

    Raises `ParseError` (with file and line) for what systemd rejects as a
    whole: binary content, a line over 1 MiB, a section header without ``]``.
    """
    where = path or "<input>"
    if isinstance(text, (bytes, bytearray)):
        text = decode_unit_bytes(bytes(text), path)
    elif "\0" in text:
        nul = text.index("\0")
        raise ParseError("binary file: NUL byte", Span(where, text.count("\n", 0, nul) + 1),
                         fix="this is not a unit file; restore it from a backup or write it again as text")
    lines = split_lines(text)
    if len(text) > LONG_LINE_MAX:
        for number, raw in enumerate(lines, 1):
            if len(raw) > LONG_LINE_MAX:
                raise ParseError(f"line too long ({len(raw)} bytes; systemd reads at most {LONG_LINE_MAX}, "
                                 "then rejects the file: 'Line too long')", Span(where, number),
                                 fix="split the value over several assignments, or remove the line")

    preamble: list[Entry] = []
    sections: list[Section] = []
    entries = preamble
    cur_name = ""
    cur_header = ""
    cur_header_n = 1
    have_section = False
    i = 0
    n = len(lines)
    first = True
    while i < n:
        raw = lines[i]
        number = i + 1
        i += 1
        body = raw[1:] if first and raw.startswith(_BOM) else raw
        first = False
        s = body.strip(WHITESPACE)
        if not s:
            entries.append(Blank(raw))
            continue
        c = s[0]
        if c == "#" or c == ";":
            entries.append(Comment(raw))
            continue
        logical = _strip_eol(body)
        nlines = 1
        if logical.endswith("\\") and _continues(logical):
            # Join like conf-parser.c: backslash -> space, comment lines skipped.
            parts = [raw]
            joined = logical[:-1] + " "
            total = len(joined)
            while i < n:
                nxt = lines[i]
                i += 1
                parts.append(nxt)
                nlines += 1
                ns = nxt.lstrip(WHITESPACE)
                if ns and ns[0] in COMMENT_CHARS:
                    continue
                piece = _strip_eol(nxt)
                total += len(piece)
                if total > LONG_LINE_MAX:
                    raise ParseError("continuation line too long (systemd: 'Continuation line too long', "
                                     "the file is rejected)", Span(where, i),
                                     fix="end the backslash continuation earlier")
                if _continues(piece):
                    joined += piece[:-1] + " "
                    continue
                joined += piece
                break
            raw = "".join(parts)
            logical = joined
            s = logical.strip(WHITESPACE)
            if not s:
                entries.append(Blank(raw, nlines))
                continue
            number = i  # systemd reports a continued line at its last physical line
        if s[0] == "[":
            if s[-1] != "]":
                raise ParseError(f"invalid section header {s!r} (truncated file?)", Span(where, number),
                                 fix="close the section name with ']', e.g. [WireGuardPeer]")
            name = s[1:-1]
            if _UNSAFE_SECTION.search(name):
                raise ParseError(f"bad characters in section header {s!r}", Span(where, number),
                                 fix="section names are plain words such as [Network]")
            if have_section:
                sections.append(Section(cur_name, cur_header, tuple(entries), cur_header_n))
            have_section = True
            cur_name, cur_header, cur_header_n = name, raw, nlines
            entries = []
            continue
        eq = s.find("=")
        if eq < 0:
            entries.append(Invalid(raw, "Missing '=', ignoring line.", nlines))
        elif eq == 0:
            entries.append(Invalid(raw, "Missing key name before '=', ignoring line.", nlines))
        elif not have_section:
            entries.append(Invalid(raw, "Assignment outside of section. Ignoring.", nlines))
        else:
            entries.append(Assignment(s[:eq].rstrip(WHITESPACE), s[eq + 1:].lstrip(WHITESPACE), raw, nlines))
    if have_section:
        sections.append(Section(cur_name, cur_header, tuple(entries), cur_header_n))
    return UnitFile(path, tuple(preamble), tuple(sections))


def ends_inside_continuation(unit: UnitFile) -> bool:
    """True when the file's last line ends in a backslash (cut short: systemd parses what is there)."""
    last = None
    if unit.sections:
        sec = unit.sections[-1]
        last = sec.entries[-1].raw if sec.entries else sec.header
    elif unit.preamble:
        last = unit.preamble[-1].raw
    if last is None or last.endswith(("\n", "\r")):
        return False
    return _continues(last.split("\n")[-1])
