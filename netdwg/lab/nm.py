"""Hosts with ``backend = networkmanager`` in the lab: real NetworkManager runs their Ethernet.

In each such host's node (never on the machine itself): a private system bus and NetworkManager 1.42
with the keyfile plugin, its own DHCP client and no DNS handling, its directories on tmpfs, and /sys
read-only so it runs without udev (as networkd does in a node: netdwg.lab.sandbox). The admin's own
profiles give the host's uplinks their addresses (`uplink_profile`); a laptop that walks into an office
gets a DHCP profile for the LAN wire (`dhcp_profile`) and NetworkManager takes the lease. Profiles are
written with netdwg's one writer, mode 0600 (NetworkManager refuses others), and loaded over D-Bus
(Settings.LoadConnections), as `netdwg apply` loads the tunnel's.

The tunnel: `netdwg apply` writes and loads the rendered WireGuard profile, and NetworkManager holds it;
activating it needs the kernel module (NetworkManager 1.42 creates the link over rtnetlink and sets
peers over genetlink, and it sees a wireguard-go device as `tun`). So wireguard-go carries the tunnel
and `configure_tunnel` sets it up from the profile NetworkManager reports (GetSettings, GetSecrets):
keys, port, fwmark and peers through wireguard-go's UAPI, then the MTU, addresses and routes as
NetworkManager would add them for that profile (routeN= with their metric and table).
"""

from __future__ import annotations

import ipaddress
import time

from netdwg.host.networkmanager import NetworkManagerBus
from netdwg.host.uapi import UapiWgLink
from netdwg.keyfiles import CONNECTIONS_DIR, NmIpConfig, NmWireGuard, keyfile_group, keyfile_line
from netdwg.keyfiles.settings import profile_from_settings
from netdwg.lab.sandbox import Node, SandboxError
from netdwg.lab.world import Uplink
from netdwg.plan.diff import diff_device
from netdwg.render.networkmanager import profile_uuid
from netdwg.topology.hostconfig import HostConfig

NM_BINARY = "/usr/sbin/NetworkManager"
CONNECTIONS = str(CONNECTIONS_DIR)  # as a string: it goes into node commands and paths
NM_CONF = """[main]
plugins=keyfile
dhcp=internal
dns=none
rc-manager=unmanaged
hostname-mode=none
no-auto-default=*
auth-polkit=root-only

[keyfile]
unmanaged-devices={unmanaged}
"""
# NetworkManager's route metric for a WireGuard device's routes without one of their own
# (nm_device_get_route_metric_default in NetworkManager's src/core/devices/nm-device.c: 50, as for VPNs).
WIREGUARD_METRIC = 50
MAIN_TABLE = 254
# Addresses NetworkManager adds are usable at once in the lab (nothing else claims them), as
# networkd's are with DuplicateAddressDetection=none: the kernel's IPv6 DAD is off in the node.
NO_DAD = ("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")


def bus_address(node: Node) -> str:
    """The node's system bus, reachable from outside (through /proc/PID/root)."""
    return f"unix:path={node.path('/run/dbus/system_bus_socket')}"


def nm_bus(node: Node) -> NetworkManagerBus:
    return NetworkManagerBus(bus_address(node))


def start_networkmanager(node: Node, unmanaged: tuple[str, ...] = ()) -> int:
    """Mounts tmpfs over NetworkManager's directories inside the node, then starts dbus-daemon (if not yet)
    and NetworkManager, leaving the `unmanaged` interfaces alone. Returns NetworkManager's PID (recorded:
    stopped by PID with the node)."""
    for directory in ("/var/lib/NetworkManager", "/run/NetworkManager", "/etc/NetworkManager"):
        node.run(["mkdir", "-p", directory])
        node.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", directory])
    node.run(["mkdir", "-p", CONNECTIONS])
    node.write_file("/etc/NetworkManager/NetworkManager.conf", NM_CONF.format(
        unmanaged=";".join(f"interface-name:{name}" for name in unmanaged) or "none"))
    if "dbus-daemon" not in node.daemons:
        node.start_dbus()
    # --debug: stay in the foreground and log to stderr (the node keeps it in NetworkManager.log)
    pid = node.spawn([NM_BINARY, "--debug"], name="NetworkManager")
    # Ready when its Settings object answers: NetworkManager owns its bus name a moment before it
    # exports the objects (under load the gap is long enough for a LoadConnections to fail).
    node.wait_for("NetworkManager", lambda: node.run(
        ["busctl", "--system", "call", "org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager/Settings",
         "org.freedesktop.NetworkManager.Settings", "ListConnections"], check=False, timeout=10).returncode == 0,
        timeout=30, pid=pid)
    return pid


