"""Fast text helpers shared by the renderers.

A hub with 10,000 clients and 50 sites renders hundreds of thousands of
lines; `str()` of an ipaddress network costs microseconds each time and the
unit-file builder validates every line through several layers. The renderers
therefore format plain lines here, with cached conversions; tests prove the
text equals what `netdwg.unitfile`'s builder and `netdwg.wgquick`'s writer
produce for the same values (tests/unit/test_render_text.py).
"""

from __future__ import annotations

from functools import lru_cache

from netdwg.errors import InternalError


@lru_cache(maxsize=1 << 17)
def text_of(value: object) -> str:
    """str() of a network, address, interface or endpoint, cached (they are immutable)."""
    return str(value)


def joined(values, sep: str) -> str:
    return sep.join([text_of(v) for v in values])


def unit_line(key: str, value: str) -> str:
    """``Key=value\\n`` as systemd reads it back; refuses what it would read differently."""
    if "\n" in value or "\r" in value or "\0" in value or value != value.strip() or value.endswith("\\"):
        raise InternalError(f"{key}={value!r} cannot be written into a unit file")
    return f"{key}={value}\n"


def comment_lines(text: str) -> list[str]:
    return [f"# {line}".rstrip() + "\n" for line in (text.splitlines() or [""])]


class Shared:
    """Text blocks shared by many hosts (e.g. the same 50 LAN routes), keyed by the value's identity.

    The compiler hands every host with the same reach the very same tuple, so
    its block is formatted once. The value itself is kept so its id is never reused.
    """

    def __init__(self, limit: int = 4096) -> None:
        self._blocks: dict[int, tuple[object, str]] = {}
        self._limit = limit

    def get(self, value: object, build) -> str:
        found = self._blocks.get(id(value))
        if found is not None and found[0] is value:
            return found[1]
        text = build(value)
        if len(self._blocks) >= self._limit:
            self._blocks.clear()
        self._blocks[id(value)] = (value, text)
        return text
