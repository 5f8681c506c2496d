"""Keep private keys and preshared keys out of every diff, plan and log line.

Two nets, because either alone leaks: the exact secret values known to this
run (the desired and the live device's keys, base64 and hex), and any value of
a key-bearing setting (`PrivateKey=`, `PresharedKey=`, netplan `key:`/`shared:`,
UAPI `private_key=`), which catches secrets netdwg does not know, e.g. an old
file's key that has already been rotated away.
"""

from __future__ import annotations

import difflib
import re
from typing import Iterable

from netdwg.keys import REDACTED
from netdwg.wireguard import WgDevice

_SECRET_SETTING = re.compile(
    r"^(\s*-?\s*(?:PrivateKey|PresharedKey|private_key|preshared_key|key|shared)\s*[=:]\s*)(?![/\"']?/)(\S.*?)\s*$",
    re.IGNORECASE,
)
_BARE_KEY = re.compile(r"^\s*[A-Za-z0-9+/]{43}=\s*$")


def secrets_of(devices: Iterable[WgDevice | None]) -> frozenset[str]:
    """Every textual form of every secret key the devices hold."""
    out: set[str] = set()
    for device in devices:
        if device is None:
            continue
        keys = [device.private_key] + [p.preshared_key for p in device.peers]
        for key in keys:
            if key is not None:
                out.add(key.reveal_base64())
                out.add(key.reveal_hex())
    return frozenset(out)


def redact_line(line: str, secrets: frozenset[str] = frozenset(), secret_file: bool = False) -> str:
    for value in secrets:
        if value in line:
            line = line.replace(value, REDACTED)
    match = _SECRET_SETTING.match(line)
    if match and match.group(2) != REDACTED:
        line = match.group(1) + REDACTED + ("\n" if line.endswith("\n") else "")
    elif secret_file and _BARE_KEY.match(line):
        line = REDACTED + ("\n" if line.endswith("\n") else "")
    return line


def redact_text(text: str, secrets: frozenset[str] = frozenset(), secret_file: bool = False) -> str:
    return "".join(redact_line(line, secrets, secret_file) for line in text.splitlines(keepends=True))


def unified_diff(path: str, old: str | None, new: str | None, secrets: frozenset[str], secret_file: bool) -> str:
    """A `diff -u` of old and new with every secret replaced by (hidden)."""
    old_lines = redact_text(old or "", secrets, secret_file).splitlines(keepends=True)
    new_lines = redact_text(new or "", secrets, secret_file).splitlines(keepends=True)
    lines = difflib.unified_diff(old_lines, new_lines,
                                 fromfile="/dev/null" if old is None else f"a{path}",
                                 tofile="/dev/null" if new is None else f"b{path}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
