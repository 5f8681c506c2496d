"""`netdwg status`: the live WireGuard peers, routes and drift from the configuration."""

from __future__ import annotations

import time
from pathlib import Path

from netdwg.apply.args import add_source_arguments
from netdwg.cli import HelpFormatter
from netdwg.errors import EXIT_OK, EXIT_UNAVAILABLE, EXIT_WARNINGS, ConfigError, ServiceUnavailableError

DESCRIPTION = """\
Show each WireGuard interface of this host: per peer its name from the
topology, endpoint, latest handshake and transfer; the routes into the
interface; and the drift between the configuration and the host (what
`netdwg apply` would change). Without --from/--topology the files on the host
are the configuration: drift then means the live device differs from them.

On a NetworkManager host (backend = networkmanager) NetworkManager owns the
device: status asks it over D-Bus whether the rendered profile is loaded (from
the rendered file), whether the connection is active, and whether the settings
it stores (GetSettings; as root also GetSecrets, compared but never shown)
equal the profile. A profile not loaded or stored otherwise is drift; an
inactive connection is only reported. The live device, when NetworkManager has
activated it, is read like on the other backends.
"""

EPILOG = """\
examples:
  netdwg status
  netdwg status --topology /etc/netdwg/netdwg.conf --host relay
  netdwg status --json | jq '.interfaces[].peers[] | select(.latest_handshake == null)'
  netdwg status --json | jq '.interfaces[].networkmanager.differences'

exit status: 0 in sync, 1 drift found, 2 bad input, 69 a service status must ask
(NetworkManager, networkd) or the system D-Bus did not answer, 77 not permitted.
"""

HOST_CONFIG_DIRS = ("etc/systemd/network", "etc/wireguard", "etc/netplan")
HOST_CONFIG_SUFFIXES = (".netdev", ".network", ".conf", ".yaml", ".yml")


def register(subparsers) -> None:
    parser = subparsers.add_parser("status", help="peers, handshakes, routes and drift", description=DESCRIPTION,
                                   epilog=EPILOG, formatter_class=HelpFormatter)
    add_source_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def _host_files(root: Path):
    files = []
    for sub in HOST_CONFIG_DIRS:
        if (root / sub).is_dir() and any((root / sub).iterdir()):
            files.extend(f for f in read_rendered_dir_under(root, sub))
    return tuple(files)


def _installed_files(root: Path, files):
    """Without a source, the configuration is what is installed: network files plus netdwg's managed ones
    (a NetworkManager host's profiles are among those: the other profiles there are not netdwg's)."""
    from netdwg.rendered import RenderedFile

    found = {f.path: f for f in _host_files(root)}
    for path in files.managed():
        state = files.read(path)
        if state is not None:
            found[path] = RenderedFile(path, state.text, state.mode, state.owner, state.group)
    if not found:
        raise ConfigError(f"no networkd, wg-quick or netplan files and no files netdwg manages under {root}",
                          fix="pass --from DIR or --topology FILE --host NAME")
    return tuple(found.values())


def read_rendered_dir_under(root: Path, sub: str):
    from pathlib import PurePosixPath

    from netdwg.apply.desired import read_rendered_dir
    from netdwg.rendered import RenderedFile

    for f in read_rendered_dir(root / sub):
        source = root / sub / f.path.relative_to("/")
        if source.is_symlink() or f.path.suffix not in HOST_CONFIG_SUFFIXES:
            continue
        yield RenderedFile(PurePosixPath("/") / sub / f.path.relative_to("/"), f.text, f.mode, f.owner, f.group, f.secret)


def _ago(stamp: float, now: float) -> str:
    if not stamp:
        return "never"
    seconds = int(now - stamp)
    return f"{seconds // 60} min {seconds % 60} s ago" if seconds >= 60 else f"{seconds} s ago"


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def open_status_session(args):
    """The session status and metrics read: the source args name, else the files installed on the host."""
    from netdwg.apply.session import open_session
    from netdwg.topology.inputs import DEFAULT_TOPOLOGY

    root = Path(args.root)
    use_topology = args.from_dir or args.topology or Path(DEFAULT_TOPOLOGY).exists()
    return open_session(args, need_root=False,
                        installed_files=None if use_topology else lambda ports: _installed_files(root, ports.files))


