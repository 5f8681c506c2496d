"""A peer's configuration as one canonical string: the cheap equality test behind apply's fast path.

A hub with 5,000 peers that changes one of them should not decode 10,000
peers (5,000 from the .netdev, 5,000 from the device) into keys, prefixes and
`WgPeer` values only to find 4,999 pairs equal: that was 0.2 s of a 0.6 s
apply. Instead each live peer is written as the [WireGuardPeer] lines netdwg's
networkd renderer writes for it:

    PublicKey=<base64>
    PresharedKey=<base64>          (when it has one)
    AllowedIPs=<prefix>            (one line each, in the device's order)
    PersistentKeepalive=<seconds>  (when not 0)

and a .netdev section whose assignments are exactly that text (comments and
blank lines after it aside) is left out of both devices (`WgDevice.unchanged`);
everything else takes the exact path. One dictionary lookup per section.

The test is one-sided on purpose: equal strings must mean `diff_device`
finds nothing to change; unequal strings only mean "decode and compare".
The canonical text has no Endpoint= (a set endpoint is compared as an
address, and a DNS name needs the full rules), no key files, no
continuations, spaces or CRs, so a section equal to it is read by networkd
as exactly those values; the live side keeps any line it does not know,
which makes the strings differ. Hand-written files, another key order, a
non-canonical prefix (10.0.0.5/24) or another order of AllowedIPs than the
device reports only cost the exact path. tests/property/test_peertext.py holds this.
"""

from __future__ import annotations

import binascii
import re
from operator import methodcaller

ZERO_HEX = "0" * 64
_B64_KEY = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")  # 32 bytes, canonical padding bits
# One peer as wireguard-go prints it (device.IpcGetOperation): its configuration and status lines
# in this order, up to the next peer or the end. The endpoint is skipped because the fast path only
# takes peers the files give no endpoint: then the live one is where a roaming peer was last seen,
# and apply leaves it alone. Any other line (a setting added in a later release) fails the match.
_LIVE_PEER = re.compile(
    r"^public_key=([0-9a-f]{64})\n"
    r"preshared_key=([0-9a-f]{64})\n"
    r"(?:protocol_version=[0-9]+\n)?"
    r"(?:endpoint=[^\n]*\n)?"
    r"last_handshake_time_sec=[0-9]+\nlast_handshake_time_nsec=[0-9]+\ntx_bytes=[0-9]+\nrx_bytes=[0-9]+\n"
    r"persistent_keepalive_interval=([0-9]+)\n"
    r"((?:allowed_ip=[0-9a-f.:/]+\n)*)"
    r"(?=public_key=|\Z)", re.M)
# Blank and comment lines only (no backslash: a continued line is not a comment's business).
_TRAILER = re.compile(r"(?:[ \t]*(?:[#;][^\n\\]*)?\n)*")


def _base64_lines(hex_keys):
    """Each hex key as a base64 line ("...=\n"); C functions only, no Python frame per key."""
    return map(bytes.decode, map(binascii.b2a_base64, map(bytes.fromhex, hex_keys)))


_TEXT = "PublicKey={}PresharedKey={}{}".format
_TO_NETDEV = methodcaller("replace", "allowed_ip=", "AllowedIPs=")
_ZERO_PSK_LINE = "PresharedKey=" + next(_base64_lines([ZERO_HEX]))


def key_hex(text: str) -> str | None:
    """The hex form of a canonical base64 WireGuard key, or None (not one: take the exact path)."""
    if len(text) != 44 or not _B64_KEY.fullmatch(text):
        return None
    return binascii.a2b_base64(text).hex()


def uapi_peer_texts(answer: str) -> dict[str, str]:
    """netdev text (see above) -> hex public key, for every peer of a UAPI `get=1` answer (without errno=).

    A peer printed otherwise than wireguard-go prints it today, or with a line
    not known here, is not matched by _LIVE_PEER and is left to the exact path.
    Built with map() over C functions rather than a Python loop per peer
    (5,000 peers: ~9 ms after the match instead of ~20).
    """
    rows = _LIVE_PEER.findall(answer if answer.endswith("\n") else answer + "\n")
    if not rows:
        return {}
    keys, psks, keepalives, allowed = zip(*rows)
    texts = list(map(_TEXT, _base64_lines(keys), _base64_lines(psks), map(_TO_NETDEV, allowed)))
    for i in [i for i, psk in enumerate(psks) if psk == ZERO_HEX]:  # no PSK: no PresharedKey= line
        texts[i] = texts[i].replace(_ZERO_PSK_LINE, "", 1)
    for i in [i for i, keepalive in enumerate(keepalives) if keepalive != "0"]:
        texts[i] += f"PersistentKeepalive={keepalives[i]}\n"
    return dict(zip(texts, keys))


def config_text(body: str) -> str | None:
    """The assignments of a [WireGuardPeer] section's raw body, without the comments and
    blank lines after them (the next peer's name); None when anything else follows."""
    cut = body.find("\n\n")
    if cut < 0:
        return body
    return body[:cut + 1] if _TRAILER.fullmatch(body, cut + 1) else None
