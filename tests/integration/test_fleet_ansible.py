"""The fleet on Ansible, in the lab: `netdwg lab up --ssh` leaves every host unconfigured with sshd on a
management link, and ansible-playbook (in the controller's namespace, with the collection from ansible/)
rolls the topology out with site.yml, from scratch, with each host making its own private key.

Proven here: `lab check` passes after the rollout; a second run changes nothing (changed=0 on every host);
adding a laptop changes only it, its hub and the sites whose firewall admits it; rotate.yml on a laptop changes only it and the hub, and
every other peer of the hub keeps its session (handshake not older, counters not reset); no private key of
any host appears in any file on the controller, in any module result or in the Ansible log.

Ten hosts (a hub, three sites with LANs, six laptops; networkd) and an eleventh laptop added later. Each
host is one connection per run for push + plan + apply (and one for its key on the first run), so the
suite's cost grows with the hosts' own work, not with SSH round trips.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netdwg.lab.check import expected_probes, run_probes
from netdwg.lab.fleet import fleet_of, write_ansible_dir
from netdwg.lab.state import destroy_labs, find_lab
from netdwg.lab.up import bring_up

pytestmark = [pytest.mark.root, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "ansible" / "playbooks"
TOPOLOGY = REPO / "tests" / "data" / "fleet" / "fleet.conf"
BIN = Path(sys.executable).parent
NETDWG = str(BIN / "netdwg")
# Another ansible-core's bin directory, e.g. a venv with Debian 12's 2.14 (and netdwg, for the inventory plugin).
ANSIBLE_BIN = Path(os.environ.get("NETDWG_TEST_ANSIBLE_BIN", BIN))
FIRST = ["hub", "oslo", "bergen", "tromso", "ana", "ben", "dag", "eva", "finn", "gro"]
LATE = "cy"  # in the lab from the start, added to the controller's topology later
LATE_SECTION = "  [[cy]]\n  role = roaming\n  address = 10.71.0.17\n"

if not (ANSIBLE_BIN / "ansible-playbook").exists():
    pytest.skip("ansible-core not installed (the test extra)", allow_module_level=True)


class Fleet:
    """The lab and the controller: its directory (topology, store, exports, Ansible's home and log)."""

    def __init__(self, lab, home: Path) -> None:
        self.lab = lab
        self.home = home
        self.info = fleet_of(lab)
        self.topology = home / "netdwg.conf"
        self.log = home / "ansible" / "ansible.log"
        self.outputs: list[str] = []

    def playbook(self, name: str, *extra: str, serial: str = "100%") -> "Run":
        # -v: every module result is printed (and grepped for private keys below).
        env = dict(os.environ, ANSIBLE_CONFIG=str(self.home / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   PYTHONWARNINGS="ignore")
        argv = ["ip", "netns", "exec", self.info["controller"], str(ANSIBLE_BIN / "ansible-playbook"),
                "-i", str(self.home / "fleet.netdwg.yml"), "-i", str(self.home / "mgmt.yml"),
                str(PLAYBOOKS / name), "-e", f"netdwg_topology={self.topology}", "-e", f"netdwg_command={NETDWG}",
                "-e", f"netdwg_controller_command={NETDWG}", "-e", f"netdwg_serial={serial}",
                "-e", "netdwg_confirm_seconds=60", "-v", *extra]
        res = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=self.home, timeout=900)
        self.outputs.append(res.stdout + res.stderr)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
        return Run(res.stdout)

    def adhoc(self, host: str, module: str, args: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, ANSIBLE_CONFIG=str(self.home / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   PYTHONWARNINGS="ignore")
        argv = ["ip", "netns", "exec", self.info["controller"], str(ANSIBLE_BIN / "ansible"),
                "-i", str(self.home / "fleet.netdwg.yml"), "-i", str(self.home / "mgmt.yml"),
                host, "-m", module, "-a", args]
        res = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=self.home, timeout=300)
        self.outputs.append(res.stdout + res.stderr)
        return res

    def private_keys(self) -> dict[str, str]:
        out = {}
        for host in self.lab.topology.hosts:
            path = self.lab.node(host.name).path("/etc/netdwg/keys/wg0.key")
            if path.exists():
                out[host.name] = path.read_text().strip()
        return out

    def wg_dump(self, host: str) -> dict[str, tuple[int, int, int]]:
        """peer public key -> (latest handshake, rx bytes, tx bytes)."""
        res = self.lab.node(host).run(["wg", "show", "wg0", "dump"])
        return {f[0]: (int(f[4]), int(f[5]), int(f[6])) for f in
                (line.split("\t") for line in res.stdout.splitlines()[1:])}


class Run:
    """What ansible-playbook printed: per task, each host's status; the recap's counts."""

    def __init__(self, text: str) -> None:
        self.tasks: list[tuple[str, dict[str, str]]] = []
        self.stats: dict[str, dict[str, int]] = {}
        recap = False
        for line in text.splitlines():
            task = re.match(r"TASK \[(.*)\] \*+", line)
            status = re.match(r"(ok|changed|skipping|failed|fatal): \[([^\]]+)\]", line)
            if task:
                self.tasks.append((task.group(1), {}))
            elif line.startswith("PLAY RECAP"):
                recap = True
            elif recap and ":" in line and "=" in line:
                host, counts = line.split(":", 1)
                self.stats[host.strip()] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
            elif status and self.tasks:
                self.tasks[-1][1][status.group(2)] = status.group(1)


def _apply_changed(result: Run) -> dict[str, bool]:
    """host -> changed, for every netdwg.wireguard.apply task of a playbook run."""
    out: dict[str, bool] = {}
    for name, hosts in result.tasks:
        if name.startswith("Apply"):
            for host, status in hosts.items():
                out[host] = out.get(host, False) or status == "changed"
    return out


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fleet")
    state = tmp / "lab-state"
    lab_topology = tmp / "lab.conf"
    lab_topology.write_text(TOPOLOGY.read_text() + "\n" + LATE_SECTION)
    try:
        bring_up(lab_topology, state_dir=state, ssh=True)
        lab = find_lab(state)
        home = tmp / "controller"
        write_ansible_dir(fleet_of(lab), home, REPO / "ansible")
        shutil.copy(TOPOLOGY, home / "netdwg.conf")
        yield Fleet(lab, home)
    finally:
        destroy_labs(state)


@pytest.fixture(scope="module")
def rolled_out(fleet):
    first = fleet.playbook("site.yml", serial="50%")  # the laptops and sites in two batches
    return first


def test_site_yml_rolls_out_from_scratch_and_lab_check_passes(fleet, rolled_out):
    applied = _apply_changed(rolled_out)
    assert applied == {host: True for host in FIRST}
    keys = fleet.private_keys()
    assert sorted(keys) == sorted(FIRST)
    for host in keys:  # made on the host, for networkd to read
        st = fleet.lab.node(host).path("/etc/netdwg/keys/wg0.key").stat()
        assert oct(st.st_mode & 0o777) == "0o640" and st.st_uid == 0
    probes = tuple(p for p in expected_probes(fleet.lab.topology, fleet.lab.world)
                   if LATE not in (p.src.name, p.dst.name))
    results = run_probes(fleet.lab, probes, trace=False)
    assert all(r.ok for r in results), [(r.probe.src.name, r.probe.dst.name) for r in results if not r.ok]
    text = fleet.topology.read_text()
    for host in keys:
        assert f"[[{host}]]" in text
    assert text.count("public_key = ") == len(keys)


def test_a_second_run_changes_nothing(fleet, rolled_out):
    second = fleet.playbook("site.yml")
    changed = {host: stats["changed"] for host, stats in second.stats.items()}
    assert sorted(changed) == sorted([*FIRST, "localhost"])
    assert changed == {host: 0 for host in changed}, changed
    # Nothing differs, so nothing is asked again: no key task ran (the topology records every key) and no
    # bundle file was written.
    assert all(status == "skipping" for name, hosts in second.tasks if name.startswith("The host's private key")
               for status in hosts.values())
    assert "bundle_written\": [\"" not in fleet.outputs[-1]


def test_adding_a_host_changes_only_it_its_hub_and_the_sites_it_may_reach(fleet, rolled_out):
    """The new laptop's peers change (the hub), and so do the sites whose firewall admits it (allow
    defaults to every spoke that reaches the site); the other laptops' plans are empty."""
    with fleet.topology.open("a") as f:
        f.write("\n" + LATE_SECTION)
    result = fleet.playbook("site.yml")
    applied = _apply_changed(result)
    assert {h for h, changed in applied.items() if changed} == {LATE, "hub", "oslo", "bergen", "tromso"}
    assert not any(applied[h] for h in FIRST if h not in ("hub", "oslo", "bergen", "tromso"))
    results = run_probes(fleet.lab, expected_probes(fleet.lab.topology, fleet.lab.world), trace=False)
    assert all(r.ok for r in results), [(r.probe.src.name, r.probe.dst.name) for r in results if not r.ok]


def test_rotate_yml_keeps_every_other_session(fleet, rolled_out):
    old_key = fleet.private_keys()["ana"]
    old_public = subprocess.run([NETDWG, "keys", "pubkey"], input=old_key, capture_output=True, text=True).stdout.strip()
    before = fleet.wg_dump("hub")
    result = fleet.playbook("rotate.yml", "-e", "netdwg_rotate=ana")
    after = fleet.wg_dump("hub")
    assert {h for h, changed in _apply_changed(result).items() if changed} == {"ana", "hub"}
    new_key = fleet.private_keys()["ana"]
    assert new_key != old_key
    assert old_public in before and old_public not in after
    for peer, (handshake, rx, tx) in before.items():
        if peer == old_public:
            continue
        assert after[peer][0] >= handshake and after[peer][1] >= rx and after[peer][2] >= tx, peer
    fleet.old_keys = [old_key]


def test_a_failure_carries_netdwgs_diagnostics_as_data(fleet, rolled_out):
    res = fleet.adhoc("ana", "netdwg.wireguard.apply", f"host=anna netdwg={NETDWG}")
    assert res.returncode != 0
    assert "\"error\": \"no host 'anna' in the topology\"" in res.stdout
    assert "\"fix\": \"did you mean 'ana'?" in res.stdout and "\"file\": \"/etc/netdwg/netdwg.conf\"" in res.stdout


def test_check_mode_shows_the_redacted_diff_of_a_change_and_changes_nothing(fleet, rolled_out):
    text = fleet.topology.read_text()
    fleet.topology.write_text(text.replace("keepalive = 15", "keepalive = 20"))
    try:
        before = fleet.wg_dump("ana")
        result = fleet.playbook("site.yml", "--check", "--diff", "--limit", "ana,localhost")
    finally:
        fleet.topology.write_text(text)
    assert _apply_changed(result) == {"ana": True}
    out = fleet.outputs[-1]
    assert "-PersistentKeepalive=15\n+PersistentKeepalive=20" in out.replace("\r", "") or \
        ("-PersistentKeepalive=15" in out and "+PersistentKeepalive=20" in out)
    assert "PrivateKey=" not in out and "PresharedKey=" not in out.replace("PresharedKey=(hidden)", "")
    assert fleet.lab.node("ana").path("/etc/netdwg/netdwg.conf").read_text().count("keepalive = 15") == 1
    assert fleet.wg_dump("ana").keys() == before.keys()


def test_no_private_key_on_the_controller_in_results_or_log(fleet, rolled_out):
    keys = list(fleet.private_keys().values()) + getattr(fleet, "old_keys", [])
    assert keys
    files = [p for p in fleet.home.rglob("*") if p.is_file() and not p.is_socket()]
    assert fleet.log in files and any(p.suffix == ".secrets" for p in files)
    for path in files:
        data = path.read_bytes().decode("utf-8", "replace")
        for key in keys:
            assert key not in data, f"a private key in {path}"
    for output in fleet.outputs:
        for key in keys:
            assert key not in output, "a private key in a module result"
