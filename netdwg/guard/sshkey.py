"""Active proof by SSH host key: the office host proves it holds the pinned host key.

We run SSH-2's key exchange (RFC 4253 section 7-8, curve25519-sha256 of RFC 8731) just
far enough to receive the server's KEX_ECDH_REPLY, then verify the server's signature
over the exchange hash with the pinned key, and hang up before NEWKEYS.

Why not `ssh-keyscan`: it prints the key the server *sends* before it checks the
signature (OpenSSH 9.2 kex_verify_host_key callback), and a public key is public -
a café box could replay the office's key. Checking the signature over an exchange
hash that includes our fresh X25519 share proves possession of the private key.
It also avoids a process spawn on the join path, and needs only `cryptography`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
CLIENT_VERSION = b"SSH-2.0-netdwg_guard"
_KEXINIT, _KEX_ECDH_INIT, _KEX_ECDH_REPLY = 20, 30, 31
_DISCONNECT, _IGNORE, _DEBUG = 1, 2, 4
_MAX_PACKET = 35000  # RFC 4253 6.1: every implementation must handle 35000 bytes
_CURVES = {"ecdsa-sha2-nistp256": (ec.SECP256R1, hashes.SHA256),
           "ecdsa-sha2-nistp384": (ec.SECP384R1, hashes.SHA384),
           "ecdsa-sha2-nistp521": (ec.SECP521R1, hashes.SHA512)}


class SshProofError(ValueError):
    """The server did not prove it holds the key (wrong key, bad signature, protocol error)."""


class SshKeyRefuted(SshProofError):
    """An answer, not a failure: the server cannot sign with the key it shows, or is no SSH-2
    server at all. The guard does not retry it quickly (guard/proofs.py); a connection closed
    or reset mid-exchange (sshd still starting, MaxStartups) is a plain SshProofError and is."""

    conclusive = True  # read by the daemon without importing this module (cryptography)


# --- wire encoding (RFC 4251 section 5) ---------------------------------------------

def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(value: int) -> bytes:
    if value == 0:
        return _string(b"")
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big")  # leading 0 keeps it positive
    return _string(raw)


def _namelist(names: tuple[str, ...]) -> bytes:
    return _string(",".join(names).encode())


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise SshProofError("truncated SSH message")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def string(self) -> bytes:
        return self.take(self.uint32())

    def mpint(self) -> int:
        return int.from_bytes(self.string(), "big", signed=True)


def host_key_algorithms(key_type: str) -> tuple[str, ...]:
    """What to offer so the server signs with the pinned key (RSA: SHA-2 signatures only)."""
    return ("rsa-sha2-512", "rsa-sha2-256") if key_type == "ssh-rsa" else (key_type,)


def client_kexinit(key_type: str, cookie: bytes | None = None) -> bytes:
    ciphers = ("aes128-ctr", "aes256-ctr", "aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com")
    macs = ("hmac-sha2-256", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512")
    return (bytes([_KEXINIT]) + (cookie or os.urandom(16))
            + _namelist(("curve25519-sha256", "curve25519-sha256@libssh.org"))
            + _namelist(host_key_algorithms(key_type))
            + _namelist(ciphers) * 2 + _namelist(macs) * 2 + _namelist(("none",)) * 2
            + _namelist(()) * 2 + b"\x00" + struct.pack(">I", 0))


def _packet(payload: bytes) -> bytes:
    pad = 8 - (5 + len(payload)) % 8
    pad += 8 if pad < 4 else 0
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + os.urandom(pad)


def exchange_hash(v_c: bytes, v_s: bytes, i_c: bytes, i_s: bytes, k_s: bytes,
                  q_c: bytes, q_s: bytes, shared: bytes) -> bytes:
    return hashlib.sha256(_string(v_c) + _string(v_s) + _string(i_c) + _string(i_s) + _string(k_s)
                          + _string(q_c) + _string(q_s) + _mpint(int.from_bytes(shared, "big"))).digest()


def verify_signature(key_blob: bytes, signature: bytes, data: bytes) -> None:
    """Raise SshProofError unless `signature` (an SSH signature blob) by `key_blob` covers data."""
    key, sig = _Reader(key_blob), _Reader(signature)
    key_type, sig_type = key.string().decode(errors="replace"), sig.string().decode(errors="replace")
    raw = sig.string()
    try:
        if key_type == "ssh-ed25519" and sig_type == key_type:
            ed25519.Ed25519PublicKey.from_public_bytes(key.string()).verify(raw, data)
        elif key_type in _CURVES and sig_type == key_type:
            curve, digest = _CURVES[key_type]
            key.string()  # the curve name, implied by the key type
            public = ec.EllipticCurvePublicKey.from_encoded_point(curve(), key.string())
            rs = _Reader(raw)
            public.verify(encode_dss_signature(rs.mpint(), rs.mpint()), data, ec.ECDSA(digest()))
        elif key_type == "ssh-rsa" and sig_type in ("rsa-sha2-256", "rsa-sha2-512"):
            e, n = key.mpint(), key.mpint()
            digest = hashes.SHA256() if sig_type == "rsa-sha2-256" else hashes.SHA512()
            rsa.RSAPublicNumbers(e, n).public_key().verify(raw, data, padding.PKCS1v15(), digest)
        else:
            raise SshKeyRefuted(f"server signed with {sig_type} for a {key_type} key")
    except InvalidSignature:
        raise SshKeyRefuted("the server's signature does not verify: it does not hold this host key") from None


# --- the exchange -------------------------------------------------------------------

async def _read_packet(reader: asyncio.StreamReader) -> bytes:
    length, pad = struct.unpack(">IB", await reader.readexactly(5))
    if not 5 <= length <= _MAX_PACKET or pad >= length:
        raise SshProofError(f"bad SSH packet length {length}")
    body = await reader.readexactly(length - 1)
    return body[:len(body) - pad]


async def _next_message(reader: asyncio.StreamReader) -> bytes:
    while True:
        payload = await _read_packet(reader)
        if not payload:
            raise SshProofError("empty SSH packet")
        if payload[0] == _DISCONNECT:
            r = _Reader(payload[1:])
            r.uint32()
            raise SshProofError("server disconnected: " + r.string().decode(errors="replace"))
        if payload[0] not in (_IGNORE, _DEBUG):
            return payload


async def _read_version(reader: asyncio.StreamReader) -> bytes:
    for _ in range(50):  # RFC 4253 4.2: the server may send other lines first
        line = await reader.readline()
        if not line:
            raise SshProofError("connection closed before the SSH version line")
        if line.startswith(b"SSH-"):
            version = line.rstrip(b"\r\n")
            if not version.startswith((b"SSH-2.0-", b"SSH-1.99-")):
                raise SshKeyRefuted(f"not an SSH-2 server: {version[:40]!r}")
            return version
    raise SshProofError("no SSH version line")


async def prove_host_key(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key_type: str) -> str:
    """Run the exchange on an open connection, offering only `key_type` host keys; return the
    SHA-256 (hex) of the host key blob the server proved it holds (its signature over our fresh
    exchange hash verifies). The caller compares it with the pin. Raises SshProofError when the
    server proves nothing."""
    writer.write(CLIENT_VERSION + b"\r\n")
    i_c = client_kexinit(key_type)
    private = x25519.X25519PrivateKey.generate()
    q_c = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    # Our KEXINIT and ECDH_INIT go out at once (one round trip less): curve25519 is our
    # first and only kex, so the guess cannot be wrong if the server accepts it at all.
    writer.write(_packet(i_c) + _packet(bytes([_KEX_ECDH_INIT]) + _string(q_c)))
    await writer.drain()
    v_s = await _read_version(reader)
    i_s = await _next_message(reader)
    if i_s[0] != _KEXINIT:
        raise SshProofError(f"expected KEXINIT, got message {i_s[0]}")
    reply = await _next_message(reader)
    if reply[0] != _KEX_ECDH_REPLY:
        raise SshProofError(f"expected KEX_ECDH_REPLY, got message {reply[0]}")
    r = _Reader(reply[1:])
    k_s, q_s, signature = r.string(), r.string(), r.string()
    try:
        shared = private.exchange(x25519.X25519PublicKey.from_public_bytes(q_s))
    except ValueError:
        raise SshProofError("server sent an invalid curve25519 share") from None
    verify_signature(k_s, signature, exchange_hash(CLIENT_VERSION, v_s, i_c, i_s, k_s, q_c, q_s, shared))
    return hashlib.sha256(k_s).hexdigest()


async def fetch_ssh_host_key_sha256(dev: str, host, port: int, key_type: str, timeout: float = 2.0) -> str:
    """Connect to host:port out of `dev` only (SO_BINDTODEVICE: the tunnel route may still
    cover the host); SHA-256 hex of the `key_type` host key the server proved it holds.
    `timeout` bounds the connect and, separately, the exchange."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET if host.version == 4 else socket.AF_INET6, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode())
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(sock, (str(host), port)), timeout)
        reader, writer = await asyncio.open_connection(sock=sock)
    except BaseException:
        sock.close()
        raise
    try:
        return await asyncio.wait_for(prove_host_key(reader, writer, key_type), timeout)
    except asyncio.IncompleteReadError:
        raise SshProofError("connection closed during the SSH key exchange") from None
    finally:
        writer.close()
