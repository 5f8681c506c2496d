"""``netdwg lab up --ssh``: lab hosts left for a fleet tool to configure, reachable over SSH.

Each host node gets an out-of-band management link (``mgmt0``, a veth into the
controller's namespace, where a bridge with no forwarding joins them: hosts
reach the controller, never each other through it) and sshd listening on its
management address inside the node, so a session sees the node's own /etc,
/run and devices. Hosts behind NAT are reachable too, as a real fleet's
management network makes them. The controller namespace (``ctl``) holds the
SSH client key and a known_hosts file pinning every host key; run Ansible in
it: ``ip netns exec LAB-ctl ansible-playbook ...`` (``netdwg lab fleet``
prints the paths). Nothing is configured on the hosts: that is the fleet
tool's job (ansible/playbooks/site.yml).
"""

from __future__ import annotations

import os
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path

from netdwg.host.files import Tree
from netdwg.lab.offices import SSHD, generate_host_key
from netdwg.lab.sandbox import wait_until
from netdwg.lab.state import Lab, LabError

CONTROLLER = "ctl"
MGMT = IPv4Network("172.31.255.0/24")  # private, and refused when the topology uses any of it
MGMT_BRIDGE_MAC = "02:6e:64:ff:00:01"


def mgmt_address(index: int) -> IPv4Interface:
    return IPv4Interface(f"{MGMT[10 + index]}/{MGMT.prefixlen}")


def check_fleet_fits(lab: Lab) -> None:
    """The management network must not overlap anything the topology routes, nor a host be named ctl."""
    if lab.topology.has_host(CONTROLLER):
        raise LabError(f"a host is named '{CONTROLLER}', the lab's controller namespace",
                       fix="rename the host for the lab, or bring the lab up without --ssh")
    if len(lab.world.hosts) > 240:
        raise LabError("more than 240 hosts: the management network is a /24", fix="use fewer hosts")
    prefixes = [*lab.topology.network.pool, *(lan.prefix for h in lab.topology.hosts for lan in h.lans)]
    for prefix in prefixes:
        if prefix is not None and prefix.version == 4 and prefix.overlaps(MGMT):
            raise LabError(f"{prefix} overlaps the lab's management network {MGMT}",
                           fix="use other addresses in the topology for the lab")


def start_fleet(lab: Lab) -> dict:
    """The controller namespace, management links and sshd on every host; returns what the record keeps."""
    sb = lab.sandbox
    ctl = sb.netns(CONTROLLER)
    ctl.run(["sh", "-ec", f"ip link add mgmt address {MGMT_BRIDGE_MAC} type bridge\n"
                          f"ip addr add {MGMT[1]}/{MGMT.prefixlen} dev mgmt\nip link set mgmt up"])
    keys = Path(sb.rundir) / "fleet"
    client = generate_host_key()  # an ed25519 key in OpenSSH format serves as the client key too
    Tree(keys).write("id_ed25519", client.private_openssh, 0o600)
    Tree(keys).write("authorized_keys", (client.public_line + "\n").encode(), 0o600)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    hosts, known = {}, []
    for index, box in enumerate(lab.world.hosts):
        node = lab.node(box.name)
        address = mgmt_address(index)
        sb.veth(ctl, f"m{index}", node.netns, "mgmt0", up=False)
        ctl.run(["sh", "-ec", f"ip link set m{index} master mgmt\nip link set m{index} up"])
        node.run(["sh", "-ec", f"ip addr add {address} dev mgmt0\nip link set mgmt0 up"])
        host_key = generate_host_key()
        Tree(keys).write(f"{box.name}.host_key", host_key.private_openssh, 0o600)
        node.spawn([SSHD, "-D", "-e", "-f", "/dev/null", "-h", str(keys / f"{box.name}.host_key"),
                    "-o", f"ListenAddress={address.ip}", "-o", "PidFile=none",
                    "-o", f"AuthorizedKeysFile={keys / 'authorized_keys'}", "-o", "StrictModes=no",
                    "-o", "PermitRootLogin=prohibit-password", "-o", "Subsystem=sftp internal-sftp"], name="sshd")
        hosts[box.name] = str(address.ip)
        known.append(f"{address.ip} {host_key.public_line}")
    Tree(keys).write("known_hosts", ("\n".join(known) + "\n").encode(), 0o644)
    for box in lab.world.hosts:
        log = lab.node(box.name).rundir / "sshd.log"
        wait_until(lambda: log.exists() and "Server listening" in log.read_text(errors="replace"), 15,
                   what=f"sshd on {box.name}")
    return {"controller": ctl.name, "hosts": hosts, "ssh_key": str(keys / "id_ed25519"),
            "known_hosts": str(keys / "known_hosts")}


def fleet_of(lab: Lab) -> dict:
    fleet = lab.sandbox.record.extra.get("fleet")
    if not fleet:
        raise LabError("this lab was brought up without --ssh", fix="netdwg lab down; netdwg lab up --ssh TOPOLOGY")
    return fleet


def ansible_files(fleet: dict, home: Path, collections: Path) -> dict[str, str]:
    """An Ansible controller directory for the lab's fleet: ansible.cfg (Ansible's state kept under
    `home`, host keys pinned by the lab's known_hosts), the management addresses as an inventory
    (mgmt.yml), and the topology inventory source (fleet.netdwg.yml, reading HOME/netdwg.conf)."""
    cfg = f"""# The lab's fleet ({fleet['controller']}): run ansible-playbook in that namespace.
[defaults]
home = {home}/ansible
local_tmp = {home}/ansible/tmp
remote_tmp = /tmp/.ansible-netdwg-fleet
collections_path = {collections}
interpreter_python = /usr/bin/python3
gathering = explicit
forks = 20
remote_user = root
private_key_file = {fleet['ssh_key']}
log_path = {home}/ansible/ansible.log

[ssh_connection]
pipelining = True
control_path_dir = {home}/ansible/cp
ssh_args = -o ControlMaster=auto -o ControlPersist=120s -o UserKnownHostsFile={fleet['known_hosts']} -o StrictHostKeyChecking=yes -o BatchMode=yes
"""
    mgmt = "all:\n  hosts:\n" + "".join(f"    {host}:\n      ansible_host: {address}\n"
                                         for host, address in fleet["hosts"].items())
    return {"ansible.cfg": cfg, "mgmt.yml": mgmt,
            "fleet.netdwg.yml": "plugin: netdwg.wireguard.topology\ntopology: netdwg.conf\n"}


def write_ansible_dir(fleet: dict, home: Path, collections: Path) -> None:
    """`ansible_files` written into `home` (0700), through netdwg's one writer."""
    tree = Tree(home, dir_mode=0o700)
    for name, text in ansible_files(fleet, home, collections).items():
        tree.write(name, text.encode(), 0o644)
    os.makedirs(home / "ansible", mode=0o700, exist_ok=True)
    os.chmod(home, 0o700)
