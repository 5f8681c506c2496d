"""Live kernel parameters through /proc/sys (the drop-in file is written with the other files)."""

from __future__ import annotations

from pathlib import Path

from netdwg.errors import ExternalError


def sysctl_path(key: str, proc: Path = Path("/proc/sys")) -> Path:
    # sysctl(8) accepts "/" as separator so interface names may hold dots (eth0.100).
    parts = key.split("/") if "/" in key else key.split(".")
    return proc.joinpath(*parts)


class ProcSysctls:
    def __init__(self, proc: Path = Path("/proc/sys")) -> None:
        self.proc = proc

    def read(self, key: str) -> str | None:
        try:
            return " ".join(sysctl_path(key, self.proc).read_text().split())
        except OSError:
            return None

    def write(self, key: str, value: str) -> None:
        try:
            sysctl_path(key, self.proc).write_text(value + "\n")
        except OSError as err:
            raise ExternalError(f"cannot set sysctl {key}={value}: {err.strerror}") from None
