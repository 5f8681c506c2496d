"""Writing wg-quick files: the text for a `WgQuickConfig`, and the RenderedFile
renderers hand to apply (0600, as wg-quick wants)."""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath

from netdwg.errors import ConfigError
from netdwg.rendered import MODE_PRIVATE, RenderedFile
from netdwg.wgquick.view import WgQuickConfig, WgQuickSettings
from netdwg.wireguard import WgDevice, WgPeer


# wg-quick reads a line with `read -r` (it ends at LF; bash strings end at NUL), cuts it at the
# first '#', splits it at the first '=' and trims [[:space:]] (space, \t, \n, \v, \f, \r) from both
# parts. A value that holds none of these, at either end or inside, reads back as written.
_UNSAFE_VALUE = re.compile("[\n\r\0#]|^[ \t\v\f]|[ \t\v\f]$")
_UNSAFE_COMMENT = re.compile("[\n\r\0]")


def wgquick_line(key: str, value: object) -> str:
    """``Key = value``: the one way netdwg writes a value into a wg-quick file.

    ConfigError (a ValueError) for a value wg-quick would read differently: it refuses, never escapes
    (wg-quick has no escape for '#' or a line break).
    """
    text = str(value)
    if _UNSAFE_VALUE.search(text) is not None or not key.isalnum():
        raise ConfigError(f"cannot write {key} = {text[:60]!r} into a wg-quick file: '#', line breaks, NUL "
                          f"and surrounding whitespace cut or change it",
                          fix="move the command into a script and call the script" if key.endswith(("Up", "Down"))
                          else "remove the character")
    return f"{key} = {text}"


def hook_command(*words: object) -> str:
    """A PreUp/PostUp/... command line: wg-quick replaces %i, then bash runs it with `eval`, so every
    word is shell-quoted (shlex: the words netdwg writes need no quotes and stay as they are;
    anything else stays one word)."""
    return " ".join(shlex.quote(str(word)) for word in words)


def wgquick_comment(text: str) -> str:
    """``# text``: the one way netdwg writes a comment into a wg-quick file (a peer's comment is its name)."""
    if _UNSAFE_COMMENT.search(text) is not None:
        raise ConfigError(f"cannot write the comment {text[:60]!r} into a wg-quick file: it holds a line break or "
                          f"NUL", fix="remove the character")
    return f"# {text}".rstrip()


def format_wgquick(config: WgQuickConfig) -> str:
    """A wg-quick file for `config`, in the usual key order; peer names become comments."""
    device, quick = config.device, config.settings
    out = ["[Interface]"]
    if device.private_key is not None:
        out.append(wgquick_line("PrivateKey", device.private_key.reveal_base64()))
    if device.listen_port is not None:
        out.append(wgquick_line("ListenPort", device.listen_port))
    if device.fwmark:
        out.append(wgquick_line("FwMark", f"{device.fwmark:#x}"))
    if quick.addresses:
        out.append(wgquick_line("Address", ", ".join(map(str, quick.addresses))))
    if quick.dns or quick.dns_search:
        out.append(wgquick_line("DNS", ", ".join([*map(str, quick.dns), *quick.dns_search])))
    if quick.mtu is not None:
        out.append(wgquick_line("MTU", quick.mtu))
    if quick.table is not None:
        out.append(wgquick_line("Table", quick.table))
    for key, commands in (("PreUp", quick.pre_up), ("PostUp", quick.post_up),
                          ("PreDown", quick.pre_down), ("PostDown", quick.post_down)):
        out.extend(wgquick_line(key, command) for command in commands)
    if quick.save_config:
        out.append(wgquick_line("SaveConfig", "true"))
    for peer in device.peers:
        out += ["", *_peer_lines(peer)]
    return "\n".join(out) + "\n"


def _peer_lines(peer: WgPeer) -> list[str]:
    out = ["[Peer]"] + ([wgquick_comment(peer.name)] if peer.name else [])
    out.append(wgquick_line("PublicKey", peer.public_key.base64))
    if peer.preshared_key is not None:
        out.append(wgquick_line("PresharedKey", peer.preshared_key.reveal_base64()))
    if peer.endpoint is not None:
        out.append(wgquick_line("Endpoint", peer.endpoint))
    if peer.allowed_ips:
        out.append(wgquick_line("AllowedIPs", ", ".join(map(str, peer.allowed_ips))))
    if peer.persistent_keepalive:
        out.append(wgquick_line("PersistentKeepalive", peer.persistent_keepalive))
    return out


def render_wgquick(config: WgQuickConfig, path: str | None = None) -> RenderedFile:
    """The file a renderer hands to apply: /etc/wireguard/NAME.conf, 0600 as wg-quick wants."""
    target = PurePosixPath(path or f"/etc/wireguard/{config.device.name}.conf")
    return RenderedFile(target, format_wgquick(config), mode=MODE_PRIVATE, secret=config.device.private_key is not None,
                        description=f"wg-quick configuration of {config.device.name}")


def wgquick_from_device(device: WgDevice, **settings) -> WgQuickConfig:
    """Builder for renderers: ``wgquick_from_device(dev, addresses=(...), table="off")``."""
    return WgQuickConfig(device, WgQuickSettings(**settings))
