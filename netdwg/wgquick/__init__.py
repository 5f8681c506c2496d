"""wg-quick ``.conf`` files: a lossless line model, a typed view, a writer,
diagnostics, and `strip` exactly as ``wg-quick strip`` prints it.

Two programs read these files, with different rules, and we follow each:

- wg-quick (``/usr/bin/wg-quick``, ``parse_options``) reads every line with
  bash ``read -r``, cuts it at the first ``#``, splits at the first ``=``,
  trims both sides and, inside ``[Interface]``, takes Address, DNS, MTU,
  Table, Pre/PostUp, Pre/PostDown and SaveConfig (case-insensitive) for
  itself. Every other line (comments included) goes to ``wg setconf``.
- wg (wireguard-tools ``src/config.c``) cuts at ``#``, deletes *all*
  whitespace, and matches ``[Interface]``, ``[Peer]`` and ``Key=`` prefixes
  case-insensitively. Anything else is "Line unrecognized" and fails.

`WgQuickFile.format()` returns the parsed text byte for byte.

Modules: `syntax` (lines, `strip`), `view` (typed view, diagnostics), `write`
(text and RenderedFile for renderers), `edit` (add/remove a peer, set its
AllowedIPs). Import everything from ``netdwg.wgquick``.
"""

from __future__ import annotations

from netdwg.wgquick.edit import add_peer, remove_peer, set_peer_allowed_ips
from netdwg.wgquick.syntax import (INTERFACE_NAME, WG_INTERFACE_KEYS, WG_PEER_KEYS, WGQUICK_KEYS, ConfLine, LineKind,
                                   WgQuickFile, parse_wgquick_file, strip)
from netdwg.wgquick.view import WgQuickConfig, WgQuickSettings, check_wgquick, load_wgquick
from netdwg.wgquick.write import format_wgquick, render_wgquick, wgquick_from_device

__all__ = ["INTERFACE_NAME", "WG_INTERFACE_KEYS", "WG_PEER_KEYS", "WGQUICK_KEYS", "ConfLine", "LineKind",
           "WgQuickFile", "parse_wgquick_file", "strip", "WgQuickConfig", "WgQuickSettings", "check_wgquick",
           "load_wgquick", "format_wgquick", "render_wgquick", "wgquick_from_device", "add_peer", "remove_peer",
           "set_peer_allowed_ips"]
