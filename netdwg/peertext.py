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
blank lines after it aside) is cut from the file's text before it is parsed
(`strip_unchanged_peers`: one regex pass and one dictionary lookup per section)
and left out of the live device too (`WgDevice.unchanged`); everything else
takes the exact path.

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


def _base64_lines(hex_keys):
    """Each hex key as a base64 line ("...=\n"); C functions only, no Python frame per key."""
    return map(bytes.decode, map(binascii.b2a_base64, map(bytes.fromhex, hex_keys)))


_TEXT = "[WireGuardPeer]\nPublicKey={}PresharedKey={}{}".format
_TO_NETDEV = methodcaller("replace", "allowed_ip=", "AllowedIPs=")
_ZERO_PSK_LINE = "PresharedKey=" + next(_base64_lines([ZERO_HEX]))


def uapi_peer_texts(answer: str) -> dict[str, str]:
    """netdev text (see above, with its [WireGuardPeer] header) -> hex public key, for every peer
    of a UAPI `get=1` answer (without errno=).

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


# One [WireGuardPeer] section as netdwg renders it: the header and its assignments (group 1),
# then only blank and comment lines (group 2) up to the next header or the end. A section with
# anything else (an assignment after a blank line, an indented or annotated header, a
# backslash in a comment) does not match and is read the exact way. A trailer line is at most
# _SAFE_LINE characters: a longer one may exceed systemd's LONG_LINE_MAX (1 MiB, in bytes),
# which the parser refuses with file:line, and a cut must not hide that error.
_SAFE_LINE = 1024 * 1024 // 4 - 1  # 4 bytes per character at most in UTF-8, "\n" included
_BLANK_LINE = re.compile(r"^[ \t]*\n", re.M)
_PEER_SECTION = re.compile(
    r"^(\[WireGuardPeer\]\n(?:[A-Za-z][^\n]*\n)*)((?:[ \t]*(?:[#;][^\n\\]*)?\n)*)(?=\[|\Z)", re.M)


def strip_unchanged_peers(text: str, live_texts: dict[str, str]) -> tuple[str, frozenset[str]]:
    """(text without the peers the device has exactly, their hex public keys).

    The [WireGuardPeer] sections whose text equals a live peer's
    (`uapi_peer_texts`) are cut, with the comments after them unless a
    remaining section follows (its name is the comment above it). One regex
    split and a dictionary lookup per section instead of parsing 5,000
    sections. A key two sections share is never left out. Texts with
    continuations or CRs are left whole (their sections are not split the
    same way). Line numbers in the result differ from the file's: read it
    again whole to report an error.
    """
    if not live_texts or "\\\n" in text or "\r" in text or "\0" in text:
        return text, frozenset()  # NUL: the parser refuses the file (file:line); a cut must not hide it
    parts = _PEER_SECTION.split(text)  # [between, section, trailer, between, section, trailer, ..., between]
    hexes = list(map(live_texts.get, parts[1::3]))
    keys = [key for key in hexes if key is not None]
    if not keys:
        return text, frozenset()
    unique = set(keys)
    if len(unique) != len(keys):
        twice = {key for key in unique if keys.count(key) > 1}
        hexes = [None if key in twice else key for key in hexes]
        unique -= twice
    out = [parts[0]]
    last = len(hexes) - 1
    for i, key in enumerate(hexes):
        between = parts[3 * i + 3]
        if key is None:
            out += (parts[3 * i + 1], parts[3 * i + 2], between)
            continue
        trailer = parts[3 * i + 2]
        if between or (i < last and hexes[i + 1] is None):
            # A remaining section follows: keep the comment that names it. Its name is the comment
            # run above its header, which stopped at a blank line of this trailer or else at this
            # section's last assignment; without one, a blank line stands in for that assignment
            # (or the run would reach into the comments above this section: another name).
            out += (trailer,) if _BLANK_LINE.search(trailer) else ("\n", trailer)
        elif len(trailer) > _SAFE_LINE:
            return text, frozenset()  # maybe a line the parser refuses: let it say where
        out.append(between)
    return "".join(out), frozenset(unique)