# --- the admin's own profiles for the host's Ethernet ---------------------------------------------


def _ip_section(version: int, lines: list[str]) -> str:
    body = "".join(lines) if lines else keyfile_line("method", "disabled")
    return keyfile_group(f"ipv{version}") + body


def uplink_profile(u: Uplink) -> str:
    """A static profile giving one underlay interface its addresses and default route, as up.uplink_script
    does with `ip` (a point-to-point internet link: a /32 address, the peer's host route and an onlink
    default route, which NetworkManager writes as route options)."""
    head = (keyfile_group("connection") + keyfile_line("id", f"lab-{u.ifname}") + keyfile_line("type", "ethernet")
            + keyfile_line("interface-name", u.ifname) + "\n")
    if u.mac:
        head += keyfile_group("ethernet") + keyfile_line("cloned-mac-address", u.mac) + "\n"
    sections = []
    for version, address, peer, gateway in ((4, u.address, u.peer, u.gateway), (6, u.address6, u.peer6, u.gateway6)):
        if address is None:
            sections.append(_ip_section(version, []))
            continue
        host_bits = 32 if version == 4 else 128
        lines = [keyfile_line("method", "manual")]
        routes: list[tuple[str, str]] = []
        if peer is not None:
            lines.append(keyfile_line("address1", f"{address.ip}/{host_bits}"))
            routes.append((f"{peer}/{host_bits}", ""))
        else:
            lines.append(keyfile_line("address1", str(address)))
        if gateway is not None and peer is None:
            lines.append(keyfile_line("gateway", str(gateway)))
        elif gateway is not None:
            routes.append((f"{'0.0.0.0/0' if version == 4 else '::/0'},{gateway}", "onlink=true"))
        for n, (route, options) in enumerate(routes, 1):
            lines.append(keyfile_line(f"route{n}", route))
            if options:
                lines.append(keyfile_line(f"route{n}_options", options))
        if version == 6:
            lines.append(keyfile_line("addr-gen-mode", "eui64"))
        sections.append(_ip_section(version, lines))
    return head + "\n".join(sections)


def dhcp_profile(ifname: str, ipv6_slaac: bool) -> str:
    """What a laptop holds for a LAN it walks into: IPv4 by DHCP, IPv6 by SLAAC when the LAN advertises it."""
    return (keyfile_group("connection") + keyfile_line("id", f"lab-{ifname}") + keyfile_line("type", "ethernet")
            + keyfile_line("interface-name", ifname) + "\n"
            + _ip_section(4, [keyfile_line("method", "auto")]) + "\n"
            + _ip_section(6, [keyfile_line("method", "auto"), keyfile_line("addr-gen-mode", "eui64")]
                          if ipv6_slaac else []))


def load_profiles(node: Node, profiles: dict[str, str]) -> None:
    """Write each profile (mode 0600, netdwg's one writer) and have NetworkManager load them over D-Bus."""
    for ifname, text in profiles.items():
        node.write_file(f"{CONNECTIONS}/lab-{ifname}.nmconnection", text, mode=0o600)
    paths = [f"{CONNECTIONS}/lab-{ifname}.nmconnection" for ifname in profiles]
    failed = nm_bus(node).load_connections(paths)
    if failed:
        raise SandboxError(f"{node.name}: NetworkManager did not load {', '.join(failed)}; "
                           f"its log: {(node.rundir / 'NetworkManager.log').read_text()[-1500:]}")


