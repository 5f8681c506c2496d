"""`netdwg guard` and `netdwg-guard` on the command line (no root needed)."""

from __future__ import annotations

import json

import pytest

from netdwg.cli import main
from netdwg.guard.actions import resolve_endpoint
from netdwg.guard.daemon import main as guard_main
from netdwg.keys import genkey

HUB = genkey().public_key()
CONF = f"""[guard]
interface = wg-test-none
hub_peer = {HUB.base64}

[site oslo]
lan = 192.0.2.0/24
action = remove
peer = {HUB.base64}
router_mac = 02:00:00:0a:0a:01
"""


def test_help_teaches_with_examples(capsys):
    with pytest.raises(SystemExit) as ex:
        main(["guard", "--help"])
    assert ex.value.code == 0
    out = capsys.readouterr().out
    assert "netdwg guard learn oslo" in out and "café" in out


def test_help_imports_nothing_heavy_and_wraps_every_description():
    """`netdwg guard --help` (and every other netdwg call: verbs are all registered)
    must not pay for asyncio, pyroute2 or the daemon."""
    import subprocess
    import sys

    code = ("import sys\nfrom netdwg.cli import main\n"
            "for argv in (['guard', '--help'], ['guard', 'status', '--help'], ['guard', 'learn', '--help'],"
            " ['guard', 'run', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print('LOADED', sorted(m for m in sys.modules if m.startswith(('asyncio', 'pyroute2', 'watchdog',"
            " 'netdwg.guard.'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"}, cwd=str(__import__("pathlib").Path(
                             __file__).resolve().parents[2])).stdout
    assert out.rsplit("LOADED", 1)[1].strip() == "['netdwg.guard.defaults']"
    helps = out.rsplit("LOADED", 1)[0]
    assert helps.count("examples:") == 4 and "Examples:" not in helps
    assert max(len(line) for line in helps.splitlines()) <= 100  # descriptions wrapped, not one long line


def test_learn_an_unknown_site_is_a_user_error_with_the_known_ones(tmp_path, capsys):
    conf = tmp_path / "guard.conf"
    conf.write_text(CONF)
    code = main(["guard", "learn", "bergen", "--config", str(conf), "--learned", str(tmp_path / "l.json"),
                 "--status", str(tmp_path / "status")])
    assert code == 2
    assert "known sites: oslo" in capsys.readouterr().err


def test_status_without_a_running_guard_decides_afresh(tmp_path, capsys):
    conf = tmp_path / "guard.conf"
    conf.write_text(CONF)
    assert main(["guard", "status", "--json", "--config", str(conf), "--learned", str(tmp_path / "l.json"),
                 "--status", str(tmp_path / "status")]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["running"] is False
    assert [s["site"] for s in status["sites"]] == ["oslo"] and status["in_effect"] == []


def test_the_daemon_refuses_a_broken_config_with_file_and_line(tmp_path, capsys):
    conf = tmp_path / "guard.conf"
    conf.write_text(CONF.replace("action = remove", "action = delete"))
    assert guard_main(["--config", str(conf), "--foreground"]) == 2
    err = capsys.readouterr().err
    assert f"{conf}:7: invalid action 'delete'" in err and "use remove, metric or widen" in err


def test_endpoints_are_resolved_each_time():
    assert resolve_endpoint("198.51.100.10", 51820) == "198.51.100.10:51820"
    assert resolve_endpoint("2001:db8::1", 51820) == "[2001:db8::1]:51820"
    assert resolve_endpoint("localhost", 51820) in ("127.0.0.1:51820", "[::1]:51820")


def test_guard_run_without_a_config_says_how_to_get_one(tmp_path, capsys):
    code = main(["guard", "run", "--foreground", "--config", str(tmp_path / "missing.conf")])
    assert code == 2
    assert "netdwg render" in capsys.readouterr().err
