"""table inet netdwg is replaced in one nft transaction; no other table is touched."""

from __future__ import annotations

import pytest
from test_apply_lab import netdwg, write_tree

pytestmark = pytest.mark.root

RULES = """table inet netdwg {
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tiifname "wg0" ct state established,related accept
\t\tiifname "wg0" ip daddr %s drop
\t}
}
"""


@pytest.fixture
def node(sandbox):
    return sandbox.node(sandbox.netns("fw"))


def render(out, lan):
    return write_tree(out, {"etc/nftables.d/netdwg.nft": RULES % lan})


def test_the_table_is_loaded_replaced_and_restored_without_touching_others(node, tmp_path):
    node.run(["nft", "add table inet admin; add chain inet admin input { type filter hook input priority 0; }; "
                     "add rule inet admin input tcp dport 22 accept"])
    admin = node.run(["nft", "list", "table", "inet", "admin"]).stdout

    result = netdwg(node, "apply", "--from", str(render(tmp_path / "v1", "172.20.10.0/24")))
    assert result.returncode == 0, result.stderr
    assert "[#] nftables: replace table inet netdwg (table not loaded)" in result.stderr
    assert "172.20.10.0/24" in node.run(["nft", "list", "table", "inet", "netdwg"]).stdout

    result = netdwg(node, "apply", "--from", str(render(tmp_path / "v2", "172.20.20.0/24")))
    assert result.returncode == 0, result.stderr
    live = node.run(["nft", "list", "table", "inet", "netdwg"]).stdout
    assert "172.20.20.0/24" in live and "172.20.10.0/24" not in live  # replaced, not appended

    # A ruleset nft refuses: the file and the table stay as they were.
    write_tree(tmp_path / "bad", {"etc/nftables.d/netdwg.nft": "table inet netdwg { chain x { bogus } }\n"})
    result = netdwg(node, "apply", "--from", str(tmp_path / "bad"))
    assert result.returncode == 2 and "nft refused table inet netdwg" in result.stderr
    assert node.read_file("/etc/nftables.d/netdwg.nft") == RULES % "172.20.20.0/24"
    assert node.run(["nft", "list", "table", "inet", "netdwg"]).stdout == live

    assert node.run(["nft", "list", "table", "inet", "admin"]).stdout == admin
    # The table vanished behind netdwg's back (nft flush ruleset): the plan notices and reloads it.
    node.run(["nft", "delete", "table", "inet", "netdwg"])
    result = netdwg(node, "plan", "--from", str(tmp_path / "v2"), "--json")
    assert result.returncode == 1 and '"reason": "table not loaded"' in result.stdout
