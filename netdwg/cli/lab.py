"""`netdwg lab`: prove a topology in network namespaces before touching real hosts."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from netdwg.errors import EXIT_ERROR, EXIT_OK, NotPermittedError

DESCRIPTION = """\
Bring the whole topology up in network namespaces on this machine and test it
with real traffic. Every host becomes a namespace with its own mount namespace
(private /etc/systemd/network, /run/systemd, /run/dbus, /run/wireguard,
/etc/netdwg), a private dbus-daemon, systemd-networkd (networkd and netplan
hosts) and wireguard-go, configured as an admin would: the topology and a
throwaway secrets store copied into its /etc/netdwg, then `netdwg apply
--topology /etc/netdwg/netdwg.conf --host NAME` run inside it, and `wg-quick up`
on wg-quick hosts; a failure stops the lab with that host's output. Around them: a
simulated internet (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 only; also
IPv6 from 2001:db8::/32 when a host has an IPv6 endpoint), a NAT router (NAT44
and NAT66) in front of every host without a public endpoint, and for every
site LAN a switch, the office router (NAT, dnsmasq DHCP and IPv6 router
advertisements, the static return route when return_path = static-route) and
a test device.

Nothing in the root network namespace is changed. Everything created is
recorded under /run/netdwg-lab/ and `netdwg lab down` removes it, also after a
crash or Ctrl-C.
"""

EPILOG = """\
examples:
  netdwg lab up examples/harbor.conf      build the lab (5 hosts: ~5 s with netdwg apply)
  netdwg lab check                        who reaches whom, with paths; exit 1 on any mismatch
  netdwg lab roam ana oslo                move laptop ana onto oslo's LAN (DHCP), iperf3 before/after
  netdwg lab roam ana away                and back
  netdwg lab exec ana -- ip route         run a command in a host (or oslo-dev, oslo-rtr, inet ...)
  netdwg lab status                       what is running
  netdwg lab down                         remove everything
  netdwg lab demo examples/1-offices.conf all of the above with a report (make demo)
  netdwg lab demo examples/6-nm-laptop.conf   the same, a laptop on NetworkManager (make demo-nm)
  netdwg lab up --ssh examples/1-offices.conf   hosts left for Ansible, sshd on each; netdwg lab fleet

