"""``netdwg lab roam HOST SITE|away``: move a roaming laptop onto a site's LAN and back.

Joining a LAN: the laptop's away uplink disappears (its NAT router's side of
the wire is deleted, as when leaving the café), a new wire plugs it into the
site's switch, and networkd gets an address by DHCP from the office router's
dnsmasq.  networkd runs every roaming laptop's Ethernet, also on laptops whose
tunnel is wg-quick's (`up.runs_networkd`); on a laptop with backend =
networkmanager NetworkManager does, and the move waits until NetworkManager
reports the lease over D-Bus (DHCP4Config; netdwg.lab.nm).  Leaving: the LAN
wire is deleted and the away uplink comes back.
After each move the lab re-sets the hub peer's endpoint, as netdwg-guard does
(wireguard-go keeps sending from the vanished source address otherwise, dead
for ~15 s).  Throughput to the LAN's test device is measured
with iperf3 before and after, and the route the kernel picks is reported.
"""

from __future__ import annotations

import ipaddress
import json
import time
from dataclasses import dataclass

from netdwg.lab.sandbox import Node, SandboxError, wait_until
from netdwg.lab.state import Lab, LabError
from netdwg.lab.nm import describe_lease, dhcp_profile, load_profiles, nm_lease, nm_lease_in
from netdwg.lab.up import guard_running, runs_networkmanager, uplink_script
from netdwg.lab.world import SiteLan
from netdwg.topology.model import Role

AWAY = "away"
ROAM_IF = "lan0"


@dataclass(frozen=True, slots=True)
class Measurement:
    where: str  # "away" or the site
    target: str  # the device measured against
    route_dev: str  # the interface `ip route get` picks for the target
    mbits: float | None  # iperf3 throughput, None when unreachable


@dataclass(frozen=True, slots=True)
class RoamReport:
    host: str
    before: Measurement
    after: Measurement
    moved_in: float  # seconds from the move until the new uplink had its address
    tunnel_back_in: float  # seconds from the move until the hub answered through the tunnel again
    other_lans: tuple[tuple[str, str], ...]  # (other site's device, route dev) after the move
    lease: str = ""  # on a NetworkManager laptop in an office: the lease NetworkManager reports holding


def _route_dev(node: Node, address: str) -> str:
    out = node.run(["ip", "-o", "route", "get", address], check=False).stdout.split()
    return out[out.index("dev") + 1] if "dev" in out else "unreachable"


def iperf(lab: Lab, node: Node, lan: SiteLan, seconds: float = 2.0) -> float | None:
    """TCP throughput from the laptop to the LAN's test device, in Mbit/s (None: no connection)."""
    dev = lab.ns(lan.device)
    if lan.device not in lab.sandbox.record.extra.get("iperf3_on", []):
        lab.sandbox.spawn(dev, ["iperf3", "-s", "--bind", str(lan.device_address.ip)], name="iperf3")
        lab.set_extra(iperf3_on=[*lab.sandbox.record.extra.get("iperf3_on", []), lan.device])
        wait_until(lambda: ":5201" in dev.run(["ss", "-Hltn"], check=False).stdout, 10, what="iperf3 server")
    res = node.run(["iperf3", "-c", str(lan.device_address.ip), "-t", str(seconds), "-J", "--connect-timeout", "3000"],
                   check=False, timeout=seconds + 20)
    try:
        data = json.loads(res.stdout)
        return round(data["end"]["sum_received"]["bits_per_second"] / 1e6, 1)
    except (ValueError, KeyError):
        return None


def _measure(lab: Lab, node: Node, where: str, lan: SiteLan, throughput: bool) -> Measurement:
    target = str(lan.device_address.ip)
    return Measurement(where, lan.device, _route_dev(node, target), iperf(lab, node, lan) if throughput else None)


def where_is(lab: Lab, host: str) -> str:
    return lab.sandbox.record.extra.get("roamed", {}).get(host, AWAY)


def _kick_tunnel(lab: Lab, node: Node) -> None:
    """Re-set the hub's endpoint so wireguard-go picks the new source address (what netdwg-guard does)."""
    hub = lab.topology.hub
    ifname = lab.topology.network.interface
    dump = node.run(["wg", "show", ifname, "endpoints"]).stdout.split()
    if hub is not None and hub.endpoint is not None and len(dump) >= 2:
        node.run(["wg", "set", ifname, "peer", dump[0], "endpoint", str(hub.endpoint)])


