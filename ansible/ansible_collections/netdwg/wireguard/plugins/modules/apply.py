#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netdwg developers
# MIT License (see LICENSE in the netdwg repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: apply
short_description: Make a host match its part of a netdwg topology (netdwg plan / netdwg apply)
description:
  - Runs C(netdwg apply) on the managed host for its part of the topology bundle (the topology file and
    the host's own secrets store as C(netdwg keys export) writes it - PSKs of the host's own pairs and public
    keys; a host that keeps its own key has no private key in it).
  - The bundle comes with the task (O(topology_content), O(secrets_content)) and is written where
    O(topology) says when it differs, so pushing it, planning and applying take one connection to the host;
    without them the module uses the files already there. A plan that is empty changes nothing (the check
    comes first - a no-change run writes nothing and runs one C(netdwg apply) that finds nothing to do).
  - In check mode runs C(netdwg plan) instead and changes nothing; a bundle given with the task is planned
    from the module's temporary directory, never written.
  - C(changed) only when the plan is not empty. With C(--diff) the file diffs netdwg shows are returned,
    with every key redacted by netdwg (shown as C((hidden))).
  - WireGuard peers are changed live with C(wg syncconf) semantics, so the host's other sessions stay.
  - A failure returns netdwg's diagnostics (error, fix, file, line, the list of diagnostics) as data.
version_added: "0.1.0"
author:
  - netdwg developers (!UNKNOWN)
