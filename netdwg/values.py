"""What a value may be: the rules every string of a topology, a secrets store or a checked file meets.

netdwg runs as root and writes what root executes (wg-quick hooks, nftables
rulesets, networkd units, the guard's configuration). A value that carries a
line break, or a name a consumer reads differently, would become a line, a
rule or a path of its own there. So every string is checked here, once, when
it is read (the topology loader, the secrets store, `netdwg import`,
`netdwg check`), against what every consumer of it accepts:

    refuse_control(value)          no C0 (newline, CR, NUL, tab...), DEL or C1 character
    check_text(value, limit)       that, and at most `limit` characters
    check_name(value, what)        host, network, site and pair names
    check_interface(value, ...)    interface names as the kernel, networkd and wg-quick take them
    check_dns_name(value)          RFC 1123 host names (a site's DNS domain, an endpoint's host)
    check_file(path, data, limit)  a file's size and longest line, before it is parsed
    check_size(path, size, limit)  its size alone (a format whose parser limits lines itself)
    control_diagnostics(path, text)  control characters anywhere in a checked or imported file
    read_limited(path, limit)      the one bounded read of a file these limits apply to

Each rule raises `ValueRefused(message, fix)`: the message names the value and
the rule, the fix says what to write instead; the caller adds file:line and
the code (NDW004 for a value, NDW005 for a file). Nothing here reads a file but `read_limited`.
"""

from __future__ import annotations

import ipaddress
import re

from netdwg.errors import ConfigError, Diagnostic, Severity, Span

SHAPE_CODE = "NDW002"  # a malformed value: a name, an interface name, a DNS name (as addresses and keys)
VALUE_CODE = "NDW004"  # a control character, or longer than its limit
FILE_CODE = "NDW005"  # a file over netdwg's size or line-length limit

# Limits. Real files are far below them (a topology of 10,000 hosts is ~1 MB, its
# store ~2 MB, a 10,000-peer .netdev ~1.5 MB); a value or file beyond them is a
# mistake or an attack, and is refused before it is parsed or rendered.
MAX_TOPOLOGY_BYTES = 32 << 20
MAX_SECRETS_BYTES = 16 << 20
MAX_FILE_BYTES = 16 << 20  # each file `netdwg check` and `netdwg import` read
MAX_LINE_CHARS = 65536
MAX_VALUE_CHARS = 4096  # any one value (an SSH host key line is < 1 KB; a list item counts alone)
MAX_NAME_CHARS = 64
MAX_DNS_CHARS = 253  # RFC 1035: 255 octets on the wire
IFNAMSIZ = 16  # the kernel's, with the terminating NUL: names of 1-15 bytes

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # C0, DEL, C1 (U+2028/9 fail every name rule that applies)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_DNS_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# Characters an interface name may hold beyond what the kernel forbids: wg-quick
# takes [a-zA-Z0-9_=+.-] only (its file name is the interface name), sysctl.d
# splits a line at '=' (the hub's per-interface send_redirects key), nftables
# cannot quote '"'. Every interface name fits them all, whatever its backend.
_IFNAME = re.compile(r"[A-Za-z0-9_.+-]+")

_CONTROL_NAMES = {"\n": "line feed", "\r": "carriage return", "\0": "NUL", "\t": "tab", "\x7f": "DEL",
                  "\x85": "next line", "\x1b": "escape", "\x0b": "vertical tab", "\x0c": "form feed"}


class ValueRefused(ValueError):
    """A value a consumer would read differently than meant; `message` names the value and the rule."""

    def __init__(self, message: str, fix: str, code: str = VALUE_CODE) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.code = code


def shown(value: str, limit: int = 60) -> str:
    """The value as a message shows it: repr (control characters visible), long ones cut."""
    if len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    return repr(value)


def control_character(value: str) -> int:
    """Index of the first control character (C0, DEL, C1), or -1."""
    found = _CONTROL.search(value)
    return found.start() if found else -1


def refuse_control(value: str, what: str) -> None:
    index = control_character(value)
    if index >= 0:
        char = value[index]
        name = _CONTROL_NAMES.get(char, "control character")
        raise ValueRefused(
            f"{what} = {shown(value)}: {name} (U+{ord(char):04X}) at character {index + 1}; no value may hold a "
            f"control character (C0, DEL, C1): a line break would start a new line in every file netdwg renders",
            "remove it (a triple-quoted value spanning lines is never what a name, address or key means)")