def _wait_tunnel(lab: Lab, node: Node, timeout: float = 30) -> None:
    hub_v4 = next(a for a in lab.topology.hub.addresses if a.version == 4)
    wait_until(lambda: node.run(["ping", "-c1", "-W1", str(hub_v4)], check=False).returncode == 0, timeout,
               what="the tunnel to the hub")


def _leave_away(lab: Lab, host: str) -> None:
    box = lab.world.host(host)
    lab.ns(box.nat).run(["ip", "link", "del", "lan0"])


def _return_away(lab: Lab, host: str, node: Node) -> None:
    box = lab.world.host(host)
    nat = lab.ns(box.nat)
    lab.sandbox.veth(nat, "lan0", node.netns, "eth0", up=False)
    nat_side = next(u for u in lab.world.uplinks if u.ns == box.nat and u.ifname == "lan0")
    nat.run(["sh", "-ec", "\n".join(uplink_script(nat_side))])
    # networkd (every roaming laptop's Ethernet, whatever runs its tunnel: up.runs_networkd)
    # applies 10-lab-eth0.network to the new link; NetworkManager activates the lab-eth0 profile on carrier.
    node.run(["ip", "link", "set", "eth0", "up"])


def _join_lan(lab: Lab, host: str, node: Node, lan: SiteLan) -> None:
    sw = lab.ns(lan.switch)
    port = f"roam-{host}"[:15]
    # A dual-stack LAN: IPv6 by SLAAC from the office router's advertisements, as a laptop gets it.
    ra = any(d.ns == lan.router and d.ra for d in lab.world.dhcp)
    if runs_networkmanager(lab.world.host(host)):  # a profile of its own for the LAN wire, loaded over D-Bus
        load_profiles(node, {ROAM_IF: dhcp_profile(ROAM_IF, ipv6_slaac=ra)})
    else:
        v6 = "LinkLocalAddressing=ipv6\nIPv6AcceptRA=yes\n" if ra else "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
        node.write_file(f"/etc/systemd/network/20-lab-{ROAM_IF}.network",
                        f"[Match]\nName={ROAM_IF}\n\n[Network]\nDHCP=ipv4\n{v6}")
        node.run(["networkctl", "reload"])
    lab.sandbox.veth(sw, port, node.netns, ROAM_IF, up=False)
    sw.run(["sh", "-ec", f"ip link set {port} master br0 up"])
    node.run(["ip", "link", "set", ROAM_IF, "up"])


def _leave_lan(lab: Lab, host: str, node: Node, lan: SiteLan) -> None:
    lab.ns(lan.switch).run(["ip", "link", "del", f"roam-{host}"[:15]])


def _has_address_in(node: Node, ifname: str, lan: SiteLan) -> bool:
    out = node.run(["ip", "-4", "-o", "addr", "show", "dev", ifname], check=False).stdout.split()
    addrs = [ipaddress.ip_interface(out[i + 1]) for i, tok in enumerate(out) if tok == "inet"]
    return any(a.ip in lan.prefix for a in addrs)


