"""sysctl.d drop-ins: a lossless parse/format, small edits, and the effective
value of a key as systemd-sysctl computes it across all directories.

Parsing follows systemd 252 ``src/sysctl/sysctl.c`` (``parse_file``):

- a line ends at ``\\n``, ``\\r\\n``, ``\\r`` or NUL (``read_line``); a line over
  1 MiB (``LONG_LINE_MAX``) makes systemd-sysctl stop reading the file;
- whitespace (space, tab, CR, LF) around the line, the key and the value is
  stripped; empty lines and lines whose first character is ``#`` or ``;``
  are comments;
- ``key = value`` assigns; a leading ``-`` means "ignore failure"; ``-key``
  without ``=`` excludes the key from glob patterns; any other line is "not an
  assignment" (systemd warns, ignores it and the service fails at the end);
- keys may use dots or slashes (`normalize_key`), and may be globs.

`format_sysctl(parse_sysctl(text)) == text` for every text. Edits return a
new `SysctlFile` in which every line they do not touch is byte-identical.
"""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Iterator

from netdwg.errors import Diagnostic, ParseError, Severity, Span
from netdwg.values import MAX_FILE_BYTES, read_limited

# systemd's LONG_LINE_MAX: read_line() fails with ENOBUFS beyond this.
LONG_LINE_MAX = 1024 * 1024
_WHITESPACE = " \t\n\r"  # systemd's WHITESPACE, used by strstrip()
_COMMENTS = "#;"
_EOL = re.compile(r"\r\n|\r|\n|\0")
_GLOB_CHARS = "*?["

# Directories in precedence order (systemd CONF_PATHS("sysctl.d")). A file in an
# earlier directory masks a file of the same name in a later one. /lib/sysctl.d
# is read only on split-/usr systems; on merged-/usr Debian 12 it is the same
# directory as /usr/lib/sysctl.d, which the de-duplication by name handles.
SYSCTL_DIRS = ("etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d", "lib/sysctl.d")
# systemd-sysctl never reads /etc/sysctl.conf itself: Debian's procps links it
# in as /etc/sysctl.d/99-sysctl.conf, and `sysctl --system` reads it last. We
# treat it as read last unless a drop-in symlink already brought it in.
SYSCTL_CONF = "etc/sysctl.conf"


class LineKind(enum.Enum):
    BLANK = "blank"
    COMMENT = "comment"
    ASSIGNMENT = "assignment"  # key = value
    EXCLUSION = "exclusion"  # -key (no '='): exclude from glob patterns
    INVALID = "invalid"  # not an assignment: systemd warns and ignores it


@dataclass(frozen=True, slots=True)
class SysctlLine:
    text: str  # the line exactly as written, without its line ending
    eol: str  # "\n", "\r\n", "\r", "\0" or "" for a last line without one
    kind: LineKind
    key: str = ""  # as written, stripped, without the leading '-'
    value: str | None = None  # stripped; None for exclusions and non-assignments
    ignore_failure: bool = False  # leading '-' on an assignment

    @property
    def normalized_key(self) -> str:
        return normalize_key(self.key)


@dataclass(frozen=True, slots=True)
class SysctlFile:
    path: str
    lines: tuple[SysctlLine, ...]

    def format(self) -> str:
        return "".join(line.text + line.eol for line in self.lines)

    def settings(self) -> Iterator[tuple[int, SysctlLine]]:
        """(1-based line number, line) for every assignment and exclusion."""
        for number, line in enumerate(self.lines, 1):
            if line.kind in (LineKind.ASSIGNMENT, LineKind.EXCLUSION):
                yield number, line

    def get(self, key: str) -> str | None:
        """The value this file alone gives `key` (the last assignment wins)."""
        wanted = normalize_key(key)
        value = None
        for _, line in self.settings():
            if line.kind is LineKind.ASSIGNMENT and line.normalized_key == wanted:
                value = line.value
        return value

    def set(self, key: str, value: str, ignore_failure: bool = False) -> "SysctlFile":
        """Set `key`: rewrite the value of its last assignment in place (keeping
        the spacing around '=' and the line ending), or append ``key = value``."""
        _check_key_value(key, value, self.path)
        wanted = normalize_key(key)
        matches = [i for i, line in enumerate(self.lines)
                   if line.kind is LineKind.ASSIGNMENT and line.normalized_key == wanted]
        lines = list(self.lines)
        if matches:
            i = matches[-1]
            old = lines[i]
            text = _replace_value(old.text, value)
            if ignore_failure and not old.ignore_failure:
                lead = len(text) - len(text.lstrip(_WHITESPACE))
                text = text[:lead] + "-" + text[lead:]
            lines[i] = replace(old, text=text, value=value, ignore_failure=old.ignore_failure or ignore_failure)
            return replace(self, lines=tuple(lines))
        if lines and not lines[-1].eol:
            lines[-1] = replace(lines[-1], eol=_dominant_eol(self.lines))
        text = sysctl_line(key, value, ignore_failure, self.path)
        lines.append(SysctlLine(text, _dominant_eol(self.lines), LineKind.ASSIGNMENT, key, value, ignore_failure))
        return replace(self, lines=tuple(lines))

    def remove(self, key: str) -> "SysctlFile":
        """Drop every assignment and exclusion of `key`; other lines stay as they are."""
        wanted = normalize_key(key)
        kept = tuple(line for line in self.lines
                     if not (line.kind in (LineKind.ASSIGNMENT, LineKind.EXCLUSION)
                             and line.normalized_key == wanted))
        return replace(self, lines=kept)


