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
refuses the whole file too: invalid UTF-8, a line longer than systemd's
LONG_LINE_MAX (1 MiB), a section header without its closing ``]``
("truncated": a file cut inside ``[WireGuardPe``), a section name with
control characters, quotes or backslashes. NUL bytes are refused as well
("binary"): systemd would quietly treat them as line ends, and a unit file
with NULs is a damaged file, not one to edit. Lines systemd only warns
about (``Missing '='``, an assignment before any section) are kept as
`Invalid` nodes and reported by `netdwg.unitfile.check`. A file ending inside
a continuation is accepted (systemd parses the pending text) and is reported
as a warning by the checker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator  # not typing: a costly import on the apply path
from dataclasses import dataclass, field

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


Trivia = Blank | Comment | Invalid
Entry = Blank | Comment | Invalid | Assignment


@dataclass(frozen=True, slots=True)
class Section:
    """One ``[Name]`` header and the lines up to the next header.

    Repeated sections stay separate nodes in file order: for ``[WireGuardPeer]``
    each one is a peer, for ``[Network]`` systemd simply continues the section.

    ``body`` is the exact text after the header; ``entries`` are its nodes
    (`parse_unit` and `Section.of` set them; a section made from a body alone
    parses it on first use). Build one from nodes with `Section.of`.
    """

    name: str
    header: str  # the raw header line, e.g. "[WireGuardPeer]\n"
    body: str = ""
    header_nlines: int = 1
    # Derived from body, so not init fields: dataclasses.replace(section, body=...) recomputes them.
    body_nlines: int = field(init=False, default=0, compare=False, repr=False)
    _entries: tuple[Entry, ...] | None = field(init=False, default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        body = self.body
        if "\r" in body:
            count = len(split_lines(body))
        else:
            count = body.count("\n") + (1 if body and body[-1] != "\n" else 0)
        object.__setattr__(self, "body_nlines", count)

    @classmethod
    def of(cls, name: str, header: str, entries: tuple[Entry, ...] | list[Entry] = (),
           header_nlines: int = 1) -> "Section":
        entries = tuple(entries)
        section = cls(name, header, "".join([e.raw for e in entries]), header_nlines)
        object.__setattr__(section, "_entries", entries)  # already parsed: keep them
        return section

    @property
    def entries(self) -> tuple[Entry, ...]:
        entries = self._entries
        if entries is None:
            entries = _parse_body(self.body)
            object.__setattr__(self, "_entries", entries)  # a cache of a pure function of body
        return entries

    @property
    def nlines(self) -> int:
        return self.header_nlines + self.body_nlines

    def replace_entries(self, entries: tuple[Entry, ...] | list[Entry]) -> "Section":
        return Section.of(self.name, self.header, entries, self.header_nlines)

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
        return self.header + self.body


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
            line += section.header_nlines + section.body_nlines
        return lines

    def span(self, line: int) -> Span:
        return Span(self.path, line)


def format_unit(unit: UnitFile) -> str:
    """The exact text of ``unit``: the concatenation of every node's ``raw``."""
    parts = [e.raw for e in unit.preamble]
    for section in unit.sections:
        parts.append(section.header)
        parts.append(section.body)
    return "".join(parts)


def decode_unit_bytes(data: bytes, path: str = "") -> str:
    """Bytes of a unit file as text, refusing binary content with file:line."""
    nul = data.find(b"\0")
    if nul >= 0:
        raise ParseError("binary file: NUL byte (systemd would end the line there and read the rest as lines)",
                         Span(path or "<input>", data.count(b"\n", 0, nul) + 1),
                         fix="this is not a unit file; restore it from a backup or write it again as text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ParseError(f"invalid UTF-8 at byte {err.start} (systemd: 'invalid UTF-8', the file is ignored)",
                         Span(path or "<input>", line),
                         fix="save the file as UTF-8 text") from None


# str.splitlines() also breaks at \r \v \f \x1c-\x1e \x85 \u2028 \u2029; without them it splits like systemd.


def _only_newlines(text: str) -> bool:
    """No line break but "\n" (one C scan per character: much faster than a regex on 2 MB)."""
    return not any(c in text for c in "\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def split_lines(text: str) -> list[str]:
    """Physical lines with their end-of-line markers, split as systemd's read_line() does."""
    if _only_newlines(text):
        return text.splitlines(True)  # C speed; only "\n" can break here
    return _LINE.findall(text)


def _continues(line: str) -> bool:
    """True when the line (without EOL) ends in an unescaped backslash."""
    if not line.endswith("\\"):
        return False
    stripped = line.rstrip("\\")
    return (len(line) - len(stripped)) % 2 == 1


def _strip_eol(raw: str) -> str:
    return raw.rstrip("\r\n")


def _over_limit(chars: int) -> bool:
    """Could this many characters exceed LONG_LINE_MAX bytes? (UTF-8: at most 4 bytes each)."""
    return chars * 4 > LONG_LINE_MAX


def _check_size(text: str, lines: list[str], where: str) -> None:
    if not _over_limit(len(text)):
        return
    for number, raw in enumerate(lines, 1):
        if _over_limit(len(raw)) and len(raw.encode()) > LONG_LINE_MAX:
            raise ParseError(f"line too long ({len(raw.encode())} bytes; systemd reads at most {LONG_LINE_MAX}, "
                             "then rejects the file: 'Line too long')", Span(where, number),
                             fix="split the value over several assignments, or remove the line")


def _join_continuation(first: str, lines: list[str], i: int, where: str) -> tuple[str, str, int, int]:
    """Join a continued line like conf-parser.c: backslash -> space, comment lines skipped.

    Returns (raw, logical text, physical line count, index of the next line).
    """
    parts = [first]
    joined = _strip_eol(first)[:-1] + " "
    n = len(lines)
    while i < n:
        nxt = lines[i]
        i += 1
        parts.append(nxt)
        ns = nxt.lstrip(WHITESPACE)
        if ns and ns[0] in COMMENT_CHARS:
            continue
        piece = _strip_eol(nxt)
        if len(joined) + len(piece) > LONG_LINE_MAX:
            raise ParseError("continuation line too long (systemd: 'Continuation line too long', "
                             "the file is rejected)", Span(where, i), fix="end the backslash continuation earlier")
        if _continues(piece):
            joined += piece[:-1] + " "
            continue
        joined += piece
        break
    return "".join(parts), joined, len(parts), i


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
    _check_size(text, lines, where)
    bom = text.startswith(_BOM)
    if bom:
        lines[0] = lines[0][1:]  # put back below: the BOM stays in the first node's raw
    preamble, sections = _parse_lines(lines, where, False)
    unit = UnitFile(path, tuple(preamble), tuple(sections))
    return _restore_bom(unit) if bom else unit


_new = object.__new__
_A_KEY, _A_VALUE, _A_RAW, _A_N = (Assignment.key.__set__, Assignment.value.__set__, Assignment.raw.__set__,
                                  Assignment.nlines.__set__)
_B_RAW, _B_N = Blank.raw.__set__, Blank.nlines.__set__
_C_RAW, _C_N = Comment.raw.__set__, Comment.nlines.__set__


def _assignment(key: str, value: str, raw: str, nlines: int) -> Assignment:
    """Assignment(...) for the parser's hot loop (same object, a third faster than the frozen __init__)."""
    node = _new(Assignment)
    _A_KEY(node, key)
    _A_VALUE(node, value)
    _A_RAW(node, raw)
    _A_N(node, nlines)
    return node


def _blank(raw: str) -> Blank:
    node = _new(Blank)
    _B_RAW(node, raw)
    _B_N(node, 1)
    return node


def _comment(raw: str) -> Comment:
    node = _new(Comment)
    _C_RAW(node, raw)
    _C_N(node, 1)
    return node


def _header_name(s: str, where: str, line: int) -> str:
    if s[-1] != "]":
        raise ParseError(f"invalid section header {s!r} (truncated file?)", Span(where, line),
                         fix="close the section name with ']', e.g. [WireGuardPeer]")
    name = s[1:-1]
    if _UNSAFE_SECTION.search(name):
        raise ParseError(f"bad characters in section header {s!r}", Span(where, line),
                         fix="section names are plain words such as [Network]")
    return name


def _parse_body(body: str) -> tuple[Entry, ...]:
    entries, _ = _parse_lines(split_lines(body), "<section>", True)
    return tuple(entries)


def _parse_lines(lines: list[str], where: str, in_section: bool) -> tuple[list[Entry], list[Section]]:
    """The line loop: nodes before the first header, then the sections."""
    preamble: list[Entry] = []
    sections: list[Section] = []
    entries = preamble
    cur_name = cur_header = ""
    cur_header_n = 1
    have_section = in_section
    ws = WHITESPACE
    i = 0
    n = len(lines)
    while i < n:
        raw = lines[i]
        i += 1
        s = raw.strip(ws)
        if not s:
            entries.append(_blank(raw))
            continue
        c = s[0]
        if c == "#" or c == ";":
            entries.append(_comment(raw))
            continue
        nlines = 1
        if s[-1] == "\\" and _continues(_strip_eol(raw)):
            raw, logical, nlines, i = _join_continuation(raw, lines, i, where)
            s = logical.strip(ws)
            if not s:
                entries.append(Blank(raw, nlines))
                continue
            c = s[0]
        if c == "[":
            name = _header_name(s, where, i)
            if have_section and entries is not preamble:
                sections.append(Section.of(cur_name, cur_header, entries, cur_header_n))
            have_section = True
            cur_name, cur_header, cur_header_n = name, raw, nlines
            entries = []
            continue
        eq = s.find("=")
        if eq > 0 and have_section:
            entries.append(_assignment(s[:eq].rstrip(ws), s[eq + 1:].lstrip(ws), raw, nlines))
        elif eq < 0:
            entries.append(Invalid(raw, "Missing '=', ignoring line.", nlines))
        elif eq == 0:
            entries.append(Invalid(raw, "Missing key name before '=', ignoring line.", nlines))
        else:
            entries.append(Invalid(raw, "Assignment outside of section. Ignoring.", nlines))
    if entries is not preamble:
        sections.append(Section.of(cur_name, cur_header, entries, cur_header_n))
    return preamble, sections


def _restore_bom(unit: UnitFile) -> UnitFile:
    if unit.preamble:
        first = unit.preamble[0]
        fields = {f: getattr(first, f) for f in first.__slots__}
        fields["raw"] = _BOM + first.raw
        return UnitFile(unit.path, (type(first)(**fields),) + unit.preamble[1:], unit.sections)
    sec = unit.sections[0]
    return UnitFile(unit.path, unit.preamble,
                    (Section.of(sec.name, _BOM + sec.header, sec.entries, sec.header_nlines),) + unit.sections[1:])


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
