"""Ask userspace WireGuard devices for their state before apply has imported the rest of itself.

wireguard-go takes ~50 ms to write the `get=1` answer for 5,000 peers, and
`netdwg apply` ~60 ms to import its modules. On a machine with two cores
the two can overlap: `prefetch_rendered` (called first thing by `apply` and
`plan` with --from) finds the devices the rendered .netdevs name, sends each
socket its request and reads the answer in a thread. `UapiWgLink` takes the
answer when it first reads the device (`take`); anything that may have
changed a device in between (reverting an unconfirmed apply) calls
`discard_all`. Standard library only, so that it costs nothing to import.
"""

from __future__ import annotations

import os
import re
import socket
from _thread import allocate_lock  # the C module: `threading` is imported only when a read starts

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


def start(socket_path: str) -> None:
    """Send `get=1` to the socket and read the answer in a thread (nothing if one is under way)."""
    import threading

    with _lock:
        if socket_path in _pending:
            return
        box: list = []

        def read() -> None:
            try:
                box.append(exchange(socket_path, b"get=1\n\n"))
            except OSError as err:
                box.append(err)

        reader = threading.Thread(target=read, name="uapi-get", daemon=True)
        _pending[socket_path] = (reader, box)
    reader.start()


def take(socket_path: str) -> bytes | None:
    """The answer `start` asked for (waiting for it), once; None when none was asked. Raises its OSError."""
    with _lock:
        entry = _pending.pop(socket_path, None)
    if entry is None:
        return None
    reader, box = entry
    reader.join()
    if isinstance(box[0], OSError):
        raise box[0]
    return box[0]


def discard_all() -> None:
    """Forget every answer asked for: a device may have changed since (the threads end on their own)."""
    with _lock:
        _pending.clear()


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
