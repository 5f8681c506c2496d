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

import ipaddress
import re
from pathlib import PurePosixPath
from typing import Iterable

from netdwg.errors import InternalError
from netdwg.rendered import MODE_PUBLIC, RenderedFile
from netdwg.topology.hostconfig import Firewall, HostConfig
from netdwg.values import ValueRefused, check_interface
from netdwg.wireguard import IPNetwork

NFT_PATH = PurePosixPath("/etc/netdwg/netdwg.nft")
TABLE = "inet netdwg"


_PREFIXES = (ipaddress.IPv4Network, ipaddress.IPv6Network, ipaddress.IPv4Address, ipaddress.IPv6Address)
# A comment runs to the end of the line; nft's scanner ends lines at LF (CR and the rest are not text).
_UNSAFE_COMMENT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# The one way each kind of value enters the ruleset. nft has no escape inside a quoted string,
# so they refuse (InternalError: the loader, netdwg.values, refuses these values first).

def nft_ifname(name: str) -> str:
    """An interface name as an nft quoted string: only names every consumer takes (netdwg.values)."""
    try:
        check_interface(name, "interface")
    except ValueRefused as err:
        raise InternalError(f"cannot write {name[:60]!r} into an nftables rule: {err.message}") from None
    return f'"{name}"'


def nft_prefix(value) -> str:
    """A prefix or address: an ipaddress value, never text."""
    if not isinstance(value, _PREFIXES):
        raise InternalError(f"cannot write {value!r} into an nftables rule: not an address or prefix")
    return str(value)


def nft_comment(text: str) -> str:
    if _UNSAFE_COMMENT.search(text) is not None:
        raise InternalError(f"cannot write the comment {text[:60]!r} into an nftables ruleset: a control character")
    return f"# {text}"


def _family(net: IPNetwork) -> str:
    return "ip" if net.version == 4 else "ip6"


def _set(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _prefixes(values: Iterable[object]) -> str:
    return _set(nft_prefix(v) for v in values)


def _ifnames(names: Iterable[str]) -> str:
    return _set(nft_ifname(n) for n in names)


def ruleset_text(host: HostConfig, fw: Firewall) -> str:
    tunnels = _ifnames(fw.tunnel_interfaces)
    out = ["#!/usr/sbin/nft -f",
           nft_comment("Managed by netdwg: edit the topology and run 'netdwg render', not this file."),
           nft_comment(f"{host.role} {host.name}. Loading replaces table {TABLE} only."),
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
            out.append("\t\t" + nft_comment(rule.reason or "allowed"))
            match = f"iifname {nft_ifname(rule.in_interface)} "
            if rule.out_interface:
                match += f"oifname {nft_ifname(rule.out_interface)} "
            out.append(f"\t\t{match}{family} saddr {_prefixes(sources)} {family} daddr {nft_prefix(rule.destination)} "
                       "ct state new accept")
        for net in fw.guarded:
            out.append("\t\t" + nft_comment(f"nobody else from the tunnel opens connections into {net}"))
            out.append(f"\t\tiifname {tunnels} {_family(net)} daddr {nft_prefix(net)} drop")
        out.append("\t}")
    if fw.masquerade:
        out += ["", "\tchain postrouting {", "\t\ttype nat hook postrouting priority srcnat; policy accept;"]
        for m in fw.masquerade:
            family = _family(m.destination)
            sources = [s for s in m.sources if s.version == m.destination.version]
            if not sources:
                continue
            out.append("\t\t" + nft_comment(m.reason or "masquerade"))
            oif = f"oifname {nft_ifname(m.out_interface)} " if m.out_interface else ""
            out.append(f"\t\t{oif}{family} saddr {_prefixes(sources)} {family} daddr {nft_prefix(m.destination)} "
                       "masquerade")
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
