"""netdwg's own nftables table, replaced in one `nft -f` transaction.

The script first declares the table (so the delete cannot fail when it is
missing), deletes it and defines it again: nft applies the whole file as one
transaction, so there is no moment without rules, and no other table is touched.
"""

from __future__ import annotations

from netdwg.errors import ExternalError

TABLE = "inet netdwg"


def replace_script(script: str | None) -> str:
    text = f"table {TABLE}\ndelete table {TABLE}\n"
    if script:
        text += script if script.endswith("\n") else script + "\n"
    return text


class NftFirewall:
    def __init__(self, nft: str = "nft") -> None:
        self.nft = nft

    def _run(self, argv: list[str], stdin: str | None = None):
        import subprocess  # when nft runs, not when apply merely might need it

        try:
            return subprocess.run([self.nft, *argv], input=stdin, capture_output=True, text=True, timeout=30)
        except FileNotFoundError:
            raise ExternalError("nft not found", fix="install nftables") from None

    def current(self) -> str | None:
        result = self._run(["list", "table", *TABLE.split()])
        return result.stdout if result.returncode == 0 else None

    def present(self) -> bool:
        return self.current() is not None

    def replace(self, script: str | None) -> None:
        result = self._run(["-f", "-"], replace_script(script))
        if result.returncode != 0:
            raise ExternalError(f"nft refused table {TABLE}: {result.stderr.strip()}",
                                fix="check the rendered ruleset with: nft -c -f FILE")
