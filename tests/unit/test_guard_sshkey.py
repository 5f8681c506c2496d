"""SSH host-key proofs: the pin's format, its plumbing from the topology to guard.conf,
the signature check that makes it a proof, and the policy that waits for it."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import struct
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from netdwg.errors import ConfigError, ParseError
from netdwg.guard.observed import LinkState, Proof, ProofSeen, fold
from netdwg.guard.policy import Prove, Verdict
from netdwg.guard.sshkey import SshProofError, _mpint, _string, verify_signature
from netdwg.topology.compile import compile_host
from netdwg.topology.guard_config import SshHostKey, TlsPin, parse_guard_config, render_guard_config
from netdwg.topology.load import parse_topology
from golden_support import fixed_secrets

from tests.unit.test_guard_config import GOOD
from tests.unit.test_guard_policy import FP, config, on_lan, run, verdict

ip = ipaddress.ip_address


def ed25519_blob(private: ed25519.Ed25519PrivateKey) -> bytes:
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _string(b"ssh-ed25519") + _string(raw)


def known_hosts_line(host: str, blob: bytes) -> str:
    key_type = blob[4:4 + struct.unpack(">I", blob[:4])[0]].decode()
    return f"{host} {key_type} {base64.b64encode(blob).decode()}"


KEY = ed25519.Ed25519PrivateKey.generate()
BLOB = ed25519_blob(KEY)
LINE = known_hosts_line("172.20.10.5", BLOB)


# --- the pin -----------------------------------------------------------------------

def test_pin_parses_known_hosts_lines_and_round_trips_through_guard_conf():
    pin = SshHostKey.parse(LINE + " root@office")  # ssh-keyscan / known_hosts, comment allowed
    assert (pin.host, pin.port, pin.key_type, pin.key) == (ip("172.20.10.5"), 22, "ssh-ed25519", BLOB)
    assert pin.sha256 == hashlib.sha256(BLOB).hexdigest()
    other_port = SshHostKey.parse("[172.20.10.5]:2222 " + LINE.split(" ", 1)[1])
    assert other_port.port == 2222 and str(other_port).startswith("[172.20.10.5]:2222 ssh-ed25519 ")
    site = parse_guard_config(GOOD + f"ssh_host_key = {LINE}\nssh_host_key = {other_port}\n").sites[0]
    assert site.fingerprint.ssh_host_keys == (pin, other_port)
    again = parse_guard_config(render_guard_config(parse_guard_config(GOOD + f"ssh_host_key = {LINE}\n")))
    assert again.sites[0].fingerprint.ssh_host_keys == (pin,)
    assert "ssh_host_key=172.20.10.5:22/ssh-ed25519" in site.fingerprint.describe()


@pytest.mark.parametrize("bad", [
    "172.20.10.5 ssh-ed25519",  # no key
    "172.20.10.5 ssh-dss AAAAB3NzaC1kc3M=",  # type we do not check
    "172.20.10.5 ssh-ed25519 not-base64!",
    "office.example ssh-ed25519 " + base64.b64encode(BLOB).decode(),  # a name: the guard connects to an address
    "172.20.10.5 ssh-rsa " + base64.b64encode(BLOB).decode(),  # blob says ed25519
])
def test_bad_pins_are_refused_with_line_and_fix(bad):
    with pytest.raises(ParseError) as err:
        parse_guard_config(GOOD + f"ssh_host_key = {bad}\n", "g.conf")
    assert err.value.span.line == GOOD.count("\n") + 1 and "ssh-keyscan" in err.value.fix


# --- topology -> compile -> GuardConfig ---------------------------------------------

TOPOLOGY = """\
[network]
name = t
interface = wg0
pool = 10.9.0.0/24
[hosts]
  [[hub]]
  role = hub
  endpoint = 198.51.100.9:51820
  address = 10.9.0.1
  [[office]]
  role = site
  address = 10.9.0.2
  lan = 172.20.10.0/24
  guard_action = metric
  dhcp_server = 172.20.10.1
  ssh_host_key = "{ssh}"
  tls_pin = "{tls}"
  [[lap]]
  role = roaming
  address = 10.9.0.3
  guard = yes
