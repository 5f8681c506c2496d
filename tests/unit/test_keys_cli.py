"""`netdwg keys genkey|pubkey|genpsk` against real pipes, files and a terminal,
compared with the real `wg`."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys

import pytest

from netdwg.keys import PresharedKey, PrivateKey

NETDWG = [sys.executable, "-m", "netdwg", "keys"]
WARNING = "Warning: writing to world accessible file.\nConsider setting the umask to 077 and trying again.\n"
needs_wg = pytest.mark.skipif(not shutil.which("wg"), reason="needs wg")


def run_to_file(action: str, path, umask: int) -> subprocess.CompletedProcess:
    """`(umask U; netdwg keys ACTION > path)`, the way an admin types it."""
    cmd = " ".join(NETDWG) + f" {action} > {path}"
    return subprocess.run(["sh", "-c", f"umask {umask:03o}; {cmd}"], capture_output=True, text=True, timeout=60)


@needs_wg
def test_genkey_pipe_to_pubkey_matches_wg(tmp_path):
    out = subprocess.run(["sh", "-c", " ".join(NETDWG) + " genkey | tee key | " + " ".join(NETDWG) + " pubkey"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr == ""
    private = (tmp_path / "key").read_text()
    assert len(private) == 45 and private.endswith("\n")
    real = subprocess.run(["wg", "pubkey"], input=private, capture_output=True, text=True, check=True).stdout
    assert out.stdout == real
    PrivateKey.from_base64(private)


def test_genkey_to_private_file_is_silent_and_world_readable_file_warns_like_wg(tmp_path):
    quiet = run_to_file("genkey", tmp_path / "a.key", 0o077)
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert oct((tmp_path / "a.key").stat().st_mode & 0o777) == "0o600"
    loud = run_to_file("genpsk", tmp_path / "b.psk", 0o022)
    assert loud.returncode == 0 and loud.stderr == WARNING
    PresharedKey.from_base64((tmp_path / "b.psk").read_text())


@needs_wg
def test_warning_is_word_for_word_what_wg_prints(tmp_path):
    real = subprocess.run(["sh", "-c", f"umask 022; wg genkey > {tmp_path / 'w.key'}"], capture_output=True, text=True)
    assert real.stderr == WARNING


@pytest.mark.parametrize("action", ["genkey", "genpsk"])
def test_secret_is_never_printed_to_a_terminal(action):
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(NETDWG + [action], stdout=follower, stderr=subprocess.PIPE, text=True, timeout=60)
        os.close(follower)
        follower = -1
        shown = b""
        try:
            while chunk := os.read(leader, 4096):
                shown += chunk
        except OSError:
            pass  # EIO: the terminal has no writer left
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 2
    assert "refusing to print" in proc.stderr and "umask 077" in proc.stderr
    assert shown == b""


def test_pubkey_rejects_bad_input_without_echo_or_traceback():
    almost = "cCooyHcL8TLpGa3GB5PiVMEVZS8M9+drMIdY0cq7xF"
    out = subprocess.run(NETDWG + ["pubkey"], input=almost + "\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert "<stdin>:1:" in out.stderr and almost not in out.stderr and "Traceback" not in out.stderr
    binary = subprocess.run(NETDWG + ["pubkey"], input=b"\x00\xff" * 5000, capture_output=True, timeout=60)
    assert binary.returncode == 2 and b"Traceback" not in binary.stderr


def test_keys_help_teaches_and_lists_actions():
    out = subprocess.run(NETDWG + ["--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for word in ("genkey", "pubkey", "genpsk", "examples:", "umask 077"):
        assert word in out.stdout
