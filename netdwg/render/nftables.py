"""nftables renderer: `table inet netdwg`, owned by netdwg and nothing else.

/etc/netdwg/netdwg.nft (0644), loaded with `nft -f`: the file first creates
and deletes the table, then defines it, so loading it replaces netdwg's table
atomically and never touches anyone else's rules.

- forward (filter): replies always pass (ct state established,related); the
  listed VPN sources may open new connections into a LAN; anything else
  arriving from a tunnel for a guarded LAN is dropped, which includes the
  hub's own connections. Traffic that does not come from a tunnel is left alone.
- postrouting (srcnat): MASQUERADE of VPN sources into a LAN whose router
  cannot hold the static return route (return_path = masquerade).
- mss (filter at mangle priority): TCP MSS clamped to the route MTU in both
  directions of each tunnel, so TCP through a smaller-MTU tunnel does not
  depend on PMTU discovery (ICMP is often filtered on the way).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Iterable

from netdwg.rendered import MODE_PUBLIC, RenderedFile
from netdwg.topology.hostconfig import Firewall, HostConfig
from netdwg.wireguard import IPNetwork

NFT_PATH = PurePosixPath("/etc/netdwg/netdwg.nft")
TABLE = "inet netdwg"


def _family(net: IPNetwork) -> str:
    return "ip" if net.version == 4 else "ip6"


def _set(items: Iterable[object]) -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _ifnames(names: Iterable[str]) -> str:
    return _set(f'"{n}"' for n in names)


def ruleset_text(host: HostConfig, fw: Firewall) -> str:
    tunnels = _ifnames(fw.tunnel_interfaces)
    out = ["#!/usr/sbin/nft -f",
           "# Managed by netdwg: edit the topology and run 'netdwg render', not this file.",
           f"# {host.role} {host.name}. Loading replaces table {TABLE} only.",
           f"table {TABLE}", f"delete table {TABLE}", "", f"table {TABLE} {{"]
    if fw.allow or fw.guarded:
        out += ["\tchain forward {",
                "\t\ttype filter hook forward priority filter; policy accept;",
                "\t\t# replies always pass",
                "\t\tct state established,related accept"]
        for rule in fw.allow:
            family = _family(rule.destination)
            sources = [s for s in rule.sources if s.version == rule.destination.version]
            if not sources:
                continue
            out.append(f"\t\t# {rule.reason}" if rule.reason else "\t\t# allowed")
            match = f'iifname "{rule.in_interface}" '
            if rule.out_interface:
                match += f'oifname "{rule.out_interface}" '
            out.append(f"\t\t{match}{family} saddr {_set(sources)} {family} daddr {rule.destination} "
                       "ct state new accept")
        for net in fw.guarded:
            out.append(f"\t\t# nobody else from the tunnel opens connections into {net}")
            out.append(f"\t\tiifname {tunnels} {_family(net)} daddr {net} drop")
        out.append("\t}")
    if fw.masquerade:
        out += ["", "\tchain postrouting {", "\t\ttype nat hook postrouting priority srcnat; policy accept;"]
        for m in fw.masquerade:
            family = _family(m.destination)
            sources = [s for s in m.sources if s.version == m.destination.version]
            if not sources:
                continue
            out.append(f"\t\t# {m.reason}" if m.reason else "\t\t# masquerade")
            oif = f'oifname "{m.out_interface}" ' if m.out_interface else ""
            out.append(f"\t\t{oif}{family} saddr {_set(sources)} {family} daddr {m.destination} masquerade")
        out.append("\t}")
    if fw.mss_clamp:
        out += ["", "\tchain mss {", "\t\ttype filter hook forward priority mangle; policy accept;",
                f"\t\toifname {tunnels} tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu",
                f"\t\tiifname {tunnels} tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu",
                "\t}"]
    out.append("}")
    return "\n".join(out) + "\n"


def render(host: HostConfig) -> tuple[RenderedFile, ...]:
    if host.firewall is None or host.firewall.is_empty:
        return ()
    return (RenderedFile(NFT_PATH, ruleset_text(host, host.firewall), mode=MODE_PUBLIC,
                         description=f"firewall: table {TABLE}"),)
