"""A .netdev's Kind=: networkd takes the kinds of its release's netdev_kind_table[] (generated:
schema_data.NETDEV_KINDS; 258 added hsr and removed netdevsim, commits f7996e2a33 and 67bdb6bee0
of systemd). Any other value it warns about and ignores (config_parse_netdev_kind() in
src/network/netdev/netdev.c), and a file left without a kind it ignores whole ("NetDev has no
Kind= configured", UNIT009 in check_effective)."""

from __future__ import annotations

from netdwg.unitfile import schema


def kind_warning(value: str, target_version: int) -> tuple[str, str] | None:
    """networkd's warning for Kind=``value`` and the fix (None: a kind of that release)."""
    known = schema.netdev_kinds(target_version)
    if value in known:
        return None
    message = f"Failed to parse netdev kind, ignoring assignment: {value}"
    since, until = schema.netdev_kind_span(value)
    if since is not None and since > target_version:
        return (message + f" (Kind={value} needs systemd {since}; the target is systemd {target_version})",
                "raise the target with --systemd-version, or use a kind this systemd has")
    if until is not None and until < target_version:
        return (message + f" (Kind={value} was removed after systemd {until})",
                f"systemd {target_version} makes no {value} devices: see man systemd.netdev for its kinds")
    guess = schema.suggest(value, known)
    return message, (f"did you mean Kind={guess}?" if guess else "see man systemd.netdev for the kinds")
