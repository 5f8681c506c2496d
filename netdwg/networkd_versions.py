"""Where systemd-networkd behaves differently by version: the one table.

Render, plan/apply, the guard and `netdwg check` ask `has(NAME, version)`; each row says
since which release networkd does it and where that comes from (a systemd issue, or the
source file of that release as read for this table). Keys and sections per release are
not here: they are generated tables (netdwg/unitfile/schema_data.py).

Read against the "CHANGES WITH 258", "259" and "260" parts of systemd's NEWS and the sources of
those releases: none adds a row. networkd 258-260 keep 257's netdev_reload() and set a WireGuard
device with WGDEVICE_F_REPLACE_PEERS (src/network/netdev/netdev.c, wireguard.c), read '@name'
credentials the same way, and keep DHCPv4Client.State (src/network/networkd-dhcp4-bus.c); what 258
changes in .netdev/.network/.link files is keys, sections and .netdev kinds (hsr added, netdevsim
removed), which the generated tables hold.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_VERSION = 252  # Debian 12, what netdwg is built and tested against


@dataclass(frozen=True, slots=True)
class Difference:
    since: int  # the first release that does it
    source: str  # where it comes from
    what: str  # what changes for netdwg


DIFFERENCES: dict[str, Difference] = {
    "wireguard_route_table": Difference(
        250, "systemd.netdev(5) of v250: RouteTable=/RouteMetric= in [WireGuard] and [WireGuardPeer] "
             "(gperf tables: netdwg/unitfile/schema_data.py)",
        "render writes RouteTable=off in [WireGuard] (netdwg routes itself); older networkd warns about the key"),
    "dhcpv4_client_state": Difference(
        255, "org.freedesktop.network1.DHCPv4Client on each link's D-Bus object (systemd 255; "
             "src/network/networkd-dhcp4-bus.c)",
        "a DHCP renewal shows as State bound -> renewing -> bound: the guard re-reads the lease on it "
        "(252 signals nothing for a renewal: the guard watches networkd's lease files)"),
    "wireguard_credentials": Difference(
        256, "systemd.netdev(5) of v256; config_parse_wireguard_key() and config_parse_wireguard_endpoint() "
             "read '@name' with read_credential() (src/network/netdev/wireguard.c)",
        "PrivateKey=, PresharedKey= and Endpoint= may name a credential: check accepts '@name'; render never "
        "writes one (credentials are never required)"),
    "wireguard_default_key_credential": Difference(
        256, "wireguard_read_default_key_cred() in src/network/netdev/wireguard.c",
        "a .netdev without a private key reads the credential network.wireguard.private.NAME at start: "
        "check says so instead of 'Missing PrivateKey='"),
    "reload_reapplies_changed_wireguard_netdev": Difference(
        257, "systemd issue #38196; netdev_reload() in src/network/netdev/netdev.c of 257 attaches a changed "
             ".netdev anew, and netdev_wireguard_post_create() sets the device with WGDEVICE_F_REPLACE_PEERS",
        "a Reload after a WireGuard .netdev changed replaces every peer and all sessions drop (252 leaves an "
        "existing device alone): apply never Reloads for a changed WireGuard .netdev, it syncs the peers live; "
        "plan says that networkd re-applies the file on the next Reload (this apply's, for another file, or a "
        "later one)"),
}


def has(name: str, version: int | None) -> bool:
    """Whether networkd ``version`` (None: not known, taken as DEFAULT_VERSION) does ``name``."""
    return (DEFAULT_VERSION if version is None else version) >= DIFFERENCES[name].since


def since(name: str) -> int:
    return DIFFERENCES[name].since
