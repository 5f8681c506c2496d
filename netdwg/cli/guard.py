"""`netdwg guard`: look at and drive the roaming conflict guard (netdwg-guard).

Only argparse and netdwg.guard.defaults are imported at the top: every verb is
registered for any `netdwg` call, and the guard's daemon pulls in asyncio,
and pyroute2. The verbs import what they need when they run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path

from netdwg.errors import EXIT_OK, EXIT_WARNINGS, ConfigError, NotPermittedError
from netdwg.guard.defaults import add_path_arguments, add_run_arguments

DESCRIPTION = """\
A roaming laptop routes office LANs into WireGuard. When it joins one of those
LANs, the tunnel route wins over the LAN's own and LAN traffic hairpins through
the hub. netdwg-guard notices, checks that the LAN really is that office (an
office host proves the pinned SSH host key or TLS certificate the topology
declares, and the DHCP server, router address and MAC and DNS domain match: a
café copying every passive fact is not trusted) and applies the site's action:
remove, metric or widen. A site without a proof stays in the tunnel.
Everything it changes is undone on leaving.
"""

EPILOG = """\
examples:
  netdwg guard status               what the guard sees, what it decided and why
  netdwg guard status --json
  netdwg guard learn oslo           in the oslo office: record this LAN's fingerprint
  netdwg guard run --foreground -v  debug: run the daemon in this terminal

exit status: 0 ok, 2 bad input (guard.conf, unknown site), 77 not permitted.
"""

STATUS_DESCRIPTION = """\
Show each site's verdict (away, identifying, trusted, foreign, unverified:
a site with no proof declared, where the tunnel route stays), the reasons,
the active checks (pinned SSH host key or TLS certificate: result, error,
attempt, next try) and the changes in effect. Reads the running guard's
status file; when no guard runs, decides afresh from this host's addresses,
routes and leases (without running the checks).

A check that got no answer (refused, timed out) is tried again after 2, 5,
15 and 30 s, then every 60 s while the laptop stays on that LAN; one that was
answered with the wrong key every 60 s only. Leaving the LAN starts over.
"""

STATUS_EPILOG = """\
examples:
  netdwg guard status
  netdwg guard status --json | jq '.sites[] | {site, verdict, reasons}'
  netdwg guard status --json | jq '.sites[].proofs[] | {host, result, error, attempt, next_try}'
"""

LEARN_DESCRIPTION = """\
Run this while connected to SITE's office LAN: the DHCP server, router
address and MAC and DNS domain of the link on SITE's prefix are stored in
the learned-fingerprints file, the one the guard reads (same default).
A running guard is told (SIGHUP) and learn waits until its status file
shows it re-read this very file; if it reads another file or does not
answer, learn says so and exits 1.

These are passive facts, which any LAN can copy: they never replace a
proof. The guard trusts SITE only once an office host proves the
ssh_host_key or tls_pin the topology declares (or, for a site without
one, with trust = passive in the topology).
"""

LEARN_EPILOG = """\
examples:
  sudo netdwg guard learn oslo
  sudo netdwg guard learn oslo --json
"""

RUN_DESCRIPTION = """\
Run netdwg-guard, the daemon. Under systemd use netdwg-guard.service;
--foreground logs to this terminal instead of the journal.
"""

RUN_EPILOG = """\
examples:
  sudo netdwg guard run --foreground --verbose
  sudo netdwg guard run --foreground --config ./guard.conf --no-dbus
