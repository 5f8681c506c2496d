"""The secrets store: private keys and preshared keys, never in the topology file.

A configobj file readable by root only (0600), beside the topology file by
default (``<topology stem>.secrets``, or ``[network] secrets = PATH``)::

    # netdwg secrets: private keys and PSKs. Mode 0600, root only.
    [private_keys]
    relay = <base64>
    [preshared_keys]
    ana:relay = <base64>        # one PSK per pair, names sorted, identical on both ends
    [public_keys]
    relay = <base64> <digest>   # relay's public key, recorded so it need not be derived again

The public keys are a cache: deriving one from its private key costs ~75 us
(0.75 s for a hub with 10,000 clients, on every render). Each is recorded with
`key_digest` (16 hex digits of SHA-256 over the private key, then the public
key), so a recorded key is used only while it belongs to the private key
beside it: a hand-edited, stale (the private key was replaced) or corrupted
public key or digest is ignored, the key derived as before, and the line
rewritten on the next save. The digest is a hash: nothing in it gives back
the private key. Stores without the section (older netdwg) read as before
and gain it on the next save; older netdwg ignores the section.

A host that keeps its own private key sets ``public_key =`` in the topology
and has no entry here. `complete_secrets` is pure given its key generators;
only `load_secrets` touches disk (it reads). `format_secrets` gives the text
`netdwg.apply.writes.save_secrets` writes (0600, atomically).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

from configobj import ConfigObj, ConfigObjError

from netdwg.errors import ConfigError, NetdwgError, NotPermittedError, SecretsError, Span
from netdwg.keys import PresharedKey, PrivateKey, PublicKey, genkey, genpsk, pubkey
from netdwg.topology.model import Role, Topology
from netdwg.values import MAX_SECRETS_BYTES, ValueRefused, check_file, check_name, read_limited, value_diagnostic

HEADER = [
    "# netdwg secrets: private keys and preshared keys.",
    "# Mode 0600, root only. Never commit this file; back it up like a password store.",
]


def pair_id(a: str, b: str) -> str:
    """The store's name for the PSK shared by hosts a and b (order does not matter)."""
    return ":".join(sorted((a, b)))


_DIGEST_CONTEXT = b"netdwg public key v1\0"


