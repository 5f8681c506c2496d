"""One plan/apply/status run: where the desired state comes from, which ports, what is there."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from netdwg.apply.confirm import note_waiting, recover, refuse_while_waiting
from netdwg.apply.desired import desired_from_files, desired_from_topology, read_rendered_dir
from netdwg.apply.observe import Ports, live_ports, observe
from netdwg.errors import ConfigError, NotPermittedError, SecretsError, Span
from netdwg.host.files import RootFiles
from netdwg.plan import DesiredHost, HostState, Plan, plan_host


from netdwg.apply.args import add_source_arguments  # noqa: E402,F401  (re-exported for callers)


@dataclass
class Session:
    """One plan/apply/status run: what should be, the adapters, what is, and the plan."""

    desired: DesiredHost
    ports: Ports
    observed: HostState
    plan: Plan


def load_files(args):
    """The rendered files for this host: --from DIR, or the topology (default
    /etc/netdwg/netdwg.conf) compiled for --host (default: this machine's short host name)."""
    if args.from_dir is not None:
        return read_rendered_dir(args.from_dir)
    from netdwg.topology.inputs import DEFAULT_TOPOLOGY

    topology = args.topology or (Path(DEFAULT_TOPOLOGY) if Path(DEFAULT_TOPOLOGY).exists() else None)
    if topology is None:
        raise ConfigError("say what the host should have",
                          fix=f"pass --from DIR (rendered files) or --topology FILE --host NAME (default {DEFAULT_TOPOLOGY})")
    host = args.host or socket.gethostname().split(".")[0]
    return desired_from_topology(Path(topology), host)


def is_live(args) -> bool:
    return Path(args.root).resolve() == Path("/")


def announce(text: str) -> None:
    """A step, on stderr like wg-quick's `[#] ip link ...`; a vanished terminal (ssh cut off) stops nothing."""
    try:
        print(f"[#] {text}", file=sys.stderr, flush=True)
    except OSError:
        pass


def resolve_endpoint(endpoint) -> str:
    """ADDR:PORT of a configured endpoint, its DNS name resolved now (netdwg.host.uapi's resolver)."""
    from netdwg.host.uapi import format_endpoint

    return format_endpoint(endpoint)


def check_tree_options(args, writing: bool) -> None:
    """--root and --state-dir name directories (or ones apply may create): say so before anything runs."""
    from netdwg.topology.inputs import check_output_dir

    for option, path in (("--root", None if is_live(args) else args.root), ("--state-dir", args.state_dir)):
        if path is None:
            continue
        if writing:
            check_output_dir(path, option)
        elif Path(path).exists() and not Path(path).is_dir():
            raise ConfigError(f"is a file, not a directory ({option})", span=Span(str(path)),
                              fix=f"{option} names a directory")


def make_ports(args, writing: bool = False) -> Ports:
    """Live adapters for root "/", files only for --root DIR."""
    check_tree_options(args, writing)
    root = Path(args.root)
    return live_ports(root, args.state_dir) if is_live(args) else Ports(RootFiles(root, args.state_dir), False)


def open_ports(args, applying: bool = False) -> Ports:
    """The host adapters for this run, after reverting an abandoned `apply --confirm` (see apply.confirm).

    Every plan/apply/status run starts here, so an unconfirmed change never
    outlives the process that waited for its confirmation. A change still
    waiting for confirmation blocks another apply (`applying`), and is only
    noted by plan and status.
    """
    ports = make_ports(args, writing=applying)
    recover(ports, announce, refuse_while_waiting if applying else note_waiting(announce))
    return ports


def open_session(args, need_root: bool, installed_files: Callable[[Ports], tuple] | None = None) -> Session:
    """Desired (the source named by args, or `installed_files(ports)`), observed, and the plan between them."""
    live = is_live(args)
    if live and need_root and os.geteuid() != 0:
        raise NotPermittedError("applying to the live system needs root",
                                fix="run it with sudo, or use --root DIR to apply to a directory tree")
    root = Path(args.root)
    files = load_files(args) if installed_files is None else None  # bad input first, before any revert
    ports = open_ports(args, applying=need_root)
    if files is None:
        files = installed_files(ports)  # read after open_ports: a revert may have just restored them

    def read_secret(path: PurePosixPath, span: Span | None) -> str:
        state = ports.files.read(path)
        if state is None:
            raise SecretsError(f"key file {path} does not exist under {root}", span,
                               fix="create it (netdwg keys genkey) or render it with the other files")
        return state.text

    desired = desired_from_files(files, read_secret, args.from_dir)
    observed = observe(desired, ports)
    plan = plan_host(desired, observed)
    return Session(desired, ports, observed, plan)
