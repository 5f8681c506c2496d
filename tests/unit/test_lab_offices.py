"""The lab's office hosts: which a site's ssh_host_key names, and the topology text with the lab's
key pinned instead (everything else byte for byte)."""

from __future__ import annotations

import ipaddress

from netdwg.lab.offices import OfficeHost, generate_host_key, known_hosts_line, office_hosts, pin_lab_keys
from netdwg.topology import parse_topology

TEXT = """[network]
name = t
pool = 10.70.0.0/16
[hosts]
  [[z]]
  role = hub
  endpoint = 198.51.100.70:51820
  address = 10.70.0.1
  [[a]]
  role = site
  address = 10.70.0.2
  lan = 192.168.201.0/24
  lan_address = 192.168.201.247   # the gateway
    ssh_host_key = "[192.168.201.20]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH/eq3tUp6rryBVjdBxTS8KbAYVJWGPcSRI4YF4YRN/9"
  [[e]]
  role = roaming
  address = 10.70.0.4
  guard = yes
"""


def test_the_office_host_a_proof_names_and_the_lab_key_pinned_in_its_place():
    (office,) = office_hosts(parse_topology(TEXT))
    assert office == OfficeHost("a", ipaddress.ip_address("192.168.201.20"), 2222)
    key = generate_host_key()
    assert key.private_openssh.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    line = known_hosts_line(office, key)
    assert line.startswith("[192.168.201.20]:2222 ssh-ed25519 ")
    pinned = pin_lab_keys(TEXT, {"a": line})
    changed = [(old, new) for old, new in zip(TEXT.splitlines(), pinned.splitlines()) if old != new]
    assert changed == [(TEXT.splitlines()[13], f'    ssh_host_key = "{line}"')]
    assert parse_topology(pinned).host("a").lans[0].fingerprint.ssh_host_key == line


def test_a_topology_without_proofs_has_no_office_hosts_and_stays_as_it_is():
    text = TEXT.replace(TEXT.splitlines()[13] + "\n", "")
    assert office_hosts(parse_topology(text)) == ()
    assert pin_lab_keys(text, {}) == text
