"""Fast, exact parsers for the values a big hub repeats 10,000 times: prefixes and keys.

Each function returns what the plain constructor returns for the same text
(``IPv4Network(text, strict=False)``, ``PublicKey.from_base64(text)``), or
says "not here" so the caller takes the plain path, which also produces the
error message. Speed comes from three things: ``inet_pton`` instead of
ipaddress' per-octet Python parser, building the network object without its
``__init__`` (checked once at import against the real constructor, with a
fallback if a Python release builds it differently), and caches for the
public values (prefixes, public keys) — a plan reads the desired and the
installed file, which share almost every peer. Secret keys are never cached.
"""

from __future__ import annotations

import binascii
import itertools
import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from netdwg.keys import PresharedKey, PrivateKey, PublicKey

_new = object.__new__
_inet_pton = socket.inet_pton
_AF_INET, _AF_INET6 = socket.AF_INET, socket.AF_INET6
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_CACHE_MAX = 65_536  # entries per cache, then cleared: a 10,000-peer hub has 20,000 prefixes (~600 B each)

_networks: dict[str, IPv4Network | IPv6Network] = {}
_public_keys: dict[str, PublicKey] = {}


def _v4_hosts(addr: int):
    return lambda: [IPv4Address(addr)]


def _v6_hosts(addr: int):
    return lambda: [IPv6Address(addr)]


_SET_V4_IP = IPv4Address._ip.__set__
_SET_V6_IP, _SET_V6_SCOPE = IPv6Address._ip.__set__, IPv6Address._scope_id.__set__


def _v4_address(value: int) -> IPv4Address:
    """IPv4Address(value) for an int known to be in range, without the constructor's checks."""
    address = _new(IPv4Address)
    _SET_V4_IP(address, value)
    return address


def _v6_address(value: int) -> IPv6Address:
    address = _new(IPv6Address)
    _SET_V6_IP(address, value)
    _SET_V6_SCOPE(address, None)
    return address


def _build(cls, make_address, hosts_of, masks, max_len: int, addr: int, plen: int):
    """What cls((addr, plen), strict=False).__init__ leaves in the object (CPython 3.11)."""
    net = _new(cls)
    netmask = masks[plen]
    attrs = net.__dict__
    attrs["network_address"] = make_address(addr & netmask._ip)
    attrs["netmask"] = netmask
    attrs["_prefixlen"] = plen
    if plen == max_len - 1:
        attrs["hosts"] = net.__iter__
    elif plen == max_len:
        attrs["hosts"] = hosts_of(addr)
    return net


# The netmask objects the constructor takes from cls._make_netmask (shared by all networks).
_V4_MASKS = [IPv4Network._make_netmask(n)[0] for n in range(33)]
_V6_MASKS = [IPv6Network._make_netmask(n)[0] for n in range(129)]


def _v4(addr: int, plen: int) -> IPv4Network:
    return _build(IPv4Network, _v4_address, _v4_hosts, _V4_MASKS, 32, addr, plen)


def _v6(addr: int, plen: int) -> IPv6Network:
    return _build(IPv6Network, _v6_address, _v6_hosts, _V6_MASKS, 128, addr, plen)


def _same(fast, slow) -> bool:
    return (type(fast) is type(slow) and fast == slow and hash(fast) == hash(slow) and str(fast) == str(slow)
            and vars(fast).keys() == vars(slow).keys()
            and list(itertools.islice(fast.hosts(), 3)) == list(itertools.islice(slow.hosts(), 3))
            and fast.network_address.__reduce__() == slow.network_address.__reduce__()
            and all(getattr(fast.network_address, name, None) == getattr(slow.network_address, name, None)
                    for cls in type(slow.network_address).__mro__ for name in getattr(cls, "__slots__", ())
                    if name != "__weakref__"))


