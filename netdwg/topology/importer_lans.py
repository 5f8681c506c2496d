"""`netdwg import`: a site's LAN side as topology lines (lan, lan_address, lan_interface, return_path,
lan_router, allow) and what the laptops' guard.conf says about it (fingerprints, guard action).

netdwg's own files say it exactly (lan-router-routes.txt, netdwg.nft, guard.conf); hand-written
files say it as a static address of the gateway's LAN link, a MASQUERADE in a wg-quick PostUp or
networkd's IPMasquerade=, or DHCPServer= on the LAN (the gateway is its router).
"""

from __future__ import annotations

from typing import Sequence

from netdwg.topology.importer_files import HostFiles


def lan_lines(host, prefixes, hosts, addresses, hub_name, main_peers, widened, pool, notes) -> list[str]:
    if not prefixes:
        return []
    lines = [f"  lan = {', '.join(map(str, prefixes))}"]
    # The gateway's address on each LAN: netdwg's own lan-router-routes.txt names it; hand-written
    # files give it as a static address of one of the host's other links, inside the LAN.
    via = [next((v for _, v in host.lan_routes if v.version == p.version and v in p), None) for p in prefixes]
    on_link = [next(((link, a.ip) for link, a in host.link_addresses if a.version == p.version and a.ip in p), None)
               for p in prefixes]
    gateway = [v or (found[1] if found else None) for v, found in zip(via, on_link)]
    lan_links = {found[0] for found in on_link if found}
    other_links = {link for link, _ in host.link_addresses} - lan_links
    masq = [(oif, lan) for oif, sources, lan in host.masquerade
            if _masquerades_vpn(oif, sources, lan, prefixes, pool, other_links)]
    if all(gateway):  # one per LAN, in the LANs' order (the loader pairs them by position)
        distinct = list(dict.fromkeys(map(str, gateway)))
        lines.append(f"  lan_address = {', '.join(distinct if len(distinct) == 1 else map(str, gateway))}")
    oif = (next((o for o, _ in masq if o), None) or next((o for _, lan, o in host.allow if lan in prefixes and o), None)
           or next((found[0] for found in on_link if found), None))
    if oif:
        lines.append(f"  lan_interface = {oif}")
    routers = [found[1] for found in on_link if found and found[0] in host.dhcp_server_links]
    if masq:
        return_path = "masquerade"
    elif all(via):
        return_path = "static-route"
    elif routers and len(routers) == len(prefixes) and not _has_fingerprint(host.name, hosts):
        # the gateway serves DHCP on the LAN: it is the LAN's default router, replies come back by themselves
        return_path = "none"
        lines.append(f"  lan_router = {routers[0]}")
    elif all(gateway):
        return_path = "static-route"
        notes.append(f"{host.name}: no MASQUERADE found for {', '.join(map(str, prefixes))}: return_path = "
                     "static-route assumed (the LAN's router routes the pool via this gateway; netdwg render "
                     "prints the route)")
    else:
        return_path = "none"
    lines.append(f"  return_path = {return_path}")
    sources = [s for srcs, lan, _ in host.allow if lan in prefixes for s in srcs]
    if sources:
        # a LAN's rules name the sources of its own family: a dual-stack laptop is allowed into an IPv4
        # LAN by its IPv4 address alone
        families = {s.version for s in sources}
        allowed = [h.name for h in hosts if h.name not in (host.name, hub_name)
                   and any(a.version in families for a in addresses.get(h.name, ()))
                   and all(any(a.version == s.version and a in s for s in sources)
                           for a in addresses[h.name] if a.version in families)]
        reachers = [h.name for h in hosts if h.name not in (host.name, hub_name)
                    and any(p in prefixes or host.name in widened.get(p, ())
                            for p in getattr(main_peers.get(h.name, {}).get(hub_name), "allowed_ips", ()))]
        if sorted(allowed) != sorted(reachers):
            lines.append(f"  allow = {', '.join(allowed) if allowed else ','}")
    return lines


def _masquerades_vpn(oif, sources, lan, prefixes, pool, other_links) -> bool:
    """Is this MASQUERADE the return path into one of `prefixes`: VPN sources NATed into the LAN?

    A rule naming a destination must name one of the LANs; one naming sources must cover part
    of the pool; one leaving by a link known to be outside the LANs is the uplink's NAT.
    """
    if lan is not None and lan not in prefixes:
        return False
    if sources and not any(s.version == q.version and (s.subnet_of(q) or q.subnet_of(s)) for s in sources for q in pool):
        return False
    return oif is None or oif not in other_links


def _has_fingerprint(name, hosts) -> bool:
    return any(s.name == name for h in hosts for s in h.guard_sites)


def fingerprint_lines(name: str, hosts: Sequence[HostFiles], widen_to=None) -> list[str]:
    """What the laptops' guard.conf files say about site `name` (fingerprint, guard action), or
    that roaming hosts route a covering prefix for its LAN (`widen_to`)."""
    site = next((s for h in hosts for s in h.guard_sites if s.name == name), None)
    if site is None:
        return ["  guard_action = widen", f"  widen_to = {widen_to}"] if widen_to is not None else []
    lines = []
    fp = site.fingerprint
    for key, values in (("dhcp_server", fp.dhcp_servers), ("lan_router", fp.routers),
                        ("router_mac", fp.router_macs), ("domain", fp.dns_domains)):
        if values:
            lines.append(f"  {key} = {values[0]}")
    # the proofs (guard.conf may pin several; the topology holds one of each kind) and the opt-in
    for key, values in (("ssh_host_key", fp.ssh_host_keys), ("tls_pin", fp.tls_pins)):
        if values:
            lines.append(f'  {key} = "{values[0]}"')
    if site.trust.value != "proof":
        lines.append(f"  trust = {site.trust.value}")
    if site.action.value != "remove":
        lines.append(f"  guard_action = {site.action.value}")
    if site.widen_to is not None:
        lines.append(f"  widen_to = {site.widen_to}")
    if site.keep_hosts:
        lines.append(f"  keep_hosts = {', '.join(map(str, site.keep_hosts))}")
    return lines
