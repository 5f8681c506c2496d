"""The one way netdwg writes a value or a comment into a systemd unit file.

    assignment_text(key, text) -> "Key=text\\n"     (renderers, the builder and edits alike)
    comment_text(text) -> "# line\\n" per line

Both refuse, never escape (systemd has no escape that works in every key):
ValueError for what systemd would read back otherwise. A control character:
read_line() ends a line at LF and CR, and C1 and the Unicode separators end
lines for other readers of the file. Whitespace at either end of a value:
stripped. A trailing backslash: continues a value's line (a comment line is
skipped before continuations are joined, v252's conf-parser.c, so it may end in one).
"""

from __future__ import annotations

import re

_UNSAFE_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]|\\\\$|^ | $")
_KEY = re.compile(r"[A-Za-z0-9_-]+")
_UNSAFE_COMMENT = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")  # LF: between comment lines


def assignment_text(key: str, text: str) -> str:
    """``Key=text\\n``, or ValueError naming what systemd would read differently."""
    if _KEY.fullmatch(key) is None or _UNSAFE_TEXT.search(text) is not None:
        _refuse(key, text)
    return f"{key}={text}\n"


def _refuse(key: str, text: str) -> None:
    if _KEY.fullmatch(key) is None:
        raise ValueError(f"invalid key name {key!r}")
    if any(c in text for c in "\n\r\0"):
        raise ValueError(f"{key}= value must be one line")
    if text != text.strip(" \t"):
        raise ValueError(f"{key}= value {text!r} has surrounding whitespace, which systemd strips")
    if text.endswith("\\"):
        raise ValueError(f"{key}= value ends in a backslash, which systemd reads as a line continuation")
    raise ValueError(f"{key}= value {text[:60]!r} holds a control character")


def comment_text(text: str) -> str:
    """``# text`` lines, one per line of `text` (split at LF only), or ValueError."""
    if _UNSAFE_COMMENT.search(text) is not None:
        raise ValueError(f"comment {text[:60]!r} holds a control character")
    return "".join([f"# {line}".rstrip() + "\n" for line in text.splitlines() or [""]])
