"""The lab's office hosts: which a site's ssh_host_key names, and the topology text with the lab's
key pinned instead (everything else byte for byte)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from netdwg.lab.offices import OfficeHost, generate_host_key, known_hosts_line, office_hosts, pin_lab_keys
from netdwg.topology import parse_topology

OFFICES = (Path(__file__).resolve().parents[2] / "examples" / "1-offices.conf").read_text()
# The same office host on another port (a known_hosts line "[HOST]:PORT KEYTYPE BASE64").
TEXT = OFFICES.replace('ssh_host_key = "192.168.201.20 ', 'ssh_host_key = "[192.168.201.20]:2222 ')


def test_the_office_host_a_proof_names_and_the_lab_key_pinned_in_its_place():
    assert TEXT != OFFICES
    (office,) = office_hosts(parse_topology(TEXT))
    assert office == OfficeHost("a", ipaddress.ip_address("192.168.201.20"), 2222)
    key = generate_host_key()
    assert key.private_openssh.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    line = known_hosts_line(office, key)
    assert line.startswith("[192.168.201.20]:2222 ssh-ed25519 ")
    pinned = pin_lab_keys(TEXT, {"a": line})
    changed = [(old, new) for old, new in zip(TEXT.splitlines(), pinned.splitlines()) if old != new]
    assert len(changed) == 1 and changed[0][1] == f'  ssh_host_key = "{line}"'
    assert len(pinned.splitlines()) == len(TEXT.splitlines())
    assert parse_topology(pinned).host("a").lans[0].fingerprint.ssh_host_key == line


def test_a_topology_without_proofs_has_no_office_hosts_and_stays_as_it_is():
    text = "".join(line for line in TEXT.splitlines(keepends=True) if "ssh_host_key =" not in line)
    assert office_hosts(parse_topology(text)) == ()
    assert pin_lab_keys(text, {}) == text
