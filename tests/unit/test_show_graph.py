"""`netdwg show --graph`: the topology as Graphviz DOT (golden files for every example network),
drawn by the real `dot` as SVG that parses as XML and names every host, and PNG."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from netdwg.cli import main
from netdwg.render.graph import graph_dot
from netdwg.topology.load import load_topology

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "graph"
EXAMPLES = sorted((REPO / "examples").glob("*.conf"))
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot (Debian: graphviz)")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_graph_dot_matches_the_golden_file(example, update_golden):
    text = graph_dot(load_topology(example))
    golden = GOLDEN / f"{example.stem}.dot"
    if update_golden:
        golden.write_text(text)
    assert text == golden.read_text()


def test_graph_of_the_offices_shows_lans_return_paths_and_who_may_connect():
    text = (GOLDEN / "1-offices.dot").read_text()
    assert '"host:c" -> "lan:c:0" [label="return: MASQUERADE"' in text
    assert '"host:a" -> "lan:a:0" [label="return: static route via 192.168.201.247"' in text
    assert '"host:e" -> "lan:c:0" [style="dashed"' in text
    assert '"host:z" -> "lan:' not in text  # the hub may not open connections into the LANs
    assert '"host:a" -> "lan:c:0"' not in text  # c allows only the developers


def test_graph_draws_site_to_site_pairs():
    text = (GOLDEN / "3-site-to-site.dot").read_text()
    assert '"host:alpha" -> "host:beta" [label="site-to-site 10.10.9.0/31"' in text


@needs_dot
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_svg_parses_as_xml_and_names_every_host(example, tmp_path, capsysbinary):
    out = tmp_path / "net.svg"
    assert main(["show", "--graph", "--format", "svg", "--topology", str(example), "--out", str(out)]) == 0
    root = ET.fromstring(out.read_bytes())
    texts = {"".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")}
    for host in load_topology(example).hosts:
        assert host.name in texts, f"{host.name} not drawn"


@needs_dot
def test_png_is_a_png_on_stdout():
    proc = subprocess.run([sys.executable, "-m", "netdwg", "show", "--graph", "--format", "png", "--topology",
                           str(EXAMPLES[0])], capture_output=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"\x89PNG\r\n\x1a\n")


def test_graph_with_a_host_is_bad_input(capsys):
    assert main(["show", "--graph", "z", "--topology", str(EXAMPLES[0])]) == 2
    assert "--graph draws the whole topology" in capsys.readouterr().err


def test_show_without_a_host_or_graph_is_bad_input(capsys):
    assert main(["show", "--topology", str(EXAMPLES[0])]) == 2
    assert "name the host to show" in capsys.readouterr().err


def test_probed_paths_are_coloured_by_result():
    from netdwg.render.graph import PathEdge

    topology = load_topology(EXAMPLES[0])
    text = graph_dot(topology, (PathEdge("e", "192.168.200.0/24", True, True),
                                PathEdge("z", "192.168.201.0/24", False, True),
                                PathEdge("a", "192.168.200.0/24", True, False),
                                PathEdge("e", "10.1.2.0/24", True, True)))  # not drawn: no such LAN
    assert '"host:e" -> "lan:c:0" [color="#2e7d32", fontcolor="#2e7d32", label="reached"' in text
    assert '"host:z" -> "lan:a:0" [color="#9e9e9e", fontcolor="#9e9e9e", label="blocked"' in text
    assert ('"host:a" -> "lan:c:0" [color="#c62828", fontcolor="#c62828", '
            'label="reached (not as the topology says)"') in text
    assert "10.1.2.0" not in text and '"host:10.1.2.0/24"' not in text
    assert graph_dot(topology) == (GOLDEN / "1-offices.dot").read_text()  # no paths: the plain picture
