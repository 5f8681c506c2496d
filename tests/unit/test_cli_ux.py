"""The offline CLI as a user meets it: help that teaches, errors that say where and
what to do, exit codes from netdwg.errors, and never a traceback for a mistake."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from golden_support import GOLDEN
from netdwg.cli import VERB_ORDER, build_parser, main
from netdwg.errors import EXIT_ERROR, EXIT_NOPERM

REPO = Path(__file__).resolve().parents[2]
NETDWG = REPO / ".venv" / "bin" / "netdwg"
PYTHON = REPO / ".venv" / "bin" / "python"
# The verbs audited in full; lab, apply, plan, status and guard only for --help.
OWN_VERBS = ("check", "keys", "lint", "host", "import", "render", "show", "qr")
HEAVY = ("cryptography", "configobj", "yaml", "pyroute2", "dbus_fast", "dbus_next", "asyncio", "qrcode",
         "watchdog", "systemd")


def verb_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every verb and every sub-action (e.g. 'keys genkey'), as the dispatcher builds them."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(prefix: str, parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[f"{prefix}{name}".strip()] = sub
                    walk(f"{prefix}{name} ", sub)

    walk("", build_parser())
    return found


PARSERS = verb_parsers()
TOP_VERBS = [name for name in PARSERS if " " not in name]


def help_of(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def description_and_epilog(text: str) -> tuple[str, str]:
    """The paragraph between usage and the argument lists, and what follows the options."""
    blocks = text.split("\n\n")
    description = next((b for b in blocks[1:] if not b.lstrip().startswith(("usage:", "positional", "options",
                                                                              "-", "what the"))), "")
    tail = text[text.rfind("options:"):]
    return description, tail


@pytest.mark.parametrize("verb", TOP_VERBS)
def test_every_verb_help_exits_0_and_teaches(verb, capsys):
    text = help_of(capsys, verb.split())
    description, tail = description_and_epilog(text)
    assert len(description.split()) >= 12, f"'netdwg {verb} --help' needs a description saying what it does"
    assert "examples:" in tail.lower()
    examples = [line for line in tail.splitlines() if line.strip().startswith(("netdwg ", "(umask"))]
    assert len(examples) >= 2, f"'netdwg {verb} --help' needs 2-4 real examples"
    assert all("netdwg" in line for line in examples)


@pytest.mark.parametrize("verb", [v for v in PARSERS if v.split()[0] in OWN_VERBS])
def test_own_verbs_and_actions_have_description_examples_and_show_defaults(verb, capsys):
    text = help_of(capsys, verb.split())
    description, tail = description_and_epilog(text)
    assert len(description.split()) >= 6
    assert "examples:" in tail
    for action in PARSERS[verb]._actions:
        if action.default in (None, False, argparse.SUPPRESS) or action.help in (None, argparse.SUPPRESS):
            continue
        assert "default" in action.help, f"'netdwg {verb}' {action.option_strings}: say the default in the help"


def test_top_level_help_lists_verbs_in_workflow_order_with_one_line_helps(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("    ") and len(line.split()) > 1]
    assert set(TOP_VERBS) <= set(listed)
    shown = [v for v in listed if v in VERB_ORDER]
    assert shown == [v for v in VERB_ORDER if v in shown]
    assert listed[:3] == ["lint", "render", "show"]
    for verb in TOP_VERBS:
        line = next(line for line in text.splitlines() if line.split()[:1] == [verb])
        assert len(line.split()) >= 3 and len(line) <= 100, f"{verb}: a one-line help"
    assert "130" in text and "77" in text  # exit codes are documented once, for every verb


def test_help_of_own_verbs_loads_no_heavy_module():
    # `netdwg --help` imports every verb module; ours keep cryptography, YAML & co. inside run().
    code = ("import sys, argparse, importlib\n"
            "for m in sys.argv[1:]:\n"
            "    mod = importlib.import_module('netdwg.cli.' + m)\n"
            "    mod.register(argparse.ArgumentParser().add_subparsers())\n"
            f"print(','.join(sorted(h for h in {HEAVY!r} if h in sys.modules)))\n")
    modules = ["check", "keys", "lint", "host", "import_", "render", "show", "qr"]
    done = subprocess.run([PYTHON, "-c", code, *modules], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == ""


def test_lint_help_through_the_console_script_is_quick_and_light():
    code = ("import sys, runpy\nsys.argv = ['netdwg', 'lint', '--help']\n"
            "from netdwg.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print('HEAVY=' + ','.join(h for h in {HEAVY!r} if h in sys.modules))\n")
    done = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines()[-1] == "HEAVY="


def test_constants_mirrored_for_fast_help_match_their_sources():
    from netdwg.cli.render import FORMAT_NAMES
    from netdwg.render import FORMATS

    assert FORMAT_NAMES == tuple(sorted(FORMATS))


# --- bad input ---------------------------------------------------------------------------

@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(GOLDEN / "hub-spokes" / "topology.conf", tmp_path / "harbor.conf")
    (tmp_path / "adir").mkdir()
    (tmp_path / "binary.conf").write_bytes(b"[network]\nname = x\n\x00\x01\x02 garbage\n")
    (tmp_path / "broken.conf").write_text("[network]\nname = x\npool = 10.99.0.0/16\n[hosts]\n  [[a]]\n"
                                          "  role = hub\n  address = 10.99.0.1\n  bogus_key = 1\n")
    return tmp_path


def assert_user_error(code: int, err: str, where: str, fix: str = "fix:", expect: int = EXIT_ERROR) -> None:
    assert code == expect, err
    assert "Traceback" not in err
    assert where in err, f"the message must name {where!r}: {err}"
    assert fix in err, f"the message must give a fix: {err}"


TOPOLOGY_VERBS = [
    ["lint"], ["render", "--out", "out"], ["show", "relay"], ["qr", "relay"], ["keys", "generate"],
    ["keys", "rotate", "relay"], ["host", "add", "cy", "role=roaming", "address=10.99.0.6"], ["host", "remove", "ben"],
]


@pytest.mark.parametrize("argv", TOPOLOGY_VERBS, ids=" ".join)
def test_missing_topology_file(argv, work, capsys):
    code = main([*argv, "-t", "nowhere.conf"])
    assert_user_error(code, capsys.readouterr().err, "nowhere.conf", "--topology")


@pytest.mark.parametrize("argv", TOPOLOGY_VERBS, ids=" ".join)
def test_directory_instead_of_topology_file(argv, work, capsys):
    code = main([*argv, "-t", "adir"])
    err = capsys.readouterr().err
    assert_user_error(code, err, "adir")
    assert "is a directory" in err


@pytest.mark.parametrize("argv", TOPOLOGY_VERBS, ids=" ".join)
def test_binary_topology_file_names_the_line(argv, work, capsys):
    code = main([*argv, "-t", "binary.conf"])
    captured = capsys.readouterr()
    assert_user_error(code, captured.err + captured.out, "binary.conf:3:")
    assert "text file" in captured.err + captured.out


@pytest.mark.parametrize("argv", TOPOLOGY_VERBS, ids=" ".join)
def test_bad_topology_names_file_line_and_fix(argv, work, capsys):
    code = main([*argv, "-t", "broken.conf"])
    captured = capsys.readouterr()
    text = captured.err + captured.out
    assert code == EXIT_ERROR and "Traceback" not in text
    if argv == ["host", "remove", "ben"]:  # the host is not there: that is said first
        assert "no host 'ben'" in text and "fix:" in text
        return
    assert "broken.conf:8:" in text and "bogus_key" in text and "fix:" in text
    assert not (work / "x.secrets").exists()  # nothing generated for a topology that does not load


@pytest.mark.parametrize("argv", [["show", "rely"], ["qr", "rely"], ["render", "--out", "out", "--host", "rely"],
                                  ["keys", "rotate", "rely"], ["host", "remove", "rely"]], ids=" ".join)
def test_unknown_host_guesses_and_generates_nothing(argv, work, capsys):
    code = main([*argv, "-t", "harbor.conf"])
    err = capsys.readouterr().err
    assert_user_error(code, err, "rely", "did you mean 'relay'?")
    assert "harbor.conf" in err
    # A typo must not leave a new secrets store (or rendered files) behind.
    assert not (work / "harbor.secrets").exists()
    assert not (work / "out").exists()


def test_unknown_host_as_json_is_a_json_document(work, capsys):
    shutil.copy(GOLDEN / "hub-spokes" / "topology.secrets", work / "harbor.secrets")
    os.chmod(work / "harbor.secrets", 0o600)
    assert main(["show", "nobody", "-t", "harbor.conf", "--json"]) == EXIT_ERROR
    doc = json.loads(capsys.readouterr().out)
    assert doc["error"].startswith("no host 'nobody'") and doc["file"] == "harbor.conf"
    assert "relay" in doc["fix"] and doc["exit"] == EXIT_ERROR


def test_lint_json_keeps_its_document_for_a_binary_file(work, capsys):
    assert main(["lint", "-t", "binary.conf", "--json"]) == EXIT_ERROR
    doc = json.loads(capsys.readouterr().out)
    (finding,) = doc["diagnostics"]
    assert finding["file"] == "binary.conf" and finding["line"] == 3 and finding["fix"]


def test_config_error_prints_each_diagnostic_once_then_the_summary(work, capsys):
    assert main(["show", "relay", "-t", "broken.conf"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("bogus_key") == 1
    assert err.index("broken.conf:8:") < err.index("netdwg: error:")


def test_render_out_is_a_file(work, capsys):
    (work / "afile").write_text("x")
    code = main(["render", "-t", "harbor.conf", "--out", "afile"])
    assert_user_error(code, capsys.readouterr().err, "afile", "--out")
    assert not (work / "harbor.secrets").exists()  # checked before secrets are generated


def test_qr_png_is_a_directory(work, capsys):
    code = main(["qr", "ben", "-t", "harbor.conf", "--png", "adir"])
    assert_user_error(code, capsys.readouterr().err, "adir", "adir/ben.png")


def test_qr_scale_out_of_range_is_a_usage_error(work, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["qr", "ben", "-t", "harbor.conf", "--scale", "0"])
    assert exited.value.code == 2
    assert "--scale" in capsys.readouterr().err


def test_host_add_setting_without_equals(work, capsys):
    code = main(["host", "add", "cy", "roaming", "-t", "harbor.conf"])
    assert_user_error(code, capsys.readouterr().err, "'roaming'", "KEY=VALUE")


@pytest.mark.parametrize("inputs,where", [(["nothere/"], "nothere"), (["adir"], "adir"),
                                          (["binary.conf"], "binary.conf")])
def test_import_inputs_that_are_not_host_files(inputs, where, work, capsys):
    code = main(["import", *inputs, "--out", "net.conf"])
    assert_user_error(code, capsys.readouterr().err, where)
    assert not (work / "net.conf").exists()


def test_import_out_is_a_directory(work, capsys):
    code = main(["import", "harbor.conf", "--out", "adir"])
    assert_user_error(code, capsys.readouterr().err, "adir", "adir/netdwg.conf")


def test_check_missing_directory_binary_and_fifo(work, capsys):
    os.mkfifo(work / "pipe.conf")
    (work / "binary.netdev").write_bytes(b"[NetDev]\nName=wg0\n\x00\x01 garbage\n")
    code = main(["check", "nothere.netdev", "binary.netdev", "pipe.conf"])
    out = capsys.readouterr().out
    assert code == EXIT_ERROR and "Traceback" not in out
    assert "nothere.netdev: error: no such file" in out
    assert "binary.netdev:3: error:" in out
    assert "pipe.conf: error: not a regular file" in out
    assert out.count("fix:") == 3


def test_check_empty_directory_is_an_error(work, capsys):
    # nothing checked is not success (issue 14): a script's `netdwg check WRONGDIR` must fail
    assert main(["check", "adir"]) == 2
    assert main(["check", "--strict", "adir"]) == 2
    assert "adir: error: no unit, sysctl, wg-quick or netplan files" in capsys.readouterr().out


def test_unknown_lint_rule(capsys):
    code = main(["lint", "--explain", "NDW999"])
    assert_user_error(code, capsys.readouterr().err, "NDW999", "netdwg lint --help")


# --- through the real console script -----------------------------------------------------

def run_netdwg(*argv, stdin: bytes = b"", cwd=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([NETDWG, *argv], input=stdin, capture_output=True, cwd=cwd, timeout=60, **kwargs)


@pytest.mark.parametrize("stdin,what", [(b"not a key\n", "invalid private key"), (b"", "no private key on stdin"),
                                        (b"\xff\xfe\x00binary", "invalid private key"),
                                        (b"A" * 10_000_000, "invalid private key")],
                         # explicit ids: pytest puts the id into PYTEST_CURRENT_TEST, and a 10 MB id
                         # makes every exec in the test fail with E2BIG (seen with Debian's pytest 7.2)
                         ids=["text", "empty", "binary", "10MB"])
def test_console_keys_pubkey_bad_stdin(stdin, what):
    done = run_netdwg("keys", "pubkey", stdin=stdin)
    err = done.stderr.decode()
    assert_user_error(done.returncode, err, "<stdin>", "fix:")
    assert what in err and done.stdout == b""
    assert "not a key" not in err  # a private key's text is never echoed, even a bad one


def test_console_directory_and_bad_topology(tmp_path):
    shutil.copy(GOLDEN / "hub-spokes" / "topology.conf", tmp_path / "harbor.conf")
    done = run_netdwg("lint", "--topology", str(tmp_path))
    assert_user_error(done.returncode, done.stderr.decode(), str(tmp_path), "harbor.conf")
    done = run_netdwg("render", "-t", str(tmp_path / "harbor.conf"), "--out", str(tmp_path / "harbor.conf"))
    assert_user_error(done.returncode, done.stderr.decode(), "harbor.conf", "--out")
    done = run_netdwg("show", "-t", str(tmp_path / "harbor.conf"), "oslp")
    assert_user_error(done.returncode, done.stderr.decode(), "oslp", "did you mean 'oslo'?")


def test_console_ctrl_c_exits_130_without_a_traceback():
    # A shell without job control starts background commands with SIGINT ignored, and Python keeps an
    # ignored SIGINT ignored: a suite run as `make test &` would pass that on. A terminal's Ctrl-C finds
    # the default disposition, so the child gets it back.
    proc = subprocess.Popen([NETDWG, "keys", "pubkey"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until it blocks reading stdin, as a user's Ctrl-C finds it
            if "pipe_read" in Path(f"/proc/{proc.pid}/wchan").read_text():
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        # stdin stays open until it has exited, as a terminal's does: closing it at once (communicate)
        # races the signal with an end of input, read as "no private key on stdin" (exit 2).
        proc.wait(timeout=30)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert b"Traceback" not in err and b"interrupted" in err


@pytest.fixture
def shared_dir():
    """A directory another user can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="ndwux", dir="/tmp"))
    path.chmod(0o755)
    shutil.copy(GOLDEN / "hub-spokes" / "topology.conf", path / "harbor.conf")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def as_nobody(*argv, cwd) -> subprocess.CompletedProcess:
    return run_netdwg(*argv, cwd=cwd, user=65534, group=65534, extra_groups=[],
                      env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8"})


@pytest.mark.root
@pytest.mark.parametrize("argv", [["lint"], ["show", "relay"], ["render", "--out", "out"], ["keys", "generate"],
                                  ["host", "remove", "ben"]], ids=" ".join)
def test_console_unreadable_topology_is_77_not_a_traceback(argv, shared_dir):
    (shared_dir / "harbor.conf").chmod(0o600)  # root's, as /etc/netdwg/netdwg.conf may be
    done = as_nobody(*argv, "-t", str(shared_dir / "harbor.conf"), cwd=shared_dir)
    assert_user_error(done.returncode, done.stderr.decode(), "harbor.conf", "run as root", expect=EXIT_NOPERM)
    assert "permission denied" in done.stderr.decode()


@pytest.mark.root
def test_console_output_dir_not_writable(shared_dir):
    (shared_dir / "ro").mkdir(mode=0o755)
    done = as_nobody("render", "-t", str(shared_dir / "harbor.conf"), "--out", str(shared_dir / "ro" / "out"),
                     cwd=shared_dir)
    assert_user_error(done.returncode, done.stderr.decode(), "ro", "--out", expect=EXIT_NOPERM)
    done = as_nobody("import", str(shared_dir / "harbor.conf"), "--out", str(shared_dir / "ro" / "net.conf"),
                     cwd=shared_dir)
    assert_user_error(done.returncode, done.stderr.decode(), "ro", "--out", expect=EXIT_NOPERM)


@pytest.mark.root
def test_console_secrets_store_root_only_is_77_naming_the_store(shared_dir):
    shutil.copy(GOLDEN / "hub-spokes" / "topology.secrets", shared_dir / "harbor.secrets")
    (shared_dir / "harbor.secrets").chmod(0o600)
    for argv in (["show", "relay"], ["keys", "rotate", "ben"], ["qr", "ben"]):
        done = as_nobody(*argv, "-t", str(shared_dir / "harbor.conf"), cwd=shared_dir)
        err = done.stderr.decode()
        assert_user_error(done.returncode, err, "harbor.secrets", "run as root", expect=EXIT_NOPERM)
        assert "cannot read the secrets store" in err


@pytest.mark.root
def test_console_topology_directory_not_writable_names_the_real_file(shared_dir):
    # nobody may read the topology but not write beside it: the message names the
    # topology or the store, never the temporary file an atomic write starts with
    for argv, target in ((["keys", "generate"], "harbor.secrets"), (["render", "--out", "/dev/null/x"], None),
                         (["host", "remove", "ben"], "harbor.conf")):
        done = as_nobody(*argv, "-t", str(shared_dir / "harbor.conf"), cwd=shared_dir)
        err = done.stderr.decode()
        assert "Traceback" not in err and done.returncode in (EXIT_ERROR, EXIT_NOPERM)
        if target:
            assert done.returncode == EXIT_NOPERM and f"{shared_dir / target}:" in err and "fix: run as root" in err
            assert f"/.{target}." not in err
    assert sorted(p.name for p in shared_dir.iterdir()) == ["harbor.conf"]


def test_unknown_command_suggests_the_nearest(capsys):
    assert main(["rendr", "--out", "x"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "unknown command 'rendr'" in err and "did you mean 'render'?" in err


def test_host_remove_json_reports_changes_and_diff(work, capsys):
    assert main(["host", "remove", "ben", "-t", "harbor.conf", "--json", "--dry-run"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["written"] is False and "removed host 'ben'" in doc["changes"]
    assert "-  [[ben]]" in doc["diff"]
    assert "[[ben]]" in (work / "harbor.conf").read_text()  # a dry run writes nothing
    assert main(["host", "remove", "ben", "-t", "harbor.conf", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] is True
    assert "[[ben]]" not in (work / "harbor.conf").read_text()


def test_top_level_help_lists_every_verb_without_importing_any():
    full = {name: sub for name, sub in build_parser()._subparsers._group_actions[0].choices.items()}
    light_action = build_parser(light=True)._subparsers._group_actions[0]
    assert list(light_action.choices) == list(full)  # same verbs, same order
    full_helps = {a.dest: a.help for a in build_parser()._subparsers._group_actions[0]._choices_actions}
    assert {a.dest: a.help for a in light_action._choices_actions} == full_helps
    code = ("import sys\nsys.argv = ['netdwg', '--help']\nfrom netdwg.cli import main\ntry:\n    main()\n"
            "except SystemExit:\n    pass\nprint('LOADED=' + ','.join(sorted(m for m in sys.modules "
            "if m.startswith('netdwg.cli.'))))\n")
    done = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=60)
    assert "lint      check the topology" in done.stdout
    assert done.stdout.splitlines()[-1] == "LOADED="


def test_console_output_into_a_closed_pipe_is_quiet(tmp_path):
    # `netdwg check --json ... | head -c 100`: the reader leaves early; no traceback, no noise
    for i in range(200):
        (tmp_path / f"{i:03}.conf").write_text(f"net.ipv4.ip_forward = 1\nbogus.key.{i} = 1\n")
    proc = subprocess.Popen([NETDWG, "check", "--type", "sysctl", "--json", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.read(100).startswith(b"{")
        proc.stdout.close()
        err = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert b"Traceback" not in err and b"Exception ignored" not in err and b"BrokenPipe" not in err
    assert proc.returncode == 0


def test_dispatcher_turns_an_unchecked_os_error_into_a_user_error(work, capsys):
    # plan's loader opens --topology without checking it is a file; the dispatcher still
    # names the path and exits 2 rather than printing a traceback as for a bug
    code = main(["plan", "--topology", "adir", "--host", "relay", "--root", str(work / "root")])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and "Traceback" not in err and "adir" in err and "fix:" in err