def _self_check() -> bool:
    """Does building by hand give the constructor's object on this Python? (else: use the constructor)"""
    try:
        for text, plen in (("10.64.1.2", 32), ("10.64.1.3", 31), ("10.64.1.3", 24), ("0.0.0.0", 0)):
            addr = int.from_bytes(_inet_pton(_AF_INET, text), "big")
            if not _same(_v4(addr, plen), IPv4Network(f"{text}/{plen}", strict=False)):
                return False
        for text, plen in (("fd00:64::1a2", 128), ("fd00:64::1a3", 127), ("fd00:64::1", 64), ("::", 0)):
            addr = int.from_bytes(_inet_pton(_AF_INET6, text), "big")
            if not _same(_v6(addr, plen), IPv6Network(f"{text}/{plen}", strict=False)):
                return False
    except Exception:  # any surprise in a future ipaddress: fall back to the constructor
        return False
    return True


if not _self_check():  # pragma: no cover - only on a Python whose ipaddress differs
    def _v4(addr: int, plen: int) -> IPv4Network:  # noqa: F811
        return IPv4Network((addr, plen), strict=False)

    def _v6(addr: int, plen: int) -> IPv6Network:  # noqa: F811
        return IPv6Network((addr, plen), strict=False)


def parse_network(text: str) -> IPv4Network | IPv6Network:
    """``(IPv6Network if ":" in text else IPv4Network)(text, strict=False)``, fast; ValueError when invalid.

    The fast path takes ``ADDRESS/DIGITS`` and ``ADDRESS`` only; inet_pton accepts exactly the
    dotted quads and hex-and-colon IPv6 texts ipaddress accepts (leading zeros
    in an octet refused by both; tests/property/test_unitfile_fastpeers.py
    compares them). Anything else (``%scope``, embedded IPv4, a netmask,
    whatever inet_pton refuses) goes to the constructor, which also words the error.
    """
    net = _networks.get(text)
    if net is not None:
        return net
    addr, slash, plen = text.partition("/")
    v6 = ":" in text
    net = None
    if not slash:
        length = 128 if v6 else 32  # ipaddress: no prefix length is a host prefix
    elif plen.isdigit() and plen.isascii() and len(plen) <= 3:
        length = int(plen)
    else:
        length = 999  # a netmask or garbage: the constructor decides
    try:
        if not v6:
            if length <= 32:
                net = _v4(int.from_bytes(_inet_pton(_AF_INET, addr), "big"), length)
        elif length <= 128 and _HEX_COLON.issuperset(addr):
            net = _v6(int.from_bytes(_inet_pton(_AF_INET6, addr), "big"), length)
    except OSError:  # inet_pton refused it: let the constructor say why
        net = None
    if net is None:
        net = (IPv6Network if v6 else IPv4Network)(text, strict=False)
    if len(_networks) >= _CACHE_MAX:
        _networks.clear()
    _networks[text] = net
    return net


# The last of 43 base64 digits of a 32-byte key carries 4 bits and two zero
# bits: only these digits are canonical (wg's key_from_base64 refuses others).
_CANONICAL_LAST = frozenset("AEIMQUYcgkosw048")
_a2b_base64 = binascii.a2b_base64
_PUBLIC_RAW = PublicKey.raw.__set__
_SECRET_RAW = PresharedKey.raw.__set__  # the slot of _SecretKey, shared by PrivateKey and PresharedKey


def _key_bytes(text: str) -> bytes | None:
    """The 32 bytes of a canonical base64 key, or None (the caller's plain parser explains)."""
    if len(text) != 44 or text[43] != "=" or text[42] not in _CANONICAL_LAST:
        return None
    try:
        # strict_mode (3.11): only the alphabet, padding only at the end, as b64decode(validate=True)
        return _a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


def public_key(text: str) -> PublicKey | None:
    """``PublicKey.from_base64(text)`` for a canonical key, or None (then call that for the error)."""
    key = _public_keys.get(text)
    if key is not None:
        return key
    raw = _key_bytes(text)
    if raw is None or len(raw) != 32:
        return None
    key = _new(PublicKey)
    _PUBLIC_RAW(key, raw)
    if len(_public_keys) >= _CACHE_MAX:
        _public_keys.clear()
    _public_keys[text] = key
    return key


def secret_key(cls: type[PresharedKey] | type[PrivateKey], text: str) -> PresharedKey | PrivateKey | None:
    """``cls.from_base64(text)`` for a canonical key, or None; never cached (it is a secret)."""
    raw = _key_bytes(text)
    if raw is None or len(raw) != 32:
        return None
    key = _new(cls)
    _SECRET_RAW(key, raw)
    return key
