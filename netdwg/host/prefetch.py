"""Ask userspace WireGuard devices for their state before apply has imported the rest of itself.

wireguard-go takes ~50 ms to write the `get=1` answer for 5,000 peers, and
`netdwg apply` ~60 ms to import its modules. On a machine with two cores
the two can overlap: `prefetch_rendered` (called first thing by `apply` and
`plan` with --from) finds the devices the rendered .netdevs name, and a child
process sends each socket its request, reads the answer and turns it into
peer texts while the parent imports. `UapiWgLink` takes the
answer when it first reads the device (`take`); anything that may have
changed a device in between (reverting an unconfirmed apply) calls
`discard_all`. Standard library only, so that it costs nothing to import.
"""

from __future__ import annotations

import marshal
import os
import re
import socket
from _thread import allocate_lock  # the C module: `threading` is never needed here

RUN_DIR = "/run/wireguard"
TIMEOUT = 10.0
NETWORKD_DIRS = ("etc/systemd/network", "run/systemd/network")
_ANSWER_END = re.compile(rb"(?:^|\n)errno=-?[0-9]+\n\n$")
# The [NetDev] section's lines up to the next section; Kind= and Name= among them.
_NETDEV_HEAD = re.compile(r"^\[NetDev\][ \t]*\n((?:[^\[\n][^\n]*\n|\n)*)", re.M)
_KIND_WG = re.compile(r"^Kind=wireguard[ \t]*$", re.M)
_NAME = re.compile(r"^Name=(\S+)[ \t]*$", re.M)

_lock = allocate_lock()
_pending: dict[str, tuple] = {}  # socket path -> (reader, [answer or OSError])


def netdev_wireguard_name(text: str) -> str | None:
    """The Name= of a .netdev's [NetDev] section when its Kind= is wireguard, read cheaply (a hint)."""
    head = _NETDEV_HEAD.search(text)
    if head is None or not _KIND_WG.search(head.group(1)):
        return None
    name = _NAME.search(head.group(1))
    return name.group(1) if name else None


def exchange(socket_path: str, request: bytes) -> bytes:
    """One UAPI request and its whole answer (up to and including `errno=N`); OSError on failure."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect(socket_path)
        sock.sendall(request)
        buf = bytearray()
        while not _ANSWER_END.search(bytes(buf[-40:])):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    return bytes(buf)


def split_answer(raw: bytes) -> tuple[str, str]:
    """(body, errno text) of a UAPI answer: the key=value lines and what follows the final `errno=`."""
    body, _, tail = raw.decode(errors="replace").rstrip("\n").rpartition("errno=")
    return body, tail


def start(socket_path: str) -> None:
    """Send `get=1` to the socket and read the answer in a child process (nothing if one is under way).

    A child rather than a thread: besides waiting for wireguard-go it turns the
    answer into `netdwg.peertext` texts (~20 ms for 5,000 peers of Python work),
    which a thread would do on the parent's time (one GIL) and a child does on
    the other core while the parent imports. The answer and the texts come back
    through a pipe (marshal).
    """
    with _lock:
        if socket_path in _pending:
            return
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_end)
            _child(socket_path, write_end)
        os.close(write_end)
        _pending[socket_path] = (pid, read_end)


def _child(socket_path: str, write_end: int) -> None:
    code = 0
    try:
        try:
            raw = exchange(socket_path, b"get=1\n\n")
            body, tail = split_answer(raw)
            texts = None
            if tail.strip() == "0":
                from netdwg.peertext import uapi_peer_texts  # stdlib only: cheap here

                texts = uapi_peer_texts(body)
            payload = marshal.dumps((raw, texts))
        except OSError as err:
            payload = marshal.dumps((err.errno or 0, err.strerror or str(err)))
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
    except BaseException:  # noqa: BLE001 -- the parent sees a short read and asks again itself
        code = 1
    finally:
        os._exit(code)


def take(socket_path: str) -> tuple[bytes, dict | None] | None:
    """(answer, its peer texts or None) that `start` asked for, waiting for it, once; None when
    none was asked or the child could not say. Raises the OSError the child met."""
    with _lock:
        entry = _pending.pop(socket_path, None)
    if entry is None:
        return None
    pid, read_end = entry
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    os.waitpid(pid, 0)
    try:
        result = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None  # the child died: the caller reads the device itself
    if isinstance(result[0], int):
        raise OSError(result[0], result[1])
    return result


def discard_all() -> None:
    """Forget every answer asked for: a device may have changed since. The children end on their own
    (a closed pipe) and are reaped here when they have."""
    with _lock:
        entries = list(_pending.values())
        _pending.clear()
    for pid, read_end in entries:
        os.close(read_end)
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def prefetch_rendered(directory: str, run_dir: str = RUN_DIR) -> None:
    """`start` for each userspace WireGuard device a .netdev under the rendered `directory` names."""
    for sub in NETWORKD_DIRS:
        try:
            names = sorted(os.listdir(os.path.join(directory, sub)))
        except OSError:
            continue
        for filename in names:
            if not filename.endswith(".netdev"):
                continue
            try:
                with open(os.path.join(directory, sub, filename), encoding="utf-8") as f:
                    name = netdev_wireguard_name(f.read())
            except (OSError, ValueError):
                continue  # read_rendered_dir reports it properly
            path = os.path.join(run_dir, f"{name}.sock") if name else None
            if path and os.path.exists(path):
                start(path)