def roam(lab: Lab, host: str, to: str, measure: bool = True, say=lambda s: None) -> RoamReport:
    """Move `host` to site `to`'s first LAN, or back `away`; measure before and after."""
    h = lab.topology.host(host) if lab.topology.has_host(host) else None
    if h is None or h.role is not Role.ROAMING:
        raise LabError(f"'{host}' is not a roaming host of the lab",
                       fix="roaming hosts: " + ", ".join(x.name for x in lab.topology.by_role(Role.ROAMING)))
    current = where_is(lab, host)
    if to != AWAY and not lab.world.lans_of(to):
        raise LabError(f"'{to}' is not a site with a LAN", fix="roam to a site name or 'away'")
    if to != AWAY and not any(d.ns == lab.world.lans_of(to)[0].router for d in lab.world.dhcp):
        raise LabError(f"{to}'s LAN has no DHCP server in the lab (its gateway is the LAN's router)",
                       fix="roam to a site whose LAN has an office router")
    if to == current:
        raise LabError(f"{host} is already {'away' if to == AWAY else 'on ' + to}")
    node = lab.node(host)
    # The LAN whose throughput tells the story: the one joined, or the one left.
    subject = lab.world.lans_of(to if to != AWAY else current)[0]
    before = _measure(lab, node, current, subject, measure)
    say(f"[#] {host}: {current} -> {to}")
    t0 = time.monotonic()
    if current == AWAY:
        _leave_away(lab, host)
    else:
        _leave_lan(lab, host, node, lab.world.lans_of(current)[0])
    if to == AWAY:
        _return_away(lab, host, node)
        wait_until(lambda: _route_dev(node, str(lab.topology.hub.endpoint.address)) == "eth0", 30,
                   what=f"{host}'s away uplink")
    else:
        _join_lan(lab, host, node, subject)
        wait_until(lambda: _has_address_in(node, ROAM_IF, subject), 30, what=f"a DHCP lease on {to}'s LAN")
        if runs_networkmanager(lab.world.host(host)):  # NetworkManager's own word that it holds the lease
            wait_until(lambda: nm_lease_in(node, ROAM_IF, subject.prefix), 30,
                       what=f"NetworkManager's DHCP4Config on {to}'s LAN")
        if lab.topology.hub.endpoint.address.version == 6:  # the hub is reached over IPv6: wait for SLAAC
            wait_until(lambda: _route_dev(node, str(lab.topology.hub.endpoint.address)) == ROAM_IF, 30,
                       what=f"an IPv6 default route on {to}'s LAN")
    moved_in = time.monotonic() - t0
    if not guard_running(lab, host):
        _kick_tunnel(lab, node)  # netdwg-guard does this itself: let it show that it does
    try:
        _wait_tunnel(lab, node)
    except SandboxError:
        raise LabError(f"{host}: the tunnel did not come back after moving to {to}")
    tunnel_back = time.monotonic() - t0
    roamed = dict(lab.sandbox.record.extra.get("roamed", {}))
    if to == AWAY:
        roamed.pop(host, None)
    else:
        roamed[host] = to
    lab.set_extra(roamed=roamed)
    _let_the_guard_react(lab, host, node, to, subject)
    after = _measure(lab, node, to, subject, measure)
    others = tuple((lan.device, _route_dev(node, str(lan.device_address.ip)))
                   for lan in lab.world.lans if lan.site != subject.site)
    lease = nm_lease(node, ROAM_IF) if to != AWAY and runs_networkmanager(lab.world.host(host)) else {}
    return RoamReport(host, before, after, round(moved_in, 3), round(tunnel_back, 3), others,
                      describe_lease(lease) if lease else "")


def _let_the_guard_react(lab: Lab, host: str, node: Node, to: str, lan: SiteLan) -> None:
    """Give a running guard time to act on the new LAN before measuring: on an office whose proof
    it checks (an SSH key exchange with the office host), until the route leaves the tunnel or
    20 s pass (the guard may rightly keep it: the measurement then shows the tunnel)."""
    site = lab.topology.host(to).lans[lan.index] if to != AWAY else None
    if site is None or not guard_running(lab, host) or not site.fingerprint.ssh_host_key:
        time.sleep(0.5)  # the guard reacts to a lease in milliseconds (its log says how fast)
        return
    target = str(lan.device_address.ip)
    try:
        wait_until(lambda: _route_dev(node, target) == ROAM_IF, 20, interval=0.1, what="the guard")
    except SandboxError:
        pass


def format_roam(r: RoamReport) -> str:
    def mb(m: Measurement) -> str:
        return "-" if m.mbits is None else f"{m.mbits:,.0f} Mbit/s"
    rows = [("", "WHERE", "ROUTE TO " + r.before.target, "IPERF3"),
            ("before", r.before.where, r.before.route_dev, mb(r.before)),
            ("after", r.after.where, r.after.route_dev, mb(r.after))]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in rows]
    lines.append(f"uplink ready in {r.moved_in * 1000:.0f} ms, tunnel back in {r.tunnel_back_in * 1000:.0f} ms")
    for dev, via in r.other_lans:
        lines.append(f"other LAN {dev}: via {via}")
    if r.lease:
        lines.append(r.lease)
    return "\n".join(lines)


def roam_json(r: RoamReport) -> dict:
    def m(x: Measurement) -> dict:
        return {"where": x.where, "target": x.target, "route_dev": x.route_dev, "mbits": x.mbits}
    return {"host": r.host, "before": m(r.before), "after": m(r.after), "moved_in": r.moved_in,
            "tunnel_back_in": r.tunnel_back_in, "other_lans": dict(r.other_lans), "lease": r.lease or None}
