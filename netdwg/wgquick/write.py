"""Writing wg-quick files: the text for a `WgQuickConfig`, and the RenderedFile
renderers hand to apply (0600, as wg-quick wants)."""

from __future__ import annotations

from pathlib import PurePosixPath

from netdwg.errors import ConfigError
from netdwg.rendered import MODE_PRIVATE, RenderedFile
from netdwg.wgquick.view import WgQuickConfig, WgQuickSettings
from netdwg.wireguard import WgDevice, WgPeer


def format_wgquick(config: WgQuickConfig) -> str:
    """A wg-quick file for `config`, in the usual key order; peer names become comments."""
    device, quick = config.device, config.settings
    out = ["[Interface]"]
    if device.private_key is not None:
        out.append(f"PrivateKey = {device.private_key.reveal_base64()}")
    if device.listen_port is not None:
        out.append(f"ListenPort = {device.listen_port}")
    if device.fwmark:
        out.append(f"FwMark = {device.fwmark:#x}")
    if quick.addresses:
        out.append(f"Address = {', '.join(map(str, quick.addresses))}")
    if quick.dns or quick.dns_search:
        out.append(f"DNS = {', '.join([*map(str, quick.dns), *quick.dns_search])}")
    if quick.mtu is not None:
        out.append(f"MTU = {quick.mtu}")
    if quick.table is not None:
        out.append(f"Table = {quick.table}")
    for key, commands in (("PreUp", quick.pre_up), ("PostUp", quick.post_up),
                          ("PreDown", quick.pre_down), ("PostDown", quick.post_down)):
        out.extend(f"{key} = {command}" for command in commands)
    if quick.save_config:
        out.append("SaveConfig = true")
    for peer in device.peers:
        out += ["", *_peer_lines(peer)]
    _refuse_unwritable(config)
    return "\n".join(out) + "\n"


def _peer_lines(peer: WgPeer) -> list[str]:
    out = ["[Peer]"] + ([f"# {peer.name}"] if peer.name else []) + [f"PublicKey = {peer.public_key.base64}"]
    if peer.preshared_key is not None:
        out.append(f"PresharedKey = {peer.preshared_key.reveal_base64()}")
    if peer.endpoint is not None:
        out.append(f"Endpoint = {peer.endpoint}")
    if peer.allowed_ips:
        out.append(f"AllowedIPs = {', '.join(map(str, peer.allowed_ips))}")
    if peer.persistent_keepalive:
        out.append(f"PersistentKeepalive = {peer.persistent_keepalive}")
    return out


def _refuse_unwritable(config: WgQuickConfig) -> None:
    quick = config.settings
    for text in (*quick.pre_up, *quick.post_up, *quick.pre_down, *quick.post_down, *quick.dns_search,
                 quick.table or "", *(p.name for p in config.device.peers)):
        if any(c in text for c in "\n\0#") and text:
            raise ConfigError(f"cannot write {text!r} into a wg-quick file: '#', newlines and NUL cut it",
                              fix="move the command into a script and call the script")


def render_wgquick(config: WgQuickConfig, path: str | None = None) -> RenderedFile:
    """The file a renderer hands to apply: /etc/wireguard/NAME.conf, 0600 as wg-quick wants."""
    target = PurePosixPath(path or f"/etc/wireguard/{config.device.name}.conf")
    return RenderedFile(target, format_wgquick(config), mode=MODE_PRIVATE, secret=config.device.private_key is not None,
                        description=f"wg-quick configuration of {config.device.name}")


def wgquick_from_device(device: WgDevice, **settings) -> WgQuickConfig:
    """Builder for renderers: ``wgquick_from_device(dev, addresses=(...), table="off")``."""
    return WgQuickConfig(device, WgQuickSettings(**settings))
