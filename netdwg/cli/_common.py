"""What the offline verbs share beyond netdwg.topology.inputs: the prepared topology with its
store completed, explaining a refused write.

The leading underscore keeps this module out of the verb list.
"""

from __future__ import annotations

from pathlib import Path

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


def write_or_explain(write, path: str | Path, what: str = "the topology file") -> None:
    """Run `write()` (an atomic replace beside `path`); a refused write names `path`, not the temporary file."""
    try:
        write()
    except PermissionError:
        raise NotPermittedError(f"cannot write {what}: permission denied (netdwg replaces it atomically, "
                                "so its directory must be writable too)", Span(str(path)),
                                fix="run as root, or work on a copy in a directory you may write") from None
