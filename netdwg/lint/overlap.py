"""Overlap detection among IP prefixes in O(n log n): sort, then sweep.

CIDR prefixes never partially overlap: two prefixes are either disjoint or
one contains the other. Sorted by (family, first address, prefix length),
every prefix that contains the current one is still "open" on a stack of
nested prefixes, so one sweep finds all containments. The stack holds a
chain of nested prefixes, so it is at most 33 (IPv4) or 129 (IPv6) deep:
the sweep is linear after the sort, and the whole check is O(n log n)
instead of the O(n²) of comparing every pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Hashable, Iterable, Iterator, TypeVar

from netdwg.wireguard import IPNetwork

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Tagged(Generic[T]):
    """A prefix and what it belongs to; `owner` decides which overlaps count."""

    prefix: IPNetwork
    owner: Hashable
    tag: T


@dataclass(frozen=True, slots=True)
class Overlap(Generic[T]):
    outer: Tagged[T]  # the containing (or equal, earlier) prefix
    inner: Tagged[T]


def find_overlaps(items: Iterable[Tagged[T]]) -> Iterator[Overlap[T]]:
    """Yield each prefix that lies inside a prefix of a different owner, once.

    The outer prefix reported is the nearest (most specific) one with a
    different owner. Prefixes of the same owner may nest freely (a spoke's
    own /32 inside its own LAN is not a conflict between peers).
    """
    ordered = sorted(items, key=lambda t: (t.prefix.version, int(t.prefix.network_address), t.prefix.prefixlen))
    stack: list[tuple[int, int, Tagged[T]]] = []  # (version, last address, item), nested from outermost
    for item in ordered:
        version = item.prefix.version
        first = int(item.prefix.network_address)
        while stack and (stack[-1][0] != version or stack[-1][1] < first):
            stack.pop()
        for _, _, outer in reversed(stack):
            if outer.owner != item.owner:
                yield Overlap(outer, item)
                break
        stack.append((version, int(item.prefix.broadcast_address), item))


def find_overlaps_quadratic(items: Iterable[Tagged[T]]) -> Iterator[tuple[Tagged[T], Tagged[T]]]:
    """The obvious O(n²) comparison; only for tests and the benchmark's baseline."""
    seq = list(items)
    for i, a in enumerate(seq):
        for b in seq[i + 1:]:
            if a.owner != b.owner and a.prefix.version == b.prefix.version and a.prefix.overlaps(b.prefix):
                yield a, b
