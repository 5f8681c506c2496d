"""`netdwg show HOST`: what one host gets from the topology, keys redacted."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from typing import TYPE_CHECKING

from netdwg.cli._common import prepare_topology
from netdwg.errors import ConfigError, InternalError
from netdwg.topology.inputs import add_topology_argument, unknown_host

if TYPE_CHECKING:  # imported in run(): netdwg --help must not load the topology code
    from netdwg.topology.hostconfig import HostConfig

DESCRIPTION = """\
Print what HOST gets from the topology: each WireGuard interface with its
addresses, listen port, MTU and routes; each peer with its public key,
AllowedIPs, endpoint, keepalive and whether a PSK is set; sysctls, the
firewall intent (who may open connections into which LAN, MASQUERADE), the
routes its LAN routers need and the guard's sites. Private keys and PSKs are
never shown. Nothing is generated or written: hosts without a key in the
secrets store are reported as an error (run 'netdwg render' or 'netdwg keys').
"""

EPILOG = """\
examples:
  netdwg show relay
  netdwg show --graph > net.dot                     the whole topology as Graphviz DOT
  netdwg show --graph --format svg --out net.svg    drawn by Graphviz's dot (Debian: graphviz)
  netdwg show --topology office.conf ana --json | jq '.interfaces[0].peers'
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("show", help="what a host gets (keys redacted)", description=DESCRIPTION,
                                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_topology_argument(parser)
    parser.add_argument("host", metavar="HOST", nargs="?", help="the host to show (not with --graph)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--graph", action="store_true",
                        help="draw the whole topology: hubs, sites and their LANs, roaming hosts, site-to-site "
                             "pairs, who may open connections into which LAN, return paths")
    parser.add_argument("--format", choices=("dot", "svg", "png"), default="dot",
                        help="with --graph: DOT text (default), or SVG/PNG drawn by Graphviz's dot")
    parser.add_argument("--out", metavar="FILE", type=Path, help="with --graph: write FILE instead of stdout")
    parser.set_defaults(func=run)


def host_summary(host: HostConfig) -> dict:
    """A JSON-ready view of a HostConfig; secrets appear only as "set"/absent."""
    return {
        "host": host.name, "role": str(host.role), "backend": str(host.backend),
        "systemd_version": host.systemd_version,
        "interfaces": [{
            "name": i.name, "description": i.description,
            "addresses": [str(a) for a in i.addresses], "listen_port": i.device.listen_port, "mtu": i.mtu,
            "private_key": "set" if i.holds_private_key else f"kept on the host ({i.private_key_file})",
            "table_off": i.table_off,
            "routes": [{"destination": str(r.destination), "metric": r.metric, "table": r.table,
                        "reason": r.reason} for r in i.routes],
            "peers": [{"name": p.name, "public_key": p.public_key.base64,
                       "allowed_ips": [str(n) for n in p.allowed_ips],
                       "endpoint": str(p.endpoint) if p.endpoint else None,
                       "persistent_keepalive": p.persistent_keepalive,
                       "preshared_key": "set" if p.preshared_key else None} for p in i.device.peers],
        } for i in host.interfaces],
        "sysctls": {s.key: s.value for s in host.sysctls},
        "firewall": None if host.firewall is None else {
            "tunnels": list(host.firewall.tunnel_interfaces),
            "allow": [{"sources": [str(s) for s in a.sources], "destination": str(a.destination),
                       "in": a.in_interface, "out": a.out_interface, "reason": a.reason} for a in host.firewall.allow],
            "guarded": [str(g) for g in host.firewall.guarded],
            "masquerade": [{"sources": [str(s) for s in m.sources], "destination": str(m.destination),
                            "out": m.out_interface} for m in host.firewall.masquerade],
            "mss_clamp": host.firewall.mss_clamp,
        },
        "return_routes": [r.instruction() for r in host.return_routes],
        "guard": None if host.guard is None else {
            "interface": host.guard.interface,
            "sites": [{"name": s.name, "lan": str(s.lan), "action": str(s.action),
                       "widen_to": str(s.widen_to) if s.widen_to else None} for s in host.guard.sites],
        },
    }


def format_summary(info: dict) -> str:
    lines = [f"host {info['host']}: {info['role']}, backend {info['backend']} (systemd {info['systemd_version']})"]
    for i in info["interfaces"]:
        lines.append(f"interface {i['name']}" + (f"  # {i['description']}" if i["description"] else ""))
        lines.append(f"  addresses: {', '.join(i['addresses'])}")
        lines.append(f"  listen port: {i['listen_port'] or 'random (behind NAT)'}   mtu: {i['mtu']}")
        lines.append(f"  private key: {i['private_key']} (hidden)" if i["private_key"] == "set"
                     else f"  private key: {i['private_key']}")
        for r in i["routes"]:
            extra = "".join(f" {k} {r[k]}" for k in ("metric", "table") if r[k] is not None)
            lines.append(f"  route: {r['destination']}{extra}" + (f"  ({r['reason']})" if r["reason"] else ""))
        for p in i["peers"]:
            lines.append(f"  peer {p['name']}: {p['public_key']}")
            lines.append(f"    allowed ips: {', '.join(p['allowed_ips'])}")
            if p["endpoint"]:
                lines.append(f"    endpoint: {p['endpoint']}")
            if p["persistent_keepalive"]:
                lines.append(f"    persistent keepalive: every {p['persistent_keepalive']} seconds")
            lines.append(f"    preshared key: {'(hidden)' if p['preshared_key'] else 'none'}")
    for key, value in info["sysctls"].items():
        lines.append(f"sysctl: {key} = {value}")
    fw = info["firewall"]
    if fw:
        for a in fw["allow"]:
            lines.append(f"firewall: new connections {', '.join(a['sources'])} -> {a['destination']} allowed"
                         + (f"  ({a['reason']})" if a["reason"] else ""))
        for g in fw["guarded"]:
            lines.append(f"firewall: anything else from {', '.join(fw['tunnels'])} -> {g} dropped (replies pass)")
        for m in fw["masquerade"]:
            lines.append(f"firewall: masquerade {', '.join(m['sources'])} -> {m['destination']}"
                         + (f" out {m['out']}" if m["out"] else ""))
        if fw["mss_clamp"]:
            lines.append(f"firewall: TCP MSS clamped on {', '.join(fw['tunnels'])}")
    for text in info["return_routes"]:
        lines.append(f"LAN router needs: {text}")
    if info["guard"]:
        for s in info["guard"]["sites"]:
            lines.append(f"guard: site {s['name']} {s['lan']}: {s['action']}"
                         + (f" to {s['widen_to']}" if s["widen_to"] else ""))
    return "\n".join(lines) + "\n"


def run(args) -> int:
    if args.graph:
        return run_graph(args)
    if args.host is None:
        raise ConfigError("name the host to show", fix="netdwg show HOST, or netdwg show --graph for the whole network")
    prepared = prepare_topology(args.topology, complete=False)
    if not prepared.topology.has_host(args.host):
        raise unknown_host(args.host, (h.name for h in prepared.topology.hosts), args.topology)
    from netdwg.topology.compile import compile_host

    info = host_summary(compile_host(prepared.topology, prepared.secrets, args.host))
    print(json.dumps(info, indent=2) if args.json else format_summary(info), end="" if not args.json else "\n")
    return 0


def run_graph(args) -> int:
    from netdwg.render.graph import graph_dot
    from netdwg.topology.load import load_topology

    if args.host is not None or args.json:
        raise ConfigError("--graph draws the whole topology", fix="leave out HOST and --json")
    text = graph_dot(load_topology(args.topology))
    data = text.encode("utf-8") if args.format == "dot" else draw(text, args.format)
    if args.out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        from netdwg.apply.writes import write_public

        write_public(args.out, data, option="--out")
    return 0


def draw(dot_text: str, fmt: str) -> bytes:
    """Graphviz's `dot -T FMT`: the real layout engine, or an error saying it is missing or failed."""
    import shutil
    import subprocess

    program = shutil.which("dot")
    if program is None:
        raise ConfigError("Graphviz's dot is not installed", fix="apt-get install graphviz, or use --format dot")
    proc = subprocess.run([program, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise InternalError(f"dot -T{fmt} failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout
