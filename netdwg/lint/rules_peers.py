"""Who talks to whom: references, hubs, NAT and endpoints, keepalive, site pairs, guard."""

from __future__ import annotations

from typing import Iterator

from netdwg.errors import Diagnostic, Severity
from netdwg.lint.facts import (
    allowed_into, derive_peers, effective_keepalive, facts, listing, make, names, reached_sites, subject, suggest,
)
from netdwg.topology.model import Backend, GuardAction, GuardTrust, Role, Topology


def check_references(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW023: allow, reach and pair ends must name hosts of this topology (and the right kind)."""
    known = {h.name for h in topology.hosts}
    for host in topology.hosts:
        for key in ("allow", "reach"):
            for name in names(getattr(host, key)):
                if name not in known:
                    yield make("NDW023", Severity.ERROR, f"{key} names unknown host '{name}'", host.span(key),
                               subject(host), fix=suggest(name, known))
                elif key == "reach" and facts(topology).by_name[name].role is Role.ROAMING:
                    yield make("NDW023", Severity.WARNING,
                               f"reach names '{name}', a roaming host with no LAN to reach",
                               host.span(key), subject(host), fix="list only sites in reach")
                elif key == "reach" and not facts(topology).by_name[name].lans:
                    yield make("NDW023", Severity.WARNING, f"reach names '{name}', which has no lan",
                               host.span(key), subject(host), fix=f"add lan = ... to '{name}' or drop it from reach")
        if host.allow is not None and not host.lans:
            yield make("NDW023", Severity.WARNING, "allow only applies to hosts with a lan, and this one has none",
                       host.span("allow"), subject(host), fix="remove allow from this host, or add its lan")
    for pair in topology.pairs:
        for end in pair.ends:
            if end not in known:
                yield make("NDW023", Severity.ERROR, f"ends names unknown host '{end}'", pair.span,
                           f"pair '{pair.name}'", fix=suggest(end, known))
        if pair.ends[0] == pair.ends[1]:
            yield make("NDW023", Severity.ERROR, f"both ends are '{pair.ends[0]}'", pair.span, f"pair '{pair.name}'",
                       fix="a site pair joins two different gateways")


def check_single_hub(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW024: at most one hub (a second relay needs its own network)."""
    hubs = tuple(h for h in topology.hosts if h.role is Role.HUB)
    for extra in hubs[1:]:
        yield make("NDW024", Severity.ERROR, f"a second hub; '{hubs[0].name}' is already the hub",
                   extra.span("role"), subject(extra),
                   fix="make it a site, or describe the second relay in a topology file of its own")


def check_reaches_somebody(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW015: a host with no peer at all, or a roaming host every LAN it names refuses."""
    has_peer = {p.host for p in derive_peers(topology)}
    for host in topology.hosts:
        if host.name not in has_peer:
            why = ("there is no hub, and roaming hosts only connect to a hub" if host.role is Role.ROAMING
                   else "there are no spokes" if host.role is Role.HUB
                   else "there is no hub, no other site with an address, and no site pair with it")
            yield make("NDW015", Severity.ERROR, f"can reach nobody: {why}", host.span("role"), subject(host),
                       fix="add a hub, or a [pairs] entry naming this host" if host.role is not Role.HUB
                       else "add spokes, or remove the hub")
            continue
        if host.role is Role.ROAMING and names(host.reach):
            targets = [s for s in reached_sites(topology, host) if s.lans]
            if targets and not any(allowed_into(s, host) for s in targets):
                yield make("NDW015", Severity.WARNING,
                           f"can reach no LAN: every site in reach ({listing(s.name for s in targets)}) "
                           f"leaves it out of its allow list", host.span("reach"), subject(host),
                           fix=f"add '{host.name}' to the allow list of a site it should reach, or fix reach")


def check_nat(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW016: both ends of a link behind NAT (no endpoint), so neither can start a handshake."""
    hub = facts(topology).hub
    if hub is not None and hub.endpoint is None:
        stuck = [s.name for s in facts(topology).spokes if s.endpoint is None and s.role is not Role.HUB]
        if stuck:
            yield make("NDW016", Severity.ERROR,
                       f"the hub has no endpoint, and neither have {listing(stuck)}: nobody can start a handshake",
                       hub.span("endpoint"), subject(hub),
                       fix=f"set endpoint = PUBLIC_IP:{hub.listen_port or topology.network.port} on the hub")
    mesh = list(facts(topology).mesh)
    for i, a in enumerate(mesh):
        for b in mesh[i + 1:]:
            if a.endpoint is None and b.endpoint is None:
                yield make("NDW016", Severity.ERROR,
                           f"neither this site nor '{b.name}' has an endpoint, and there is no hub to relay",
                           a.span("endpoint"), subject(a),
                           fix="give one of them a public endpoint, or add a hub (role = hub) as a relay")


def check_keepalive(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW017: a spoke behind NAT (no endpoint) without PersistentKeepalive loses its NAT mapping;
    hub_keepalive in a network without a hub, where nothing sends it."""
    if facts(topology).hub is None:
        if topology.network.hub_keepalive:
            yield make("NDW017", Severity.WARNING, "hub_keepalive is set, but the network has no hub to send it",
                       topology.network.span("hub_keepalive"), "[network]",
                       fix="remove hub_keepalive (a site pair has a keepalive of its own)")
        return
    for host in facts(topology).spokes:
        if host.role is Role.HUB or host.endpoint is not None:
            continue
        if effective_keepalive(topology, host) == 0:
            key = "keepalive" if host.keepalive is not None else ""
            yield make("NDW017", Severity.WARNING,
                       "is behind NAT (no endpoint) but keepalive is 0: the hub cannot reach it once the NAT mapping expires",
                       host.span(key) if key else topology.network.span("keepalive"), subject(host),
                       fix="set keepalive = 25 (on the host or in [network])")


def check_pairs(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW026: site pair ends need public endpoints (both sides initiate) and must be gateways."""
    for pair in topology.pairs:
        for end in pair.ends:
            if not (end in facts(topology).by_name):
                continue
            host = facts(topology).by_name[end]
            if host.endpoint is None:
                yield make("NDW026", Severity.ERROR,
                           f"end '{end}' has no endpoint; a site pair joins two gateways with fixed public endpoints",
                           pair.span, f"pair '{pair.name}'",
                           fix=f"set endpoint = PUBLIC_IP:{pair.port} on '{end}', or connect it through the hub instead")
            if host.role is Role.ROAMING:
                yield make("NDW026", Severity.ERROR, f"end '{end}' is a roaming host; only gateways form site pairs",
                           pair.span, f"pair '{pair.name}'", fix=f"make '{end}' a site, or remove the pair")
        if topology.network.interface in (pair.interface, *pair.interfaces):
            yield make("NDW026", Severity.ERROR,
                       f"interface {topology.network.interface} is the network's interface too", pair.span,
                       f"pair '{pair.name}'",
                       fix="give the pair its own interface, e.g. interface = wg-s2s")
    # one host, several WireGuard interfaces: each needs its own name and UDP port
    for host in topology.hosts:
        pairs = topology.pairs_of(host.name)
        if not pairs:
            continue
        taken: dict = {}
        if host.addresses and (host.role is Role.HUB or host.endpoint or host.listen_port):
            port = host.listen_port or (host.endpoint.port if host.endpoint else topology.network.port)
            taken[("port", port)] = f"the {topology.network.interface} interface"
        for pair in pairs:
            for kind, value in (("interface", pair.interface_of(host.name)), ("port", pair.port)):
                other = taken.setdefault((kind, value), f"pair '{pair.name}'")
                if other != f"pair '{pair.name}'":
                    yield make("NDW026", Severity.ERROR,
                               f"on '{host.name}', {kind} {value} is used by {other} too", pair.span,
                               f"pair '{pair.name}'",
                               fix=f"give pair '{pair.name}' its own {kind} (interface = ..., port = ...)")


def check_guard(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW025: the guard runs on roaming Linux laptops, whatever brings their tunnel up.

    A wg-quick laptop is guarded like a networkd one: netdwg renders its .conf without `Table`
    (roaming hosts have no LAN of their own and no route of a metric or table of their own), so
    wg-quick routes each AllowedIPs prefix in the main table with metric 0, the routes the guard
    acts on. A /0 (a site's `widen_to`) goes to wg-quick's fwmark table behind a
    `suppress_prefixlength 0` rule, which lets every LAN's own route win without the guard.
    A phone or GUI client cannot run the guard: guard = yes is what says a host is a Linux laptop."""
    for host in topology.hosts:
        if not host.guard:
            continue
        if host.role is not Role.ROAMING:
            yield make("NDW025", Severity.ERROR,
                       f"guard is set on a {host.role}; the guard protects roaming laptops that join a site's LAN",
                       host.span("guard"), subject(host), fix="remove guard = yes")
        elif not any(s.lans for s in reached_sites(topology, host)):
            yield make("NDW025", Severity.WARNING, "guard is set, but the host routes no site LAN into the tunnel",
                       host.span("guard"), subject(host), fix="remove guard = yes")


_PROOF_FIX = ("add an office host's key to this site: ssh_host_key = (a line of 'ssh-keyscan -t ed25519 HOST', "
              "HOST on the LAN) or tls_pin = HOST:443 sha256:HEX")


def check_guard_trust(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW028: what a roaming guard can trust on a site's LAN. Only a declared proof (ssh_host_key,
    tls_pin) makes it trust the LAN; passive facts (DHCP server, router MAC, domain, prefix) can be
    copied by any LAN, so they trust it only with `trust = passive`, which is worth a warning too."""
    guarded = [h for h in topology.hosts if h.guard and h.role is Role.ROAMING]
    if not guarded:
        return
    for site in topology.hosts:
        if not site.lans:
            continue
        laptops = [h.name for h in guarded if site in reached_sites(topology, h)]
        if not laptops:
            continue
        lan = site.lans[0]  # one fingerprint and one trust per host: every LAN of it carries the same
        fp = lan.fingerprint
        if fp.has_proof():
            if lan.trust is GuardTrust.PASSIVE:
                yield make("NDW028", Severity.WARNING,
                           "trust = passive has no effect: a site that declares a proof is trusted only when "
                           "the proof answers", site.span("trust"), subject(site), fix="remove trust = passive")
        elif lan.trust is GuardTrust.PASSIVE:
            yield make("NDW028", Severity.WARNING,
                       f"trust = passive: the guard on {listing(laptops)} trusts this LAN on passive facts alone, so a LAN that copies "
                       "them (DHCP server id, router MAC, domain, prefix: a café can) gets this office's traffic "
                       "outside the tunnel" + ("" if not fp.is_empty() else
                                                "; with no fingerprint declared, only after 'netdwg guard learn'"),
                       site.span("trust"), subject(site), fix=_PROOF_FIX + ", and remove trust = passive")
        elif lan.guard_action is not GuardAction.WIDEN:  # widened: the LAN's own route wins without the guard
            what = ("no fingerprint and no proof" if fp.is_empty() else
                    "only passive facts (DHCP server id, router MAC, domain), which any LAN can copy, and no proof")
            yield make("NDW028", Severity.WARNING,
                       f"guard = yes on {listing(laptops)} does nothing on this LAN: the site declares {what}, "
                       "so the guard keeps the tunnel route here (unverified)",
                       site.span("lan"), subject(site), fix=_PROOF_FIX)


def check_networkmanager(topology: Topology, compiled=None) -> Iterator[Diagnostic]:
    """NDW029: NetworkManager (1.42) reads a WireGuard private key only from the profile or a secret agent,
    never from a file: a host that keeps its own key (public_key = ...) cannot use backend = networkmanager."""
    for host in topology.hosts:
        if host.backend is Backend.NETWORKMANAGER and host.public_key is not None:
            yield make("NDW029", Severity.ERROR,
                       "backend = networkmanager, but the host keeps its own private key (public_key is set): "
                       "NetworkManager reads the key only from its profile, which netdwg writes",
                       host.span("public_key"), subject(host),
                       fix="remove public_key and let the secrets store hold the key (netdwg keys generate), "
                           "or use backend = networkd")