def check_text(value: str, what: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Any value: no control character, at most `limit` characters."""
    if len(value) > limit:
        raise ValueRefused(f"{what} = {shown(value)}: longer than {limit} characters",
                           f"shorten it to at most {limit} characters")
    refuse_control(value, what)
    return value


def check_name(value: str, what: str) -> str:
    """A host, network, site or pair name (`what`: "host name"...): it names files, peers, guard sites, comments."""
    check_text(value, what, MAX_NAME_CHARS)
    if not _NAME.fullmatch(value):
        raise ValueRefused(f"{what} {shown(value)} may hold only letters, digits, '.', '_' and '-'",
                           "start with a letter or digit, e.g. "
                           + (re.sub(r"[^A-Za-z0-9_.-]+", "-", value).strip("-._") or "oslo"), SHAPE_CODE)
    return value


def check_interface(value: str, what: str) -> str:
    """An interface name every consumer takes: the kernel, networkd, wg-quick, sysctl.d and nftables."""
    fix = "use 1-15 letters, digits, '_', '-', '.' or '+', e.g. wg0 or eth1"
    refuse_control(value, what)
    size = len(value.encode("utf-8"))
    if not 0 < size < IFNAMSIZ:
        raise ValueRefused(f"{what} = {shown(value)}: an interface name has 1-15 bytes (the kernel's IFNAMSIZ), "
                           f"not {size}", fix, SHAPE_CODE)
    bad = next((c for c in value if c == "/" or c.isspace() or c in ":%"), None)
    if bad is not None:
        raise ValueRefused(f"{what} = {shown(value)}: the kernel refuses {bad!r} in an interface name "
                           f"(no '/', whitespace, ':' or '%')", fix, SHAPE_CODE)
    if value in (".", ".."):
        raise ValueRefused(f"{what} = {shown(value)}: the kernel refuses '.' and '..' as interface names", fix,
                           SHAPE_CODE)
    if not _IFNAME.fullmatch(value):
        raise ValueRefused(f"{what} = {shown(value)}: wg-quick takes only letters, digits and '_=+.-' in an "
                           f"interface name, sysctl.d splits at '=' and nftables cannot quote '\"'", fix, SHAPE_CODE)
    if value in ("all", "default") or value.isdigit():
        raise ValueRefused(f"{what} = {shown(value)}: networkd refuses 'all', 'default' and all-digit names "
                           f"(sysctl's conf/all and conf/default; interface indexes)", fix, SHAPE_CODE)
    return value


def check_dns_name(value: str, what: str) -> str:
    """An RFC 1123 host name: labels of 1-63 letters, digits and '-', not starting or ending with '-'."""
    check_text(value, what, MAX_DNS_CHARS)
    labels = value.split(".")
    if not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise ValueRefused(f"{what} = {shown(value)}: not a DNS name (RFC 1123: dot-separated labels of 1-63 "
                           f"letters, digits and '-', no '-' at either end, no trailing dot)",
                           "write it as DHCP hands it out, e.g. office.example.com", SHAPE_CODE)
    return value


def check_host(value: str, what: str) -> str:
    """An endpoint's host: an IP address or a DNS name."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        check_dns_name(value, what)
    return value


def check_size(path: str, size: int, limit: int, what: str) -> None:
    if size > limit:
        raise ConfigError(f"{path}: too large", (Diagnostic(
            FILE_CODE, Severity.ERROR, f"{what} of {'more than ' if size == limit + 1 else ''}{size - (size == limit + 1)}"
            f" bytes exceeds netdwg's limit of {limit} bytes",
            Span(path), fix=f"{what} this large is not one netdwg wrote or reads: check it is the right file, "
                            f"or split it"),))


def check_file(path: str, data: bytes | str, limit: int, what: str) -> None:
    """A file's size and longest line, before it is parsed. Raises ConfigError (NDW005)."""
    check_size(path, len(data), limit, what)
    newline = b"\n" if isinstance(data, bytes) else "\n"
    lengths = [len(line) for line in data.split(newline)]  # split and len run in C
    if max(lengths) > MAX_LINE_CHARS:
        number = next(n for n, length in enumerate(lengths, start=1) if length > MAX_LINE_CHARS)
        raise ConfigError(f"{path}: line too long", (Diagnostic(
            FILE_CODE, Severity.ERROR,
            f"line of {lengths[number - 1]} characters exceeds netdwg's limit of {MAX_LINE_CHARS}",
            Span(path, number), fix="break the value up (a list over several keys or hosts), or remove "
                                    "what does not belong in this file"),))


# A checked or imported file may hold tabs (indentation) and CRLF line ends; any other control character
# is inside a line, so inside a value, a key or a comment some reader takes for a line break.
_FILE_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


def control_diagnostics(path: str, text: str) -> list[Diagnostic]:
    """NDW004 for every line of a file that holds a control character other than tab and CRLF's CR."""
    out = []
    for found in _FILE_CONTROL.finditer(text):
        char = found.group()
        line = text.count("\n", 0, found.start()) + 1
        if out and out[-1].span.line == line:
            continue
        name = _CONTROL_NAMES.get(char, "control character")
        out.append(Diagnostic(VALUE_CODE, Severity.ERROR,
                              f"{name} (U+{ord(char):04X}) inside a line: netdwg reads no control character (C0 but tab, "
                              f"DEL, C1) in a file, where one program reads a line break and another none",
                              Span(path, line), fix="remove it"))
    return out


def read_limited(path, limit: int, what: str) -> bytes:
    """A file's bytes, refused (NDW005) beyond `limit` bytes without reading more than limit + 1.

    OSError goes to the caller, which words it for its command.
    """
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    check_size(str(path), len(data), limit, what)  # the lines: check_file, on the text the caller decodes
    return data


def value_diagnostic(err: ValueRefused, span: Span | None, subject: str = "") -> Diagnostic:
    return Diagnostic(err.code, Severity.ERROR, err.message, span, subject, err.fix)