exit status: 0 ok, 1 check found a mismatch, 2 bad input or lab failure, 77 not root.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("lab", help="simulate the topology in network namespaces",
                                   description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="lab_command", metavar="VERB")
    fmt = argparse.RawDescriptionHelpFormatter

    up = verbs.add_parser("up", help="build the lab of a topology", formatter_class=fmt,
                          description="Build the lab: namespaces, internet, NATs, LANs, DHCP; "
                                      "configure every host (netdwg apply inside it).",
                          epilog="examples:\n  netdwg lab up examples/harbor.conf\n"
                                 "  netdwg lab up --networkd 257 examples/harbor.conf")
    up.add_argument("topology", help="the topology file")
    up.add_argument("--quiet", action="store_true", help="no progress lines")
    up.add_argument("--ssh", action="store_true",
                    help="leave the hosts unconfigured for a fleet tool: sshd on each host's management "
                         "link, a controller namespace (netdwg lab fleet prints how to reach them)")
    up.add_argument("--networkd", type=int, choices=(252, 257), default=252, metavar="{252,257}",
                    help="the networkd release of the hosts: 252 (this machine's) or 257 (Debian 13's, "
                         "chrooted from a root debootstrap makes once in /var/cache/netdwg-test/trixie)")
    up.set_defaults(func=run_up)

    check = verbs.add_parser("check", help="test the reachability matrix with real traffic", formatter_class=fmt,
                             description="Ping every pair the topology implies (VPN addresses and LAN test "
                                         "devices, both directions), trace the path of those that get "
                                         "through, and check that what must be blocked is blocked.",
                             epilog="examples:\n  netdwg lab check\n  netdwg lab check --only ana --only oslo-dev\n"
                                    "  netdwg lab check --json | jq '.[] | select(.ok | not)'")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.add_argument("--no-trace", action="store_true", help="skip traceroute (faster)")
    check.add_argument("--graph", metavar="FILE", type=Path,
                       help="also draw the topology with each probed path coloured by its result "
                            "(DOT; FILE.svg or FILE.png: drawn by Graphviz's dot)")
    check.add_argument("--only", metavar="NAME", action="append", default=[],
                       help="only probes from or to this host or LAN device (repeatable); big labs have "
                            "n^2 probes")
    check.set_defaults(func=run_check)

    roam = verbs.add_parser("roam", help="move a roaming host onto a site's LAN or away", formatter_class=fmt,
                            description="Move a roaming laptop (any backend) onto a site's LAN, where it "
                                        "gets an address by DHCP, or back 'away' behind its NAT; measure "
                                        "iperf3 throughput to the LAN's test device before and after.",
                            epilog="examples:\n  netdwg lab roam ana oslo\n  netdwg lab roam ana away")
    roam.add_argument("host")
    roam.add_argument("site", help="a site name, or 'away'")
    roam.add_argument("--json", action="store_true", help="print JSON")
    roam.add_argument("--no-iperf", action="store_true", help="skip the throughput measurement")
    roam.set_defaults(func=run_roam)

    ex = verbs.add_parser("exec", help="run a command inside a host or lab namespace", formatter_class=fmt,
                          description="Run CMD in a host's network and mount namespaces (or in a plain lab "
                                      "namespace such as oslo-dev, oslo-rtr, ana-nat, inet).",
                          epilog="examples:\n  netdwg lab exec relay -- wg show\n"
                                 "  netdwg lab exec oslo-dev -- ping -c1 10.99.0.4")
    ex.add_argument("host")
    ex.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    ex.set_defaults(func=run_exec)

    st = verbs.add_parser("status", help="what the running lab holds", formatter_class=fmt,
                          description="Hosts, their namespaces, daemons, handshakes and where roaming "
                                      "hosts are.", epilog="example:\n  netdwg lab status --json")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.set_defaults(func=run_status)

    fl = verbs.add_parser("fleet", help="how a fleet tool reaches the hosts of a lab up --ssh", formatter_class=fmt,
                          description="The controller namespace, the SSH key and known_hosts file, and every "
                                      "host's management address (an Ansible inventory line each).",
                          epilog="example:\n  netdwg lab fleet --json")
    fl.add_argument("--json", action="store_true", help="print JSON")
    fl.add_argument("--ansible", metavar="DIR", type=Path,
                    help="write an Ansible controller directory there: ansible.cfg, mgmt.yml (the hosts' "
                         "addresses), fleet.netdwg.yml (the inventory from DIR/netdwg.conf)")
    fl.set_defaults(func=run_fleet)

    down = verbs.add_parser("down", help="remove the lab (also after a crash)", formatter_class=fmt,
                            description="Stop every process the lab started (by PID) and delete its "
                                        "namespaces, from the record under /run/netdwg-lab/.",
                            epilog="example:\n  netdwg lab down")
    down.set_defaults(func=run_down)

    demo = verbs.add_parser("demo", help="up, check, roam with iperf3, report, down", formatter_class=fmt,
                            description="The whole story in one command (make demo): bring the topology "
                                        "up, check reachability, walk a laptop of each backend into an "
                                        "office and back with iperf3 (tunnel vs LAN), print a report, and "
                                        "tear everything down.",
                            epilog="examples:\n  netdwg lab demo examples/1-offices.conf\n"
                                   "  netdwg lab demo examples/3-site-to-site.conf\n"
                                   "  netdwg lab demo examples/6-nm-laptop.conf    a laptop on NetworkManager "
                                   "(make demo-nm)")
    demo.add_argument("topology")
    demo.set_defaults(func=run_demo)
    parser.set_defaults(func=lambda args: (parser.print_help(), EXIT_ERROR)[1])


def _require_root() -> None:
    if os.geteuid() != 0:
        raise NotPermittedError("the lab creates network namespaces: it needs root", fix="run it with sudo")


def _say(quiet: bool = False):
    def say(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)
    return say


