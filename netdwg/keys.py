"""WireGuard key values: public keys, private keys and preshared keys.

A key is 32 bytes, written as base64 in files and as lowercase hex on the
userspace (UAPI) socket. Secret keys never show themselves: ``repr`` and
``str`` of a `PrivateKey` or `PresharedKey` are redacted, and the only way to
get the text is the explicit `.reveal_base64()` / `.reveal_hex()`.

Key generation uses X25519 from `cryptography`; the clamping matches
``wg genkey`` (curve25519 clamping of the random scalar).
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from dataclasses import dataclass


from netdwg.errors import ParseError, Span

KEY_LEN = 32
REDACTED = "(hidden)"


def _decode_base64(text: str, what: str, span: Span | None) -> bytes:
    text = text.strip()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    # wg's key_from_base64() also rejects unused low bits in the last character
    # ("...W1=" for "...W0="): only the canonical spelling is a key.
    if len(raw) != KEY_LEN or len(text) != 44 or base64.b64encode(raw).decode("ascii") != text:
        shown = text if what == "public key" else REDACTED
        raise ParseError(
            f"invalid {what} {shown!r}: a WireGuard key is 32 bytes written as 44 base64 characters",
            span,
            fix=f"generate one with 'netdwg keys {'pubkey' if what == 'public key' else 'genkey'}' or 'wg genkey'",
        )
    return raw


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A WireGuard public key (32 bytes): safe to show."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != KEY_LEN:
            raise ValueError("a WireGuard key is 32 bytes")

    @classmethod
    def from_base64(cls, text: str, span: Span | None = None) -> "PublicKey":
        return cls(_decode_base64(text, "public key", span))

    @classmethod
    def from_hex(cls, text: str) -> "PublicKey":
        return cls(bytes.fromhex(text))

    @property
    def base64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    @property
    def hex(self) -> str:
        return self.raw.hex()

    def short(self) -> str:
        """The first characters, as `wg` shows peers in tight spaces."""
        return self.base64[:8] + "…"

    def __str__(self) -> str:
        return self.base64

    def __repr__(self) -> str:
        return f"PublicKey({self.base64!r})"


@dataclass(frozen=True, slots=True)
class _SecretKey:
    """The 32 bytes of a private key or PSK: never in a repr, str or log line."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != KEY_LEN:
            raise ValueError("a WireGuard key is 32 bytes")

    def reveal_base64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    def reveal_hex(self) -> str:
        return self.raw.hex()

    def __str__(self) -> str:
        return REDACTED

    def __repr__(self) -> str:
        return f"{type(self).__name__}({REDACTED})"

    def __format__(self, spec: str) -> str:
        return REDACTED


class PrivateKey(_SecretKey):
    __slots__ = ()

    @classmethod
    def from_base64(cls, text: str, span: Span | None = None) -> "PrivateKey":
        return cls(_decode_base64(text, "private key", span))

    @classmethod
    def generate(cls) -> "PrivateKey":
        return genkey()

    def public_key(self) -> PublicKey:
        return pubkey(self)


class PresharedKey(_SecretKey):
    __slots__ = ()

    @classmethod
    def from_base64(cls, text: str, span: Span | None = None) -> "PresharedKey":
        return cls(_decode_base64(text, "preshared key", span))

    @classmethod
    def generate(cls) -> "PresharedKey":
        return genpsk()


def _clamp(raw: bytes) -> bytes:
    # Curve25519 clamping, exactly as wg genkey does (curve25519_clamp_secret).
    b = bytearray(raw)
    b[0] &= 248
    b[31] = (b[31] & 127) | 64
    return bytes(b)


def genkey() -> PrivateKey:
    return PrivateKey(_clamp(os.urandom(KEY_LEN)))


def genpsk() -> PresharedKey:
    return PresharedKey(os.urandom(KEY_LEN))


def pubkey(private: PrivateKey) -> PublicKey:
    # Cached per private key: one X25519 derivation costs ~80 us, and compile,
    # lint and show of a hub with 10,000 clients would each derive all of them.
    return _derive_public(private.raw)


@functools.lru_cache(maxsize=1 << 16)
def _derive_public(raw: bytes) -> PublicKey:
    # X25519 clamps internally, so an unclamped key (some tools write them) gives
    # the same public key as `wg pubkey`, which clamps too.
    # Imported here: `netdwg apply` never derives a key and should not pay for loading cryptography.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    key = X25519PrivateKey.from_private_bytes(raw)
    return PublicKey(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
