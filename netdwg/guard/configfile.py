"""Reading /etc/netdwg/guard.conf: the daemon's and `netdwg guard`'s side of the file
whose format and values are netdwg.topology.guard_config."""

from __future__ import annotations

from pathlib import Path

from netdwg.errors import ConfigError, NotPermittedError, ParseError, Span
from netdwg.guard.defaults import DEFAULT_CONFIG_PATH
from netdwg.topology.guard_config import GuardConfig, parse_guard_config


def load_guard_config(path: str | Path = DEFAULT_CONFIG_PATH) -> GuardConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file", span=Span(str(path)),
                          fix="run 'netdwg render' and 'netdwg apply' with guard = yes for this host") from None
    except PermissionError:
        raise NotPermittedError(f"{path}: permission denied", fix="run as root") from None
    except UnicodeDecodeError:
        raise ParseError(f"{path}: not UTF-8 text", Span(str(path))) from None
    return parse_guard_config(text, str(path))
