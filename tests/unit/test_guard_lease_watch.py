"""The lease watcher (inotify on the loop) on real files: in-place rewrites, and the
lease directory going away and coming back (networkd restarted with a clean /run)."""

from __future__ import annotations

import asyncio
import socket

from netdwg.guard.observed import LeaseGone, LeaseSeen
from netdwg.guard.sources.leases import LeaseWatcher

LEASE = "# This is private data. Do not parse.\nADDRESS=192.0.2.5\nSERVER_ADDRESS=192.0.2.1\nDOMAINNAME={}\n"


async def _until(predicate, what: str) -> None:
    for _ in range(200):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_rewrites_in_place_and_a_recreated_directory_are_followed(tmp_path):
    async def scenario():
        seen: list = []
        leases = tmp_path / "leases"
        leases.mkdir()
        index = socket.if_nametoindex("lo")
        watcher = LeaseWatcher(asyncio.get_running_loop(), lambda events, at: seen.extend(events), leases)
        watcher.start()
        try:
            domains = lambda: [e.lease.domain for e in seen if isinstance(e, LeaseSeen)]  # noqa: E731
            (leases / str(index)).write_text(LEASE.format("a.test"))  # in place: IN_CLOSE_WRITE
            await _until(lambda: domains() == ["a.test"], "the first lease")
            (leases / str(index)).write_text(LEASE.format("b.test"))  # renewal, other domain
            await _until(lambda: domains() == ["a.test", "b.test"], "the changed lease")
            (leases / str(index)).unlink()
            leases.rmdir()  # the watch falls back to the parent
            await _until(lambda: any(isinstance(e, LeaseGone) for e in seen), "the lease loss")
            await _until(lambda: watcher._watch is not None and watcher._watch.path == str(tmp_path),
                         "the watch on the parent")
            leases.mkdir()
            await _until(lambda: watcher._watch.path == str(leases), "the watch on the new directory")
            (leases / str(index)).write_text(LEASE.format("c.test"))
            await _until(lambda: domains()[-1:] == ["c.test"], "a lease in the new directory")
            assert domains() == ["a.test", "b.test", "c.test"], "our own reads must not echo back"
        finally:
            watcher.stop()

    asyncio.run(scenario())
