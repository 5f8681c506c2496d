"""`netdwg metrics`: Prometheus metrics of this host's WireGuard interfaces, named by the topology."""

from __future__ import annotations

import argparse
from pathlib import Path

from netdwg.apply.args import add_source_arguments
from netdwg.cli import HelpFormatter
from netdwg.errors import EXIT_OK, ConfigError

DEFAULT_LISTEN = "127.0.0.1:9586"  # the port of the common WireGuard exporter (prometheus_wireguard_exporter)
TEXTFILE_NAME = "netdwg.prom"

DESCRIPTION = """\
Serve Prometheus metrics of this host's WireGuard interfaces over HTTP
(default 127.0.0.1:9586, path /metrics), or write them once for
node_exporter's textfile collector (--textfile DIR writes DIR/netdwg.prom
atomically), or print them (--once). Each scrape reads the host afresh, as
`netdwg status` does; peers carry the topology's names (peer, role, site).

Metrics: netdwg_peer_last_handshake_timestamp_seconds,
netdwg_peer_receive_bytes_total, netdwg_peer_transmit_bytes_total,
netdwg_peer_endpoint_info, netdwg_peer_allowed_ips, netdwg_peer_configured,
netdwg_peer_expected (wanted, never shook hands), netdwg_device_up,
netdwg_drift_changes{kind} (what `netdwg apply` would change), netdwg_host_info,
and from the guard's status file: netdwg_guard_running,
netdwg_guard_site_verdict, netdwg_guard_changes_in_effect,
netdwg_guard_endpoint_resets_total, netdwg_guard_last_reaction_seconds,
netdwg_guard_decisions_total{action,site} (changes made, by action: do_ or
undo_ delete_route, add_route, swap_allowed_ips, add_rule),
netdwg_guard_decision_failures_total{action,site}, and the histogram
netdwg_guard_reaction_seconds{trigger} (lease: from the lease the guard acted
on; link: from the first netlink event). The guard's counters start at zero
when it starts (their _created time); Prometheus reads a restart as a reset.
"""

EPILOG = """\
examples:
  netdwg metrics                                  serve on 127.0.0.1:9586 (netdwg-metrics.service)
  netdwg metrics --listen '[::1]:9586' --topology /etc/netdwg/netdwg.conf --host relay
  netdwg metrics --textfile /var/lib/prometheus/node-exporter
  netdwg metrics --once | promtool check metrics

exit status: 0 ok, 2 bad input, 77 not permitted.
"""


def listen_address(text: str) -> tuple[str, int]:
    """ADDR:PORT or [IPv6]:PORT, as an argparse type."""
    import ipaddress

    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        number = -1
    if not sep or not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not ADDRESS:PORT (for example 127.0.0.1:9586 or [::1]:9586)")
    return host, number


def register(subparsers) -> None:
    parser = subparsers.add_parser("metrics", help="Prometheus metrics of the peers, named by the topology",
                                   description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter)
    add_source_arguments(parser)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--listen", metavar="ADDR:PORT", type=listen_address, default=listen_address(DEFAULT_LISTEN),
                       help=f"serve /metrics over HTTP here (default {DEFAULT_LISTEN})")
    where.add_argument("--textfile", metavar="DIR", type=Path,
                       help=f"write DIR/{TEXTFILE_NAME} atomically for node_exporter's textfile collector, then exit")
    where.add_argument("--once", action="store_true", help="print the metrics on stdout and exit")
    parser.add_argument("--guard-status", metavar="FILE", type=Path, default=None,
                        help="the guard's status file (default /run/netdwg/guard.status)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from netdwg.cli._metrics_collect import Collector, render_text
    from netdwg.guard.defaults import DEFAULT_STATUS_PATH

    collector = Collector(args, args.guard_status or DEFAULT_STATUS_PATH)
    text = render_text(collector)  # bad input fails here, before anything is served or written
    if args.once:
        import sys

        sys.stdout.buffer.write(text)
        return EXIT_OK
    if args.textfile is not None:
        from netdwg.apply.writes import write_public

        if not args.textfile.is_dir():
            raise ConfigError(f"{args.textfile} is not a directory (--textfile)",
                              fix="name node_exporter's --collector.textfile.directory")
        write_public(args.textfile / TEXTFILE_NAME, text)
        return EXIT_OK
    return _serve(collector, *args.listen)


def _serve(collector, host: str, port: int) -> int:
    import signal
    import sys

    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as err:
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror}",
                          fix="choose another --listen ADDR:PORT") from None
    print(f"serving metrics on http://{'[' + host + ']' if ':' in host else host}:{port}/metrics",
          file=sys.stderr, flush=True)
    while True:
        signal.pause()
