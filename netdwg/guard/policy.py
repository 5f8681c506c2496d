"""The guard's decision, a pure function: (config, learned fingerprints,
observed host, changes in effect, now) -> what each site is, what should be
in effect, and the steps to get there.

It is level-triggered on purpose: the decision never depends on *which*
event arrived, only on the snapshot. A networkd restart that flushes our
routes and re-adds its own, a missed netlink message after a resync, a crash
and restart: each ends in the same snapshot-driven answer.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field, replace

from netdwg.guard.observed import Address, Observed, Route, RT_TABLE_MAIN
from netdwg.guard.proofs import ProofView, Prove, plan_proofs, targets_of  # noqa: F401 (Prove re-exported)
from netdwg.keys import PublicKey
from netdwg.topology.guard_config import Action, Fingerprint, GuardConfig, GuardSite, SshHostKey, Trust
from netdwg.wireguard import IPAddress, IPInterface, IPNetwork


class Verdict(enum.Enum):
    AWAY = "away"  # no local interface on the site's prefix: tunnel route as configured
    IDENTIFYING = "identifying"  # on the prefix, evidence still missing: tunnel route kept
    TRUSTED = "trusted"  # on the prefix and the fingerprint matches: LAN route wins
    FOREIGN = "foreign"  # on the prefix, fingerprint does not match: tunnel kept, office hosts pinned
    UNVERIFIED = "unverified"  # on the prefix of a site with no proof to check: tunnel kept, office hosts pinned

    def __str__(self) -> str:
        return self.value


# --- changes: what the guard puts in effect, recorded in the state file ------

@dataclass(frozen=True, slots=True)
class DeleteRoute:
    """A tunnel route removed while on the LAN; undo re-adds it as it was."""

    route: Route
    site: str = field(default="", compare=False)

    def describe(self) -> str:
        return f"delete route {self.route.describe()}"


@dataclass(frozen=True, slots=True)
class AddRoute:
    """A route the guard created; undo deletes exactly it (dst, dev, table, metric)."""

    route: Route
    site: str = field(default="", compare=False)

    def describe(self) -> str:
        return f"add route {self.route.describe()}"


@dataclass(frozen=True, slots=True)
class SwapAllowedIps:
    """Widen: the peer carries widen_to instead of lan; undo swaps back."""

    peer: PublicKey
    lan: IPNetwork
    widen_to: IPNetwork
    site: str = field(default="", compare=False)

    def describe(self) -> str:
        return f"peer {self.peer.short()} allowed-ips: {self.lan} -> {self.widen_to}"


# Where NetworkManager owns the WireGuard profile (managed_by = networkmanager) the guard routes through
# its own table and one rule in front of main. settings-nmcli(5) of NetworkManager 1.42, ipv4.route-table:
# with policy routing disabled (route-table 0, as netdwg writes the profile) "NetworkManager will not delete
# any extraneous routes from tables except the main table", while the main-table routes of the profile are
# put back on reapply and reconnect. The profile has no routing-rules and ip4-auto-default-route=0, so
# NetworkManager adds no rule of its own, and it removes only the rules it added. A lookup that finds no
# route in GUARD_TABLE goes on to main: the rule alone never diverts traffic.
GUARD_TABLE = 52011
GUARD_RULE_PRIORITY = 32000  # before main (32766) and the rules `ip rule add` numbers itself (32765 down)


@dataclass(frozen=True, slots=True)
class AddRule:
    """`ip rule add priority P lookup T` for one address family; undo deletes exactly it."""

    family: int  # 4 or 6
    table: int = GUARD_TABLE
    priority: int = GUARD_RULE_PRIORITY
    site: str = field(default="", compare=False)

    def describe(self) -> str:
        return f"rule -{self.family} priority {self.priority} lookup {self.table}"


Change = DeleteRoute | AddRoute | SwapAllowedIps | AddRule


@dataclass(frozen=True, slots=True)
class Apply:
    change: Change
    why: str


@dataclass(frozen=True, slots=True)
class Undo:
    change: Change
    why: str


@dataclass(frozen=True, slots=True)
class Probe:
    """Make the kernel resolve a neighbour (the router's MAC) on one link."""

    dev: str
    ip: IPAddress
    retry: bool = field(default=False, compare=False)  # set by the daemon: no answer to the last one


Step = Apply | Undo | Probe | Prove


@dataclass(frozen=True, slots=True)
class SiteView:
    site: str
    verdict: Verdict
    dev: str = ""
    address: IPInterface | None = None
    lan_metric: int | None = None
    reasons: tuple[str, ...] = ()
    proofs: tuple[ProofView, ...] = ()  # the active checks on `dev`: results, attempts, next try
    unverified: bool = False  # foreign only for want of evidence (a check failed, no answer yet)


@dataclass(frozen=True, slots=True)
class Decision:
    views: tuple[SiteView, ...]
    desired: tuple[Change, ...]
    steps: tuple[Step, ...]
    warnings: tuple[str, ...] = ()
    wake_at: float | None = None  # re-decide then (an identification timeout ends, a check falls due)


# --- identification ----------------------------------------------------------

class _Match(enum.Enum):
    MATCH = 1
    MISMATCH = 2
    UNKNOWN = 3


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a link tells about the network it is on."""

    dhcp_server: IPAddress | None
    router: IPAddress | None
    router_mac: str | None
    dns_domain: str
    dev: str = ""
    proofs: tuple = ()  # Proof values for this link


def gather_evidence(observed: Observed, dev: str, hint_router: IPAddress | None = None) -> Evidence:
    lease = observed.lease_for(dev)
    router = lease.router if lease and lease.router else None
    if router is None:
        router = next((r.gateway for r in observed.routes_on(dev)
                       if r.gateway is not None and r.dst.prefixlen == 0), None)
    mac_ip = router or hint_router
    return Evidence(dhcp_server=lease.server_id if lease else None,
                    router=router,
                    router_mac=observed.mac_of(dev, mac_ip) if mac_ip else None,
                    dns_domain=lease.domain if lease else "", dev=dev,
                    proofs=tuple(p for p in observed.proofs if p.dev == dev))


def match_fingerprint(fp: Fingerprint, ev: Evidence) -> tuple[_Match, tuple[str, ...]]:
    unknown: list[str] = []
    mismatch: list[str] = []

    def check(declared, seen, what):
        if not declared:
            return
        if seen in (None, ""):
            unknown.append(f"{what} not seen yet")
        elif seen not in declared:
            mismatch.append(f"{what} {seen} is not {', '.join(map(str, declared))}")

    check(fp.dhcp_servers, ev.dhcp_server, "DHCP server")
    check(fp.routers, ev.router, "router")
    check(fp.router_macs, ev.router_mac, "router MAC")
    check(fp.dns_domains, ev.dns_domain, "DNS domain")
    for key in fp.ssh_host_keys:
        proof = next((p for p in ev.proofs if (p.kind, p.host, p.port) == ("ssh", key.host, key.port)), None)
        if proof is None:
            unknown.append(f"SSH host key of {key.host}:{key.port} not checked yet")
        elif proof.error and not proof.conclusive:  # no answer: says nothing about the network
            unknown.append(f"SSH host key of {key.host}:{key.port} not proven: {proof.error} (retrying)")
        elif proof.error:
            mismatch.append(f"SSH check of {key.host}:{key.port} failed: {proof.error}")
        elif proof.sha256 != key.sha256:
            mismatch.append(f"SSH host key of {key.host}:{key.port} is sha256:{proof.sha256[:16]}…, "
                            f"not the pinned {key.key_type} sha256:{key.sha256[:16]}…")
    for pin in fp.tls_pins:
        proof = next((p for p in ev.proofs if (p.kind, p.host, p.port) == ("tls", pin.host, pin.port)), None)
        if proof is None:
            unknown.append(f"TLS certificate of {pin.host}:{pin.port} not checked yet")
        elif proof.error and not proof.conclusive:
            unknown.append(f"TLS certificate of {pin.host}:{pin.port} not proven: {proof.error} (retrying)")
        elif proof.error:
            mismatch.append(f"TLS check of {pin.host}:{pin.port} failed: {proof.error}")
        elif proof.sha256 != pin.sha256:
            mismatch.append(f"TLS certificate of {pin.host}:{pin.port} is sha256:{proof.sha256[:16]}…, "
                            f"not the pinned sha256:{pin.sha256[:16]}…")
    if mismatch:
        return _Match.MISMATCH, tuple(mismatch)
    if unknown:
        return _Match.UNKNOWN, tuple(unknown)
    return _Match.MATCH, ()


@dataclass(frozen=True, slots=True)
class _Candidate:
    address: Address
    lan_metric: int


def _candidates(config: GuardConfig, site: GuardSite, observed: Observed) -> list[_Candidate]:
    out = []
    for addr in sorted(observed.addresses, key=lambda a: (a.dev, str(a.interface))):
        net = addr.interface.network
        if (addr.dev == config.interface or addr.dev in observed.down_links
                or net.version != site.lan.version or not net.overlaps(site.lan)):
            continue
        metrics = [r.metric for r in observed.routes_on(addr.dev) if r.dst == net and r.gateway is None]
        if metrics:  # no connected route (noprefixroute): nothing conflicts
            out.append(_Candidate(addr, min(metrics)))
    return out


def _passive(fp: Fingerprint) -> Fingerprint:
    return replace(fp, tls_pins=(), ssh_host_keys=())


def passive_trusts(site: GuardSite) -> bool:
    """Whether passive facts alone may make a LAN `site`: only by the explicit opt-in, and never
    when the site declares a proof (a café can copy every passive fact, not a private key)."""
    return site.trust is Trust.PASSIVE and not site.fingerprint.has_proof()


def site_fingerprints(site: GuardSite, learned: tuple[Fingerprint, ...]) -> tuple[Fingerprint, ...]:
    """The fingerprints any of which makes a LAN `site`. Every declared proof is part of each, so a
    learned fingerprint (passive facts only) adds a way to match but never stands in for the proof.
    Empty when nothing but a proof could trust the site and it declares none (unverified)."""
    declared = site.fingerprint
    if not declared.has_proof() and not passive_trusts(site):
        return ()
    out = []
    for fp in (declared, *learned):
        if fp.is_empty():
            continue
        if declared.has_proof():
            fp = replace(fp, tls_pins=tuple(dict.fromkeys(fp.tls_pins + declared.tls_pins)),
                         ssh_host_keys=tuple(dict.fromkeys(fp.ssh_host_keys + declared.ssh_host_keys)))
        out.append(fp)
    return tuple(dict.fromkeys(out))


def _unverified_reasons(site: GuardSite, learned: tuple[Fingerprint, ...], ev: Evidence) -> tuple[str, ...]:
    passive = tuple(fp for fp in (site.fingerprint, *learned) if not fp.is_empty())
    if any(match_fingerprint(fp, ev)[0] is _Match.MATCH for fp in passive):
        seen = "its passive facts match, but another LAN can copy them (DHCP server, router MAC, domain, prefix)"
    else:
        seen = "passive facts (DHCP server, router MAC, domain, prefix) are not proof: another LAN can copy them"
    return (f"site {site.name!r} declares no proof to check; {seen}",
            "add an office host's key to the site in the topology: ssh_host_key = (a line of "
            "'ssh-keyscan -t ed25519 HOST') or tls_pin = HOST:443 sha256:HEX; or, accepting the risk, "
            "trust = passive")


def identify(config: GuardConfig, site: GuardSite, learned: tuple[Fingerprint, ...],
             observed: Observed, now: float) -> tuple[SiteView, tuple[Probe | Prove, ...], float | None]:
    candidates = _candidates(config, site, observed)
    if not candidates:
        return SiteView(site.name, Verdict.AWAY), (), None
    if not site.fingerprint.has_proof() and not passive_trusts(site):
        # Nothing on this LAN can prove it is the site: nothing to ask, the tunnel route stays.
        cand = min(candidates, key=lambda c: (c.lan_metric, c.address.dev))
        ev = gather_evidence(observed, cand.address.dev)
        return (SiteView(site.name, Verdict.UNVERIFIED, cand.address.dev, cand.address.interface, cand.lan_metric,
                         _unverified_reasons(site, learned, ev)), (), None)
    fingerprints = site_fingerprints(site, learned)
    results = []
    probes: list[Probe | Prove] = []
    wake: float | None = None
    for cand in candidates:
        dev = cand.address.dev
        if not fingerprints:
            results.append((cand, Verdict.FOREIGN, (
                f"no fingerprint declared or learned for site {site.name!r}: the prefix alone is not trusted "
                f"(run 'netdwg guard learn {site.name}' in the office)",), (), False))
            continue
        hint = next((r for fp in fingerprints for r in fp.routers), None)
        ev = gather_evidence(observed, dev, hint)
        outcomes = [match_fingerprint(fp, ev) for fp in fingerprints]
        if any(m is _Match.MATCH for m, _ in outcomes):
            # nothing to ask: show the checks that proved it (status), not the ones not needed
            _, shown, _ = plan_proofs(dev, targets_of(fingerprints), ev.proofs, now)
            results.append((cand, Verdict.TRUSTED, ("fingerprint matches",),
                            tuple(v for v in shown if v.result != "unchecked"), False))
            continue
        # Active checks only for fingerprints the passive evidence does not already rule out
        # (a café's DHCP server: no need to knock on its port 22). Asked for in any verdict
        # but trusted, and again on the schedule of guard/proofs.py, so a check that failed in
        # the first seconds on the LAN does not leave the laptop hairpinning all day.
        viable = tuple(fp for fp in fingerprints if match_fingerprint(_passive(fp), ev)[0] is not _Match.MISMATCH)
        asks, proof_views, proof_wake = plan_proofs(dev, targets_of(viable), ev.proofs, now)
        probes += asks
        if proof_wake is not None:
            wake = proof_wake if wake is None else min(wake, proof_wake)
        reasons = tuple(r for _, rs in outcomes for r in rs)
        unverified = any(m is _Match.UNKNOWN for m, _ in outcomes)
        since = observed.seen_since(cand.address)
        deadline = (since if since is not None else now) + config.identify_timeout
        if unverified and now < deadline:
            results.append((cand, Verdict.IDENTIFYING, reasons, proof_views, True))
            wake = deadline if wake is None else min(wake, deadline)
            mac_ip = ev.router or hint
            if mac_ip and ev.router_mac is None and any(fp.router_macs for fp in fingerprints):
                probes.append(Probe(dev, mac_ip))
            continue
        results.append((cand, Verdict.FOREIGN, reasons, proof_views, unverified))
    order = (Verdict.TRUSTED, Verdict.IDENTIFYING, Verdict.FOREIGN)
    results.sort(key=lambda r: (order.index(r[1]), r[0].lan_metric))
    cand, verdict, reasons, proof_views, unverified = results[0]
    rivals = [r for r in results if r[1] is not Verdict.TRUSTED]
    if verdict is Verdict.TRUSTED and rivals and min(r[0].lan_metric for r in rivals) <= cand.lan_metric:
        # Wi-Fi in a café and Ethernet in the office on the same prefix: without the tunnel
        # route, the kernel would pick the better-metric LAN, which is not the office.
        rival = min(rivals, key=lambda r: r[0].lan_metric)
        return (SiteView(site.name, rival[1], rival[0].address.dev, rival[0].address.interface,
                         rival[0].lan_metric,
                         (f"{rival[0].address.dev} (metric {rival[0].lan_metric}) is on the same prefix and is "
                          f"not verified as {site.name}; it would win over {cand.address.dev}",) + rival[2],
                         rival[3], rival[4]),
                tuple(probes), wake)
    return (SiteView(site.name, verdict, cand.address.dev, cand.address.interface, cand.lan_metric, reasons,
                     proof_views, unverified),
            tuple(probes), wake)


# --- desired changes -----------------------------------------------------------

def _site_changes(config: GuardConfig, site: GuardSite, view: SiteView, observed: Observed,
                  state: tuple[Change, ...]) -> tuple[list[Change], list[str]]:
    warnings: list[str] = []
    ours_added = {c.route for c in state if isinstance(c, AddRoute)}
    deleted = [c.route for c in state if isinstance(c, DeleteRoute) and c.site == site.name]
    tunnel_routes = [r for r in observed.routes_on(config.interface)
                     if r.dst == site.lan and r not in ours_added]
    if view.verdict is Verdict.IDENTIFYING:
        return [c for c in state if c.site == site.name], warnings
    if view.verdict in (Verdict.FOREIGN, Verdict.UNVERIFIED):
        judged = (f"is not verified as {site.name}" if view.unverified or view.verdict is Verdict.UNVERIFIED
                  else f"is not {site.name}")
        warnings.append(f"site {site.name}: {view.dev} is on {view.address} inside {site.lan} but this "
                        f"{judged} ({'; '.join(view.reasons)}); office traffic stays in the tunnel")
        template = next(iter(sorted(tunnel_routes + deleted, key=lambda r: r.metric)), None)
        lease = observed.lease_for(view.dev)
        local = {view.address.ip if view.address else None, lease.router if lease else None,
                 lease.server_id if lease else None}
        out: list[Change] = []
        for host in site.keep_hosts:
            if host in local:
                warnings.append(f"site {site.name}: keep_hosts {host} is this foreign LAN's own router or "
                                f"address; not pinned to the tunnel")
                continue
            route = Route(dst=ipaddress.ip_network(host), dev=config.interface,
                          metric=template.metric if template else 0,
                          table=template.table if template else RT_TABLE_MAIN)
            if config.managed_by:  # NetworkManager would drop a route in main it did not configure
                route = Route(dst=route.dst, dev=config.interface, table=GUARD_TABLE)
            if route in observed.routes and route not in ours_added:
                continue  # somebody else's route: not ours to claim
            out.append(AddRoute(route, site.name))
        if out and config.managed_by:
            out.append(AddRule(site.lan.version, site=site.name))
        return out, warnings
    if view.verdict is not Verdict.TRUSTED:
        return [], warnings
    lan_metric = view.lan_metric or 0
    conflicting = [r for r in tunnel_routes if r.metric <= lan_metric]
    for r in deleted:
        if r not in conflicting:
            conflicting.append(r)
    conflicting.sort(key=lambda r: (r.metric, r.table))
    if config.managed_by:
        return _rule_changes(site, view), warnings
    action = site.action
    if action is Action.WIDEN and site.widen_to is not None:
        foreign_wide = [r for r in observed.routes_on(config.interface)
                        if r.dst == site.widen_to and r not in ours_added]
        if foreign_wide:
            warnings.append(f"site {site.name}: {site.widen_to} is already routed into {config.interface} "
                            f"(static widening?); removing the /{site.lan.prefixlen} route instead")
            action = Action.REMOVE
    out = []
    for route in conflicting:
        if action is Action.METRIC:
            out.append(AddRoute(replace(route, metric=lan_metric + 1), site.name))
        elif action is Action.WIDEN and site.widen_to is not None:
            out.append(SwapAllowedIps(site.peer, site.lan, site.widen_to, site.name))
            out.append(AddRoute(replace(route, dst=site.widen_to), site.name))
        out.append(DeleteRoute(route, site.name))
    return out, warnings


def _rule_changes(site: GuardSite, view: SiteView) -> list[Change]:
    """A trusted LAN on a laptop whose tunnel NetworkManager owns: NetworkManager's tunnel routes stay
    untouched (deleting or re-adding them lasts only until its next reapply or reconnect, whichever the
    site's action), and the LAN's link route goes into GUARD_TABLE, looked up before main. Whether a
    tunnel route is there at the moment does not matter: a reapply that removes and re-adds it changes
    nothing here."""
    if view.address is None:
        return []
    route = Route(dst=site.lan, dev=view.dev, table=GUARD_TABLE, prefsrc=view.address.ip)
    return [AddRoute(route, site.name), AddRule(site.lan.version, site=site.name)]


def _holds(change: Change, observed: Observed) -> bool:
    if isinstance(change, DeleteRoute):
        return change.route not in observed.routes
    if isinstance(change, AddRoute):
        return change.route in observed.routes
    return True  # AllowedIPs and rules are not observed through events; re-read on resync


def _dedupe(changes: list[Change]) -> tuple[Change, ...]:
    seen: set = set()
    out = []
    for c in changes:
        if c not in seen:
            seen.add(c)
            out.append(c)
    return tuple(out)


def decide(config: GuardConfig, learned: dict[str, tuple[Fingerprint, ...]], observed: Observed,
           state: tuple[Change, ...], now: float) -> Decision:
    views: list[SiteView] = []
    desired: list[Change] = []
    probes: list[Probe | Prove] = []
    warnings: list[str] = []
    wake: float | None = None
    for site in config.sites:
        view, site_probes, site_wake = identify(config, site, learned.get(site.name, ()), observed, now)
        views.append(view)
        probes += site_probes
        if site_wake is not None:
            wake = site_wake if wake is None else min(wake, site_wake)
        changes, site_warnings = _site_changes(config, site, view, observed, state)
        desired += changes
        warnings += site_warnings
    want = _dedupe(desired)
    wanted = set(want)
    steps: list[Step] = []
    for change in reversed(state):
        if change not in wanted:
            steps.append(Undo(change, "no longer needed"))
    have = set(state)
    for change in want:
        if change not in have:
            steps.append(Apply(change, "new"))
        elif not _holds(change, observed):
            steps.append(Apply(change, "re-asserting: it was reverted behind our back"))
    return Decision(tuple(views), want, tuple(steps) + tuple(probes), tuple(warnings), wake)


def undo_all(state: tuple[Change, ...], why: str) -> tuple[Undo, ...]:
    """Steps that put back everything in `state`, newest first (SIGTERM, crash recovery)."""
    return tuple(Undo(c, why) for c in reversed(state))


def uplink_addresses(observed: Observed, wg_interface: str) -> frozenset[Address]:
    """The addresses that can carry the tunnel: not on wg, not on a link without carrier,
    not loopback or link-local. Any change re-sets the hub endpoint."""
    return frozenset(a for a in observed.addresses
                     if a.dev != wg_interface and a.dev not in observed.down_links
                     and not a.interface.ip.is_loopback
                     and not a.interface.ip.is_link_local)
