"""The fleet on Ansible (ansible/playbooks/site.yml) in the lab, beside a bare playbook, for 20 / 50 / 100 hosts.

For each size: `lab up --ssh` (hosts unconfigured, sshd on management links), then in the controller's
namespace site.yml's first rollout and its no-change rerun, then bench/bare_playbook.yml (copy a
pre-rendered file, `wg syncconf`: the floor Ansible's transport allows) twice. Each first run starts with
no SSH connection (its own ControlPath directory), each rerun reuses its first run's connections, so both
playbooks pay the same for SSH. Wall time and per-host time of each, side by side, with the machine's load
(`uptime`) before and after each size. forks = 20, site.yml's default serial (a quarter of the hosts, at most forks).
Targets (issue 17): 100 hosts first rollout <= 2 min, rerun <= 1 min, both <= 1.5x the bare playbook.
Needs root and ansible-core (the test extra).
Run: .venv/bin/python bench/bench_fleet.py [SIZES...]   (default 20 50 100)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netdwg.lab.fleet import fleet_of, write_ansible_dir
from netdwg.lab.state import destroy_labs, find_lab
from netdwg.lab.up import bring_up

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def synthetic(n_hosts: int) -> str:
    """A hub, a site with a LAN for every third host, laptops for the rest (networkd; lint-clean)."""
    lines = ["[network]", f"name = fleet{n_hosts}", "pool = 10.99.0.0/16", "[hosts]",
             "  [[hub]]", "  role = hub", "  endpoint = 198.51.100.10:51820", "  address = 10.99.0.1"]
    for i in range(1, n_hosts):
        if i % 3 == 1:
            lines += [f"  [[site{i}]]", "  role = site", f"  address = 10.99.1.{i}", f"  lan = 172.16.{i}.0/24",
                      f"  lan_address = 172.16.{i}.2", "  return_path = static-route"]
        else:
            lines += [f"  [[laptop{i}]]", "  role = roaming", f"  address = 10.99.2.{i}"]
    return "\n".join(lines) + "\n"


def _playbook(fleet: dict, home: Path, playbook: Path, connections: str, *extra: str) -> float:
    env = dict(os.environ, ANSIBLE_CONFIG=str(home / "ansible.cfg"), PYTHONWARNINGS="ignore",
               ANSIBLE_SSH_CONTROL_PATH_DIR=str(home / "ansible" / connections))
    argv = ["ip", "netns", "exec", fleet["controller"], str(BIN / "ansible-playbook"), "-i", "fleet.netdwg.yml",
            "-i", "mgmt.yml", str(playbook), "-e", f"netdwg_topology={home / 'netdwg.conf'}",
            "-e", f"netdwg_command={BIN / 'netdwg'}", "-e", f"netdwg_controller_command={BIN / 'netdwg'}", *extra]
    t0 = time.monotonic()
    res = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=home, timeout=3600)
    if res.returncode != 0:
        raise SystemExit(f"{playbook.name} failed:\n{res.stdout[-3000:]}{res.stderr[-2000:]}")
    return time.monotonic() - t0


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _bare_files(topology_text: str, out: Path) -> None:
    """The same network rendered as wg-quick files with a full store (what a bare role ships)."""
    text = topology_text.replace("  role = ", "  backend = wg-quick\n  role = ")
    conf = out / "bare.conf"
    conf.write_text(text)
    subprocess.run([str(BIN / "netdwg"), "render", "--topology", str(conf), "--out", str(out / "rendered")],
                   check=True, capture_output=True)


def main(sizes: list[int]) -> int:
    if os.geteuid() != 0:
        print("bench_fleet: needs root (network namespaces); skipped")
        return 0
    if not (BIN / "ansible-playbook").exists():
        print("bench_fleet: ansible-core is not installed (pip install '.[test]'); skipped")
        return 0
    print(f"forks 20, site.yml's default serial; {_uptime()}", flush=True)
    print(f"{'hosts':>5}  {'lab up':>6}  {'site first':>10}  {'site rerun':>10}  {'bare first':>10}  {'bare rerun':>10}  "
          f"{'per host first / rerun (s)':>26}  {'x bare first / rerun':>20}", flush=True)
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            state = tmp / "state"
            topology = tmp / "netdwg.conf"
            text = synthetic(n)
            topology.write_text(text)
            try:
                t0 = time.monotonic()
                bring_up(topology, state_dir=state, ssh=True)
                up = time.monotonic() - t0
                fleet = fleet_of(find_lab(state))
                home = tmp / "controller"
                write_ansible_dir(fleet, home, REPO / "ansible")
                shutil.copy(topology, home / "netdwg.conf")
                _bare_files(text, tmp)
                before = _uptime()
                site = REPO / "ansible" / "playbooks" / "site.yml"
                first = _playbook(fleet, home, site, "cp-site")
                rerun = _playbook(fleet, home, site, "cp-site")
                bare = REPO / "bench" / "bare_playbook.yml"
                bare_first = _playbook(fleet, home, bare, "cp-bare", "-e", f"bare_dir={tmp / 'rendered'}")
                bare_rerun = _playbook(fleet, home, bare, "cp-bare", "-e", f"bare_dir={tmp / 'rendered'}")
                after = _uptime()
            finally:
                destroy_labs(state)
            print(f"{n:>5}  {up:>6.1f}  {first:>10.1f}  {rerun:>10.1f}  {bare_first:>10.1f}  {bare_rerun:>10.1f}  "
                  f"{first / n:>12.2f} / {rerun / n:>11.2f}  {first / bare_first:>9.2f} / {rerun / bare_rerun:>8.2f}",
                  flush=True)
            print(f"       load before: {before}\n       load after:  {after}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main([int(a) for a in sys.argv[1:]] or [20, 50, 100]))