def start_host_networkmanager(node: Node, uplinks: tuple[Uplink, ...]) -> int:
    """NetworkManager for a host's Ethernet, its uplinks' profiles loaded (it activates them on carrier)."""
    node.run(["sysctl", "-q", "-w", *NO_DAD])
    pid = start_networkmanager(node)
    load_profiles(node, {u.ifname: uplink_profile(u) for u in uplinks})
    return pid


# --- the lease NetworkManager holds ----------------------------------------------------------------


def nm_lease(node: Node, ifname: str) -> dict[str, str]:
    """DHCP4Config.Options of the device `ifname` as NetworkManager reports them over D-Bus (empty: none)."""
    return nm_bus(node).dhcp4_options(ifname) or {}


def describe_lease(options: dict[str, str]) -> str:
    """One line for a report: what NetworkManager says it holds."""
    return (f"NetworkManager holds the lease {options.get('ip_address', '?')} from "
            f"{options.get('dhcp_server_identifier', '?')} (DHCP4Config over D-Bus)")


def nm_lease_in(node: Node, ifname: str, prefix: ipaddress.IPv4Network) -> bool:
    address = nm_lease(node, ifname).get("ip_address", "")
    try:
        return ipaddress.ip_address(address) in prefix
    except ValueError:
        return False


# --- the tunnel, from the profile NetworkManager holds ---------------------------------------------


def held_profile(node: Node, hc: HostConfig, ifname: str) -> NmWireGuard:
    """The WireGuard profile NetworkManager holds for `ifname` (by the uuid netdwg renders), with its secrets."""
    nm = nm_bus(node)
    path = nm.connection_path(profile_uuid(hc.name, ifname))
    if path is None:
        raise SandboxError(f"{hc.name}: NetworkManager holds no profile for {ifname} after netdwg apply")
    return profile_from_settings(nm.settings(path))


def _routes(ip: NmIpConfig) -> list[tuple[str, int, int]]:
    """(destination, metric, table) of every route NetworkManager adds for the profile's routeN= in one family.
    netdwg's profiles have peer-routes=false (netdwg.render.networkmanager), so these are all its routes."""
    metric = ip.route_metric if ip.route_metric is not None else WIREGUARD_METRIC
    table = ip.route_table or MAIN_TABLE
    return [(str(r.destination), r.metric if r.metric is not None else metric, r.table or table) for r in ip.routes]


def configure_tunnel(node: Node, hc: HostConfig) -> None:
    """Each WireGuard interface of `hc` on wireguard-go, set up from the profile NetworkManager holds."""
    for iface in hc.interfaces:
        profile = held_profile(node, hc, iface.name)
        if profile.peer_routes:
            raise SandboxError(f"{hc.name}: NetworkManager's profile of {iface.name} has peer-routes=true; the lab "
                               f"sets up netdwg's profiles (peer-routes=false), whose routes are all routeN=")
        link = UapiWgLink(iface.name, node.path(f"/run/wireguard/{iface.name}.sock"))
        device_change, peers, _ = diff_device(profile.device, link.read(), time.time())
        if device_change is not None:
            link.set_device(device_change)
        for change in peers:
            link.apply_peer(change)
        lines = [f"ip link set {iface.name} up" + (f" mtu {profile.mtu}" if profile.mtu else "")]
        for version, ip in ((4, profile.ipv4), (6, profile.ipv6)):
            for address in ip.addresses:
                lines.append(f"ip addr replace {address} dev {iface.name}" + (" nodad" if version == 6 else ""))
            for dest, metric, table in _routes(ip):
                lines.append(f"ip -{version} route replace {dest} dev {iface.name} proto static "
                             f"metric {metric} table {table}")
        node.run(["sh", "-ec", "\n".join(lines)])

