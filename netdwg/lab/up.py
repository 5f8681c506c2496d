"""``netdwg lab up``: build the world of a topology in namespaces and configure every host.

Order: namespaces -> wires -> switches, routers, NATs, devices (one shell
script per namespace) -> host nodes in parallel (underlay, dbus-daemon,
networkd, wireguard-go; NetworkManager instead of networkd on backend =
networkmanager hosts, netdwg.lab.nm) -> each host configured by ``netdwg apply`` run inside
it, then ``wg-quick up`` on wg-quick hosts, wireguard-go from NetworkManager's
profile on NetworkManager hosts (hubs first; a failure stops the
lab with the host's output) -> DHCP servers -> sshd on office hosts a site's
proof names (lab.offices) -> wait until every tunnel a host initiates has a
handshake -> netdwg-guard on roaming hosts with guard = yes.

Everything is recorded in the sandbox record before it is created, so a
failed or killed ``up`` is removed by ``netdwg lab down``.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Mapping

from netdwg.lab.sandbox import STATE_DIR, Netns, Node, Sandbox, SandboxError, wait_until
from netdwg.lab.state import LAB_PREFIX, Lab, LabError, lab_records, lab_topology, lab_topology_text
from netdwg.lab.world import INET, HostBox, Uplink, World, plan_world
from netdwg.lab.fleet import check_fleet_fits, start_fleet
from netdwg.lab.nm import configure_tunnel, start_host_networkmanager
from netdwg.lab.offices import generate_host_key, known_hosts_line, office_hosts, pin_lab_keys, start_office_hosts
from netdwg.topology import load_topology, parse_topology
from netdwg.topology.compile import compile_topology
from netdwg.topology.hostconfig import HostConfig
from netdwg.topology.model import Backend, Role
from netdwg.topology.secrets import Secrets, complete_secrets, format_secrets

Say = Callable[[str], None]
WORKERS = 4  # 2 cores: more threads only queue on the CPU; fewer leave it idle during waits

# Lab-only per-namespace sysctls: no ICMP rate limit, so traceroute shows every hop.
LAB_SYSCTLS = "net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0"


def _quiet(_: str) -> None:
    pass


def uplink_script(u: Uplink) -> list[str]:
    """`ip` commands giving one interface its address (point-to-point on the internet) and default route."""
    lines = []
    if u.mac:
        lines.append(f"ip link set {u.ifname} address {u.mac}")
    lines.append(f"ip link set {u.ifname} up")
    if u.peer is not None:
        lines.append(f"ip addr add {u.address.ip} peer {u.peer}/32 dev {u.ifname}")
    else:
        lines.append(f"ip addr add {u.address} dev {u.ifname}")
    if u.gateway is not None:
        lines.append(f"ip route add default via {u.gateway} dev {u.ifname}")
    if u.address6 is not None:  # nodad: usable at once, nothing else claims lab addresses
        if u.peer6 is not None:
            lines.append(f"ip addr add {u.address6.ip} peer {u.peer6}/128 dev {u.ifname} nodad")
        else:
            lines.append(f"ip addr add {u.address6} dev {u.ifname} nodad")
    if u.gateway6 is not None:
        # onlink: until the other end of the veth is up, IPv6 has no route to the gateway yet.
        lines.append(f"ip -6 route add default via {u.gateway6} dev {u.ifname} onlink")
    return lines


def namespace_script(world: World, short: str) -> str:
    """The shell script that sets up a non-host namespace (switch, router, NAT, device, internet)."""
    lines = ["set -e", f"sysctl -q -e -w {LAB_SYSCTLS}"]
    for br in world.bridges:
        if br.ns == short:
            lines.append(f"ip link add {br.name} address {br.mac} type bridge")
            lines += [f"ip link set {port} master {br.name} up" for port in br.ports]
            lines.append(f"ip link set {br.name} up")
    for u in world.uplinks:
        if u.ns == short:
            lines += uplink_script(u)
    if short in world.routers:
        lines.append("sysctl -q -w net.ipv4.ip_forward=1")
        if world.ipv6:
            lines.append("sysctl -q -w net.ipv6.conf.all.forwarding=1")
    family = "inet" if world.ipv6 else "ip"  # inet: NAT44 and NAT66 in one rule
    for ns, out in world.masquerade:
        if ns == short:
            lines.append(f"nft 'add table {family} lab; "
                         f"add chain {family} lab post {{ type nat hook postrouting priority 100; }}; "
                         f"add rule {family} lab post oifname \"{out}\" masquerade'")
    for r in world.routes:
        if r.ns == short:
            dev = next((u.ifname for u in world.uplinks if u.ns == short and any(
                a is not None and r.via in a.network for a in (u.address, u.address6))), None)
            lines.append(f"ip route add {r.prefix} via {r.via}" + (f" dev {dev} onlink" if dev else ""))
    return "\n".join(lines) + "\n"


def underlay_networkd(box: HostBox) -> dict[str, str]:
    """The admin's own .network files for the host's underlay links (networkd hosts)."""
    files = {}
    for u in box.uplinks:
        text = f"[Match]\nName={u.ifname}\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n"
        if u.address6 is not None:
            # IPv6 needs a link-local address: the kernel sends no neighbour solicitation without
            # one (ndisc_send_ns) when the packet's source is not on this link, e.g. a reply from
            # the tunnel address. No DAD: a lab link has nobody to collide with.
            text = text.replace("LinkLocalAddressing=no", "LinkLocalAddressing=ipv6\nIPv6DuplicateAddressDetection=0")
        if u.peer is not None:
            text += f"\n[Address]\nAddress={u.address.ip}/32\nPeer={u.peer}/32\n"
        else:
            text += f"Address={u.address}\n"
        if u.gateway is not None:
            text += f"\n[Route]\nGateway={u.gateway}\n"
        if u.address6 is not None:  # DAD off, as in uplink_script (networkd >= 248)
            peer = f"Peer={u.peer6}/128\n" if u.peer6 is not None else ""
            address = f"{u.address6.ip}/128" if u.peer6 is not None else str(u.address6)
            text += f"\n[Address]\nAddress={address}\n{peer}DuplicateAddressDetection=none\n"
        if u.gateway6 is not None:
            text += f"\n[Route]\nGateway={u.gateway6}\n"
        files[f"/etc/systemd/network/10-lab-{u.ifname}.network"] = text
    return files


def uses_networkd(backend: Backend) -> bool:
    return backend in (Backend.NETWORKD, Backend.NETPLAN)  # netplan renders for networkd here


def runs_networkmanager(box: HostBox) -> bool:
    """NetworkManager manages the Ethernet of hosts with backend = networkmanager (netdwg.lab.nm)."""
    return Backend(box.backend) is Backend.NETWORKMANAGER


def runs_networkd(box: HostBox) -> bool:
    """networkd manages the host's Ethernet: on networkd and netplan hosts, and on every other roaming
    laptop (wg-quick ones too: wg-quick owns only the tunnel; networkd is the DHCP client when the
    laptop walks into an office)."""
    return uses_networkd(Backend(box.backend)) or (box.role is Role.ROAMING and not runs_networkmanager(box))


TOPOLOGY_IN_NODE = "/etc/netdwg/netdwg.conf"
SECRETS_IN_NODE = "/etc/netdwg/netdwg.secrets"
CONFIGURED_BY = "netdwg apply --topology"
NM_TUNNEL = " + wireguard-go from NetworkManager's profile"  # netdwg.lab.nm: NetworkManager cannot activate it here


def _logged(node: Node, command: str, res, seconds: float) -> None:
    with open(node.rundir / "apply.log", "a") as log:
        log.write(f"$ {command}\n{res.stdout}{res.stderr}(exit {res.returncode}, {seconds:.2f} s)\n")


def configure_host(lab: Lab, node: Node, hc: HostConfig, secrets: Secrets) -> str:
    """Configure one host as an admin does; returns how.

    The topology file and the secrets store are copied into the node's
    /etc/netdwg, then ``netdwg apply --topology /etc/netdwg/netdwg.conf --host
    NAME`` runs inside it, and on wg-quick hosts ``wg-quick up IF`` (what
    ``systemctl start wg-quick@IF`` does); on NetworkManager hosts, whose
    WireGuard profile NetworkManager cannot activate here, wireguard-go is
    then set up from the profile NetworkManager holds (netdwg.lab.nm). A
    failure is fatal: the error carries the host's own output.
    """
    node.write_file(TOPOLOGY_IN_NODE, lab.sandbox.record.extra["topology_text"])
    node.write_file(SECRETS_IN_NODE, format_secrets(secrets), mode=0o600)
    apply = ["apply", "--topology", TOPOLOGY_IN_NODE, "--host", hc.name]
    steps = [("netdwg " + " ".join(apply),
              lambda: node.run([sys.executable, "-m", "netdwg", *apply], check=False, timeout=180))]
    if hc.backend is Backend.WG_QUICK:
        steps += [(f"wg-quick up {i.name}", lambda i=i: node.wg_quick_up(i.name, timeout=120))
                  for i in hc.interfaces]
    for what, step in steps:
        t0 = time.monotonic()
        res = step()
        _logged(node, what, res, time.monotonic() - t0)
        if res.returncode != 0:
            output = (res.stdout + res.stderr).strip() or "no output"
            raise SandboxError(f"{hc.name}: {what} failed (exit {res.returncode}):\n{output}")
    if hc.backend is Backend.NETWORKMANAGER:
        configure_tunnel(node, hc)
        return CONFIGURED_BY + NM_TUNNEL
    return CONFIGURED_BY + (" + wg-quick up" if hc.backend is Backend.WG_QUICK else "")


def _start_host(lab: Lab, box: HostBox, hc: HostConfig) -> Node:
    """The host's node with its underlay, dbus + networkd (networkd and netplan hosts, roaming
    laptops) or dbus + NetworkManager (NetworkManager hosts), and wireguard-go (wg-quick starts its
    own through the lab's wrapper)."""
    sb = lab.sandbox
    node = sb.node(lab.ns(box.ns))
    node.run(["sysctl", "-q", "-e", "-w", *LAB_SYSCTLS.split()])
    if runs_networkmanager(box):
        start_host_networkmanager(node, box.uplinks)
    elif runs_networkd(box):
        for path, text in underlay_networkd(box).items():
            node.write_file(path, text)
        node.start_dbus()
        node.start_networkd(debug=False, release=lab.networkd)
    else:
        node.run(["sh", "-ec", "\n".join(line for u in box.uplinks for line in uplink_script(u))])
    # With the kernel module networkd creates the device from the .netdev apply writes and
    # wg-quick creates its own; without it (this project's machines) wireguard-go stands in.
    # NetworkManager hosts always get wireguard-go: the lab sets it up from NetworkManager's profile.
    if runs_networkmanager(box) or (Backend(box.backend) is not Backend.WG_QUICK and not lab.kernel_wireguard):
        for iface in hc.interfaces:
            node.start_wireguard_go(iface.name)
    return node


def kernel_wireguard_available(ns: Netns) -> bool:
    """Can this kernel create WireGuard links? Probed in a lab namespace, never in the root one."""
    res = ns.run(["ip", "link", "add", "ndwprobe0", "type", "wireguard"], check=False)
    if res.returncode == 0:
        ns.run(["ip", "link", "del", "ndwprobe0"], check=False)
    return res.returncode == 0


def _underlay_ready(node: Node, box: HostBox) -> bool:
    """Addresses and the default route are in place (networkd configures them asynchronously)."""
    routes = node.run(["ip", "-4", "route", "show"], check=False, timeout=10).stdout
    addrs = node.run(["ip", "-br", "addr", "show"], check=False, timeout=10).stdout.split()
    has_default = all(u.gateway is None for u in box.uplinks) or routes.startswith("default") or "\ndefault" in routes
    if any(u.gateway6 is not None for u in box.uplinks):
        routes6 = node.run(["ip", "-6", "route", "show", "default"], check=False, timeout=10).stdout
        has_default = has_default and routes6.startswith("default")
    present = {token.split("/")[0] for token in addrs}
    return has_default and all(str(a.ip) in present for u in box.uplinks for a in (u.address, u.address6) if a)


def _configure(lab: Lab, box: HostBox, hc: HostConfig, secrets: Secrets, say: Say) -> str:
    node = lab.node(box.name)
    # WireGuard sends its first initiation as soon as it has a peer: with no route yet it
    # is lost and the next try comes only after REKEY_TIMEOUT (5 s). Wait for the underlay.
    wait_until(lambda: _underlay_ready(node, box), 40, what=f"{box.name}'s underlay")
    how = configure_host(lab, node, hc, secrets)
    say(f"[+] {box.name}: {box.role} ({box.backend}), configured by {how}")
    return how


def _has_peers(node: Node, hc: HostConfig) -> bool:
    """Every interface of `hc` has its listen port and all its peers (a hub ready for initiations)."""
    for iface in hc.interfaces:
        res = node.run(["wg", "show", iface.name, "dump"], check=False, timeout=10)
        lines = res.stdout.splitlines()
        if res.returncode != 0 or len(lines) - 1 < len(iface.device.peers):
            return False
        if iface.device.listen_port and lines[0].split("\t")[2] != str(iface.device.listen_port):
            return False
    return True


def _handshake_with(node: Node, ifname: str, key: str) -> bool:
    res = node.run(["wg", "show", ifname, "latest-handshakes"], check=False, timeout=10)
    stamps = dict(line.split() for line in res.stdout.splitlines() if len(line.split()) == 2)
    return stamps.get(key, "0") != "0"


def tunnel_targets(configs: Mapping[str, HostConfig]) -> list[tuple[str, str, str, str, str]]:
    """(host, interface, peer name, peer public key, peer's address on that interface) for every
    peer a host initiates to (it has an endpoint): the hub for spokes, the other end of a site pair."""
    out = []
    for name, hc in configs.items():
        for iface in hc.interfaces:
            for peer in iface.device.peers:
                other = configs.get(peer.name)
                if peer.endpoint is None or other is None:
                    continue
                far = next((i for i in other.interfaces if any(p.public_key == iface.device.private_key.public_key()
                                                               for p in i.device.peers)), None)
                addr = next((a.ip for a in (far.addresses if far else ()) if a.version == 4), None)
                if addr is not None:
                    out.append((name, iface.name, peer.name, peer.public_key.base64, str(addr)))
    return out


def wait_for_tunnels(lab: Lab, configs: Mapping[str, HostConfig], timeout: float, say: Say) -> None:
    """Kick every tunnel a host initiates (pings to the peer) until it has a handshake.

    An initiation sent before the peer was configured is lost and retried only after
    REKEY_TIMEOUT (5 s); `lab check` should not race that.
    """
    targets = tunnel_targets(configs)

    def kick(target) -> None:
        host, ifname, peer, key, addr = target
        node = lab.node(host)
        deadline = time.monotonic() + timeout
        while not _handshake_with(node, ifname, key):
            node.run(["ping", "-c1", "-W1", addr], check=False)
            if time.monotonic() > deadline:
                raise SandboxError(f"{host}: no handshake with {peer} on {ifname} after {timeout:.0f}s")

    with ThreadPoolExecutor(2 * WORKERS) as pool:
        list(pool.map(kick, targets))
    say(f"[+] tunnels: {len(targets)} initiating peers have a handshake")


def bring_up(topology_path: str | Path, say: Say = _quiet, state_dir: Path = STATE_DIR,
             wait: float = 60.0, networkd: int = 252, ssh: bool = False) -> Lab:
    """Build the lab for a topology file and leave it running; remove everything on failure.
    ``networkd``: the release the networkd hosts run (257: chrooted from the trixie root).
    ``ssh``: the hosts are left unconfigured for a fleet tool, each with sshd on a management
    link to a controller namespace (netdwg.lab.fleet)."""
    if any(lab_records(state_dir)):
        raise LabError("a lab is already up", fix="run 'netdwg lab down' first")
    path = Path(topology_path)
    text = lab_topology_text(path.read_text(encoding="utf-8"))
    # Office hosts a site's ssh_host_key names run with lab keys, pinned in the lab's topology.
    offices = office_hosts(load_topology(path))
    host_keys = {office.site: generate_host_key() for office in offices}
    text = pin_lab_keys(text, {o.site: known_hosts_line(o, host_keys[o.site]) for o in offices})
    topology = lab_topology(parse_topology(text, str(path)))
    secrets, _ = complete_secrets(topology, Secrets())  # throwaway lab keys, never the admin's store
    configs = compile_topology(topology, secrets)
    world = plan_world(topology, {name: hc.return_routes for name, hc in configs.items()})
    t0 = time.monotonic()
    sb = Sandbox(prefix=LAB_PREFIX, state_dir=state_dir)
    sb.__enter__()
    lab = Lab(sb, topology, world, networkd=networkd)
    try:
        if ssh:
            check_fleet_fits(lab)
            nm_hosts = [b.name for b in world.hosts if runs_networkmanager(b)]
            if nm_hosts:  # their tunnel is set up by the lab after apply (netdwg.lab.nm), which a fleet tool skips
                raise LabError(f"--ssh: {', '.join(nm_hosts)} use backend = networkmanager, whose tunnel the lab "
                               f"sets up on wireguard-go after netdwg apply; a fleet tool's apply would leave it down",
                               fix="bring this topology up without --ssh, or give those hosts another backend")
        lab.set_extra(topology_path=str(path.resolve()), topology_text=text, started=time.time(),
                      name=topology.network.name, networkd=networkd)
        if networkd != 252:
            from netdwg.lab.trixie import RELEASES, ensure_root

            if RELEASES.get(networkd) is None:
                raise LabError(f"no networkd {networkd} for the lab", fix="--networkd 252 or 257")
            say(f"[#] networkd {networkd} from {ensure_root(RELEASES[networkd])} (chrooted in each host)")
        say(f"[#] lab {sb.id}: {len(topology.hosts)} hosts, {len(world.namespaces)} namespaces")
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda ns: sb.netns(ns[0]), world.namespaces))
        lab.kernel_wireguard = kernel_wireguard_available(lab.ns(INET))
        lab.set_extra(kernel_wireguard=lab.kernel_wireguard)
        for w in world.wires:
            sb.veth(lab.ns(w.a_ns), w.a_if, lab.ns(w.b_ns), w.b_if, up=False)
        say(f"[+] {len(world.namespaces)} namespaces, {len(world.wires)} wires ({time.monotonic() - t0:.1f}s)")
        plain = [short for short, kind in world.namespaces if kind != "host"]
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda s: lab.ns(s).run(["sh", "-c", namespace_script(world, s)]), plain))
        say(f"[+] internet, NAT routers, switches, office routers, devices ({time.monotonic() - t0:.1f}s)")
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda box: _start_host(lab, box, configs[box.name]), world.hosts))
        say(f"[+] {len(world.hosts)} host nodes with their daemons ({time.monotonic() - t0:.1f}s)")
        # Hubs first: a spoke's first initiation must find the hub listening, or the next
        # try comes only after REKEY_TIMEOUT (5 s). Spokes start as soon as the hub's device
        # has its peers, not when its apply returns (that also waits for networkd).
        hubs = [b for b in world.hosts if b.role is Role.HUB]
        spokes = [b for b in world.hosts if b.role is not Role.HUB] if not ssh else []
        hubs = hubs if not ssh else []  # --ssh: the fleet tool configures every host
        # Configuring is mostly waiting (networkd, handshakes): more threads than cores pay off.
        with ThreadPoolExecutor(2 * WORKERS) as pool:
            futures = {b.name: pool.submit(_configure, lab, b, configs[b.name], secrets, say) for b in hubs}
            for b in hubs:
                wait_until(lambda: futures[b.name].done() or _has_peers(lab.node(b.name), configs[b.name]), 120,
                           what=f"{b.name}'s WireGuard peers")
            futures.update({b.name: pool.submit(_configure, lab, b, configs[b.name], secrets, say)
                            for b in spokes})
            hows = {name: fut.result() for name, fut in futures.items()}
        for d in world.dhcp:
            argv = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", f"--interface={d.ifname}",
                    "--bind-interfaces", "--except-interface=lo", "--port=0",
                    f"--dhcp-range={d.first},{d.last},{d.netmask},12h", f"--dhcp-option=option:router,{d.router}",
                    "--dhcp-authoritative", f"--dhcp-leasefile={sb.rundir / (d.ns + '.leases')}",
                    "--pid-file=", "--user=root", "--no-ping", "--log-dhcp", "--log-facility=-"]
            if d.domain:
                argv.append(f"--domain={d.domain}")
            if d.ra:  # SLAAC on the LAN's IPv6 prefix (taken from lan0's address), for laptops roaming in
                argv += ["--enable-ra", f"--dhcp-range=::,constructor:{d.ifname},ra-only"]
            sb.spawn(lab.ns(d.ns), argv, name="dnsmasq")
        say(f"[+] hosts configured, DHCP on {len(world.dhcp)} LANs ({time.monotonic() - t0:.1f}s)")
        if start_office_hosts(lab, host_keys):
            say(f"[+] sshd on the office hosts the sites' ssh_host_key names, with lab keys "
                f"({time.monotonic() - t0:.1f}s)")
        if ssh:
            fleet = start_fleet(lab)
            lab.set_extra(fleet=fleet)
            say(f"[+] sshd on {len(fleet['hosts'])} hosts' management links, controller namespace "
                f"{fleet['controller']}; the hosts are not configured ({time.monotonic() - t0:.1f}s)")
        else:
            wait_for_tunnels(lab, configs, wait, say)
        for host in topology.hosts if not ssh else ():
            if host.guard and start_guard(lab, host.name):
                say(f"[+] {host.name}: netdwg-guard running")
        lab.set_extra(configured_by=hows, up_seconds=round(time.monotonic() - t0, 2))
        say(f"[+] lab up in {time.monotonic() - t0:.1f}s")
    except BaseException:
        say("[!] lab up failed: removing what was created")
        sb.close()
        raise
    sb.detach()
    return lab


# The default paths, as netdwg-guard.service runs it: `netdwg guard learn` (also default paths) writes
# the learned fingerprints where this guard reads them (the node has its own /var/lib/netdwg and /run/netdwg).
GUARD_ARGS = ("--foreground",)


def guard_running(lab: Lab, host: str) -> bool:
    return any(p.what == f"{lab.ns(host).name}:netdwg-guard" and p.is_alive() for p in lab.sandbox.record.procs)


def start_guard(lab: Lab, host: str) -> int | None:
    """Run netdwg-guard on a roaming host with guard = yes (its guard.conf comes from apply)."""
    node = lab.node(host)
    if not node.path("/etc/netdwg/guard.conf").exists():
        return None
    return node.spawn([sys.executable, "-m", "netdwg.guard.daemon", *GUARD_ARGS], name="netdwg-guard")