def run(args) -> int:
    try:
        return _run(args)
    except ServiceUnavailableError as err:
        # status answers "is the host as configured?": a service it could not ask leaves that unknown,
        # which is neither drift (1) nor bad input (2)
        err.exit_code = EXIT_UNAVAILABLE
        raise


def _run(args) -> int:
    from netdwg.apply.session import is_live
    from netdwg.cli._status_nm import networkmanager_state

    live = is_live(args)
    session = open_status_session(args)
    desired, observed, plan = session.desired, session.observed, session.plan
    now = time.time()
    report = {"backend": desired.backend, "interfaces": [], "drift": [s.describe() for s in plan.steps()],
              "notes": list(plan.notes)}
    for device in desired.devices:
        nm_state = networkmanager_state(session, device.name)
        live_device = observed.device(device.name)
        if live_device is None and desired.backend == "networkmanager" and live:
            link = session.ports.wg(device.name)  # NetworkManager's device, read like any other
            live_device = link.read() if link is not None else None
        entry = {"interface": device.name, "exists": live_device is not None,
                 "backend": live_device.backend if live_device else None,
                 "listen_port": live_device.device.listen_port if live_device else None, "peers": [], "routes": []}
        if desired.backend == "networkmanager":
            entry["networkmanager"] = nm_state
        if live_device is not None:
            names = {p.public_key: p.name for p in device.peers}
            for peer, status in zip(live_device.device.peers, live_device.status):
                entry["peers"].append({
                    "name": names.get(peer.public_key, "") or None, "public_key": peer.public_key.base64,
                    "in_configuration": peer.public_key in names,
                    "endpoint": str(status.endpoint) if status.endpoint else None,
                    "latest_handshake": status.latest_handshake or None,
                    "rx_bytes": status.rx_bytes, "tx_bytes": status.tx_bytes,
                    "allowed_ips": [str(n) for n in peer.allowed_ips]})
            routes = session.ports.routes if live else None  # the live ports read them (host.routes)
            entry["routes"] = [str(r) for r in routes(device.name)] if routes else []
        report["interfaces"].append(entry)
    if desired.backend == "networkmanager" and not live:
        report["notes"].append("NetworkManager not asked: --root names a directory tree, not this host")
    if args.json:
        import json

        print(json.dumps(report, indent=2))
    else:
        print(format_status(report, now), end="")
    return EXIT_OK if plan.is_empty else EXIT_WARNINGS


def format_status(report: dict, now: float) -> str:
    from netdwg.cli._status_nm import format_nm_lines

    lines = []
    for iface in report["interfaces"]:
        if not iface["exists"]:
            held = " (NetworkManager creates it when it activates the connection)" if "networkmanager" in iface else ""
            lines.append(f"interface {iface['interface']}: does not exist{held}")
        else:
            lines.append(f"interface {iface['interface']} ({iface['backend']}, listening on {iface['listen_port'] or '-'})")
        if iface.get("networkmanager"):
            lines.extend(format_nm_lines(iface["networkmanager"]))
        for p in iface["peers"]:
            label = p["name"] or p["public_key"][:8] + "…"
            if not p["in_configuration"]:
                label += " (not in the configuration)"
            lines.append(f"  peer {label}")
            lines.append(f"    endpoint {p['endpoint'] or '-'}, latest handshake {_ago(p['latest_handshake'] or 0, now)}, "
                         f"transfer {_bytes(p['rx_bytes'])} received, {_bytes(p['tx_bytes'])} sent")
            lines.append(f"    allowed ips {', '.join(p['allowed_ips']) or '(none)'}")
        if iface["routes"]:
            lines.append("  routes: " + "; ".join(iface["routes"]))
    if report["drift"]:
        lines.append(f"drift: {len(report['drift'])} difference(s) from the configuration (netdwg plan shows them):")
        lines.extend(f"  {d}" for d in report["drift"])
    else:
        lines.append("in sync with the configuration")
    return "\n".join(lines) + "\n"