options:
  host:
    description: The host's name in the topology (netdwg's default is the short host name).
    type: str
  topology:
    description: The topology file on the host; its secrets store is beside it (C(<stem>.secrets)).
    type: path
    default: /etc/netdwg/netdwg.conf
  topology_content:
    description:
      - The topology the host should have. Written to O(topology) (0644 root) when it differs, atomically
        and before anything is planned. The topology holds no secret.
    type: str
  secrets_content:
    description:
      - The host's own secrets store (C(netdwg keys export --out-dir) writes one per host). Written beside
        O(topology) as C(<stem>.secrets), 0600 root from its first byte, when it differs. Never logged,
        never returned, never shown in a diff. A topology that names another store
        (C([network] secrets =)) is not supported with this option.
    type: str
  ping:
    description:
      - Addresses (the hub's tunnel address, say) that must answer a ping within O(wait) seconds after a
        change is applied; the task fails otherwise (the change stays, and the play's C(max_fail_percentage)
        stops the rollout). Not used when nothing changed, nor in check mode.
    type: list
    elements: str
    default: []
  confirm:
    description:
      - Apply with C(netdwg apply --confirm SECONDS) in the background and return once the change is made
        and waiting; C(pending) is then true. Run this module again with O(confirm_pending=true) to keep the
        change. If that task cannot reach the host (a broken tunnel, a lost route), netdwg reverts the
        change by itself after SECONDS.
    type: int
  confirm_pending:
    description: Confirm the change an earlier O(confirm) run left waiting; fails if it was reverted.
    type: bool
    default: false
  wait:
    description: How long netdwg waits for networkd to configure links (C(apply --wait)).
    type: int
    default: 30
  state_dir:
    description: netdwg's state directory on the host.
    type: path
    default: /var/lib/netdwg
  netdwg:
    description: The netdwg command on the host (a name on PATH or a path).
    type: str
    default: netdwg
notes:
  - Supports check mode (C(netdwg plan)) and diff mode.
seealso:
  - module: netdwg.wireguard.key
"""

EXAMPLES = r"""
- name: Apply the topology on each host (the bundle already there)
  netdwg.wireguard.apply:
    host: "{{ inventory_hostname }}"

- name: Push the bundle and apply it in one task, then reach the hub through the tunnel
  netdwg.wireguard.apply:
    host: "{{ inventory_hostname }}"
    topology_content: "{{ lookup('ansible.builtin.file', 'netdwg.conf', rstrip=false) }}"
    secrets_content: "{{ lookup('ansible.builtin.file', 'exports/' ~ inventory_hostname ~ '.secrets', rstrip=false) }}"
    ping: ["{{ hostvars['hub'].netdwg_address }}"]

- name: Hubs first, reverted unless confirmed within 120 s
  netdwg.wireguard.apply:
    host: "{{ inventory_hostname }}"
    confirm: 120
  register: hub_apply

- name: Still reachable after the change, keep it
  netdwg.wireguard.apply:
    confirm_pending: true
  when: hub_apply.pending | default(false)
"""

RETURN = r"""
plan:
  description: The plan as C(netdwg plan --json) prints it (keys shown as C((hidden))).
  returned: success
  type: dict
  contains:
    empty:
      description: Nothing to do.
      type: bool
    steps:
      description: One line per step netdwg executes.
      type: list
      elements: str
applied:
  description: Whether the change was applied and kept.
  returned: success, outside check mode
  type: bool
pending:
  description: An O(confirm) change is applied and waits for O(confirm_pending).
  returned: success
  type: bool
bundle_written:
  description: The bundle files this run wrote (those that differed); C(changed) still follows the plan.
  returned: success
  type: list
  elements: str
rc:
  description: netdwg's exit code (2 bad input or failed and rolled back, 77 not root, 70 a bug in netdwg).
  returned: failure
  type: int
error:
  description: netdwg's error message.
  returned: failure
  type: str
fix:
  description: What netdwg says to do about it.
  returned: failure
  type: str
diagnostics:
  description: Every diagnostic netdwg reported (file, line, code, message, fix).
  returned: failure
  type: list
  elements: dict
"""

import json
import os
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netdwg.wireguard.plugins.module_utils.netdwg_cli import (
    fail_with_diagnostics, netdwg_argv, run_json,
)

# Where a backgrounded `apply --confirm` writes its output, in netdwg's state directory (no secrets:
# netdwg hides every key).
CONFIRM_OUTPUT = "ansible-confirm.json"
RECORD = "pending-confirmation"


def _diff(plan):
    return [{"before_header": f["path"], "after_header": f["path"], "prepared": f["diff"]}
            for f in plan.get("files", []) if f.get("diff")]


def _target(module, topology=None):
    argv = ["--topology", topology or module.params["topology"], "--state-dir", module.params["state_dir"]]
    if module.params["host"]:
        argv += ["--host", module.params["host"]]
    return argv


def _bundle(module, topology):
    """(path, text, mode) of each bundle file given with the task, for the topology at `topology`."""
    stem = os.path.splitext(topology)[0]
    files = []
    if module.params["topology_content"] is not None:
        files.append((topology, module.params["topology_content"], 0o644))
    if module.params["secrets_content"] is not None:
        files.append((stem + ".secrets", module.params["secrets_content"], 0o600))
    return files


def _same(path, data, mode):
    try:
        st = os.stat(path)
        with open(path, "rb") as current:
            return current.read() == data and st.st_mode & 0o7777 == mode and st.st_uid == os.getuid()
    except (IOError, OSError):
        return False


def write_bundle(path, text, mode):
    """Replace `path` with `text` unless it already holds it; True when written.

    This takes the place of an ansible.builtin.copy task (one connection instead of three per file) and
    does what it does on the host: a temporary file beside the target, then rename. The temporary file is
    made 0600 (mkstemp) and given its final mode before its first byte, so the store is never readable by
    others; AnsibleModule.atomic_move is not used because it gives a new file the umask's mode.
    """
    data = text.encode("utf-8")
    if _same(path, data, mode):
        return False
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return True


def ping_all(module, addresses):
    """Every address answers a ping within `wait` seconds, or the task fails naming the silent ones."""
    ping = module.get_bin_path("ping", required=True)
    deadline = time.time() + module.params["wait"]
    silent = list(addresses)
    while silent:
        silent = [a for a in silent if module.run_command([ping, "-c1", "-W1", a])[0] != 0]
        if not silent or time.time() > deadline:
            break
        time.sleep(0.2)
    return silent


def _read_output(module):
    try:
        with open(os.path.join(module.params["state_dir"], CONFIRM_OUTPUT)) as out:
            text = out.read()
    except (IOError, OSError):
        return None, ""
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                return json.loads(line), text
            except ValueError:
                pass
    return None, text


def apply_with_confirm(module, netdwg, written):
    seconds = module.params["confirm"]
    confirm_file = os.path.join(module.params["state_dir"], "confirm")
    if not os.path.isdir(module.params["state_dir"]):
        os.makedirs(module.params["state_dir"], 0o700)
    fd = os.open(os.path.join(module.params["state_dir"], CONFIRM_OUTPUT), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        # Not module.run_command: the process must outlive this module, waiting for confirm_pending, which a
        # later task runs over a new connection (tests/sanity/ignore-*.txt says so to ansible-test).
        proc = subprocess.Popen(netdwg + ["apply"] + _target(module) + ["--confirm", str(seconds), "--json",
                                "--wait", str(module.params["wait"])],
                                stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, start_new_session=True)
    finally:
        os.close(fd)
    deadline = time.time() + module.params["wait"] + 120
    while time.time() < deadline:
        rc = proc.poll()
        data, text = _read_output(module)
        if rc is not None:
            if rc != 0:
                fail_with_diagnostics(module, "netdwg apply --confirm", rc, data or {}, text)
            plan = (data or {}).get("plan", {})
            module.exit_json(changed=not plan.get("empty", True), plan=plan, applied=bool((data or {}).get("applied")),
                             pending=False, diff=_diff(plan), bundle_written=written)
        if confirm_file in text:  # netdwg announced the wait: the change is in place
            module.exit_json(changed=True, pending=True, applied=False, pid=proc.pid, bundle_written=written)
        time.sleep(0.1)
    module.fail_json(msg="netdwg apply --confirm did not reach its confirmation wait in time", rc=-1)


def confirm(module):
    state_dir = module.params["state_dir"]
    record = os.path.join(state_dir, RECORD)
    if not os.path.exists(record):
        data, text = _read_output(module)
        if data is not None and data.get("reverted"):
            module.fail_json(msg="the change was reverted before it was confirmed", rc=2, plan=data.get("plan"))
        module.exit_json(changed=False, pending=False)
    if module.check_mode:
        module.exit_json(changed=True, pending=True)
    with open(os.path.join(state_dir, "confirm"), "w"):
        pass
    deadline = time.time() + 60
    while time.time() < deadline:
        data, text = _read_output(module)
        if not os.path.exists(record) and data is not None:
            if data.get("reverted"):
                module.fail_json(msg="the change was reverted before it was confirmed", rc=2, plan=data.get("plan"))
            module.exit_json(changed=True, pending=False, applied=True, plan=data.get("plan"))
        time.sleep(0.1)
    module.fail_json(msg="netdwg apply --confirm did not take the confirmation within 60 s", rc=-1)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type="str"),
            topology=dict(type="path", default="/etc/netdwg/netdwg.conf"),
            topology_content=dict(type="str"),
            secrets_content=dict(type="str", no_log=True),
            ping=dict(type="list", elements="str", default=[]),
            confirm=dict(type="int"),
            confirm_pending=dict(type="bool", default=False),
            wait=dict(type="int", default=30),
            state_dir=dict(type="path", default="/var/lib/netdwg"),
            netdwg=dict(type="str", default="netdwg"),
        ),
        mutually_exclusive=[("confirm", "confirm_pending")],
        supports_check_mode=True,
    )
    if module.params["confirm_pending"]:
        confirm(module)
    netdwg = netdwg_argv(module)
    if module.check_mode:
        # The bundle of a check run goes to the module's own temporary directory (removed when it ends):
        # the plan compares it with what the host has, and nothing of the host is written.
        topology = module.params["topology"]
        if module.params["topology_content"] is not None or module.params["secrets_content"] is not None:
            staged = os.path.join(module.tmpdir, os.path.basename(topology))
            for path, text, mode in _bundle(module, staged):
                write_bundle(path, text, mode)
            if module.params["topology_content"] is None:  # only the store given: the host's topology beside it
                with open(topology) as current:
                    write_bundle(staged, current.read(), 0o644)
            topology = staged
        rc, data, err = run_json(module, netdwg + ["plan"] + _target(module, topology) + ["--json"])
        if rc not in (0, 1):  # rc 1: changes pending, which Ansible would take for a failure
            fail_with_diagnostics(module, "netdwg plan", rc, data, err)
        module.exit_json(changed=not data.get("empty", rc == 0), plan=data, pending=False, diff=_diff(data),
                         bundle_written=[])
    written = [path for path, text, mode in _bundle(module, module.params["topology"]) if write_bundle(path, text, mode)]
    if module.params["confirm"] is not None:
        apply_with_confirm(module, netdwg, written)
    rc, result, err = run_json(module, netdwg + ["apply"] + _target(module) + ["--json", "--wait",
                                                                               str(module.params["wait"])])
    if rc != 0:
        fail_with_diagnostics(module, "netdwg apply", rc, result, err, bundle_written=written)
    plan = result.get("plan", {})
    changed = not plan.get("empty", False)
    silent = ping_all(module, module.params["ping"]) if changed else []
    if silent:
        module.fail_json(msg="applied, but no answer from %s within %d s" % (", ".join(silent), module.params["wait"]),
                         rc=-1, plan=plan, applied=True, silent=silent, bundle_written=written)
    module.exit_json(changed=changed, plan=plan, applied=bool(result.get("applied")), pending=False,
                     diff=_diff(plan), bundle_written=written)


if __name__ == "__main__":
    main()
