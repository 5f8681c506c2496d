"""Files the offline verbs write, through the one atomic writer (`netdwg.host.files.Tree`).

    write_rendered(out, files) -> [Path]          render --out: files laid out as under / beneath DIR
    save_secrets(path, secrets)                   the secrets store (0600), in its own directory
    complete_store(prepared, announce, ...)       generate what the store lacks, save it, then announce
    write_topology(path, text)                    the topology file, keeping its mode and owner
    write_private(path, data)                     a file only its owner reads (qr --png: a private key)
    write_public(path, data)                      a file anyone may read (metrics --textfile: node_exporter's)
    write_host_key(path, data, group)             the key a host keeps itself (keys own): 0600, or 0640
                                                  root:GROUP for networkd's PrivateKeyFile=

The topology layer computes texts and never writes (`netdwg.topology.secrets.format_secrets`,
`netdwg.topology.edit`); the CLI reaches the writer only through here, the layer allowed to
import `netdwg.host`. Each write stays inside the directory it names: a `..` or a symbolic
link met below it is an error naming it, and a failed write leaves the old file and no
temporary file (see netdwg/host/files.py).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterable

from netdwg.errors import NotPermittedError, Span
from netdwg.host.files import Tree
from netdwg.rendered import RenderedFile
from netdwg.topology.prepare import Prepared, complete_prepared
from netdwg.topology.secrets import Secrets, format_secrets


def write_rendered(out: Path, files: Iterable[RenderedFile], below: str = "") -> list[Path]:
    """Each file at DIR[/below]/<its absolute path>, its final mode from the start (owners are apply's job)."""
    return Tree(out).write_many([(f"{below}/{file.path}", file.text.encode("utf-8"), file.mode, None) for file in files])


def save_secrets(path: str | Path, secrets: Secrets) -> None:
    """The store, 0600 from its first byte; a directory it needs is made root-only."""
    path = Path(path)
    try:
        Tree(path.parent, dir_mode=0o700).write(path.name, format_secrets(secrets).encode("utf-8"), 0o600)
    except PermissionError as err:  # name the store, not the temp file
        raise NotPermittedError(f"cannot save the secrets store: {(err.strerror or 'permission denied').lower()}",
                                Span(str(path)),
                                fix="run as root (the store holds the private keys; it is written mode 0600)") from None


def complete_store(prepared: Prepared, announce: Callable[[str], None] | None = None,
                   record_public_keys: bool = True) -> Prepared:
    """Generate what the store lacks and save it (0600) before anything is rendered.

    Generated secrets are announced by name, never by value, and only once the
    store holding them is saved. `record_public_keys`: also save a store that
    only lacks recorded public keys (`netdwg keys generate` does; a render that
    generates nothing leaves the store untouched).
    """
    completed = complete_prepared(prepared)  # an export lacking something is an error: it is never completed
    if completed.secrets.export_of:
        return completed
    records = completed.secrets.verified_public_keys()
    unrecorded = sum(completed.secrets.public_keys.get(host) != record for host, record in records.items())
    if not completed.generated and not (record_public_keys and unrecorded):
        return prepared
    secrets = replace(completed.secrets, public_keys=MappingProxyType(records))
    save_secrets(prepared.secrets_path, secrets)
    if announce:
        for what in completed.generated:
            announce(f"[#] generated {what}")
        if unrecorded and not completed.generated:
            announce(f"[#] recorded {unrecorded} public key(s) in the store (derived once, not on every render)")
        announce(f"[#] saved {prepared.secrets_path} (mode 0600)")
    return replace(completed, secrets=secrets)


def write_topology(path: str | Path, text: str) -> None:
    """Replace the topology file atomically, keeping its mode (and owner, when we may)."""
    path = Path(path)
    try:
        st = path.lstat()
        mode, ids = st.st_mode & 0o7777, ((st.st_uid, st.st_gid) if os.geteuid() == 0 else None)
    except FileNotFoundError:
        mode, ids = 0o644, None
    try:
        Tree(path.parent).write(path.name, text.encode("utf-8"), mode, ids)
    except PermissionError:
        raise NotPermittedError(f"{path}: permission denied", Span(str(path)), fix="run as root") from None


def write_private(path: str | Path, data: bytes, option: str = "--out") -> None:
    """A file only its owner may read, whatever mode an older file at `path` had."""
    path = Path(path)
    try:
        Tree(path.parent).write(path.name, data, 0o600)
    except PermissionError as err:
        raise NotPermittedError(f"cannot write {path}: {err.strerror}", fix=f"choose another {option} path") from None


def write_public(path: str | Path, data: bytes, option: str = "--textfile") -> None:
    """A file every user may read (0644): node_exporter's textfile collector reads it as its own user."""
    path = Path(path)
    try:
        Tree(path.parent).write(path.name, data, 0o644)
    except PermissionError as err:
        raise NotPermittedError(f"cannot write {path}: {err.strerror}", Span(str(path)),
                                fix=f"choose another {option} directory, or run as a user who may write it") from None


def write_host_key(path: str | Path, data: bytes, group: str | None = None) -> None:
    """The private key a host keeps itself: 0600 root, or 0640 root:`group` (systemd-network reads
    PrivateKeyFile= as that group; 0600 root:root is "Permission denied" on networkd 252)."""
    import grp

    path = Path(path)
    try:
        ids = None if group is None else (0, grp.getgrnam(group).gr_gid)
    except KeyError:
        raise NotPermittedError(f"no group '{group}' on this host", Span(str(path)),
                                fix="install systemd-networkd (it creates the group), or leave --group out") from None
    try:
        # The directory stays 0755: systemd-network must reach the file to read it.
        Tree(path.parent).write(path.name, data, 0o600 if group is None else 0o640, ids)
    except PermissionError as err:
        raise NotPermittedError(f"cannot write {path}: {err.strerror}", Span(str(path)), fix="run as root") from None
