"""Bash completion: run the real script in bash against the real netdwg CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "completion" / "netdwg.bash"
NETDWG = Path(sys.executable).parent / "netdwg"
EXAMPLE = REPO / "examples" / "harbor.conf"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or not NETDWG.exists(),
                                reason="needs bash and the netdwg entry point in the venv")


def complete(*words: str) -> list[str]:
    """COMPREPLY for the command line `netdwg WORDS...` with the cursor on the last word."""
    argv = [str(NETDWG), *words]
    quoted = " ".join(f"'{w}'" for w in argv)
    script = (f"source '{SCRIPT}'\n"
              f"COMP_WORDS=({quoted}); COMP_CWORD={len(argv) - 1}\n"
              f"COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}\n"
              "_netdwg\n"
              "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


def test_script_is_valid_bash():
    proc = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_completes_every_verb_of_the_cli(cli_verbs):
    assert cli_verbs, "netdwg registers no verb"
    assert sorted(complete("")) == cli_verbs


def test_completes_a_verb_prefix(cli_verbs):
    prefix = cli_verbs[0][:2]
    assert sorted(complete(prefix)) == [v for v in cli_verbs if v.startswith(prefix)]


def test_completes_top_level_options():
    assert {"--help", "--version"} <= set(complete("--"))


def test_completes_host_names_from_the_topology():
    hosts = complete("show", "--topology", str(EXAMPLE), "--host", "")
    assert sorted(hosts) == ["ana", "ben", "bergen", "oslo", "relay"]
    assert sorted(complete("render", "--topology", str(EXAMPLE), "--host", "b")) == ["ben", "bergen"]


def test_completes_formats():
    # Each verb's own choices, as its --help lists them.
    assert sorted(complete("render", "--format", "")) == ["netplan", "networkd", "networkmanager", "wg-quick"]
    assert sorted(complete("show", "--format", "")) == ["dot", "png", "svg"]


def test_completes_nested_verbs_and_their_positional_hosts(cli_verbs):
    assert "host" in cli_verbs
    assert {"add", "remove"} <= set(complete("host", ""))
    assert sorted(complete("--topology", str(EXAMPLE), "host", "remove", "")) == [
        "ana", "ben", "bergen", "oslo", "relay"]
