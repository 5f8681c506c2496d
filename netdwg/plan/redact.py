"""Keep private keys and preshared keys out of every diff, plan and log line.

Two nets, because either alone leaks: the exact secret values known to this
run (the desired and the live device's keys, base64 and hex), and any value of
a key-bearing setting (`PrivateKey=`, `PresharedKey=`, netplan `key:`/`shared:`,
UAPI `private_key=`), which catches secrets netdwg does not know, e.g. an old
file's key that has already been rotated away.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

from netdwg.keys import REDACTED
from netdwg.wireguard import WgDevice

# The value of a key setting, unless it is a path (PrivateKeyFile-like values in netplan's
# `key: /etc/...`): a value that starts with "/" but is a whole base64 key (1 key in 64
# starts with "/") is a key all the same.
_SECRET_SETTING = re.compile(
    r"^(\s*-?\s*(?:PrivateKey|PresharedKey|private_key|preshared_key|key|shared)\s*[=:]\s*)"
    r"(?!(?![\"']?[A-Za-z0-9+/]{43}=[\"']?\s*$)[/\"']?/)(\S.*?)\s*$",
    re.IGNORECASE,
)
_BARE_KEY = re.compile(r"^\s*[A-Za-z0-9+/]{43}=\s*$")
# Anything shaped like a key, base64 or hex: looked up in the set of known secrets
# (one scan per line, not one per secret: a 5,000-peer hub has 10,000 secrets).
_KEY_TOKEN = re.compile(r"[A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64}")


def secrets_of(devices: Iterable[WgDevice | None]) -> frozenset[bytes]:
    """The raw bytes of every secret key the devices hold (text forms are matched by decoding)."""
    out: set[bytes] = set()
    for device in devices:
        if device is None:
            continue
        if device.private_key is not None:
            out.add(device.private_key.raw)
        out.update(p.preshared_key.raw for p in device.peers if p.preshared_key is not None)
    return frozenset(out)


def _is_secret(token: str, secrets: frozenset[bytes]) -> bool:
    try:
        raw = bytes.fromhex(token) if len(token) == 64 else base64.b64decode(token)
    except ValueError:
        return False
    return raw in secrets


def redact_line(line: str, secrets: frozenset[bytes] = frozenset(), secret_file: bool = False) -> str:
    if secrets:
        line = _KEY_TOKEN.sub(lambda m: REDACTED if _is_secret(m.group(0), secrets) else m.group(0), line)
    match = _SECRET_SETTING.match(line)
    if match and match.group(2) != REDACTED:
        line = match.group(1) + REDACTED + ("\n" if line.endswith("\n") else "")
    elif secret_file and _BARE_KEY.match(line):
        line = REDACTED + ("\n" if line.endswith("\n") else "")
    return line


def redact_text(text: str, secrets: frozenset[bytes] = frozenset(), secret_file: bool = False) -> str:
    return "".join(redact_line(line, secrets, secret_file) for line in text.splitlines(keepends=True))


_HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")
_BLOCK = 1 << 16


def _differing_lines(a: str, b: str, context: int) -> tuple[int, int, int]:
    """(begin, a_end, b_end): the part of a and b from `context` lines before the first
    differing line to `context` lines after the last, as string offsets on line starts.

    Compared in 64 KiB blocks (C memcmp) rather than line by line: on a 5,000-peer
    .netdev with one peer changed, head and tail are 35,000 equal lines.
    """
    limit = min(len(a), len(b))
    head = 0
    while head + _BLOCK <= limit and a[head:head + _BLOCK] == b[head:head + _BLOCK]:
        head += _BLOCK
    step = _BLOCK
    while step > 1:  # the first differing character (or `limit`) inside the block
        step //= 2
        if head + step <= limit and a[head:head + step] == b[head:head + step]:
            head += step
    tail, room = 0, limit - head  # the equal tail never reaches into the equal head
    while tail + _BLOCK <= room and a[len(a) - tail - _BLOCK:len(a) - tail] == b[len(b) - tail - _BLOCK:len(b) - tail]:
        tail += _BLOCK
    step = _BLOCK
    while step > 1:
        step //= 2
        if tail + step <= room and a[len(a) - tail - step:len(a) - tail] == b[len(b) - tail - step:len(b) - tail]:
            tail += step
    begin = a.rfind("\n", 0, head) + 1  # the start of the first differing line
    a_end, b_end = len(a) - tail, len(b) - tail
    if not ((a_end == 0 or a[a_end - 1] == "\n") and (b_end == 0 or b[b_end - 1] == "\n")):
        nxt = a.find("\n", a_end)  # the equal tail starts mid-line: from the next line on
        skip = len(a) - a_end if nxt < 0 else nxt + 1 - a_end
        a_end, b_end = a_end + skip, b_end + skip
    for _ in range(context):
        if begin > 0:
            begin = a.rfind("\n", 0, begin - 1) + 1
        a_end, b_end = _next_line(a, a_end), _next_line(b, b_end)
    return begin, a_end, b_end


def _next_line(text: str, at: int) -> int:
    if at >= len(text):
        return at
    nxt = text.find("\n", at)
    return len(text) if nxt < 0 else nxt + 1


def unified_diff(path: str, old: str | None, new: str | None, secrets: frozenset[bytes], secret_file: bool,
                 context: int = 3) -> str:
    """A `diff -u` of old and new with every secret replaced by (hidden).

    The common head and tail are cut before difflib sees the text (one peer
    changed in a 30,000-line .netdev stays fast), and only the diff's own
    lines are redacted.
    """
    old_text, new_text = old or "", new or ""
    begin, a_end, b_end = _differing_lines(old_text, new_text, context)
    start = old_text.count("\n", 0, begin)  # lines before the part difflib sees
    a = old_text[begin:a_end].splitlines(keepends=True)
    b = new_text[begin:b_end].splitlines(keepends=True)
    import difflib  # only when a file changed

    lines = list(difflib.unified_diff(a, b,
                                      fromfile="/dev/null" if old is None else f"a{path}",
                                      tofile="/dev/null" if new is None else f"b{path}", n=context))
    out, removed, added, raw_removed, raw_added = [], [], [], [], []
    for index, line in enumerate(lines):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        if index < 2:
            out.append(line)
            continue
        hunk = _HUNK.match(line)
        if hunk:
            a_start, b_start = int(hunk.group(1)), int(hunk.group(3))
            out.append(f"@@ -{a_start + start if a_start else 0}{hunk.group(2) or ''} "
                       f"+{b_start + start if b_start else 0}{hunk.group(4) or ''} @@{line[hunk.end():]}")
            continue
        shown = line[0] + redact_line(line[1:], secrets, secret_file)
        out.append(shown)
        if line[0] == "-":
            removed.append(shown[1:])
            raw_removed.append(line[1:])
        elif line[0] == "+":
            added.append(shown[1:])
            raw_added.append(line[1:])
    if sorted(removed) == sorted(added) and sorted(raw_removed) != sorted(raw_added):
        out.append("  (only secret values changed)\n")
    return "".join(out)
