"""netdwg's error tree and structured diagnostics.

Every error a user can cause is a `NetdwgError`; the CLI prints it without a
traceback and maps its class to an exit code. `InternalError` marks a bug in
netdwg itself (dbus-fast does the same) and is the only one printed with a
traceback.

Diagnostics are values (code, severity, where, message, fix) and are
formatted only at the edge, netplan-style: ``file:line: severity: message``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable  # not typing: every command would pay for importing it
from dataclasses import dataclass

# Exit codes shared by every command.
EXIT_OK = 0
EXIT_WARNINGS = 1  # warnings with --strict, or "changes pending" for plan-like commands
EXIT_ERROR = 2  # the user's input is wrong (file, topology, arguments)
EXIT_NOPERM = 77  # sysexits EX_NOPERM: needs root / file not accessible
EXIT_INTERNAL = 70  # sysexits EX_SOFTWARE: a bug in netdwg
EXIT_UNAVAILABLE = 69  # sysexits EX_UNAVAILABLE: `status` could not ask a service it needs (NetworkManager, networkd)


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Span:
    """Where a value came from: a file and a 1-based line (0 when unknown)."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line and self.col:
            return f"{self.path}:{self.line}:{self.col}"
        if self.line:
            return f"{self.path}:{self.line}"
        return self.path


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about an input file, formatted as ``file:line: severity: message``."""

    code: str  # e.g. "NDW012" (lint) or "UNIT003" (unit-file parser)
    severity: Severity
    message: str
    span: Span | None = None
    subject: str = ""  # what it is about, e.g. "host 'oslo'"
    fix: str = ""  # one sentence telling the user what to do

    def format(self) -> str:
        where = str(self.span) if self.span else "<input>"
        subject = f"{self.subject}: " if self.subject else ""
        text = f"{where}: {self.severity}: {subject}{self.message} [{self.code}]"
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "file": self.span.path if self.span else None,
            "line": self.span.line if self.span else None,
            "col": self.span.col if self.span else None,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
        }


def worst_exit_code(diagnostics: Iterable[Diagnostic], strict: bool = False) -> int:
    """0 clean, 1 warnings only (with strict), 2 any error."""
    severities = {d.severity for d in diagnostics}
    if Severity.ERROR in severities:
        return EXIT_ERROR
    if strict and Severity.WARNING in severities:
        return EXIT_WARNINGS
    return EXIT_OK


class NetdwgError(Exception):
    """Base of every error a user can cause. The CLI prints str(err) and exits."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, span: Span | None = None, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.fix = fix

    def __str__(self) -> str:
        where = f"{self.span}: " if self.span else ""
        text = f"{where}{self.message}"
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


class ParseError(NetdwgError, ValueError):
    """An input file could not be parsed (truncated, binary, bad syntax)."""


class ConfigError(NetdwgError, ValueError):
    """The topology or a host file is wrong; carries every diagnostic found."""

    def __init__(self, message: str, diagnostics: tuple[Diagnostic, ...] = (), span: Span | None = None, fix: str = "") -> None:
        super().__init__(message, span, fix)
        self.diagnostics = diagnostics

    def __str__(self) -> str:
        if not self.diagnostics:
            return super().__str__()
        return "\n".join(d.format() for d in self.diagnostics)


class SecretsError(NetdwgError):
    """A key or PSK is missing, malformed or stored with unsafe permissions."""


class NotPermittedError(NetdwgError, PermissionError):
    """The operation needs root (or access to a file) the caller does not have."""

    exit_code = EXIT_NOPERM


class ApplyError(NetdwgError):
    """Applying a plan failed; what was applied has been rolled back."""


class ExternalError(NetdwgError):
    """A system service or tool (networkd, D-Bus, nft, the UAPI socket) refused or failed."""


class ServiceUnavailableError(ExternalError):
    """The system bus is unreachable, or the service asked (NetworkManager, networkd) is not running."""


class InternalError(Exception):
    """A bug in netdwg. Not a NetdwgError: the CLI prints a traceback for these."""

    exit_code = EXIT_INTERNAL