"""
TLS = "172.20.10.5:8443 sha256:" + "AB" * 32


def test_topology_pins_reach_the_guard_config():
    text = TOPOLOGY.format(ssh=LINE, tls=TLS)
    topology = parse_topology(text, "t.conf")
    guard = compile_host(topology, fixed_secrets(topology), "lap").guard
    fp = guard.site("office").fingerprint
    assert fp.ssh_host_keys == (SshHostKey.parse(LINE),)
    assert fp.tls_pins == (TlsPin(ip("172.20.10.5"), 8443, "ab" * 32),)
    assert fp.dhcp_servers == (ip("172.20.10.1"),)
    # and on to /etc/netdwg/guard.conf and back
    assert parse_guard_config(render_guard_config(guard)).site("office").fingerprint == fp


@pytest.mark.parametrize("ssh, tls, key, line", [
    ("172.20.10.5 ssh-ed25519 AAAA", TLS, "ssh_host_key", 16),
    (LINE, "172.20.10.5 abcd", "tls_pin", 17),
])
def test_bad_topology_pins_name_the_line(ssh, tls, key, line):
    with pytest.raises(ConfigError) as err:
        parse_topology(TOPOLOGY.format(ssh=ssh, tls=tls), "t.conf")
    text = str(err.value)
    assert f"t.conf:{line}" in text and key in text


# --- the signature is what makes it a proof ----------------------------------------

DATA = hashlib.sha256(b"exchange hash").digest()


def test_ed25519_signature_verifies_and_a_replayed_public_key_does_not():
    verify_signature(BLOB, _string(b"ssh-ed25519") + _string(KEY.sign(DATA)), DATA)
    impostor = ed25519.Ed25519PrivateKey.generate()  # knows the office's public key, not its private key
    with pytest.raises(SshProofError, match="does not hold"):
        verify_signature(BLOB, _string(b"ssh-ed25519") + _string(impostor.sign(DATA)), DATA)
    with pytest.raises(SshProofError):  # a signature over another exchange (a replay) fails too
        verify_signature(BLOB, _string(b"ssh-ed25519") + _string(KEY.sign(DATA[::-1])), DATA)


def test_ecdsa_and_rsa_signatures_verify():
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    blob = _string(b"ecdsa-sha2-nistp256") + _string(b"nistp256") + _string(point)
    r, s = decode_dss_signature(key.sign(DATA, ec.ECDSA(hashes.SHA256())))
    verify_signature(blob, _string(b"ecdsa-sha2-nistp256") + _string(_mpint(r) + _mpint(s)), DATA)
    with pytest.raises(SshProofError):
        verify_signature(blob, _string(b"ecdsa-sha2-nistp256") + _string(_mpint(s) + _mpint(r)), DATA)

    key = rsa.generate_private_key(65537, 2048)
    numbers = key.public_key().public_numbers()
    blob = _string(b"ssh-rsa") + _mpint(numbers.e) + _mpint(numbers.n)
    sig = key.sign(DATA, padding.PKCS1v15(), hashes.SHA512())
    verify_signature(blob, _string(b"rsa-sha2-512") + _string(sig), DATA)
    with pytest.raises(SshProofError, match="ssh-rsa"):  # SHA-1 signatures are not accepted
        verify_signature(blob, _string(b"ssh-rsa") + _string(sig), DATA)


# --- the policy waits for the proof -------------------------------------------------

def test_policy_waits_for_the_ssh_proof_and_trusts_only_the_pinned_key():
    pin = SshHostKey.parse(LINE)
    cfg = config(fp=replace(FP, ssh_host_keys=(pin,)))
    d = run(cfg, on_lan())
    assert verdict(d) is Verdict.IDENTIFYING and Prove("lan0", pin.host, 22, ssh=pin) in d.steps
    assert not any(getattr(s, "change", None) for s in d.steps)  # tunnel route kept meanwhile
    good = fold(on_lan(), ProofSeen(Proof("lan0", pin.host, 22, sha256=pin.sha256, kind="ssh")))
    assert verdict(run(cfg, good)) is Verdict.TRUSTED
    # a TLS proof for the same host:port is not an SSH proof
    tls_only = fold(on_lan(), ProofSeen(Proof("lan0", pin.host, 22, sha256=pin.sha256, kind="tls")))
    assert verdict(run(cfg, tls_only)) is Verdict.IDENTIFYING
    other = fold(on_lan(), ProofSeen(Proof("lan0", pin.host, 22, sha256="cd" * 32, kind="ssh")))
    view = next(v for v in run(cfg, other).views if v.site == "oslo")
    assert view.verdict is Verdict.FOREIGN and "SSH host key" in view.reasons[0]
    failed = fold(on_lan(), ProofSeen(Proof("lan0", pin.host, 22, error="signature does not verify", kind="ssh",
                                          conclusive=True)))
    assert verdict(run(cfg, failed)) is Verdict.FOREIGN
    assert verdict(run(cfg, on_lan(), now=20.0)) is Verdict.FOREIGN  # no answer within identify_timeout
    assert fold(good, LinkState("lan0", carrier=False)).proofs == ()
