"""Running one active check (guard/proofs.py decides which and when): the result is always a
Proof value, never an exception, stamped with when it ended and which attempt it was, so the
policy's retry schedule reads everything it needs from the observed snapshot."""

from __future__ import annotations

import os
import ssl
import time

from netdwg.guard.actions import fetch_certificate_sha256
from netdwg.guard.observed import Proof
from netdwg.guard.proofs import Prove


async def run_check(prove: Prove) -> Proof:
    try:
        if prove.ssh is not None:
            from netdwg.guard.sshkey import fetch_ssh_host_key_sha256  # noqa: PLC0415 (cryptography)
            digest = await fetch_ssh_host_key_sha256(prove.dev, prove.host, prove.port, prove.ssh.key_type)
        else:
            digest = await fetch_certificate_sha256(prove.dev, prove.host, prove.port)
        return Proof(prove.dev, prove.host, prove.port, sha256=digest, kind=prove.kind,
                     at=time.monotonic(), attempt=prove.attempt)
    except Exception as err:  # noqa: BLE001 -- any failure is a failed proof, never a dead task
        # sshkey.SshKeyRefuted says `conclusive`: an answer (not retried fast), not a failure
        return Proof(prove.dev, prove.host, prove.port, error=describe_error(err), kind=prove.kind,
                     at=time.monotonic(), attempt=prove.attempt,
                     conclusive=bool(getattr(err, "conclusive", False)))


def describe_error(err: BaseException) -> str:
    """A check's error as status shows it."""
    if isinstance(err, TimeoutError) and not str(err):  # asyncio's timeout has no message
        return "timed out"
    if isinstance(err, OSError) and err.errno and not isinstance(err, ssl.SSLError):
        # asyncio says "[Errno 111] Connect call failed ('172.20.10.5', 22)"; SSLError's errno is no errno
        return os.strerror(err.errno)
    return str(err) or type(err).__name__
