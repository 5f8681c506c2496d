"""wg-quick files, line by line: the lossless model, the two programs' views of
a line, and `strip` exactly as ``wg-quick strip`` prints it."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from netdwg.errors import ParseError, Span


# wg-quick's own keys in [Interface], in its spelling (matched case-insensitively).
WGQUICK_KEYS = ("Address", "DNS", "MTU", "Table", "PreUp", "PostUp", "PreDown", "PostDown", "SaveConfig")
# The keys `wg setconf` accepts, per section (wireguard-tools src/config.c process_line).
WG_INTERFACE_KEYS = ("PrivateKey", "ListenPort", "FwMark")
WG_PEER_KEYS = ("PublicKey", "PresharedKey", "AllowedIPs", "Endpoint", "PersistentKeepalive")
# wg-quick: [[ $CONFIG_FILE =~ (^|/)([a-zA-Z0-9_=+.-]{1,15})\.conf$ ]]
INTERFACE_NAME = re.compile(r"[a-zA-Z0-9_=+.-]{1,15}")

_C_SPACE = " \t\n\v\f\r"  # isspace() / [[:space:]] in the C locale
_SPACE = re.compile(r"[ \t\n\v\f\r]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_CANONICAL = {k.lower(): k for k in WGQUICK_KEYS + WG_INTERFACE_KEYS + WG_PEER_KEYS}


def _drop_space(text: str) -> str:
    # wg deletes every isspace() character (C locale), not Python's wider str.split() set.
    return _SPACE.sub("", text)


def _lower(text: str) -> str:
    # bash nocasematch under LC_ALL=C folds ASCII letters only.
    return text.translate(_ASCII_LOWER)


class LineKind(enum.Enum):
    BLANK = "blank"
    COMMENT = "comment"
    SECTION = "section"
    KEY = "key"
    INVALID = "invalid"  # no '=' and not a section: `wg` rejects it


@dataclass(frozen=True, slots=True)
class ConfLine:
    text: str  # exactly as written, without the "\n"
    eol: str  # "\n", or "" for a last line without one
    kind: LineKind
    section: str = ""  # "interface", "peer", "" before any section, or the odd name as written
    key: str = ""  # canonical spelling if known (e.g. "AllowedIPs"), else as written
    value: str = ""  # wg-quick's view: cut at '#', trimmed


@dataclass(frozen=True, slots=True)
class WgQuickFile:
    """The lossless line model of one file."""

    path: str
    lines: tuple[ConfLine, ...]

    def format(self) -> str:
        return "".join(line.text + line.eol for line in self.lines)


# ---- lossless parsing -------------------------------------------------------


def parse_wgquick_file(text: str, path: str = "<input>") -> WgQuickFile:
    """Split into classified lines; never fails (meaning is checked later)."""
    lines = []
    section = ""
    segments = text.split("\n")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if last and segment == "":
            break
        line = _classify(segment, "" if last else "\n", section)
        if line.kind is LineKind.SECTION:
            section = line.section
        lines.append(line)
    return WgQuickFile(path, tuple(lines))


def _classify(text: str, eol: str, section: str) -> ConfLine:
    cleaned = _drop_space(text.split("#", 1)[0])  # wg's view of the line
    if not cleaned:
        kind = LineKind.COMMENT if "#" in text else LineKind.BLANK
        return ConfLine(text, eol, kind, section)
    if cleaned.startswith("["):
        name = _lower(cleaned)
        name = {"[interface]": "interface", "[peer]": "peer"}.get(name, cleaned)
        return ConfLine(text, eol, LineKind.SECTION, name)
    stripped = text.replace("\0", "").strip(" \t").split("#", 1)[0]
    key, sep, value = stripped.partition("=")
    if not sep:
        return ConfLine(text, eol, LineKind.INVALID, section, value=stripped.strip(_C_SPACE))
    key = key.strip(_C_SPACE)
    canonical = _CANONICAL.get(_lower(_drop_space(key)), key)
    return ConfLine(text, eol, LineKind.KEY, section, canonical, value.strip(_C_SPACE))


# ---- strip: byte-for-byte `wg-quick strip` ---------------------------------


def strip(text: str) -> str:
    """What ``wg-quick strip`` prints for a file with this text.

    A line-by-line port of wg-quick's ``parse_options`` loop and ``cmd_strip``
    (``echo "$WG_CONFIG"``): bash ``read -r`` drops NUL bytes and trims spaces
    and tabs; a whitespace-only last line without a newline is not read.
    Raises ParseError where wg-quick dies (a SaveConfig that is not a boolean).
    """
    kept: list[str] = []
    in_interface = False
    segments = text.split("\n")
    for number, segment in enumerate(segments, 1):
        line = segment.replace("\0", "").strip(" \t")
        if number == len(segments) and not line:
            break  # `read` hit EOF and `[[ -n $line ]]` is false
        stripped = line.split("#", 1)[0]
        key = stripped.split("=", 1)[0].strip(_C_SPACE)
        value = stripped.split("=", 1)[-1].strip(_C_SPACE)
        if key.startswith("["):
            in_interface = False
        if _lower(key) == "[interface]":
            in_interface = True
        if in_interface and _lower(key) in _WGQUICK_LOWER:
            if _lower(key) == "saveconfig" and _lower(value) not in ("true", "false"):
                raise ParseError(f"`{_shorten(value)}' is neither true nor false", Span("<input>", number),
                                 fix="write SaveConfig = true or SaveConfig = false")
            continue
        kept.append(line + "\n")
    return "".join(kept) + "\n"


_WGQUICK_LOWER = frozenset(k.lower() for k in WGQUICK_KEYS)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
