"""`netdwg import`: a topology and its secrets store from existing hand-written host files.

    import_hosts(hosts, name) -> Imported          pure: HostFiles values -> topology text + Secrets
    compare_hosts(hosts, compiled) -> differences  what re-rendering would change, per host

The shape is inferred from the WireGuard configuration itself: the interface
most hosts share is the network; an interface joining exactly two hosts over
a /31 or /30 is a site pair; a host that has every other host as a peer is
the hub; a spoke whose AllowedIPs on the hub carry more than its own
addresses is a site with those LANs, otherwise a roaming client. Keys come
from the files (a host whose private key is kept elsewhere gets `public_key`,
found in its peers' files); PSKs must be the same on both ends.

Re-rendering the result gives every host the same peers, keys, PSKs,
AllowedIPs, endpoints, addresses and MTU; `compare_hosts` proves it for a
given import and names what differs when the hand-written files hold
something a topology cannot say (e.g. a keepalive the hub sends to one spoke
only: `hub_keepalive` is one value for every spoke).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Mapping, Sequence

from netdwg.errors import ConfigError, Diagnostic, Severity, Span
from netdwg.keys import PublicKey, pubkey
from netdwg.topology.importer_compare import compare_hosts  # noqa: F401  (part of this module's API)
from netdwg.topology.importer_files import HostFiles, ReadInterface
from netdwg.topology.importer_lans import fingerprint_lines, lan_lines
from netdwg.topology.model import DEFAULT_KEEPALIVE, DEFAULT_MTU, DEFAULT_PORT, Backend
from netdwg.topology.secrets import Secrets, pair_id
from netdwg.wireguard import IPNetwork, WgPeer


@dataclass(frozen=True, slots=True)
class Imported:
    text: str  # the topology file
    secrets: Secrets
    notes: tuple[str, ...]  # guesses and what the files say that a topology cannot


def _main_interface(hosts: Sequence[HostFiles]) -> str | None:
    counts = Counter(i.name for h in hosts for i in h.interfaces)
    for name, _ in counts.most_common():
        if not _is_pair_interface(hosts, name):
            return name
    return None


def _is_pair_interface(hosts: Sequence[HostFiles], name: str) -> bool:
    ifaces = [i for h in hosts for i in h.interfaces if i.name == name]
    return len(ifaces) == 2 and all(len(i.device.peers) == 1 for i in ifaces) and all(
        a.network.num_addresses in (2, 4) for i in ifaces for a in i.addresses) and all(i.addresses for i in ifaces)


def _name_pairs_alike(hosts: Sequence[HostFiles], keys: Mapping[str, PublicKey]):
    """Two ends of a point-to-point link named differently (wgA on alpha, wgB on beta): each the
    other's only peer, on one /31 or /30. Inside the import both ends take the first end's name (the
    pair is found by its name); the second end's own name is kept for the topology's
    `interface = wgA, wgB`. Returns the hosts and {(host, the first end's name): its own name}."""
    def point_to_point(iface: ReadInterface) -> bool:
        return len(iface.device.peers) == 1 and bool(iface.addresses) and all(
            a.network.num_addresses in (2, 4) for a in iface.addresses)

    ends = [(h, i) for h in hosts for i in h.interfaces if point_to_point(i)]
    renamed: dict[tuple[str, str], str] = {}
    for index, (a, ia) in enumerate(ends):
        for b, ib in ends[index + 1:]:
            if a.name == b.name or ia.name == ib.name or ia.addresses[0].network != ib.addresses[0].network:
                continue
            if ia.device.peers[0].public_key == keys.get(b.name) and ib.device.peers[0].public_key == keys.get(a.name):
                (_, fi), (second, si) = sorted(((a, ia), (b, ib)), key=lambda e: e[1].addresses[0].ip)
                renamed[(second.name, si.name)] = fi.name
    own_names = {(host, name): own for (host, own), name in renamed.items()}
    if not renamed:
        return list(hosts), own_names
    return [replace(h, interfaces=tuple(replace(i, device=replace(i.device, name=renamed[(h.name, i.name)]))
                                        if (h.name, i.name) in renamed else i for i in h.interfaces))
            for h in hosts], own_names


def _rename_to_main(hosts: Sequence[HostFiles], main: str | None, notes: list[str]) -> list[HostFiles]:
    """A wg-quick file names its interface after the file (phone.conf -> "phone"): a host whose only
    non-pair interface has another name is on the network's interface all the same."""
    out = []
    for host in hosts:
        loose = [i for i in host.interfaces if i.name != main and not _is_pair_interface(hosts, i.name)]
        if main and _iface(host, main) is None and len(loose) == 1:
            renamed = replace(loose[0], device=replace(loose[0].device, name=main))
            notes.append(f"{host.name}: interface {loose[0].name} ({loose[0].source}) taken as the network's {main}")
            host = replace(host, interfaces=tuple(renamed if i is loose[0] else i for i in host.interfaces))
        out.append(host)
    return out


def _iface(host: HostFiles, name: str | None) -> ReadInterface | None:
    return next((i for i in host.interfaces if i.name == name), None)


def _resolve_keys(hosts: Sequence[HostFiles], notes: list[str]) -> dict[str, PublicKey]:
    """Every host's public key: from its private key, else from how its peers list it."""
    keys: dict[str, PublicKey] = {}
    for host in hosts:
        privates = {i.device.private_key for i in host.interfaces if i.device.private_key is not None}
        if len(privates) > 1:
            notes.append(f"{host.name} uses different private keys on its interfaces; a topology gives a host "
                         "one key, the first one is kept")
        private = next((i.device.private_key for i in host.interfaces if i.device.private_key is not None), None)
        if private is not None:
            keys[host.name] = pubkey(private)
    for _ in range(2):  # a second pass resolves hosts found through the first pass's results
        for host in hosts:
            if host.name in keys:
                continue
            addresses = {a.ip for i in host.interfaces for a in i.addresses}
            candidates = set()
            for other in hosts:
                if other.name == host.name:
                    continue
                for iface in other.interfaces:
                    for peer in iface.device.peers:
                        if peer.public_key in keys.values():
                            continue
                        exact = {p.network_address for p in peer.allowed_ips if p.num_addresses == 1}
                        if addresses & exact:
                            candidates.add(peer.public_key)
            if not candidates:  # the hub keeping its own key: the one unknown peer of hosts it lists
                mine = {p.public_key for i in host.interfaces for p in i.device.peers}
                for other in hosts:
                    if other.name != host.name and keys.get(other.name) in mine:
                        unknown = [p.public_key for i in other.interfaces for p in i.device.peers
                                   if p.public_key not in keys.values()]
                        if len(unknown) == 1:
                            candidates.add(unknown[0])
            if len(candidates) == 1:
                keys[host.name] = candidates.pop()
                notes.append(f"{host.name}: private key not in the given files; it keeps its own key "
                             f"(public_key taken from its peers' files)")
    for host in hosts:
        if host.name not in keys:
            raise ConfigError(f"cannot tell the key of host '{host.name}'", (Diagnostic(
                "NDW040", Severity.ERROR, f"host '{host.name}': no private key in its files, and no peer file "
                "lists a key for its addresses", Span(host.files[0] if host.files else host.name),
                fix="pass its key file too, or the files of a host that has it as a peer"),))
    return keys


def _pool_from_allowed_ips(on_main: Sequence[HostFiles], main: str | None, version: int) -> list[IPNetwork]:
    """The pool of a network whose addresses are all written /32 (/128): the prefixes its hosts route
    to a peer that hold the addresses of several hosts (a spoke's entry for the hub: 10.1.1.0/24)."""
    mine = [a.ip for h in on_main for a in _iface(h, main).addresses if a.version == version]
    found = []
    for host in on_main:
        for peer in _iface(host, main).device.peers:
            for prefix in peer.allowed_ips:
                if prefix.version == version and 1 < prefix.num_addresses < 2 ** (prefix.max_prefixlen - 1) \
                        and sum(a in prefix for a in mine) >= 2:
                    found.append(prefix)
    return found


def _most_common(values, default):
    """The most frequent value; on a tie the default if it is among the tied, else the first seen."""
    values = [v for v in values if v is not None]
    if not values:
        return default
    ranked = Counter(values).most_common()
    tied = [v for v, n in ranked if n == ranked[0][1]]
    return default if default in tied else tied[0]


def import_hosts(hosts: Sequence[HostFiles], name: str = "imported") -> Imported:
    notes: list[str] = []
    keys = _resolve_keys(hosts, notes)
    owner_of = {key: host for host, key in keys.items()}
    hosts, own_names = _name_pairs_alike(hosts, keys)
    main = _main_interface(hosts)
    hosts = _rename_to_main(hosts, main, notes)
    on_main = [h for h in hosts if _iface(h, main) is not None]
    psks, mismatches = _psks(hosts, owner_of, keys)
    if mismatches:
        raise ConfigError("the two ends of a peering disagree", tuple(mismatches))

    def peers_of(host: HostFiles, iface_name: str | None) -> dict[str, WgPeer]:
        iface = _iface(host, iface_name)
        out = {}
        for peer in iface.device.peers if iface else ():
            other = owner_of.get(peer.public_key)
            if other is None:
                notes.append(f"{host.name}: peer {peer.public_key.short()} on {iface.name} is none of the given "
                             "hosts; it is left out")
            else:
                out[other] = peer
        return out

    main_peers = {h.name: peers_of(h, main) for h in on_main}
    others = {h.name for h in on_main}

    # addresses and the pool
    addresses = {h.name: tuple(a.ip for a in _iface(h, main).addresses) for h in on_main}
    pool = []
    for version in (4, 6):
        nets = [a.network for h in on_main for a in _iface(h, main).addresses
                if a.version == version and a.network.num_addresses > 1]
        if not nets:  # every address written /32 (or /128): the pool is what the peers route for them
            nets = _pool_from_allowed_ips(on_main, main, version)
        if nets:
            pool.append(_most_common(nets, None))
    in_pool = lambda p: any(p.version == q.version and p.subnet_of(q) for q in pool)  # noqa: E731

    # the hub: everyone's peer, everyone peers with it, and the others route the whole pool to it
    # (in a mesh, peers carry each other's addresses, never the pool)
    def routes_pool_to(name: str) -> bool:
        return any(p.num_addresses > 1 and in_pool(p) for other in others - {name}
                   for p in getattr(main_peers[other].get(name), "allowed_ips", ()))

    candidates = [h for h in on_main if len(on_main) >= 2 and set(main_peers[h.name]) == others - {h.name}
                  and routes_pool_to(h.name)]
    hub = candidates[0] if candidates else None
    hub_name = hub.name if hub else None

    # what others route to each host beyond its own addresses: its LANs
    pair_ifaces = sorted({i.name for h in hosts for i in h.interfaces if i.name != main})
    transfers = {a.network for h in hosts for i in h.interfaces if i.name in pair_ifaces for a in i.addresses}
    lans: dict[str, list[IPNetwork]] = {h.name: [] for h in hosts}
    for host in hosts:
        for iface in host.interfaces:
            for peer in iface.device.peers:
                other = owner_of.get(peer.public_key)
                if other is None:
                    continue
                own = {ipaddress.ip_network(a) for a in addresses.get(other, ())}
                if iface.name == main and hub_name is not None and other == hub_name:
                    continue  # a spoke's peer entry for the hub carries the pool and reached LANs
                for prefix in peer.allowed_ips:
                    if prefix in own or prefix in transfers or in_pool(prefix) or prefix in lans[other]:
                        continue
                    lans[other].append(prefix)
    # In the spokes' entries for the hub, beyond the pool: the LANs they reach, a covering prefix
    # routed instead of a LAN (guard_action = widen), or LANs behind the hub itself.
    widened: dict[IPNetwork, list[str]] = {}
    if hub_name is not None:
        owned = {p: h for h, ps in lans.items() for p in ps}
        # the hub passes these on to peers whose files were not given: not the hub's own LANs
        elsewhere = [p for peer in _iface(hub, main).device.peers if peer.public_key not in owner_of
                     for p in peer.allowed_ips if not in_pool(p)]
        for host in on_main:
            hub_peer = main_peers[host.name].get(hub_name)
            for prefix in hub_peer.allowed_ips if hub_peer else ():
                if in_pool(prefix) or prefix in owned or prefix in lans[hub_name]:
                    continue
                if any(prefix.version == p.version and prefix.subnet_of(p) for p in elsewhere):
                    notes.append(f"{host.name} routes {prefix} through {hub_name} to a peer whose files were not "
                                 "given; it is left out (import that host too to keep it)")
                    continue
                inside = [h for p, h in owned.items() if p.version == prefix.version and p.subnet_of(prefix)]
                if inside:
                    widened[prefix] = list(dict.fromkeys(inside))
                else:
                    lans[hub_name].append(prefix)
    lan_owner = {p: h for h, ps in lans.items() for p in ps}
    for host in on_main:
        hub_peer = main_peers[host.name].get(hub_name) if host.name != hub_name else None
        own = [p for p in getattr(hub_peer, "allowed_ips", ()) if p in lans[host.name]]
        if own and _iface(host, main).route_table == "off":
            notes.append(f"{host.name}: its own LAN {', '.join(map(str, own))} is in its AllowedIPs for {hub_name} "
                         "but not routed (Table = off): netdwg leaves it out of AllowedIPs instead, and the "
                         "routes stay the same")
    widen_of = {site: prefix for prefix, names_ in widened.items() for site in names_}

    network_port = _most_common([_iface(hub, main).device.listen_port] if hub else
                                [i.device.listen_port for h in on_main for i in h.interfaces if i.name == main],
                                DEFAULT_PORT)
    mtu = _most_common([_iface(h, main).mtu for h in on_main], DEFAULT_MTU)
    spoke_keepalives = [p.persistent_keepalive for h in on_main if h.name != hub_name
                        for o, p in main_peers[h.name].items() if o == hub_name or hub_name is None]
    keepalive = _most_common([k for k in spoke_keepalives if k], DEFAULT_KEEPALIVE if spoke_keepalives else 0)
    # what the hub sends to its spokes (one value for all: a spoke that differs is left to compare_hosts)
    hub_keepalive = _most_common([p.persistent_keepalive for p in main_peers[hub_name].values()], 0) if hub else 0

    # endpoints: what the others dial
    endpoints: dict[str, str] = {}
    for host in hosts:
        for iface in host.interfaces:
            for peer in iface.device.peers:
                other = owner_of.get(peer.public_key)
                if other and peer.endpoint and other not in endpoints:
                    if iface.name == main or not any(i.name == main for i in _host(hosts, other).interfaces):
                        endpoints[other] = str(peer.endpoint)
    lines = ["[network]", f"name = {name}", f"interface = {main or 'wg0'}"]
    networkd = [i for h in hosts for i in h.interfaces if i.backend is Backend.NETWORKD]
    if networkd and not any(i.route_table for i in networkd):
        # netdwg writes RouteTable= (systemd 250+) on every .netdev for a target of 250 or later
        lines.append("systemd_version = 249")
        notes.append("no .netdev sets RouteTable= (systemd 250+): assuming systemd 249; raise "
                     "systemd_version if every host runs 250 or later")
    if pool:
        lines.append(f"pool = {', '.join(map(str, pool))}")
    lines += [f"port = {network_port}", f"mtu = {mtu}", f"keepalive = {keepalive}"]
    if hub_keepalive:
        lines.append(f"hub_keepalive = {hub_keepalive}")
    lines += ["", "[hosts]"]
    # The hub's files list its spokes in the order the admin chose: keep it (re-rendered
    # files then list peers in the same order); hosts the hub does not list follow.
    listed = list(main_peers[hub_name]) if hub_name else []
    order = sorted(hosts, key=lambda h: (h.name != hub_name, h.name not in listed,
                                         listed.index(h.name) if h.name in listed else hosts.index(h)))
    for host in order:
        role = "hub" if host.name == hub_name else "site" if lans[host.name] or _in_pair(host, pair_ifaces) else "roaming"
        iface = _iface(host, main) or host.interfaces[0]
        lines.append(f"  [[{host.name}]]")
        lines.append(f"  role = {role}")
        if host.name in addresses:
            lines.append(f"  address = {', '.join(map(str, addresses[host.name]))}")
        if host.name in endpoints:
            lines.append(f"  endpoint = {endpoints[host.name]}")
        if iface.backend is not Backend.NETWORKD:
            lines.append(f"  backend = {iface.backend}")
        if not any(i.device.private_key is not None for i in host.interfaces):
            lines.append(f"  public_key = {keys[host.name]}")
        main_iface = _iface(host, main)
        if main_iface is not None:
            port = main_iface.device.listen_port
            implied = _implied_port(role, endpoints.get(host.name), network_port)
            if port is not None and port != implied:
                lines.append(f"  port = {port}")
            elif port is None and implied is not None and role != "roaming":
                notes.append(f"{host.name}: no ListenPort in its files, netdwg will set {implied}")
            if main_iface.mtu is not None and main_iface.mtu != mtu:
                lines.append(f"  mtu = {main_iface.mtu}")
            hub_peer = main_peers[host.name].get(hub_name) if hub_name and host.name != hub_name else None
            if hub_peer is not None and hub_peer.persistent_keepalive != keepalive:
                lines.append(f"  keepalive = {hub_peer.persistent_keepalive}")
            if hub_peer is not None:
                reached = {lan_owner[p] for p in hub_peer.allowed_ips if p in lan_owner}
                reached |= {n for p in hub_peer.allowed_ips for n in widened.get(p, ())}
                reached = sorted(reached - {host.name}, key=[h.name for h in hosts].index)
                everyone = [h.name for h in hosts if lans[h.name] and h.name != host.name]
                if reached != everyone:
                    lines.append(f"  reach = {', '.join(reached) if reached else ','}")
        lines += lan_lines(host, lans[host.name], hosts, addresses, hub_name, main_peers, widened, pool, notes)
        if host.guard:
            lines.append("  guard = yes")
        lines += fingerprint_lines(host.name, hosts, widen_of.get(host.name))
        lines.append("")
    pair_lines = _pairs(hosts, pair_ifaces, own_names)
    if pair_lines:
        lines += ["[pairs]"] + pair_lines
    private = {h.name: next(i.device.private_key for i in h.interfaces if i.device.private_key is not None)
               for h in hosts if any(i.device.private_key is not None for i in h.interfaces)}
    secrets = Secrets(MappingProxyType(private), MappingProxyType(psks))
    header = [f"# Imported by 'netdwg import' from the files of {len(hosts)} hosts.",
              "# Review it (netdwg lint), then compare: netdwg render --out DIR"]
    header += [f"# note: {n}" for n in dict.fromkeys(notes)]
    text = "\n".join(header + lines).rstrip("\n") + "\n"
    return Imported(text, secrets, tuple(dict.fromkeys(notes)))


def _host(hosts, name) -> HostFiles:
    return next(h for h in hosts if h.name == name)


def _in_pair(host: HostFiles, pair_ifaces) -> bool:
    return any(i.name in pair_ifaces for i in host.interfaces)


def _implied_port(role: str, endpoint: str | None, network_port: int) -> int | None:
    if endpoint:
        return int(endpoint.rsplit(":", 1)[1])
    return network_port if role == "hub" else None


def _pairs(hosts, pair_ifaces, own_names) -> list[str]:
    lines = []
    for name in pair_ifaces:
        ends = [(h, i) for h in hosts for i in h.interfaces if i.name == name]
        if len(ends) != 2:
            continue
        (a, ia), (b, ib) = sorted(ends, key=lambda e: e[1].addresses[0].ip if e[1].addresses else 0)
        transfer = ia.addresses[0].network if ia.addresses else None
        if transfer is None:
            continue
        peer = ia.device.peers[0]
        port = ia.device.listen_port or ib.device.listen_port or 51821
        second = own_names.get((b.name, name), name)
        lines += [f"  [[{a.name}-{b.name}]]", f"  ends = {a.name}, {b.name}", f"  transfer = {transfer}",
                  f"  interface = {name}" + (f", {second}" if second != name else ""), f"  port = {port}"]
        if peer.persistent_keepalive:
            lines.append(f"  keepalive = {peer.persistent_keepalive}")
        lines.append("")
    return lines


def _psks(hosts, owner_of, keys):
    psks: dict = {}
    seen: dict = {}
    problems = []
    for host in hosts:
        for iface in host.interfaces:
            for peer in iface.device.peers:
                other = owner_of.get(peer.public_key)
                if other is None:
                    continue
                if peer.public_key in iface.unknown_psks:
                    continue  # its key file was not given: the other end's file tells
                pid = pair_id(host.name, other)
                if pid in seen and seen[pid][0] != peer.preshared_key:
                    problems.append(Diagnostic(
                        "NDW031", Severity.ERROR,
                        f"the preshared key for {pid.replace(':', ' <-> ')} differs between the two ends "
                        f"({iface.source} and {seen[pid][1]})", Span(iface.source), f"host '{host.name}'",
                        fix="WireGuard needs the same PSK on both ends; fix one file, then import again"))
                    continue
                seen[pid] = (peer.preshared_key, iface.source)
                if peer.preshared_key is not None:
                    psks[pid] = peer.preshared_key
    return psks, problems