def _terminate_as_interrupt() -> None:
    """SIGTERM (systemd, timeout, kill) unwinds like Ctrl-C, so a half-built lab is removed."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


def run_up(args) -> int:
    _require_root()
    _terminate_as_interrupt()
    from netdwg.lab.up import bring_up

    lab = bring_up(args.topology, say=_say(args.quiet), networkd=args.networkd, ssh=args.ssh)
    if args.ssh:
        print(f"lab {lab.sandbox.id} is up, hosts not configured: netdwg lab fleet | check | status | down")
        return EXIT_OK
    print(f"lab {lab.sandbox.id} is up: netdwg lab check | status | roam | exec | down")
    return EXIT_OK


def run_fleet(args) -> int:
    _require_root()
    from netdwg.lab.fleet import fleet_of
    from netdwg.lab.state import find_lab

    fleet = fleet_of(find_lab())
    if args.ansible is not None:
        from netdwg.lab.fleet import write_ansible_dir

        collections = Path(__file__).resolve().parents[2] / "ansible"
        write_ansible_dir(fleet, args.ansible.resolve(), collections)
        print(f"[#] wrote {args.ansible}/ansible.cfg, mgmt.yml, fleet.netdwg.yml; put the topology at "
              f"{args.ansible}/netdwg.conf, then: cd {args.ansible} && ip netns exec {fleet['controller']} "
              f"ansible-playbook -i fleet.netdwg.yml -i mgmt.yml .../site.yml -e netdwg_topology=$PWD/netdwg.conf")
    if args.json:
        print(json.dumps(fleet, indent=1))
        return EXIT_OK
    print(f"controller namespace: {fleet['controller']}   (ip netns exec {fleet['controller']} ansible-playbook ...)")
    print(f"ssh key: {fleet['ssh_key']}   known_hosts: {fleet['known_hosts']}   user: root")
    for host, address in fleet["hosts"].items():
        print(f"{host} ansible_host={address}")
    return EXIT_OK


def run_check(args) -> int:
    _require_root()
    from netdwg.lab.check import expected_probes, format_table, results_json, run_probes
    from netdwg.lab.state import LabError, find_lab

    lab = find_lab()
    probes = expected_probes(lab.topology, lab.world)
    if args.only:
        probes = tuple(p for p in probes if p.src.name in args.only or p.dst.name in args.only)
        if not probes:
            raise LabError(f"no probes from or to {', '.join(args.only)}",
                           fix="name hosts or LAN devices (netdwg lab status lists them)")
    results = run_probes(lab, probes, trace=not args.no_trace)
    if args.graph is not None:
        _write_check_graph(lab, results, args.graph)
    if args.json:
        print(json.dumps(results_json(results), indent=1))
    else:
        print(format_table(results))
    return EXIT_OK if all(r.ok for r in results) else 1


def _write_check_graph(lab, results, path: Path) -> None:
    from netdwg.apply.writes import write_public
    from netdwg.cli.show import draw
    from netdwg.render.graph import PathEdge, graph_dot

    def end(point) -> str:
        if point.site is None:
            return point.name
        return next((str(lan.prefix) for lan in lab.world.lans if lan.device == point.name), point.name)

    # One edge per pair of ends (IPv4 and IPv6 probes of a pair agree or the red one is shown).
    edges: dict[tuple[str, str], PathEdge] = {}
    for r in results:
        edge = PathEdge(end(r.probe.src), end(r.probe.dst), r.reached, r.ok)
        if (edge.src, edge.dst) not in edges or not edge.ok:
            edges[(edge.src, edge.dst)] = edge
    text = graph_dot(lab.topology, tuple(edges.values()))
    fmt = path.suffix.lstrip(".")
    write_public(path, draw(text, fmt) if fmt in ("svg", "png") else text.encode("utf-8"), option="--graph")


def run_roam(args) -> int:
    _require_root()
    from netdwg.lab.roam import format_roam, roam, roam_json
    from netdwg.lab.state import find_lab

    report = roam(find_lab(), args.host, args.site, measure=not args.no_iperf, say=_say(args.json))
    print(json.dumps(roam_json(report), indent=1) if args.json else format_roam(report))
    return EXIT_OK


def run_exec(args) -> int:
    _require_root()
    from netdwg.lab.state import LabError, find_lab

    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise LabError("no command given", fix="netdwg lab exec HOST -- CMD ARGS...")
    lab = find_lab()
    if lab.topology.has_host(args.host):
        argv = ["nsenter", "-t", str(lab.node(args.host).pid), "-m", "-n", *cmd]
    elif any(short == args.host for short, _ in lab.world.namespaces):
        argv = ["ip", "netns", "exec", lab.ns(args.host).name, *cmd]
    else:
        raise LabError(f"no host or lab namespace '{args.host}'",
                       fix="one of: " + ", ".join(short for short, _ in lab.world.namespaces))
    return subprocess.run(argv).returncode


def run_status(args) -> int:
    _require_root()
    from netdwg.lab.state import find_lab
    from netdwg.lab.status import format_status, lab_status

    status = lab_status(find_lab())
    print(json.dumps(status, indent=1) if args.json else format_status(status))
    return EXIT_OK


def run_down(args) -> int:
    _require_root()
    from netdwg.lab.state import destroy_labs

    removed = destroy_labs()
    procs = sum(1 for r in removed if r.startswith("process"))
    nss = sum(1 for r in removed if r.startswith("netns"))
    print(f"removed {nss} namespaces and stopped {procs} processes" if removed else "no lab to remove")
    return EXIT_OK


def run_demo(args) -> int:
    _require_root()
    _terminate_as_interrupt()
    from netdwg.lab.demo import demo

    return demo(args.topology)

