"""What the offline verbs share beyond netdwg.topology.inputs: the prepared topology with its
store completed, explaining a refused write, this machine's name and key files for the
readers of hand-written host files.

The leading underscore keeps this module out of the verb list.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from netdwg.errors import NotPermittedError, Span
from netdwg.topology.inputs import load_prepared


def prepare_topology(path: str | Path, complete: bool = True, announce=None):
    """The topology and its store (`netdwg.topology.inputs.load_prepared`); with `complete`,
    what the store lacks is generated and saved before it is used (`netdwg.apply.writes.complete_store`).

    A store a non-root user can neither read nor save is exit 77 naming the store:
    `load_secrets` and `save_secrets` raise that themselves.
    """
    prepared = load_prepared(path)
    if not complete:
        return prepared
    from netdwg.apply.writes import complete_store

    return complete_store(prepared, announce)


def this_host_name() -> str:
    """This machine's short host name: the host that files under its own /etc belong to."""
    import socket

    return socket.gethostname().split(".")[0]


def read_local_key(path: PurePosixPath) -> str | None:
    """A key file named by a host file (PrivateKeyFile=, netplan key:), read at its absolute path
    on this machine within netdwg.values' limits; None when it cannot be read."""
    from netdwg.values import MAX_FILE_BYTES, read_limited

    try:
        return read_limited(Path(path), MAX_FILE_BYTES, "a key file").decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def write_or_explain(write, path: str | Path, what: str = "the topology file") -> None:
    """Run `write()` (an atomic replace beside `path`); a refused write names `path`, not the temporary file."""
    try:
        write()
    except PermissionError:
        raise NotPermittedError(f"cannot write {what}: permission denied (netdwg replaces it atomically, "
                                "so its directory must be writable too)", Span(str(path)),
                                fix="run as root, or work on a copy in a directory you may write") from None