@dataclass(frozen=True, slots=True)
class SysctlSetting:
    """One key's winning entry: value None means "excluded from globs" (``-key``)."""

    key: str  # normalized, slash-separated path under /proc/sys
    value: str | None
    ignore_failure: bool
    span: Span

    @property
    def is_glob(self) -> bool:
        return is_glob(self.key)


def normalize_key(key: str) -> str:
    """The path under /proc/sys that `key` names (systemd's sysctl_normalize).

    If the first separator is a slash, the key is already a path; if it is a
    dot, dots and slashes swap: ``net.ipv4.conf.enp3s0/200.forwarding`` is
    ``net/ipv4/conf/enp3s0.200/forwarding``. Leading and repeated slashes go.
    """
    first = next((i for i, c in enumerate(key) if c in "./"), -1)
    if first >= 0 and key[first] == ".":
        key = key.translate(str.maketrans("./", "/."))
    return "/".join(part for part in key.split("/") if part)


def dotted_key(key: str) -> str:
    """The usual spelling of a key for people: ``net.ipv4.ip_forward``."""
    return normalize_key(key).translate(str.maketrans("/.", "./"))


def is_glob(key: str) -> bool:
    return any(c in key for c in _GLOB_CHARS)


def parse_sysctl(text: str, path: str = "<input>") -> SysctlFile:
    """Parse a sysctl.d file; never fails except for a line systemd cannot read."""
    lines: list[SysctlLine] = []
    pos = 0
    number = 0
    for match in _EOL.finditer(text):
        number += 1
        lines.append(_parse_line(text[pos:match.start()], match.group(), path, number))
        pos = match.end()
    if pos < len(text):
        lines.append(_parse_line(text[pos:], "", path, number + 1))
    return SysctlFile(path, tuple(lines))


def format_sysctl(file: SysctlFile) -> str:
    return file.format()


def _parse_line(text: str, eol: str, path: str, number: int) -> SysctlLine:
    if len(text) >= LONG_LINE_MAX:
        raise ParseError(f"line {number} is {len(text)} characters long; systemd-sysctl reads at most "
                         f"{LONG_LINE_MAX} per line and stops reading the file there",
                         Span(path, number), fix="this does not look like a sysctl.d file; check what wrote it")
    p = text.strip(_WHITESPACE)
    if not p:
        return SysctlLine(text, eol, LineKind.BLANK)
    if p[0] in _COMMENTS:
        return SysctlLine(text, eol, LineKind.COMMENT)
    key, sep, value = p.partition("=")
    if sep:
        ignore = key.startswith("-")
        key = key[1:] if ignore else key
        return SysctlLine(text, eol, LineKind.ASSIGNMENT, key.strip(_WHITESPACE), value.strip(_WHITESPACE), ignore)
    if p.startswith("-"):
        return SysctlLine(text, eol, LineKind.EXCLUSION, p[1:].strip(_WHITESPACE))
    return SysctlLine(text, eol, LineKind.INVALID)


def _replace_value(text: str, value: str) -> str:
    eq = text.index("=")
    rest = text[eq + 1:]
    lead = len(rest) - len(rest.lstrip(_WHITESPACE))
    tail = len(rest) - len(rest.rstrip(_WHITESPACE))
    old_value_end = len(rest) - tail
    if lead == len(rest):  # empty value: keep one space if the key side has one
        spacing = " " if text[:eq].endswith((" ", "\t")) else ""
        return text[:eq + 1] + spacing + value + rest[lead:]
    return text[:eq + 1] + rest[:lead] + value + rest[old_value_end:]


def _dominant_eol(lines: tuple[SysctlLine, ...]) -> str:
    eols = [line.eol for line in lines if line.eol]
    return max(set(eols), key=eols.count) if eols else "\n"


