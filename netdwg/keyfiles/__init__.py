"""NetworkManager keyfiles (`/etc/NetworkManager/system-connections/*.nmconnection`): lossless syntax
(`format(parse(text)) == text`), the one quoting function of the format, and the typed view of a
WireGuard profile.
"""

from pathlib import PurePosixPath

from netdwg.keyfiles.syntax import (Keyfile, KeyfileLine, LineKind, check_keyfile_syntax, keyfile_comment,
                                    keyfile_group, keyfile_line, keyfile_list, keyfile_value, parse_keyfile,
                                    read_list, read_value)
from netdwg.keyfiles.wireguard import (NmIpConfig, NmRoute, NmWireGuard, check_nm_wireguard, format_nm_wireguard,
                                       load_nm_wireguard)

# Where NetworkManager's keyfile plugin keeps system connections (NetworkManager.conf(5), "keyfile"):
# the renderer writes there, plan, apply and status look there.
CONNECTIONS_DIR = PurePosixPath("/etc/NetworkManager/system-connections")

__all__ = ["CONNECTIONS_DIR", "Keyfile", "KeyfileLine", "LineKind", "NmIpConfig", "NmRoute", "NmWireGuard", "check_keyfile_syntax",
           "check_nm_wireguard", "format_nm_wireguard", "keyfile_comment", "keyfile_group", "keyfile_line",
           "keyfile_list", "keyfile_value", "load_nm_wireguard", "parse_keyfile", "read_list", "read_value"]
