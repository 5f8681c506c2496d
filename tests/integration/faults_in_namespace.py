"""Run inside `unshare -m --propagation private`: real file-system faults under a netdwg write.

    python faults_in_namespace.py SCENARIO DIR      prints one JSON object

DIR gets a small tmpfs (private to this mount namespace, gone when it ends); the
scenario puts an old key-bearing file there, causes the fault, lets netdwg write a
new one and reports what netdwg said and what is left under DIR, so the test can
assert on it after the namespace (and the tmpfs) are gone. Not collected by pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

from netdwg.errors import NetdwgError
from netdwg.host.files import RootFiles
from netdwg.keys import genkey
from netdwg.rendered import RenderedFile

NETDEV = PurePosixPath("/etc/systemd/network/50-wg0.netdev")


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def fill(directory: Path, leave: int) -> None:
    """Fill the file system, then give back `leave` bytes (so a write starts, then meets ENOSPC)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    os.truncate(filler, max(0, filler.stat().st_size - leave))


def leftovers(root: Path, keys: list[str]) -> dict:
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != "filler":
            data = path.read_bytes()
            found[str(path.relative_to(root))] = {"holds_new_key": any(k.encode() in data for k in keys),
                                                  "text": data[:200].decode(errors="replace")}
    return found


def apply_on_a_full_disk(root: Path) -> dict:
    """`netdwg apply --root` of a new key onto a full file system: exit 2, rolled back, no key left."""
    work = root.parent / f"{root.name}-work"
    keys = []
    for name in ("old", "new"):
        keys.append(genkey().reveal_base64())
        tree = work / name / "etc/systemd/network"
        tree.mkdir(parents=True, exist_ok=True)
        (tree / "50-wg0.netdev").write_text(f"[NetDev]\nName=wg0\nKind=wireguard\n\n[WireGuard]\nPrivateKey={keys[-1]}\n")
        (tree / "50-wg0.network").write_text(f"[Match]\nName=wg0\n# {name}\n" + "# padding\n" * 3000)
    root.mkdir(parents=True, exist_ok=True)
    mount("-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(root))

    def apply(name: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "netdwg", "apply", "--from", str(work / name), "--root", str(root),
                               "--state-dir", str(work / "state")], capture_output=True, text=True)

    first = apply("old")
    fill(root, leave=4096)
    second = apply("new")
    return {"first": first.returncode, "rc": second.returncode, "error": second.stderr,
            "left": leftovers(root, keys[1:]), "kept": (root / "etc/systemd/network/50-wg0.netdev").read_text()}


def render_on_a_full_disk(root: Path, topology: Path) -> dict:
    """`netdwg render --out` (all hosts, one batch) onto a file system that fills up mid-way."""
    def netdwg(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "netdwg", *args, "-t", str(topology)], capture_output=True, text=True)

    assert netdwg("keys", "generate").returncode == 0
    store = topology.with_suffix(".secrets").read_text()
    keys = [line.split("=", 1)[1].strip() for line in store.splitlines() if line.count("=") >= 2 and " = " in line
            and not line.startswith("#") and len(line.split("=", 1)[1].strip()) == 44]
    root.mkdir(parents=True, exist_ok=True)
    mount("-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(root))
    fill(root, leave=12288)
    done = netdwg("render", "--out", str(root))
    return {"rc": done.returncode, "error": done.stderr, "keys": len(keys), "left": leftovers(root, keys)}


def main(scenario: str, root: Path) -> dict:
    if scenario == "apply-enospc":
        return apply_on_a_full_disk(root)
    if scenario == "render-enospc":
        return render_on_a_full_disk(root, Path(sys.argv[3]))
    root.mkdir(parents=True, exist_ok=True)
    mount("-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(root))
    files = RootFiles(root)
    files.write(RenderedFile(NETDEV, "old\n", 0o640))
    key = genkey().reveal_base64()
    # Big enough to need several pages: the first ones land in the temp file before ENOSPC.
    new = RenderedFile(NETDEV, f"[WireGuard]\nPrivateKey={key}\n" + "# padding\n" * 6000, 0o640, secret=True)
    target = root / NETDEV.relative_to("/")
    if scenario == "enospc":
        fill(root, leave=8192)
    elif scenario == "erofs":
        mount("-o", "remount,ro", str(root))
    elif scenario == "ebusy":  # the target is a mount point: the kernel refuses the rename itself
        (root / "other").write_text("other\n")
        mount("--bind", str(root / "other"), str(target))
    error = None
    try:
        files.write(new)
    except NetdwgError as err:
        error = str(err)
    if scenario == "ebusy":
        subprocess.run(["umount", str(target)], check=True)
        (root / "other").unlink()
    return {"error": error, "left": leftovers(root, [key])}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]))))
