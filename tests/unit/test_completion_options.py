"""Bash completion against the argparse parser: every verb path offers each of
its long options, and each option's value completes as the parser says
(directories for DIR, files for FILE, the choices, the topology's hosts).

The real completion/netdwg.bash runs in bash against the real netdwg entry
point, all cases in one bash process (the script caches each --help).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from netdwg.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "completion" / "netdwg.bash"
NETDWG = Path(sys.executable).parent / "netdwg"
EXAMPLE = "examples/harbor.conf"
HOSTS = ["ana", "ben", "bergen", "oslo", "relay"]
END = "@@end-of-reply@@"

pytestmark = pytest.mark.skipif(not NETDWG.exists(), reason="needs the netdwg entry point beside this Python")


def _paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) for the top level and every verb and sub-verb."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _paths(sub, (*path, name))


def _shown(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The options --help shows (not those with help=SUPPRESS, such as keys own --key-dir)."""
    return [a for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS]


def _long_options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in _shown(parser) for o in a.option_strings if o.startswith("--")}


def complete_all(cases: list[tuple[str, ...]]) -> list[list[str]]:
    """COMPREPLY for each command line `netdwg WORDS...`, the cursor on its last word."""
    lines = [f"source {shlex.quote(str(SCRIPT))}"]
    for words in cases:
        argv = [str(NETDWG), *words]
        lines += [f"COMP_WORDS=({' '.join(shlex.quote(w) for w in argv)}); COMP_CWORD={len(argv) - 1}",
                  'COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()',
                  "_netdwg", 'printf \'%s\\n\' "${COMPREPLY[@]}"', f"echo {END}"]
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(lines)], capture_output=True, text=True,
                          timeout=300, cwd=REPO, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
    assert proc.returncode == 0, proc.stderr
    replies = proc.stdout.split(f"{END}\n")[:-1]
    assert len(replies) == len(cases), proc.stdout[-2000:]
    return [[line for line in reply.splitlines() if line] for reply in replies]


def test_every_verb_path_completes_each_of_its_long_options():
    paths = list(_paths(build_parser()))
    assert len(paths) > 20, [p for p, _ in paths]
    replies = complete_all([(*path, "--") for path, _ in paths])
    wrong = {" ".join(path) or "(netdwg)": {"missing": sorted(_long_options(parser) - set(reply)),
                                            "not options": sorted(set(reply) - _long_options(parser))}
             for (path, parser), reply in zip(paths, replies) if set(reply) != _long_options(parser)}
    assert wrong == {}, wrong


def test_each_option_value_completes_as_the_parser_says():
    """DIR: directories only; FILE: files; choices: exactly them; a host: the topology's hosts."""
    cases, expected = [], []
    for path, parser in _paths(build_parser()):
        for action in (a for a in _shown(parser) if a.nargs != 0):
            option = next(o for o in action.option_strings if o.startswith("--"))
            line = ("--topology", EXAMPLE, *path, option)
            if action.choices is not None:
                cases.append((*line, ""))
                expected.append((action, sorted(str(c) for c in action.choices)))
            elif action.metavar == "DIR":
                cases += [(*line, "examples/1"), (*line, "tes")]
                expected += [(action, []), (action, ["tests"])]
            elif action.metavar in ("FILE", "TOPOLOGY"):
                cases.append((*line, "examples/1"))
                expected.append((action, ["examples/1-offices.conf"]))
            elif action.metavar == "HOST" or option == "--host":
                cases.append((*line, "b"))
                expected.append((action, ["ben", "bergen"]))
    assert len(cases) > 40, cases
    replies = complete_all(cases)
    wrong = [f"netdwg {' '.join(case[2:])}: {sorted(reply)}, want {want}"
             for case, reply, (_, want) in zip(cases, replies, expected) if sorted(reply) != want]
    assert wrong == [], "\n".join(wrong)


def test_new_options_of_this_release_complete():
    """The options added with NetworkManager status, fleet runs and systemd 260 tables."""
    replies = complete_all([("host", "set", "--f"), ("keys", "export", "--out"), ("check", "--sys"),
                            ("metrics", "--guard"), ("host", "set", "--from", "examples/6"),
                            ("keys", "export", "--out-dir", "examples/6")])
    assert replies == [["--force", "--from"], ["--out", "--out-dir"], ["--systemd-version"], ["--guard-status"],
                       ["examples/6-nm-laptop.conf"], []]
