"""`WgPeer` values straight from ``[WireGuardPeer]`` text: the 10,000-peer path of `to_wg_device`.

`netdwg.unitfile.views.peer_view` is the definition: it builds a `Value`
(key, text, file:line) for every assignment and parses each through the
shared value parsers, raising `ParseError` with the line of a bad value.
A hub reads every peer on every plan, and almost every section is the same
four plain lines, so `fast_peer` reads the section's text directly and only
answers when it is sure to give the same `WgPeer`; for anything else
(a key it does not handle, a value it cannot parse, a continuation, a
section already edited) it returns None and the caller takes
`peer_view`, which also names file and line when a value is wrong.
A property test (tests/property/test_unitfile_fastpeers.py) holds the two
paths equal.
"""

from __future__ import annotations

import re

from netdwg.errors import ParseError
from netdwg.keys import PresharedKey
from netdwg.unitfile.effective import EffectiveSection
from netdwg.unitfile.fastvalues import parse_network, public_key, secret_key
from netdwg.unitfile.syntax import Assignment, Comment
from netdwg.wireguard import Endpoint, WgPeer

WS = " \t\n\r"  # what the parser strips around keys and values (syntax.WHITESPACE)
# A "Key=value" line of a body without CR, backslash or indented lines, for keys that begin
# with an ASCII letter (every key networkd knows does): blank, "#"/";" comment and "=value"
# lines do not match, as systemd skips them. A line whose key begins otherwise is not seen,
# which changes nothing: its key is unknown, and peer_view ignores unknown keys too.
# (A leading letter instead of [^\s#;=] makes the scan about twice as fast.)
_PAIR = re.compile(r"^([A-Za-z][^=\n]*)=(.*)", re.M)
_HANDLED = frozenset({"PublicKey", "PresharedKey", "AllowedIPs", "Endpoint", "PersistentKeepalive"})

_new = object.__new__
_P_KEY, _P_IPS, _P_PSK = WgPeer.public_key.__set__, WgPeer.allowed_ips.__set__, WgPeer.preshared_key.__set__
_P_END, _P_KA, _P_NAME = WgPeer.endpoint.__set__, WgPeer.persistent_keepalive.__set__, WgPeer.name.__set__


def section_pairs(sec: EffectiveSection) -> list[tuple[str, str]] | None:
    """(key, value) of the assignments in reading order, without building `Value`s; None: not cheaply.

    Keys that do not begin with an ASCII letter may be left out (see _PAIR).
    """
    values = sec._values
    if values is not None:
        return [(v.key, v.text) for v in values]
    section = sec._source[1]
    entries = section._entries
    if entries is not None:
        return [(e.key, e.value) for e in entries if type(e) is Assignment]
    body = section.body
    if "\\" in body or "\r" in body:  # continuations and CR line ends: the full parser
        return None
    if "[" not in body and "\n " not in body and "\n\t" not in body and body[:1] not in (" ", "\t"):
        # every line starts in column 0: one C-level scan of the body (see _PAIR)
        pairs = _PAIR.findall(body)
        if " =" in body or "= " in body or "\t" in body or " \n" in body or body.endswith(" "):
            pairs = [(key.rstrip(" \t"), value.strip(" \t")) for key, value in pairs]
        return pairs
    pairs = []
    append = pairs.append
    for line in body.split("\n"):  # only "\n" ends a line here, as in syntax.split_lines
        s = line.strip(WS)
        if not s:
            continue
        c = s[0]
        if c == "#" or c == ";":
            continue
        if c == "[":
            return None  # cannot happen in a parsed body; not worth guessing
        eq = s.find("=")
        if eq > 0:
            append((s[:eq].rstrip(WS), s[eq + 1:].lstrip(WS)))
        # eq <= 0: a line systemd ignores (the checker reports it)
    return pairs


def fast_peer(sec: EffectiveSection, name: str = "") -> WgPeer | None:
    """The `WgPeer` (called ``name``) that `peer_view` gives for ``sec``, or None: "ask peer_view"."""
    pairs = section_pairs(sec)
    if pairs is None:
        return None
    last = dict(pairs)
    if not last.keys() <= _HANDLED:
        return None  # RouteMetric=, PresharedKeyFile=, a typo...: peer_view knows
    if len(last) == len(pairs):  # every key once (a hub's sections): no list to merge
        text = last.get("AllowedIPs")
        allowed = [text] if text else []
    else:
        allowed = []
        for key, value in pairs:
            if key == "AllowedIPs":
                if value:
                    allowed.append(value)
                else:
                    allowed.clear()  # an empty assignment resets the list
    text = last.get("PublicKey")
    if not text:
        return None  # skipped by to_wg_device, but peer_view still checks the other values
    key = public_key(text)
    if key is None:
        return None
    psk = None
    text = last.get("PresharedKey")
    if text:
        psk = secret_key(PresharedKey, text)
        if psk is None:
            return None
    try:
        nets = tuple([parse_network(w) for v in allowed for w in v.replace(",", " ").split()])
    except ValueError:
        return None
    endpoint = None
    text = last.get("Endpoint")
    if text:
        try:
            endpoint = Endpoint.parse(text)
        except ParseError:
            return None
    keepalive = 0
    text = last.get("PersistentKeepalive")
    if text and text.lower() != "off":
        try:
            keepalive = int(text, 0)
        except ValueError:
            return None
        if not 0 <= keepalive <= 65535:
            return None
    peer = _new(WgPeer)
    _P_KEY(peer, key)
    _P_IPS(peer, nets)
    _P_PSK(peer, psk)
    _P_END(peer, endpoint)
    _P_KA(peer, keepalive)
    _P_NAME(peer, name)
    return peer


def section_name_comment(sec: EffectiveSection) -> str:
    """The peer's name: first word of the comment run directly above its header ("# spoke-3: office").

    That run belongs to the section (netdwg.unitfile.edit moves and removes it
    with the peer); the renderers write the peer's host name there.
    """
    if sec._source is None:
        return ""
    above = sec._source[3]
    if type(above) is tuple:
        entries = above
    elif above._entries is None and "\\" not in above.body and "\r" not in above.body:
        texts = []
        lines = above.body.split("\n")
        if lines and not lines[-1]:
            lines.pop()  # the line end before the header
        for line in reversed(lines):
            s = line.strip(WS)
            if not s or (s[0] != "#" and s[0] != ";"):
                break
            texts.append(s[1:].strip())
        return _first_word(reversed(texts))
    else:
        entries = above.entries
    texts = []
    for entry in reversed(entries):
        if type(entry) is not Comment:
            break
        texts.append(entry.text)
    return _first_word(reversed(texts))


def _first_word(texts) -> str:
    for text in texts:
        if text:
            return text.split()[0].strip(":,")
    return ""
