"""The SSH host-key proof against a real OpenSSH sshd, every host key type it serves."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import subprocess
import sys

import pytest

from netdwg.lab.sandbox import wait_until
from netdwg.topology.guard_config import SshHostKey

pytestmark = pytest.mark.root
ADDRESS = ipaddress.ip_address("192.0.2.22")
TYPES = {"ed25519": "ssh-ed25519", "ecdsa": "ecdsa-sha2-nistp256", "rsa": "ssh-rsa"}

PROBE = """
import asyncio, ipaddress, json, sys
from netdwg.guard.sshkey import fetch_ssh_host_key_sha256
async def main():
    out = {}
    for key_type, port in json.loads(sys.argv[1]):
        try:
            out[f"{key_type}:{port}"] = await fetch_ssh_host_key_sha256("eth0", ipaddress.ip_address("192.0.2.22"),
                                                                       port, key_type, timeout=2.0)
        except Exception as err:
            out[f"{key_type}:{port}"] = f"ERROR {type(err).__name__}: {err}"
    print(json.dumps(out))
asyncio.run(main())
"""


@pytest.fixture
def sshd(sandbox):
    if not os.path.exists("/usr/sbin/sshd"):
        pytest.skip("openssh-server is not installed (make deps)")
    server, client = sandbox.netns("srv"), sandbox.netns("cli")
    sandbox.veth(server, "eth0", client, "eth0")
    server.run(["ip", "addr", "add", f"{ADDRESS}/24", "dev", "eth0"])
    client.run(["ip", "addr", "add", "192.0.2.23/24", "dev", "eth0"])
    pins, args = {}, []
    for name, key_type in TYPES.items():
        path = sandbox.rundir / f"ssh_host_{name}_key"
        subprocess.run(["ssh-keygen", "-q", "-t", name, "-N", "", "-f", str(path)], check=True)
        pins[key_type] = SshHostKey.parse(f"{ADDRESS} {path.with_suffix('.pub').read_text()}")
        args += ["-h", str(path)]
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    sandbox.spawn(server, ["/usr/sbin/sshd", "-D", "-e", "-f", "/dev/null", *args, "-o", f"ListenAddress={ADDRESS}",
                           "-o", "PidFile=none"], name="sshd")
    log = sandbox.rundir / f"{server.name}-sshd.log"
    wait_until(lambda: log.exists() and "Server listening" in log.read_text(errors="replace"), timeout=10,
               what="sshd")
    return client, pins


def probe(client, *targets) -> dict:
    import json

    res = client.run([sys.executable, "-c", PROBE, json.dumps(targets)],
                     env={"PYTHONPATH": str(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))})
    return json.loads(res.stdout)


def test_sshd_proves_each_of_its_host_keys(sshd):
    client, pins = sshd
    got = probe(client, *[(t, 22) for t in TYPES.values()], ("ssh-ed25519", 2222))
    for key_type, pin in pins.items():
        assert got[f"{key_type}:22"] == pin.sha256, got  # the key ssh-keyscan would show, and proven
    assert len({pin.sha256 for pin in pins.values()}) == 3
    assert got["ssh-ed25519:2222"].startswith("ERROR ConnectionRefusedError"), got  # no sshd there: no proof