def key_digest(private: PrivateKey, public: PublicKey) -> str:
    """16 hex digits binding a recorded public key to its private key (~1 us, vs ~75 us to derive).

    Over both keys, so a changed public key fails the check as surely as a
    changed private key. A 64-bit prefix of SHA-256 catches any accident; it is
    no defence against someone who can write the store (they hold the private
    keys anyway), and reveals nothing usable about the private key.
    """
    return hashlib.sha256(_DIGEST_CONTEXT + private.raw + public.raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class RecordedKey:
    """A public key as the store records it, with the digest `key_digest` gave when it was written."""

    public: PublicKey
    digest: str


def _binds(private: PrivateKey, recorded: RecordedKey) -> bool:
    """Whether the record's digest is the one its public key has under this private key."""
    digest = recorded.digest
    return isinstance(digest, str) and digest.isascii() and hmac.compare_digest(key_digest(private, recorded.public), digest)


@dataclass(frozen=True, slots=True)
class Secrets:
    private_keys: Mapping[str, PrivateKey] = field(default_factory=lambda: MappingProxyType({}))
    preshared_keys: Mapping[str, PresharedKey] = field(default_factory=lambda: MappingProxyType({}))
    # A cache, not a secret and not part of what the store *is*: two stores
    # with the same keys are equal whatever public keys they recorded.
    public_keys: Mapping[str, RecordedKey] = field(default_factory=lambda: MappingProxyType({}), compare=False)

    def psk(self, a: str, b: str) -> PresharedKey | None:
        return self.preshared_keys.get(pair_id(a, b))

    def private_key(self, host: str) -> PrivateKey | None:
        return self.private_keys.get(host)

    def public_key_of(self, host: str) -> PublicKey | None:
        """The public key of the host's stored private key (None without one).

        The recorded key when its digest matches this private key, else derived.
        """
        private = self.private_keys.get(host)
        if private is None:
            return None
        recorded = self.public_keys.get(host)
        if recorded is not None and _binds(private, recorded):
            return recorded.public
        return pubkey(private)

    def verified_public_keys(self) -> dict[str, RecordedKey]:
        """A record for every private key: the verified ones kept, the others derived (what a save writes)."""
        records: dict[str, RecordedKey] = {}
        for host, private in self.private_keys.items():
            recorded = self.public_keys.get(host)
            if recorded is None or not _binds(private, recorded):
                public = pubkey(private)
                recorded = RecordedKey(public, key_digest(private, public))
            records[host] = recorded
        return records

    def __repr__(self) -> str:  # never show secrets, not even by accident in a traceback
        return f"Secrets({len(self.private_keys)} private keys, {len(self.preshared_keys)} PSKs)"


def default_secrets_path(topology: Topology) -> Path:
    base = Path(topology.path).parent
    if topology.network.secrets:
        return base / topology.network.secrets
    return base / (Path(topology.path).stem + ".secrets")


def public_key(topology: Topology, secrets: Secrets, host: str) -> PublicKey:
    """A host's public key: declared in the topology, or derived from its stored private key."""
    declared = topology.host(host).public_key
    if declared is not None:
        return declared
    derived = secrets.public_key_of(host)  # recorded in the store when its digest matches, else derived
    if derived is None:
        raise SecretsError(f"host '{host}' has no key", topology.host(host).span(),
                           fix="run 'netdwg keys generate' (or set public_key = ... for a host that keeps its own key)")
    return derived


def wanted_pairs(topology: Topology) -> tuple[tuple[str, str], ...]:
    """Every pair of hosts that are WireGuard peers of each other, hence share a PSK."""
    pairs: list[tuple[str, str]] = []
    hub = topology.hub
    if hub is not None:
        pairs += [(hub.name, spoke.name) for spoke in topology.spokes()]
    else:  # no hub: sites with endpoints form a mesh
        sites = topology.by_role(Role.SITE)
        pairs += [(a.name, b.name) for i, a in enumerate(sites) for b in sites[i + 1:]]
    pairs += [p.ends for p in topology.pairs]
    return tuple(dict.fromkeys(tuple(sorted(p)) for p in pairs))


def complete_secrets(topology: Topology, secrets: Secrets,
                     make_key: Callable[[], PrivateKey] = genkey,
                     make_psk: Callable[[], PresharedKey] = genpsk) -> tuple[Secrets, tuple[str, ...]]:
    """Add what is missing: a key per host that does not keep its own, a PSK per peer pair.

    Returns the new store and what was generated (names only, for announcing).
    Existing keys are never replaced (that is `rotate_key`). A new key's public
    key is derived once here and recorded, so no later render derives it.
    """
    keys = dict(secrets.private_keys)
    psks = dict(secrets.preshared_keys)
    records = dict(secrets.public_keys)
    made: list[str] = []
    for host in topology.hosts:
        if host.public_key is None and host.name not in keys:
            keys[host.name] = private = make_key()
            records[host.name] = _record(private)
            made.append(f"private key of {host.name}")
    for a, b in wanted_pairs(topology):
        if pair_id(a, b) not in psks:
            psks[pair_id(a, b)] = make_psk()
            made.append(f"preshared key {a} <-> {b}")
    if not made:
        return secrets, ()
    return Secrets(MappingProxyType(keys), MappingProxyType(psks), MappingProxyType(records)), tuple(made)


def _record(private: PrivateKey) -> RecordedKey:
    public = pubkey(private)
    return RecordedKey(public, key_digest(private, public))


def rotate_key(topology: Topology, secrets: Secrets, host: str,
               make_key: Callable[[], PrivateKey] = genkey) -> Secrets:
    """A new private key for `host`; every file that names its public key changes on re-render."""
    target = topology.host(host)
    if target.public_key is not None:
        raise SecretsError(f"host '{host}' keeps its own private key (public_key is set in the topology)",
                           target.span("public_key"),
                           fix=f"generate a new key on {host} and put its public key into the topology")
    keys = dict(secrets.private_keys)
    keys[host] = private = make_key()
    records = dict(secrets.public_keys)
    records[host] = _record(private)
    return replace(secrets, private_keys=MappingProxyType(keys), public_keys=MappingProxyType(records))


def forget_host(secrets: Secrets, host: str) -> Secrets:
    """Drop a removed host's key and every PSK it shared."""
    keys = {k: v for k, v in secrets.private_keys.items() if k != host}
    psks = {k: v for k, v in secrets.preshared_keys.items() if host not in k.split(":")}
    records = {k: v for k, v in secrets.public_keys.items() if k != host}
    return Secrets(MappingProxyType(keys), MappingProxyType(psks), MappingProxyType(records))


_RECORD = re.compile(r"(\S+)\s+([0-9a-f]{16})")  # a [public_keys] value: key, digest


def _check_names(text: str, path: str, sections: dict[str, object]) -> None:
    """Every name in the store is a host name (or two, for a PSK) as the topology's (netdwg.values).

    The names reach messages, key file names and the store's next save; one
    holding a line break would write a line of its own there.
    """
    problems = []
    for section, names in sections.items():
        for name in names:
            for part in name.split(":", 1) if section == "preshared_keys" else (name,):
                try:
                    check_name(part, "host name")
                except ValueRefused as err:
                    problems.append(value_diagnostic(err, Span(path, _line_of(text, name)), f"[{section}]"))
    if problems:
        raise ConfigError(f"{path}: invalid secrets store", tuple(problems))


def _line_of(text: str, name: str) -> int:
    """The line a key name is written on (configobj keeps no line numbers; 0 if not found)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().strip("'\"").startswith(name.split("\n")[0]):
            return number
    return 0


def parse_secrets(text: str, path: str = "<secrets>") -> Secrets:
    check_file(path, text, MAX_SECRETS_BYTES, "a secrets store")
    try:
        conf = ConfigObj(io.StringIO(text), list_values=False, raise_errors=True)
    except ConfigObjError as err:
        raise SecretsError(f"cannot parse the secrets store: {err}", Span(path, getattr(err, "line_number", 0) or 0)) from None
    _check_names(text, path, {section: [name for name in conf.get(section, {}) if isinstance(name, str)]
                              for section in ("private_keys", "preshared_keys", "public_keys")})
    keys: dict[str, PrivateKey] = {}
    psks: dict[str, PresharedKey] = {}
    for name, value in conf.get("private_keys", {}).items():
        keys[name] = PrivateKey.from_base64(value, Span(path))
    for name, value in conf.get("preshared_keys", {}).items():
        if ":" not in name:
            raise SecretsError(f"preshared key '{name}' does not name two hosts", Span(path),
                               fix="name each PSK HOST:HOST (netdwg keys generate writes them so)")
        psks[pair_id(*name.split(":", 1))] = PresharedKey.from_base64(value, Span(path))
    records: dict[str, RecordedKey] = {}
    section = conf.get("public_keys", {})
    for name, value in section.items() if isinstance(section, dict) else ():
        # Only a cache: a line that does not read is dropped (the key is derived) and rewritten on the next save.
        found = _RECORD.fullmatch(value.strip()) if isinstance(value, str) else None
        if found is not None:
            try:
                records[name] = RecordedKey(PublicKey.from_base64(found.group(1)), found.group(2))
            except NetdwgError:
                pass
    return Secrets(MappingProxyType(keys), MappingProxyType(psks), MappingProxyType(records))


def format_secrets(secrets: Secrets) -> str:
    lines = HEADER + ["[private_keys]"]
    lines += [f"{name} = {key.reveal_base64()}" for name, key in sorted(secrets.private_keys.items())]
    lines += ["", "[preshared_keys]"]
    lines += [f"{name} = {key.reveal_base64()}" for name, key in sorted(secrets.preshared_keys.items())]
    lines += ["", "# Public keys of the private keys above, each with a digest binding it to its private key:",
              "# one that does not match is derived again. Not secret; safe to delete (rewritten on save).",
              "[public_keys]"]
    lines += [f"{name} = {record.public.base64} {record.digest}"
              for name, record in sorted(secrets.verified_public_keys().items())]
    return "\n".join(lines) + "\n"


def load_secrets(path: str | Path, missing_ok: bool = True) -> Secrets:
    path = Path(path)
    try:
        st = path.stat()
    except PermissionError:
        raise NotPermittedError("cannot read the secrets store: permission denied", Span(str(path)), fix="run as root (the store holds the private keys, mode 0600)") from None
    except FileNotFoundError:
        if missing_ok:
            return Secrets()
        raise SecretsError(f"{path}: no secrets store", fix="run 'netdwg keys generate' to create it") from None
    if not stat.S_ISREG(st.st_mode):
        raise SecretsError("not a regular file, so not a secrets store", Span(str(path)),
                           fix="point [network] secrets = at a file (netdwg keys generate creates it)")
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretsError(f"mode {stat.S_IMODE(st.st_mode):04o} lets others read private keys",
                           Span(str(path)), fix=f"chmod 600 {path}")
    try:
        data = read_limited(path, MAX_SECRETS_BYTES, "a secrets store")  # a larger file is refused unread
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise SecretsError("not a text file (invalid UTF-8), so not a secrets store",
                               Span(str(path), data[: err.start].count(b"\n") + 1),
                               fix="point [network] secrets = at the store netdwg keys generate wrote") from None
        return parse_secrets(text, str(path))
    except PermissionError:
        raise NotPermittedError("cannot read the secrets store: permission denied", Span(str(path)),
                                fix="run as root (the store is 0600 root:root)") from None
