"""Routing rules: forwarding, the LAN's return path, MASQUERADE/allow coverage, MTU, the roaming conflict."""

from __future__ import annotations

import functools
import heapq
from typing import Iterator

from netdwg.errors import Diagnostic, Severity
from netdwg.lint.facts import (
    allowed_into, effective_mtu, facts, listing, make, mesh_sites, names, reached_sites, sites, subject,
)
from netdwg.topology.model import Backend, GuardAction, ReturnPath, Role, Topology

# WireGuard's overhead per packet: 32 bytes of WireGuard header and tag, 8 of
# UDP, and 20 (IPv4) or 40 (IPv6) of outer IP header. On a 1500-byte path the
# tunnel MTU can be 1440 over IPv4 and 1420 over IPv6 (wg-quick's default).
PATH_MTU = 1500
OVERHEAD = {4: 60, 6: 80}
IPV6_MIN_MTU = 1280  # RFC 8200: IPv6 inside the tunnel needs at least this


def check_forwarding(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW018: a host that must route (has a LAN, or relays) but is not a router, so forwards nothing."""
    for host in topology.hosts:
        if host.lans and host.role is Role.ROAMING:
            yield make("NDW018", Severity.ERROR,
                       f"has lan = {', '.join(map(str, host.lan_prefixes))}, but roaming hosts do not forward packets",
                       host.span("lan"), subject(host), fix="make it role = site (it then gets forwarding on), or drop lan")
    for name, config in (compiled or {}).items():
        if not (name in facts(topology).by_name) or not facts(topology).by_name[name].is_router:
            continue
        sysctls = _sysctl_map(config)
        if sysctls is None:
            continue
        v4 = sysctls.get("net.ipv4.ip_forward") or sysctls.get("net.ipv4.conf.all.forwarding")
        if str(v4) != "1":
            yield make("NDW018", Severity.ERROR, "routes between the tunnel and its LANs, but its files leave IPv4 forwarding off",
                       facts(topology).by_name[name].span("role"), subject(name),
                       fix="this is a compiler bug if the files are netdwg's: report it; otherwise enable net.ipv4.ip_forward")


def _sysctl_map(config) -> dict | None:
    """The sysctls a compiled host config sets, whatever shape the compiler gives them."""
    raw = getattr(config, "sysctls", None)
    if raw is None:
        return None
    if isinstance(raw, dict) or hasattr(raw, "items"):
        return {str(k).replace("/", "."): v for k, v in raw.items()}
    out = {}
    for item in raw:
        key = getattr(item, "key", None) or getattr(item, "name", None) or (item[0] if isinstance(item, tuple) else None)
        value = getattr(item, "value", None) if not isinstance(item, tuple) else item[1]
        if key is not None:
            out[str(key).replace("/", ".")] = value
    return out


def check_return_path(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW019: a LAN whose hosts cannot answer VPN clients: no static return route and no MASQUERADE."""
    for site in sites(topology):
        for lan in site.lans:
            is_default_router = (lan.router is not None and lan.gateway_address is not None
                                 and lan.router == lan.gateway_address.ip)
            if lan.return_path is ReturnPath.NONE and not is_default_router:
                yield make("NDW019", Severity.WARNING,
                           f"LAN {lan.prefix} has return_path = none: its hosts send replies for VPN addresses to their "
                           "default router, which does not know the tunnel", site.span("return_path"), subject(site),
                           fix="return_path = static-route (netdwg prints the route for the LAN router) or masquerade; "
                               "if this gateway is the LAN's default router, say so: lan_router = <its lan_address>")
            elif lan.return_path is ReturnPath.STATIC_ROUTE and lan.gateway_address is None:
                yield make("NDW019", Severity.ERROR,
                           f"LAN {lan.prefix} uses return_path = static-route, but lan_address is missing, so there is "
                           "no address to route the pool via", site.span("return_path"), subject(site),
                           fix=f"set lan_address = <this gateway's address in {lan.prefix}>")
            elif lan.return_path is ReturnPath.MASQUERADE and lan.interface is None:
                yield make("NDW019", Severity.WARNING,
                           f"LAN {lan.prefix} uses return_path = masquerade, but lan_interface is missing, so the "
                           "MASQUERADE rule cannot name the interface into the LAN", site.span("return_path"), subject(site),
                           fix="set lan_interface = <the gateway's interface on the LAN, e.g. eth1>")
            if lan.gateway_address is not None and lan.gateway_address.ip not in lan.prefix:
                yield make("NDW019", Severity.ERROR,
                           f"lan_address {lan.gateway_address.ip} is not inside the LAN {lan.prefix}",
                           site.span("lan_address"), subject(site), fix=f"use this gateway's address in {lan.prefix}")


def check_coverage(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW020: an allow list or MASQUERADE source that does not cover the clients it is for."""
    hub = facts(topology).hub
    for site in sites(topology):
        for name in names(site.allow):
            if not (name in facts(topology).by_name):
                continue  # NDW023
            client = facts(topology).by_name[name]
            if client.role is Role.HUB:
                yield make("NDW020", Severity.ERROR,
                           f"allow names the hub '{name}', but the hub may never open connections into a LAN",
                           site.span("allow"), subject(site), fix=f"remove '{name}' from allow")
            elif client.name == site.name:
                # The gateway's own connections into its LAN leave by OUTPUT, never FORWARD: the
                # allow list (a forward filter) has nothing to let through for it.
                yield make("NDW020", Severity.WARNING,
                           f"allow names this site itself; its own connections into its LAN are not forwarded, "
                           "so the allow list has nothing to do for it", site.span("allow"), subject(site),
                           fix=f"remove '{name}' from allow")
            elif site not in reached_sites(topology, client) and hub is not None:
                yield make("NDW020", Severity.WARNING,
                           f"allow names '{name}', which does not route this LAN into its tunnel (its reach leaves it out)",
                           site.span("allow"), subject(site),
                           fix=f"add '{site.name}' to reach of '{name}', or drop '{name}' from allow")
        if hub is not None and site.allow is not None:
            routed = [c.name for c in facts(topology).reachers(site) if c.role is Role.ROAMING
                      and not allowed_into(site, c)]
            if routed:
                yield make("NDW020", Severity.INFO,
                           f"{listing(routed)} route this LAN into the tunnel but are not in allow: "
                           "their new connections will be dropped", site.span("allow"), subject(site),
                           fix="add them to allow, or take this site out of their reach")


def check_mtu(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW021: a tunnel MTU above what a 1500-byte path carries, or below IPv6's minimum."""
    hub = facts(topology).hub
    has_v6 = any(p.version == 6 for p in topology.network.pool) or any(
        p.version == 6 for h in topology.hosts for p in h.lan_prefixes)
    for host in topology.hosts:
        mtu = effective_mtu(topology, host)
        span = host.span("mtu") if host.mtu is not None else topology.network.span("mtu")
        families = set()
        ends = []
        if hub is not None and host is not hub:
            ends.append(hub)
        elif host is hub:
            ends += [s for s in facts(topology).spokes if s.role is not Role.HUB]
        ends += [facts(topology).by_name[e] for p in topology.pairs_of(host.name) for e in p.ends
                 if e != host.name and (e in facts(topology).by_name)]
        for peer in ends:
            # the outer packets use the family of the endpoint that is dialled; a name or NAT may be either
            target = hub if (host is not hub and peer is hub) else (host if peer.endpoint is None else peer)
            families.add(_endpoint_family(target.endpoint))
        if not families:
            continue
        limit = PATH_MTU - max(OVERHEAD[f] for f in families)
        if mtu > limit:
            how = "IPv6" if 6 in families else "IPv4"
            yield make("NDW021", Severity.WARNING,
                       f"MTU {mtu} is above what a {PATH_MTU}-byte path allows through WireGuard over {how} ({limit}): "
                       "large packets will be fragmented or dropped", span, subject(host),
                       fix=f"set mtu = {limit} (or 1280, safe across unknown paths)")
        if has_v6 and mtu < IPV6_MIN_MTU:
            yield make("NDW021", Severity.ERROR, f"MTU {mtu} is below IPv6's minimum of {IPV6_MIN_MTU}, and the network carries IPv6",
                       span, subject(host), fix=f"set mtu = {IPV6_MIN_MTU} or more")


class _ReachGroup:
    """Unguarded roaming hosts with one `reach` value: they route the same LANs.

    NDW022 looks at each group once per LAN instead of at every host (50 LANs x
    10,000 laptops). A mutable accumulator local to the rule, not a model value.
    """

    __slots__ = ("sites", "phones", "laptops", "routed", "first_lan", "summary", "_phone_names")

    def __init__(self, sites: frozenset[str]) -> None:
        self.sites = sites  # names of the sites whose LANs they route
        self.phones: list[tuple[int, object]] = []  # (host index, host): wg-quick clients
        self.laptops: list[tuple[int, object]] = []  # (host index, host): the others
        self.routed: list[tuple] = []  # (LAN label, widen fix or None, Lan) of each LAN they route, in file order
        self.first_lan: int | None = None  # the first LAN they route: where their warnings go in the order
        self.summary: tuple | None = None  # (LAN listing, first fix, LAN count, first Lan), formatted once
        self._phone_names: list[str] | None = None

    def phone_names(self) -> list[str]:
        if self._phone_names is None:
            self._phone_names = [host.name for _, host in self.phones]
        return self._phone_names


def _reach_groups(topology: Topology) -> list[_ReachGroup]:
    known = facts(topology)
    groups: dict[object, _ReachGroup] = {}
    for index, host in enumerate(known.spokes):
        if host.role is not Role.ROAMING or host.guard:
            continue
        # a roaming host is never a site, so what it reaches depends on its reach value alone
        group = groups.get(host.reach)
        if group is None:
            group = groups[host.reach] = _ReachGroup(frozenset(s.name for s in known.reached_sites(host)))
        (group.phones if host.backend is Backend.WG_QUICK else group.laptops).append((index, host))
    return list(groups.values())


def check_roaming_conflict(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW022: a roaming host routes a site's LAN into the tunnel, so on that LAN its own traffic hairpins via the hub.

    Linux laptops get a warning each (set guard = yes); wg-quick clients without
    guard = yes (phones and GUI clients, which cannot run the guard) get one note per
    LAN listing them. Order: the notes
    per LAN in file order (clients in host order), then the laptops' warnings
    in the order of the first LAN each routes, then host order.
    """
    groups = _reach_groups(topology)
    lan_index = 0
    for site in sites(topology):
        for lan in site.lans:
            if lan.guard_action is GuardAction.WIDEN:
                if lan.widen_to is None:
                    wider = _widen_prefix(lan)
                    yield make("NDW022", Severity.ERROR, "guard_action = widen needs widen_to",
                               site.span("guard_action"), subject(site),
                               fix=f"set widen_to = {wider} (a prefix covering {lan.within or lan.prefix})" if wider
                               else f"use guard_action = remove or metric ({_no_widening(lan)})")
                    continue
                covers = (lan.widen_to.version == lan.prefix.version and lan.widen_to.supernet_of(lan.prefix)
                          and lan.widen_to.prefixlen < lan.prefix.prefixlen)
                if not covers:
                    yield make("NDW022", Severity.ERROR, f"widen_to {lan.widen_to} does not contain the LAN {lan.prefix}",
                               site.span("widen_to"), subject(site),
                               fix=f"use a prefix shorter than /{lan.prefix.prefixlen} that contains {lan.prefix}")
                elif lan.within is not None and not _loses_to(lan.within, lan.widen_to):
                    wider = _widen_prefix(lan)
                    yield make("NDW022", Severity.WARNING,
                               f"widen_to {lan.widen_to} does not help on {lan.within}, the network {lan.prefix} is "
                               f"part of (lan_within): a laptop there gets the connected route {lan.within}, no "
                               "more specific than the tunnel's, and the tunnel route still wins",
                               site.span("widen_to"), subject(site),
                               fix=f"set widen_to = {wider} (shorter than {lan.within})" if wider
                               else f"use guard_action = remove or metric, with guard = yes on the laptops "
                                    f"({_no_widening(lan)})")
                continue
            lan_index += 1
            wider = _widen_prefix(lan)
            # None: widening cannot help (lan_within says the laptop joins a larger network there)
            widen_fix = f"guard_action = widen and widen_to = {wider} on '{site.name}'" if wider else None
            label = f"{site.name}'s {lan.prefix}"
            reaching = [g for g in groups if site.name in g.sites]
            with_phones = [g for g in reaching if g.phones]
            if len(with_phones) == 1:  # the common case: the same names for every LAN, listed once
                phones = with_phones[0].phone_names()
            else:  # host order across groups
                phones = [host.name for _, host in heapq.merge(*(g.phones for g in with_phones))]
            for group in reaching:
                if group.laptops:
                    group.routed.append((label, widen_fix, lan))
                    if group.first_lan is None:
                        group.first_lan = lan_index
            if phones:
                yield make(
                    "NDW022", Severity.INFO,
                    f"wg-quick clients {listing(phones)} route LAN {lan.prefix} into the tunnel; on that LAN their "
                    "traffic to it goes via the hub", site.span("lan"), subject(site),
                    fix=f"set {widen_fix} (a covering prefix lets the LAN's own route win; "
                    "when the LAN is part of a larger network, declare it with lan_within)" if widen_fix else
                    f"{_no_widening(lan)}; phones and GUI clients cannot run the guard: turn their tunnel off on "
                    f"that network, or take '{site.name}' out of their reach (a Linux laptop on wg-quick can: "
                    "guard = yes)")
    # one warning per laptop, naming the LANs it routes (not one per laptop and LAN: 10,000 x 50)
    laptops = sorted((g.first_lan, index, host, g) for g in groups if g.routed for index, host in g.laptops)
    for _, _, host, group in laptops:
        if group.summary is None:
            group.summary = (listing(label for label, _, _ in group.routed), group.routed[0][1], len(group.routed),
                             group.routed[0][2])
        lans, first_fix, count, first_lan = group.summary
        name = host.name
        yield make(
            "NDW022", Severity.WARNING,
            f"routes {lans} into the tunnel; on such a LAN, DHCP gives it the same prefix with a higher metric "
            "and the tunnel route wins, so LAN traffic goes via the hub",
            host.span("reach") if host.reach is not None else host.span(), subject(host),
            fix=f"set guard = yes on '{name}' ({_no_widening(first_lan)})" if first_fix is None
            else f"set guard = yes on '{name}', or set {first_fix} (likewise for the other sites)"
            if count > 1 else f"set guard = yes on '{name}', or set {first_fix} "
                              "(a covering prefix lets the LAN's own route win; "
                              "when the LAN is part of a larger network, declare it with lan_within)")


def check_compiled_coverage(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW020 on compiled output: each allow entry and MASQUERADE must cover every address of its clients."""
    for name, config in (compiled or {}).items():
        firewall = getattr(config, "firewall", None)
        if firewall is None or not (name in facts(topology).by_name):
            continue
        site = facts(topology).by_name[name]
        for lan in site.lans:
            allows = [a for a in firewall.allow if a.destination.overlaps(lan.prefix) if a.destination.version == lan.prefix.version]
            allowed_sources = [s for a in allows for s in a.sources]
            if site.allow is not None and allows:
                # Only the listed hosts that route this LAN into their tunnel get into the allow list;
                # the others (the site itself, the hub, a reach that leaves it out) are check_coverage's.
                reachers = {c.name for c in facts(topology).reachers(site)}
                for client in (facts(topology).by_name[n] for n in names(site.allow) if n in reachers):
                    missing = [a for a in client.addresses if not _covered(a, allowed_sources)]
                    if missing and client.role is not Role.HUB:
                        yield make("NDW020", Severity.ERROR,
                                   f"the allow list into {lan.prefix} does not cover {', '.join(map(str, missing))} of "
                                   f"'{client.name}'", site.span("allow"), subject(site),
                                   fix="this is a compiler bug if the files are netdwg's: report it")
            masq = [m for m in firewall.masquerade if m.destination.version == lan.prefix.version
                    and m.destination.overlaps(lan.prefix)]
            if lan.return_path is ReturnPath.MASQUERADE and masq:
                sources = [s for m in masq for s in m.sources]
                pool_covered = all(any(p.version == s.version and p.subnet_of(s) for s in sources)
                                   for p in topology.network.pool if p.version == lan.prefix.version)
                foreign = [(p, why) for p, why in _foreign_lans(topology, site)
                           if p.version == lan.prefix.version and not any(
                               p.version == s.version and p.subnet_of(s) for s in sources)]
                if foreign:
                    yield make("NDW020", Severity.ERROR,
                               f"MASQUERADE into {lan.prefix} covers {', '.join(map(str, sources))} but not "
                               f"{listing(f'{p} ({why})' for p, why in foreign)}, whose hosts reach this LAN",
                               site.span("return_path"), subject(site),
                               fix="add those LANs to the MASQUERADE sources, or use return_path = static-route")
                outside = facts(topology).outside_pool
                # with the whole pool covered and every address in it, nobody can be missing:
                # skip the loop over (maybe 10,000) clients
                clients = () if pool_covered and not outside else facts(topology).reachers(site)
                for client in clients:
                    if client.role is Role.ROAMING:
                        # with the whole pool covered, only out-of-pool addresses (NDW014) can be missing
                        missing = [a for a in client.addresses if a.version == lan.prefix.version
                                   and (not pool_covered or a in outside) and not _covered(a, sources)]
                        if missing:
                            yield make("NDW020", Severity.ERROR,
                                       f"MASQUERADE into {lan.prefix} does not cover {', '.join(map(str, missing))} "
                                       f"of '{client.name}'", site.span("return_path"), subject(site),
                                       fix="make the MASQUERADE source the whole pool")


def _covered(address, prefixes) -> bool:
    return any(p.version == address.version and address in p for p in prefixes)


def _foreign_lans(topology: Topology, site) -> list:
    """LANs of other gateways whose hosts reach `site`'s LAN with their own source addresses."""
    found = []
    for pair in topology.pairs_of(site.name):
        other = pair.ends[1] if pair.ends[0] == site.name else pair.ends[0]
        if (other in facts(topology).by_name):
            found += [(p, f"{other}, pair '{pair.name}'") for p in facts(topology).by_name[other].lan_prefixes]
    mesh = mesh_sites(topology)
    if site in mesh:
        found += [(p, o.name) for o in mesh if o is not site for p in o.lan_prefixes]
    if facts(topology).hub is not None:
        found += [(p, o.name) for o in facts(topology).site_reachers(site) for p in o.lan_prefixes]
    return found


@functools.lru_cache(maxsize=4096)
def _wider(prefix):
    """A covering prefix to suggest for widening: 8 bits shorter (IPv4), 16 (IPv6)."""
    if prefix.version == 4:
        return prefix.supernet(new_prefix=max(8, prefix.prefixlen - 8))
    return prefix.supernet(new_prefix=max(16, prefix.prefixlen - 16))


def _loses_to(connected, route) -> bool:
    """Does the connected route win over the tunnel's `route`? Only when it is more specific (the
    tunnel route has metric 0, the LAN's DHCP route a higher one)."""
    return connected.prefixlen > route.prefixlen


@functools.lru_cache(maxsize=4096)
def _widen_prefix(lan):
    """The widen_to to suggest, or None when widening cannot help.

    A laptop on the LAN gets the connected route of the network it joins: the LAN itself, or the
    larger network it is part of (`lan_within`: a camera /24 inside a home 10.0.0.0/8). The
    tunnel's route must be shorter than that to lose; one bit shorter than a network already at a
    private range's edge (10.0.0.0/8 -> 10.0.0.0/7) also covers public addresses: no suggestion.
    """
    if lan.within is None:
        return _wider(lan.prefix)
    if lan.within.prefixlen == 0:
        return None
    wider = lan.within.supernet()
    return wider if wider.is_private else None


def _no_widening(lan) -> str:
    within = lan.within
    wider = within.supernet() if within.prefixlen else within
    return (f"widening cannot help: on {within}, which {lan.prefix} is part of, a laptop's connected route is "
            f"/{within.prefixlen}, and only a shorter prefix ({wider}) would lose to it, which covers addresses "
            "outside private space")


@functools.lru_cache(maxsize=65536)
def _endpoint_family(endpoint) -> int:
    """The family of the outer packets towards an endpoint; a DNS name may resolve to IPv6."""
    address = endpoint.address if endpoint else None
    return address.version if address else 6
