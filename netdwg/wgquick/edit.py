"""Minimal edits of wg-quick files: every line an edit does not touch stays
byte-identical, and the comments right above a peer go with it."""

from __future__ import annotations

from dataclasses import replace

from netdwg.errors import ConfigError
from netdwg.keys import PublicKey
from netdwg.wgquick.syntax import LineKind, WgQuickFile, _classify, _drop_space, parse_wgquick_file
from netdwg.wgquick.write import _peer_lines
from netdwg.wireguard import WgPeer


def _peer_range(file: WgQuickFile, key: PublicKey) -> tuple[int, int] | None:
    """[start, end) of the [Peer] section with `key`, with the comments right above it
    (no blank line between) and without the comments that lead into the next section."""
    lines = file.lines
    heads = [i for i, line in enumerate(lines) if line.kind is LineKind.SECTION] + [len(lines)]
    for head, nxt in zip(heads, heads[1:]):
        if lines[head].section != "peer":
            continue
        keys = [_drop_space(line.value) for line in lines[head:nxt] if line.key == "PublicKey"]
        if not keys or keys[-1] != key.base64:
            continue
        start, end = head, nxt
        while start > 0 and lines[start - 1].kind is LineKind.COMMENT:
            start -= 1
        while end > head + 1 and nxt < len(lines) and lines[end - 1].kind is LineKind.COMMENT:
            end -= 1
        return start, end
    return None


def remove_peer(file: WgQuickFile, key: PublicKey) -> WgQuickFile:
    """Drop the peer with `key` and the comments that describe it; a no-op if absent."""
    found = _peer_range(file, key)
    if found is None:
        return file
    lines = file.lines[:found[0]] + file.lines[found[1]:]
    return WgQuickFile(file.path, lines)


def add_peer(file: WgQuickFile, peer: WgPeer) -> WgQuickFile:
    """Append a [Peer] section (after a blank line), replacing any peer with the same key."""
    file = remove_peer(file, peer.public_key)
    text = file.format()
    if text and not text.endswith("\n"):
        text += "\n"
    block = ("\n" if text.strip() and not text.endswith("\n\n") else "") + "\n".join(_peer_lines(peer)) + "\n"
    return parse_wgquick_file(text + block, file.path)


def set_peer_allowed_ips(file: WgQuickFile, key: PublicKey, networks) -> WgQuickFile:
    """Rewrite the first AllowedIPs line of a peer (keeping its indentation and
    comment), drop its other AllowedIPs lines, or add one after PublicKey."""
    found = _peer_range(file, key)
    if found is None:
        raise ConfigError(f"{file.path}: no [Peer] with PublicKey {key}", fix="add the peer first")
    value = ", ".join(map(str, networks))
    lines = list(file.lines)
    spots = [i for i in range(*found) if lines[i].key == "AllowedIPs" and lines[i].kind is LineKind.KEY]
    if not value:  # wg rejects "AllowedIPs =": no prefixes means no AllowedIPs line
        return WgQuickFile(file.path, tuple(line for i, line in enumerate(lines) if i not in spots))
    if spots:
        old = lines[spots[0]]
        eq = old.text.index("=")
        comment = old.text[old.text.index("#"):] if "#" in old.text[eq:] else ""
        rest = old.text[eq + 1:]
        lead = rest[:len(rest) - len(rest.lstrip(" \t"))]
        text = old.text[:eq + 1] + lead + value + (" " + comment if comment else "")
        lines[spots[0]] = _classify(text, old.eol, old.section)
        for i in reversed(spots[1:]):
            del lines[i]
    else:
        at = next(i for i in range(*found) if lines[i].key == "PublicKey")
        lines.insert(at + 1, _classify(f"AllowedIPs = {value}", "\n", "peer"))
        if not lines[at].eol:
            lines[at] = replace(lines[at], eol="\n")
    return WgQuickFile(file.path, tuple(lines))