def sysctl_line(key: str, value: str, ignore_failure: bool = False, path: str = "<rendered>") -> str:
    """``[-]key = value`` (no line end): the one way netdwg writes a setting into a sysctl.d file.

    ParseError (a ValueError) for what systemd-sysctl would read otherwise: it refuses, never escapes.
    """
    _check_key_value(key, value, path)
    if value != value.strip(_WHITESPACE):
        raise ParseError(f"invalid value for {key}: {value!r} has surrounding whitespace, which systemd-sysctl strips",
                         Span(path), fix="remove the whitespace")
    return f"{'-' if ignore_failure else ''}{key} = {value}"


def sysctl_comment(text: str) -> str:
    """``# text`` lines (one per line of `text`): the one way netdwg writes a comment into a sysctl.d file."""
    if any(c in text for c in "\r\0"):
        raise ParseError(f"cannot write the comment {text[:60]!r}: it holds a CR or NUL", fix="remove it")
    return "\n".join(f"# {line}".rstrip() for line in text.split("\n"))


def _check_key_value(key: str, value: str, path: str) -> None:
    bad_key = (not key.strip() or key != key.strip(_WHITESPACE) or "=" in key or key.startswith("-")
               or any(c in key for c in "\n\r\0#;"))
    if bad_key:
        raise ParseError(f"invalid sysctl key {key!r}", Span(path),
                         fix="write a key such as net.ipv4.ip_forward (no spaces, '=', '#' or leading '-')")
    if any(c in value for c in "\n\r\0"):
        raise ParseError(f"invalid value for {key}: it contains a line break", Span(path),
                         fix="a sysctl value is one line")


# ---- the effective view across directories --------------------------------


def sysctl_files(root: Path) -> tuple[Path, ...]:
    """The files systemd-sysctl reads under `root`, in the order it reads them.

    ``*.conf`` files from all `SYSCTL_DIRS`, sorted by file name; for each name
    only the file in the earliest directory counts; a symlink to /dev/null (or
    an empty file) masks the name. /etc/sysctl.conf comes last unless one of
    the files is a symlink to it (Debian's 99-sysctl.conf).
    """
    root = Path(root)
    chosen: dict[str, Path] = {}
    for directory in SYSCTL_DIRS:
        base = root / directory
        try:
            entries = sorted(os.listdir(base))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in entries:
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = base / name
    files: list[Path] = []
    seen: set[Path] = set()
    for name in sorted(chosen):
        real = _resolve_in_root(chosen[name], root)
        if real is None or not real.is_file():
            continue  # masked with /dev/null, or a dangling link
        files.append(chosen[name])
        seen.add(real)
    conf = root / SYSCTL_CONF
    if conf.is_file() and _resolve_in_root(conf, root) not in seen:
        files.append(conf)
    return tuple(files)


def _resolve_in_root(path: Path, root: Path) -> Path | None:
    """Follow symlinks as the host would, but inside `root`; None for /dev/null."""
    for _ in range(40):
        if not path.is_symlink():
            return path.resolve()
        target = os.readlink(path)
        if target == "/dev/null":
            return None
        path = (root / target.lstrip("/")) if target.startswith("/") else path.parent / target
    return None


def merge_sysctl(files: list[SysctlFile] | tuple[SysctlFile, ...]) -> dict[str, SysctlSetting]:
    """Merge parsed files (in reading order) as systemd-sysctl does.

    A later assignment of a key replaces an earlier one and moves it to the end
    of the apply order; an assignment with the same value keeps the earlier
    one (systemd 252: "if (streq_ptr(value, existing->value)) continue").
    """
    merged: dict[str, SysctlSetting] = {}
    for file in files:
        for number, line in file.settings():
            key = line.normalized_key
            existing = merged.get(key)
            if existing is not None and existing.value == line.value:
                if line.ignore_failure and not existing.ignore_failure:
                    merged[key] = replace(existing, ignore_failure=True)
                continue
            merged.pop(key, None)
            merged[key] = SysctlSetting(key, line.value, line.ignore_failure, Span(file.path, number))
    return merged


def load_sysctl(root: Path) -> dict[str, SysctlSetting]:
    """Every setting systemd-sysctl would apply on the host under `root`."""
    parsed = []
    for path in sysctl_files(root):
        # Read through symlinks resolved inside root, but name the file as listed.
        real = _resolve_in_root(path, Path(root)) or path
        parsed.append(parse_sysctl(read_sysctl_text(real), str(path)))
    return merge_sysctl(parsed)


def read_sysctl_text(path: Path) -> str:
    try:
        data = read_limited(path, MAX_FILE_BYTES, "a sysctl.d file")  # a larger file is refused unread
    except OSError as err:
        raise ParseError(f"cannot read: {err.strerror}", Span(str(path))) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ParseError("not a text file (invalid UTF-8)", Span(str(path), line),
                         fix="sysctl.d files are plain text") from None