"""


def register(subparsers) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = subparsers.add_parser("guard", help="the roaming conflict guard: status, learn, run",
                                   description=DESCRIPTION, epilog=EPILOG, formatter_class=raw)
    verbs = parser.add_subparsers(dest="guard_command", metavar="VERB")

    status = verbs.add_parser("status", help="what the guard sees and decided, and why",
                              description=STATUS_DESCRIPTION, epilog=STATUS_EPILOG, formatter_class=raw)
    add_path_arguments(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=run_status)

    learn = verbs.add_parser("learn", help="record the current LAN as SITE's fingerprint",
                             description=LEARN_DESCRIPTION, epilog=LEARN_EPILOG, formatter_class=raw)
    learn.add_argument("site", metavar="SITE", help="a site name from guard.conf")
    add_path_arguments(learn)
    learn.add_argument("--json", action="store_true", help="machine-readable output")
    learn.set_defaults(func=run_learn)

    run = verbs.add_parser("run", help="run the guard daemon (netdwg-guard)",
                           description=RUN_DESCRIPTION, epilog=RUN_EPILOG, formatter_class=raw)
    add_run_arguments(run)
    run.set_defaults(func=run_daemon)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _guard_pid(status_path: Path) -> int | None:
    try:
        pid = int(json.loads(status_path.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"guard" in cmdline else None


def _observe(config, probe_site=None):
    from netdwg.guard.actions import probe_neighbour
    from netdwg.guard.observed import Observed, fold
    from netdwg.guard.policy import gather_evidence, identify
    from netdwg.guard.sources.leases import read_all_leases
    from netdwg.guard.sources.netlink import take_snapshot

    def snapshot():
        observed = fold(Observed(), take_snapshot())
        for event in read_all_leases():
            observed = fold(observed, event)
        return observed

    observed = snapshot()
    if probe_site is not None:  # resolve the router's MAC so it can be recorded
        view, _, _ = identify(config, probe_site, (), observed, time.monotonic())
        if view.dev:
            ev = gather_evidence(observed, view.dev)
            if ev.router and not ev.router_mac:
                probe_neighbour(view.dev, ev.router)
                time.sleep(0.2)
                observed = snapshot()
    return observed


def run_status(args) -> int:
    from netdwg.guard.configfile import load_guard_config

    config = load_guard_config(args.config)
    pid = _guard_pid(args.status)
    if pid:
        status = json.loads(args.status.read_text())
        status["running"] = True
    else:
        from netdwg.guard.learned import load_learned
        from netdwg.guard.policy import decide
        from netdwg.guard.status import status_json

        observed = _observe(config)
        decision = decide(config, load_learned(args.learned), observed, (), time.monotonic())
        status = status_json(decision, (), config)
        status["running"] = False
        status["would_do"] = [c.describe() for c in decision.desired]
    if args.json:
        print(json.dumps(status, indent=1))
        return EXIT_OK
    print(f"netdwg-guard: {'running, pid ' + str(status['pid']) if status['running'] else 'not running'} "
          f"(interface {status['interface']})")
    for site in status["sites"]:
        where = f" on {site['dev']} ({site['address']})" if site["dev"] else ""
        print(f"  {site['site']}: {site['verdict']}{where}")
        for reason in site["reasons"]:
            print(f"      because {reason}")
        for proof in site.get("proofs", ()):
            print(f"      {describe_proof(proof, time.time(), status['running'])}")
    learned = status.get("learned")
    if learned:  # which file the running guard read: the one `netdwg guard learn` writes by default
        sites = ", ".join(f"{site} ({n})" for site, n in learned["sites"].items()) or "none"
        print(f"learned fingerprints from {learned['path']}: {sites}"
              + (f"; the last re-read failed: {learned['error']}" if learned.get("error") else ""))
    print("in effect:" if status["in_effect"] else "in effect: nothing")
    for change in status["in_effect"]:
        print(f"  {change}")
    if status.get("would_do"):
        print("a running guard would:")
        for change in status["would_do"]:
            print(f"  {change}")
    for warning in status["warnings"]:
        print(f"warning: {warning}")
    if status.get("last_reaction_ms") is not None:
        print(f"last reaction: {status['last_reaction_ms']:.1f} ms; hub endpoint re-set "
              f"{status['endpoint_resets']} time(s)")
    return EXIT_OK


def describe_proof(proof: dict, now: float, running: bool = True) -> str:
    """One line per active check: `ssh 172.20.10.5:22 via lan0: failed (Connection refused),
    attempt 2, next try in 4 s`. `now`: wall clock (the status file holds wall-clock times)."""
    host = f"[{proof['host']}]" if ":" in proof["host"] else proof["host"]
    line = f"{proof['kind']} {host}:{proof['port']} via {proof['dev']}: "
    result = proof["result"]
    if result == "unchecked":
        return line + ("checking" if running else "not checked (only a running guard checks)")
    line += {"proven": "proven", "wrong": "WRONG key", "failed": "failed"}.get(result, result)
    if proof.get("error"):
        line += f" ({proof['error']})"
    line += f", attempt {proof['attempt']}"
    if proof.get("next_try") is not None:
        left = proof["next_try"] - now
        line += f", next try in {left:.0f} s" if left >= 0.5 else ", checking again now"
    return line


def run_learn(args) -> int:
    from netdwg.guard.configfile import load_guard_config
    from netdwg.guard.learned import add_learned, fingerprint_of_link, load_learned, save_learned
    from netdwg.guard.policy import identify

    config = load_guard_config(args.config)
    site = config.site(args.site)
    if site is None:
        raise ConfigError(f"no site {args.site!r} in {args.config}",
                          fix="known sites: " + (", ".join(s.name for s in config.sites) or "(none)"))
    observed = _observe(config, site)
    view, _, _ = identify(config, site, (), observed, time.monotonic())
    if not view.dev:
        raise ConfigError(f"no interface is on {site.name}'s LAN {site.lan} now",
                          fix=f"connect to the {site.name} office network first, then run this again")
    fp = fingerprint_of_link(observed, view.dev)
    if fp.is_empty():
        raise ConfigError(f"{view.dev} is on {site.lan} but shows nothing to recognise it by "
                          "(no DHCP lease, no router)",
                          fix="declare the fingerprint in the topology (router_mac, dhcp_server) instead")
    try:
        digest = save_learned(args.learned, add_learned(load_learned(args.learned), site.name, fp))
    except PermissionError:
        raise NotPermittedError(f"cannot write {args.learned}", fix="run as root") from None
    pid, told, news = _tell_running_guard(args.status, args.learned, digest)
    trust = _what_trusts(site)
    if args.json:
        from netdwg.guard.learned import fingerprint_to_json

        print(json.dumps({"site": site.name, "dev": view.dev, "fingerprint": fingerprint_to_json(fp),
                          "file": str(args.learned), "guard_pid": pid, "guard_reloaded": told,
                          "guard": news, "trust": trust}))
    else:
        print(f"learned {site.name} on {view.dev}: {fp.describe()} (in {args.learned})")
        print(news)
        print(trust)
    return EXIT_OK if told or pid is None else EXIT_WARNINGS


RELOAD_WAIT = 5.0  # seconds a running guard gets to show it re-read the learned file


def _tell_running_guard(status: Path, learned: Path, digest: str) -> tuple[int | None, bool, str]:
    """SIGHUP the running guard and wait until its status file shows it read these very bytes
    (the SHA-256 of what was written, from the file learn wrote). (pid, confirmed, what to say)."""
    pid = _guard_pid(status)
    if pid is None:
        return None, False, "no running guard to tell; it reads this file when it starts"

    def reads() -> dict:
        try:
            return json.loads(status.read_text()).get("learned") or {}
        except (OSError, ValueError, AttributeError):
            return {}

    path = reads().get("path")
    if path and os.path.realpath(path) != os.path.realpath(learned):
        return pid, False, (f"the running guard (pid {pid}) reads {path}, not {learned}: it does not see this "
                            f"fingerprint; run 'netdwg guard learn' again with --learned {path}")
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + RELOAD_WAIT
    while time.monotonic() < deadline:
        seen = reads()
        if seen.get("sha256") == digest:
            return pid, True, f"the running guard (pid {pid}) re-read it"
        time.sleep(0.05)
    error = reads().get("error")
    return pid, False, (f"the running guard (pid {pid}) did not confirm re-reading it within {RELOAD_WAIT:g} s"
                        + (f" ({error})" if error else "") +
                        " and goes on without it: restart it (systemctl restart netdwg-guard)")


def _what_trusts(site) -> str:
    """What this fingerprint does for the site: passive facts never replace a proof."""
    from netdwg.guard.policy import passive_trusts

    if site.fingerprint.has_proof():
        return f"the guard trusts {site.name} when these facts match and its declared proof answers"
    if passive_trusts(site):
        return f"{site.name} has trust = passive: these facts alone make the guard trust a LAN that shows them"
    return (f"note: {site.name} declares no proof, so these facts alone do not make the guard trust it (a café "
            "can copy them): add ssh_host_key (or tls_pin) to the site in the topology, or trust = passive")


def run_daemon(args) -> int:
    from netdwg.guard.daemon import run_guard

    return run_guard(args)
