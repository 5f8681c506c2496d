"""`netdwg check` reads NetworkManager WireGuard profiles: NetworkManager's rules on permissions and
values in its words, file:line, and the cross-host checks with the other ends' files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from netdwg.cli import main
from golden_support import GOLDEN, render_scenario

DATA = Path(__file__).parent.parent / "data" / "networkmanager"


def _write(tmp_path: Path, host: str, suffix: str, mode: int) -> Path:
    (f,) = [f for f in render_scenario("networkmanager")[host] if f.path.suffix == suffix]
    path = tmp_path / host / f.path.relative_to("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f.text)
    os.chmod(path, mode)
    return path


def test_a_profile_networkmanager_wrote_is_clean(tmp_path, capsys):
    path = tmp_path / "wg0.nmconnection"
    shutil.copy(DATA / "imported-wg0.nmconnection", path)
    os.chmod(path, 0o600)
    assert main(["check", str(path)]) == 0, capsys.readouterr().out


def test_a_profile_others_may_read_is_an_error_in_networkmanagers_words(tmp_path, capsys):
    path = _write(tmp_path, "ana", ".nmconnection", 0o644)
    assert main(["check", str(path)]) == 2
    out = capsys.readouterr().out
    assert "File permissions (100644) are insecure" in out and "NMK003" in out and f"chmod 600 {path}" in out


def test_a_bad_escape_and_a_bad_value_name_their_lines(tmp_path, capsys):
    path = _write(tmp_path, "ana", ".nmconnection", 0o600)
    text = path.read_text().replace("id=wg-fjord", "id=wg\\x").replace("mtu=1380", "mtu=big")
    path.write_text(text)
    lines = text.splitlines()
    assert main(["check", "--json", str(path)]) == 2
    import json

    found = {(d["code"], d["line"]) for d in json.loads(capsys.readouterr().out)["diagnostics"]}
    assert ("NMK002", lines.index("id=wg\\x") + 1) in found and ("NMK003", lines.index("mtu=big") + 1) in found


def test_a_host_tree_with_profiles_is_checked_across_hosts(tmp_path, capsys):
    ana = _write(tmp_path, "ana", ".nmconnection", 0o600)
    relay = _write(tmp_path, "relay", ".netdev", 0o640)
    assert main(["check", str(tmp_path)]) == 0, capsys.readouterr().out  # a directory of host trees finds both
    capsys.readouterr()
    text = ana.read_text()
    psk_line = next(line for line in text.splitlines() if line.startswith("preshared-key="))
    ana.write_text(text.replace(psk_line, "preshared-key=" + "A" * 43 + "="))
    assert main(["check", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "NDW031" in out and str(relay) in out


def _golden_tree(tmp_path: Path, scenario: str) -> Path:
    """The scenario's golden host trees with the modes netdwg writes them with (modes.txt)."""
    root = tmp_path / scenario
    shutil.copytree(GOLDEN / scenario / "expected", root)
    for line in (GOLDEN / scenario / "modes.txt").read_text().splitlines():
        host, path, mode, *_ = line.split()
        os.chmod(root / host / path.lstrip("/"), int(mode, 8))
    return root


def test_the_example_networks_with_their_laptops_on_networkmanager_check_clean_across_hosts(tmp_path, capsys):
    """Every golden tree with a NetworkManager profile: `netdwg check` reads all hosts' files together (PSK on
    both ends, AllowedIPs) and finds no error."""
    from golden_support import SCENARIOS

    scenarios = [s for s in SCENARIOS if any((GOLDEN / s / "expected").glob("*/etc/NetworkManager/**/*.nmconnection"))]
    assert {"networkmanager", "nm-1-offices", "nm-5-webcam", "nm-harbor"} <= set(scenarios)
    for scenario in scenarios:
        root = _golden_tree(tmp_path, scenario)
        assert main(["check", str(root)]) in (0, 1), f"{scenario}: {capsys.readouterr().out}"
        out = capsys.readouterr().out
        assert "error" not in out, f"{scenario}: {out}"