def effective_setting(settings: dict[str, SysctlSetting], key: str) -> SysctlSetting | None:
    """The entry that decides `key`: its explicit entry, else the last matching glob.

    An explicit entry with value None (``-key``) means no glob sets the key.
    """
    wanted = normalize_key(key)
    explicit = settings.get(wanted)
    if explicit is not None:
        return explicit
    winner = None
    for setting in settings.values():  # apply order: the last glob written wins
        if setting.is_glob and setting.value is not None and _glob_matches(setting.key, wanted):
            winner = setting
    return winner


def effective_value(root: Path, key: str) -> SysctlSetting | None:
    """What systemd-sysctl sets `key` to on the host under `root`, and which file:line says so."""
    return effective_setting(load_sysctl(root), key)


def _glob_matches(pattern: str, key: str) -> bool:
    # glob(3) on /proc/sys paths: a wildcard never crosses a '/'.
    parts, wanted = pattern.split("/"), key.split("/")
    return len(parts) == len(wanted) and all(fnmatchcase(w, p) for p, w in zip(parts, wanted))


# ---- diagnostics for `netdwg check` ----------------------------------------


def check_sysctl(text: str, path: str = "<input>", in_sysctl_dir: bool = False) -> list[Diagnostic]:
    """Every problem systemd-sysctl would report (or silently act on) in one file."""
    try:
        file = parse_sysctl(text, path)
    except ParseError as err:
        return [Diagnostic("SYS001", Severity.ERROR, err.message, err.span, fix=err.fix)]
    found: list[Diagnostic] = []
    name = path.rsplit("/", 1)[-1]
    if in_sysctl_dir and not name.endswith(".conf"):
        found.append(Diagnostic("SYS002", Severity.WARNING, "systemd-sysctl reads only *.conf files; this one is ignored",
                                Span(path), fix=f"rename it to {name}.conf"))
    seen: dict[str, tuple[int, str | None]] = {}
    for number, line in enumerate(file.lines, 1):
        span = Span(path, number)
        if line.kind is LineKind.INVALID:
            found.append(Diagnostic("SYS003", Severity.ERROR,
                                    f"line is not an assignment: {_shorten(line.text.strip())!r} "
                                    "(systemd-sysctl ignores it and then fails)",
                                    span, fix="write 'key = value', '-key = value' or '-key' (exclude from globs)"))
            continue
        if line.kind not in (LineKind.ASSIGNMENT, LineKind.EXCLUSION):
            continue
        if not normalize_key(line.key):
            found.append(Diagnostic("SYS004", Severity.ERROR, "assignment without a key", span,
                                    fix="write 'key = value', e.g. net.ipv4.ip_forward = 1"))
            continue
        if any(c in line.key for c in " \t"):
            found.append(Diagnostic("SYS005", Severity.ERROR, f"key {_shorten(line.key)!r} contains whitespace", span,
                                    fix="a key is one word such as net.ipv4.ip_forward"))
        if line.kind is LineKind.ASSIGNMENT and line.value == "":
            found.append(Diagnostic("SYS006", Severity.WARNING,
                                    f"{dotted_key(line.key)} is assigned an empty value", span,
                                    fix="give a value, or remove the line"))
        key = line.normalized_key
        if key in seen and seen[key][1] != line.value:
            found.append(Diagnostic("SYS007", Severity.INFO,
                                    f"{dotted_key(line.key)} is set again; line {seen[key][0]} has no effect",
                                    span, fix=f"remove line {seen[key][0]}"))
        seen[key] = (number, line.value)
    return found


def check_sysctl_overrides(files: list[SysctlFile] | tuple[SysctlFile, ...]) -> list[Diagnostic]:
    """An INFO at every assignment that a later file (systemd's order: by file
    name) sets to another value, e.g. a router's ip_forward=1 undone by 99-local.conf."""
    ordered = sorted(files, key=lambda f: f.path.rsplit("/", 1)[-1])
    winner = merge_sysctl(ordered)
    found = []
    for file in ordered:
        for number, line in file.settings():
            final = winner.get(line.normalized_key)
            if final is None or final.span.path == file.path or final.value == line.value:
                continue
            shown = "excluded from globs" if final.value is None else f"set to {_shorten(final.value)!r}"
            found.append(Diagnostic("SYS008", Severity.INFO,
                                    f"{dotted_key(line.key)} = {_shorten(line.value or '')!r} here has no effect: "
                                    f"{final.span} wins ({shown})", Span(file.path, number),
                                    fix=f"change it in {final.span.path}, or remove one of the two"))
    return found


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
