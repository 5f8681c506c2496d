"""The topology as a Graphviz DOT graph (`netdwg show --graph`): hubs, sites with their LANs,
roaming hosts, site-to-site pairs, who may open connections into which LAN, and each LAN's
return path (a static route on the LAN's router, or MASQUERADE on the gateway).

Every ID and label goes through `dot_id`, the one quoting function of the DOT format: a name,
an address or a description never reaches the text unquoted, so it cannot close a string,
start an attribute or an HTML label.
"""

from __future__ import annotations

from dataclasses import dataclass

from netdwg.topology.compile import CompileContext
from netdwg.topology.model import Host, ReturnPath, Role, Topology
from netdwg.topology.secrets import Secrets

SHAPES = {Role.HUB: "doubleoctagon", Role.SITE: "house", Role.ROAMING: "ellipse"}
COLOURS = {Role.HUB: "#fde2b8", Role.SITE: "#cfe3f7", Role.ROAMING: "#e4f2d9"}


def dot_id(text: str) -> str:
    """A DOT double-quoted ID: backslash and quote escaped, a line break as DOT's `\\n` escape.

    Graphviz reads `\\"` as a quote and, in labels, `\\\\` as a backslash (its escString);
    other control characters (refused at load anyway) are dropped rather than passed on.
    """
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            continue
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _attrs(**attrs: str) -> str:
    return "[" + ", ".join(f"{key}={dot_id(value)}" for key, value in attrs.items()) + "]"


def _node(name: str, **attrs: str) -> str:
    return f"  {dot_id(name)} {_attrs(**attrs)};"


def _edge(a: str, b: str, **attrs: str) -> str:
    return f"  {dot_id(a)} -> {dot_id(b)} {_attrs(**attrs)};"


def _host_label(host: Host) -> str:
    lines = [host.name, str(host.role)]
    lines += [str(a) for a in host.addresses]
    if host.endpoint is not None:
        lines.append(f"{host.endpoint.host}:{host.endpoint.port}")
    if host.guard:
        lines.append("guard")
    return "\n".join(lines)


def _title(topology: Topology) -> str:
    pool = ", ".join(str(p) for p in topology.network.pool)
    return f"{topology.network.name}{': ' + pool if pool else ''}\ndashed green: may open connections into the LAN"


def lan_node(host: Host, index: int) -> str:
    return f"lan:{host.name}:{index}"


@dataclass(frozen=True, slots=True)
class PathEdge:
    """A probed path drawn over the topology (`netdwg lab check --graph`): from and to are host
    names or LAN prefixes; `ok` whether the result matched what the topology allows."""

    src: str
    dst: str
    reached: bool
    ok: bool


def graph_dot(topology: Topology, paths: tuple[PathEdge, ...] = ()) -> str:
    """The DOT text of the whole topology (pure: a string from the model), with probed paths coloured
    by result when given: green reached, grey blocked as intended, red not what the topology says."""
    ctx = CompileContext(topology, Secrets())  # only its reach rules: no key is read
    lines = [f"digraph {dot_id(topology.network.name)} {{",
             f"  graph {_attrs(label=_title(topology), labelloc='t', rankdir='LR', fontname='Helvetica')};",
             f"  node {_attrs(fontname='Helvetica', style='filled')};",
             f"  edge {_attrs(fontname='Helvetica', fontsize='10')};"]
    for host in topology.hosts:
        lines.append(_node(f"host:{host.name}", label=_host_label(host), shape=SHAPES[host.role],
                           fillcolor=COLOURS[host.role]))
    for owner in ctx.lan_owners:
        for index, lan in enumerate(owner.lans):
            label = [f"LAN {lan.prefix}"]
            if lan.gateway_address is not None:
                label.append(f"gateway {lan.gateway_address.ip}")
            lines.append(_node(lan_node(owner, index), label="\n".join(label), shape="folder", fillcolor="#eeeeee"))
            if lan.return_path is ReturnPath.MASQUERADE:
                back = "return: MASQUERADE"
            else:
                via = f" via {lan.gateway_address.ip}" if lan.gateway_address is not None else ""
                router = lan.router is not None and (lan.gateway_address is None or lan.router != lan.gateway_address.ip)
                back = f"return: static route{via}" + (f" on the router {lan.router}" if router else "")
            lines.append(_edge(f"host:{owner.name}", lan_node(owner, index), label=back, dir="none", penwidth="2"))
    hub = topology.hub
    if hub is not None:
        for spoke in topology.hosts:
            if spoke.name != hub.name:
                lines.append(_edge(f"host:{spoke.name}", f"host:{hub.name}", label="tunnel", dir="none",
                                   color="#555555"))
    for pair in topology.pairs:
        a, b = pair.ends
        lines.append(_edge(f"host:{a}", f"host:{b}", label=f"site-to-site {pair.transfer}", dir="none",
                           penwidth="3", color="#1f5fa8"))
    for owner in ctx.lan_owners:
        for spoke in topology.hosts:
            if not ctx.reaches(spoke, owner) or (owner.allow is not None and spoke.name not in owner.allow):
                continue
            for index, _lan in enumerate(owner.lans):
                lines.append(_edge(f"host:{spoke.name}", lan_node(owner, index), style="dashed", color="#2e7d32",
                                   constraint="false"))
    nodes = {f"host:{h.name}" for h in topology.hosts}
    lan_of = {str(lan.prefix): lan_node(owner, index) for owner in ctx.lan_owners for index, lan in enumerate(owner.lans)}
    for path in paths:
        src, dst = (lan_of.get(end, f"host:{end}") for end in (path.src, path.dst))
        if src not in nodes and src not in lan_of.values() or dst not in nodes and dst not in lan_of.values():
            continue  # a LAN the model does not draw (a roaming host's own)
        colour = "#c62828" if not path.ok else ("#2e7d32" if path.reached else "#9e9e9e")
        label = ("reached" if path.reached else "blocked") + ("" if path.ok else " (not as the topology says)")
        lines.append(_edge(src, dst, color=colour, fontcolor=colour, label=label, constraint="false",
                           style="solid" if path.reached else "dotted", penwidth="1.5" if path.ok else "3"))
    lines.append("}")
    return "\n".join(lines) + "\n"
