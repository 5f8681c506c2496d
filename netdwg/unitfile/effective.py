"""The effective view: what systemd-networkd 252 sees after reading a unit and its drop-ins.

Order (conf-parser.c config_parse_many, conf-files.c): the main file is the
first of the search directories that has the name; then every
``NAME.d/*.conf`` of every search directory, sorted by file name across
directories, where a name found in an earlier directory (/etc before /run
before /usr/local/lib before /usr/lib) masks the same name later. A drop-in
that is empty or a symlink to /dev/null masks without adding anything.

Values: continuation already joined by the parser; an empty assignment resets
the key (for a list such as ``AllowedIPs=`` it drops what came before, for a
scalar it goes back to the default); otherwise a later assignment wins (scalar)
or appends (list). Sections: a repeated ``[Network]`` simply continues, also
across drop-ins, while every ``[WireGuardPeer]``, ``[Address]``, ``[Route]``,
``[RoutingPolicyRule]``... instance is its own object (networkd keys those
objects by file name and section line), also in drop-ins.

Every value carries the `Span` (file, line) it came from. Building the view is
pure; only `locate_unit` and `load_effective` touch the file system.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping, Sequence  # not typing: a costly import for annotations
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from netdwg.errors import ParseError, Span
from netdwg.unitfile.io import load_unit
from netdwg.unitfile.syntax import Assignment, Entry, Section, UnitFile

# CONF_PATHS("systemd/network") in 252. Debian 12 is merged-/usr, so /lib is /usr/lib.
NETWORK_DIRS = ("/etc/systemd/network", "/run/systemd/network",
                "/usr/local/lib/systemd/network", "/usr/lib/systemd/network")

# Sections whose every instance is a separate object in networkd 252
# (network_config_section_new(filename, section_line) in the section's parser).
INSTANCED_SECTIONS = frozenset({
    "WireGuardPeer", "Address", "Route", "RoutingPolicyRule", "NextHop", "Neighbor",
    "BridgeFDB", "BridgeMDB", "IPv6Prefix", "IPv6RoutePrefix", "IPv6AddressLabel",
    "DHCPServerStaticLease", "SR-IOV", "L2TPSession", "MACsecReceiveChannel",
    "MACsecTransmitAssociation", "MACsecReceiveAssociation",
    # traffic control: one qdisc/class per section instance
    "QDisc", "BFIFO", "CAKE", "ControlledDelay", "DeficitRoundRobinScheduler",
    "DeficitRoundRobinSchedulerClass", "EnhancedTransmissionSelection", "FairQueueing",
    "FairQueueingControlledDelay", "FlowQueuePIE", "GenericRandomEarlyDetection",
    "HeavyHitterFilter", "HierarchyTokenBucket", "HierarchyTokenBucketClass", "NetworkEmulator",
    "PFIFO", "PFIFOFast", "PFIFOHeadDrop", "PIE", "QuickFairQueueing", "QuickFairQueueingClass",
    "StochasticFairBlue", "StochasticFairnessQueueing", "TokenBucketFilter", "TrivialLinkEqualizer",
    "TrafficControlQueueingDiscipline",
})


@dataclass(frozen=True, slots=True)
class Value:
    """One assignment as systemd sees it: key, joined value, where it is."""

    key: str
    text: str
    span: Span

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EffectiveSection:
    """A section as networkd uses it: all its assignments in reading order.

    An instanced section (one ``[WireGuardPeer]``) keeps a reference to its
    syntax node and builds its `Value` objects on first use: an edit of one
    peer of a 10,000-peer hub never needs the 40,000 values of the others.
    """

    name: str
    span: Span  # the header of the (first) instance
    _values: tuple[Value, ...] | None = ()
    # (file, syntax section, header line, what is above it: the previous Section or the
    # preamble's entries, whose trailing comments belong to this section) while _values is None
    _source: tuple[str, Section, int, Section | tuple[Entry, ...]] | None = None

    @classmethod
    def lazy(cls, name: str, span: Span, path: str, section: Section, header_line: int,
             above: Section | tuple[Entry, ...] = ()) -> "EffectiveSection":
        """The section whose values come from ``section`` (read on first use)."""
        sec = _new(cls)
        _E_NAME(sec, name)
        _E_SPAN(sec, span)
        _E_VALUES(sec, None)
        _E_SOURCE(sec, (path, section, header_line, above))
        return sec

    @property
    def assignments(self) -> tuple[Value, ...]:
        values = self._values
        if values is None:
            path, section, line, _above = self._source
            values = tuple(_section_values(path, section, line))
            _E_VALUES(self, values)  # a cache of a pure function of the (immutable) source
        return values

    def __eq__(self, other: object) -> bool:
        if type(other) is not EffectiveSection:
            return NotImplemented
        return (self.name, self.span, self.assignments) == (other.name, other.span, other.assignments)

    def __hash__(self) -> int:
        return hash((self.name, self.span, self.assignments))

    def __repr__(self) -> str:
        return f"EffectiveSection(name={self.name!r}, span={self.span!r}, assignments={self.assignments!r})"

    def values(self, key: str) -> tuple[Value, ...]:
        """Every value of ``key`` after the last reset (empty assignment)."""
        items = self.assignments
        out: list[Value] = []
        for value in items:
            if value.key == key:
                if value.text:
                    out.append(value)
                else:
                    out.clear()
        return tuple(out)

    def get(self, key: str) -> Value | None:
        """The value that wins for a scalar key (None: unset or reset)."""
        for value in reversed(self.assignments):
            if value.key == key:
                return value if value.text else None
        return None

    def winners(self) -> dict[str, Value]:
        """`get` for every key at once: the value that wins for each (a key reset last is absent)."""
        out: dict[str, Value] = {}
        for value in self.assignments:
            if value.text:
                out[value.key] = value
            else:
                out.pop(value.key, None)
        return out

    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.key for v in self.assignments))

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None


_new = object.__new__
_E_NAME, _E_SPAN = EffectiveSection.name.__set__, EffectiveSection.span.__set__
_E_VALUES, _E_SOURCE = EffectiveSection._values.__set__, EffectiveSection._source.__set__


@dataclass(frozen=True, slots=True)
class EffectiveUnit:
    """A unit with its drop-ins merged; ``sources`` lists the files in reading order."""

    path: str
    sources: tuple[str, ...]
    sections: tuple[EffectiveSection, ...]

    def section(self, name: str) -> EffectiveSection | None:
        """The merged section ``name`` (for instanced sections: the first instance)."""
        return next((s for s in self.sections if s.name == name), None)

    def instances(self, name: str) -> tuple[EffectiveSection, ...]:
        return tuple(s for s in self.sections if s.name == name)

    def get(self, section: str, key: str) -> Value | None:
        sec = self.section(section)
        return sec.get(key) if sec else None


_V_KEY, _V_TEXT, _V_SPAN = Value.key.__set__, Value.text.__set__, Value.span.__set__
_S_PATH, _S_LINE, _S_COL = Span.path.__set__, Span.line.__set__, Span.col.__set__


def _span(path: str, line: int) -> Span:
    """Span(path, line) without the frozen __init__ (one per peer of a 10,000-peer hub)."""
    span = _new(Span)
    _S_PATH(span, path)
    _S_LINE(span, line)
    _S_COL(span, 0)
    return span


def _value(key: str, text: str, path: str, line: int) -> Value:
    """Value(key, text, Span(path, line)) without two frozen __init__ calls (10,000-peer files)."""
    span = _new(Span)
    _S_PATH(span, path)
    _S_LINE(span, line)
    _S_COL(span, 0)
    value = _new(Value)
    _V_KEY(value, key)
    _V_TEXT(value, text)
    _V_SPAN(value, span)
    return value


def _section_values(path: str, section: Section, header_line: int) -> list[Value]:
    out = []
    line = header_line + section.header_nlines
    for entry in section.entries:
        if type(entry) is Assignment:
            out.append(_value(entry.key, entry.value, path, line))
        line += entry.nlines
    return out


def effective_unit(main: UnitFile, dropins: Sequence[UnitFile] = ()) -> EffectiveUnit:
    """Merge ``main`` and its ``dropins`` (already in systemd's order) into the view networkd sees."""
    return _merge(main, dropins)


def _merge(main: UnitFile, dropins: Sequence[UnitFile]) -> EffectiveUnit:
    order: list[str | int] = []  # section name (merged) or index into instanced
    merged: dict[str, tuple[list[Value], Span]] = {}
    instanced: list[EffectiveSection] = []
    lazy = EffectiveSection.lazy
    for unit in (main, *dropins):
        path = unit.path
        above: Section | tuple = unit.preamble
        for section, line in zip(unit.sections, unit.section_lines()):
            name = section.name
            if name in INSTANCED_SECTIONS:
                order.append(len(instanced))
                instanced.append(lazy(name, _span(path, line), path, section, line, above))
            elif name in merged:
                merged[name][0].extend(_section_values(path, section, line))
            else:
                merged[name] = (_section_values(path, section, line), Span(path, line))
                order.append(name)
            above = section
    sections = []
    for item in order:
        if isinstance(item, int):
            sections.append(instanced[item])
        else:
            values, span = merged[item]
            sections.append(EffectiveSection(item, span, tuple(values)))
    return EffectiveUnit(main.path, tuple(u.path for u in (main, *dropins)), tuple(sections))


@dataclass(frozen=True, slots=True)
class UnitLocation:
    """Which files systemd reads for one unit name, in order."""

    name: str
    main: PurePosixPath | None
    dropins: tuple[PurePosixPath, ...] = ()
    masked: bool = False


def order_dropins(found: Mapping[str, Iterable[str]], dirs: Sequence[str]) -> list[PurePosixPath]:
    """systemd's drop-in order: by file name, the earliest directory wins a name.

    ``found`` maps a drop-in directory (one per entry of ``dirs``, same order) to
    the ``*.conf`` names in it (masking entries already removed, see `locate_unit`).
    """
    chosen: dict[str, PurePosixPath] = {}
    for directory in dirs:
        for name in found.get(directory, ()):
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = PurePosixPath(directory) / name
    return [chosen[name] for name in sorted(chosen)]


def _is_mask(path: Path) -> bool:
    """systemd's null_or_empty(): /dev/null (usually a symlink to it) or an empty regular file."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if stat.S_ISCHR(st.st_mode):
        return st.st_rdev == os.makedev(1, 3)
    return stat.S_ISREG(st.st_mode) and st.st_size == 0


def locate_unit(name: str, root: Path | str = "/", dirs: Sequence[str] = NETWORK_DIRS) -> UnitLocation:
    """Find the main file and the drop-ins systemd would read for ``name`` (e.g. "30-wg0.netdev").

    Paths are returned as they are on the host (without ``root``).
    """
    root = Path(root)
    main: PurePosixPath | None = None
    masked = False
    for directory in dirs:
        candidate = root / directory.lstrip("/") / name
        if candidate.exists() or candidate.is_symlink():
            if _is_mask(candidate):
                masked = True
            else:
                main = PurePosixPath(directory) / name
            break
    found: dict[str, list[str]] = {}
    drop_dirs = [f"{d}/{name}.d" for d in dirs]
    seen: set[str] = set()
    for directory in drop_dirs:
        real = root / directory.lstrip("/")
        try:
            names = sorted(os.listdir(real))
        except OSError:
            continue
        keep = []
        for entry in names:
            if not entry.endswith(".conf") or entry in seen:
                continue
            seen.add(entry)  # the earliest directory decides, a mask included
            if not _is_mask(real / entry):
                keep.append(entry)
        found[directory] = keep
    return UnitLocation(name, main, tuple(order_dropins(found, drop_dirs)), masked)


def load_effective(name: str, root: Path | str = "/", dirs: Sequence[str] = NETWORK_DIRS) -> EffectiveUnit:
    """Read ``name`` and its drop-ins from the host (under ``root``) and merge them."""
    location = locate_unit(name, root, dirs)
    root = Path(root)
    if location.main is None:
        state = "masked" if location.masked else "not found"
        raise ParseError(f"unit file {name} is {state} in {', '.join(dirs)}",
                         fix="check the name, or look for a /dev/null symlink masking it")
    main = load_unit(root / str(location.main).lstrip("/"), shown=str(location.main))
    dropins = [load_unit(root / str(p).lstrip("/"), shown=str(p)) for p in location.dropins]
    return effective_unit(main, dropins)
