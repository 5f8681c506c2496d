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

The public keys are a cache: deriving one from its private key is an X25519
scalar multiplication, and a hub with 10,000 clients would pay it 10,000 times on every render. Each is recorded with
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
import os
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
    # The host a store `netdwg keys export` wrote is for ([export] host = NAME); "" for the full store.
    export_of: str = ""

    def psk(self, a: str, b: str) -> PresharedKey | None:
        return self.preshared_keys.get(pair_id(a, b))

    def private_key(self, host: str) -> PrivateKey | None:
        return self.private_keys.get(host)

    def public_key_of(self, host: str) -> PublicKey | None:
        """The host's public key as the store knows it (None when it does not).

        With the private key: the recorded key when its digest matches, else derived.
        In an export, for the other hosts: the key the full store recorded, taken
        as a `public_key =` in the topology is.
        """
        private = self.private_keys.get(host)
        recorded = self.public_keys.get(host)
        if private is None:
            return recorded.public if recorded is not None and host in self.held_elsewhere else None
        if recorded is not None and _binds(private, recorded):
            return recorded.public
        return pubkey(private)

    @property
    def held_elsewhere(self) -> frozenset[str]:
        """In an export, the hosts whose public key it records without the private key.

        Empty for the full store: there a record without its private key is stale
        and ignored (dropped on the next save).
        """
        return frozenset(self.public_keys) - frozenset(self.private_keys) if self.export_of else frozenset()

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
        if ".." in Path(topology.network.secrets).parts:  # the store is written where this says: no way up
            raise SecretsError(f"secrets = {topology.network.secrets}: a '..' component", topology.network.span("secrets"),
                               fix="name the store without '..': relative to the topology's directory, or absolute")
        return base / topology.network.secrets
    return base / (Path(topology.path).stem + ".secrets")


def public_key(topology: Topology, secrets: Secrets, host: str) -> PublicKey:
    """A host's public key: declared in the topology, or derived from its stored private key."""
    declared = topology.host(host).public_key
    if declared is not None:
        return declared
    derived = secrets.public_key_of(host)  # recorded in the store when its digest matches, else derived
    if derived is None and host in secrets.public_keys:  # a store cut down by hand, without [export]
        raise SecretsError(f"host '{host}' has no key: the store records its public key but not its private key, "
                           "and does not say it is an export for one host", topology.host(host).span(),
                           fix="write a host's store with 'netdwg keys export --host HOST --out FILE' where the "
                               "full store is (it says [export] host = HOST)")
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


def missing_secrets(topology: Topology, secrets: Secrets) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(hosts without a key, peer pairs without a PSK) that this store should hold.

    A full store holds a key for every host that does not keep its own and a PSK
    for every pair. An export holds its host's key (unless it keeps its own), the
    PSKs of that host's pairs and every other host's public key: a host the
    topology gained since the export has none, a new peer of the host no PSK.
    """
    mine = secrets.export_of
    hosts = tuple(h.name for h in topology.hosts if h.public_key is None and h.name not in secrets.private_keys
                  and not (mine and h.name in secrets.public_keys))
    pairs = tuple((a, b) for a, b in wanted_pairs(topology)
                  if pair_id(a, b) not in secrets.preshared_keys and (not mine or mine in (a, b)))
    return hosts, pairs


def complete_secrets(topology: Topology, secrets: Secrets,
                     make_key: Callable[[], PrivateKey] = genkey,
                     make_psk: Callable[[], PresharedKey] = genpsk) -> tuple[Secrets, tuple[str, ...]]:
    """Add what is missing: a key per host that does not keep its own, a PSK per peer pair.

    Returns the new store and what was generated (names only, for announcing).
    Existing keys are never replaced (that is `rotate_key`). A new key's public
    key is derived once here and recorded, so no later render derives it. An
    exported store is never completed: keys made here would differ from the
    full store's, so what it lacks is an error saying where to export it again.
    """
    hosts, pairs = missing_secrets(topology, secrets)
    if not hosts and not pairs:
        return secrets, ()
    if secrets.export_of:
        lacking = [f"a key for {h}" for h in hosts] + [f"the preshared key {a} <-> {b}" for a, b in pairs]
        mine = secrets.export_of
        raise SecretsError(f"this store holds the keys of {mine} only (netdwg keys export wrote it) and lacks "
                           f"{lacking[0]}" + (f" and {len(lacking) - 1} more" if len(lacking) > 1 else ""),
                           fix="where the full store is: netdwg keys generate, then netdwg keys export "
                               f"--host {mine} --out FILE, and put FILE here (mode 0600)")
    keys = dict(secrets.private_keys)
    psks = dict(secrets.preshared_keys)
    records = dict(secrets.public_keys)
    made: list[str] = []
    for host in hosts:
        keys[host] = private = make_key()
        records[host] = _record(private)
        made.append(f"private key of {host}")
    for a, b in pairs:
        psks[pair_id(a, b)] = make_psk()
        made.append(f"preshared key {a} <-> {b}")
    return Secrets(MappingProxyType(keys), MappingProxyType(psks), MappingProxyType(records)), tuple(made)


def export_secrets(topology: Topology, secrets: Secrets, host: str) -> Secrets:
    """What `host` needs and nothing more: its private key, the PSKs of its pairs, every public key."""
    if secrets.export_of:
        raise SecretsError(f"this store is itself an export (for {secrets.export_of})",
                           fix="export from the full store, where the keys are generated")
    psks = {name: psk for name, psk in secrets.preshared_keys.items() if host in name.split(":")}
    own = {host: secrets.private_keys[host]} if host in secrets.private_keys else {}
    return Secrets(MappingProxyType(own), MappingProxyType(psks), MappingProxyType(secrets.verified_public_keys()),
                   export_of=host)


def check_holds(secrets: Secrets, host: str, path: str | Path) -> None:
    """A host's own files need its private key: an exported store has only that of the host it was made for."""
    if secrets.export_of and host != secrets.export_of:
        mine = secrets.export_of
        raise SecretsError(f"this store holds the private key of {mine} only, not of '{host}' "
                           "(netdwg keys export wrote it)", Span(str(path)),
                           fix=f"render or apply '{host}' where the full store is, or on {host} with its own export")


def _record(private: PrivateKey) -> RecordedKey:
    public = pubkey(private)
    return RecordedKey(public, key_digest(private, public))


def rotate_key(topology: Topology, secrets: Secrets, host: str,
               make_key: Callable[[], PrivateKey] = genkey) -> Secrets:
    """A new private key for `host`; every file that names its public key changes on re-render."""
    target = topology.host(host)
    if secrets.export_of:
        raise SecretsError("this store is an export (netdwg keys export): a new key made here would be known "
                           "to this host only", fix="rotate where the full store is, then export again")
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
    return replace(secrets, private_keys=MappingProxyType(keys), preshared_keys=MappingProxyType(psks),
                   public_keys=MappingProxyType(records))


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
    return Secrets(MappingProxyType(keys), MappingProxyType(psks), MappingProxyType(records), _export_of(conf, text, path))


def _export_of(conf: ConfigObj, text: str, path: str) -> str:
    """The host of an exported store's `[export] host = NAME` ("" for the full store)."""
    section = conf.get("export")
    if section is None:
        return ""
    host = section.get("host") if isinstance(section, dict) else None
    try:
        check_name(host if isinstance(host, str) else "", "host name")
    except ValueRefused as err:
        raise ConfigError(f"{path}: invalid secrets store",
                          (value_diagnostic(err, Span(path, _line_of(text, "host")), "[export] host"),)) from None
    return host


_STORE_VALUE = re.compile(r"[A-Za-z0-9+/]{43}=( [0-9a-f]{16})?")


def store_line(name: str, value: str) -> str:
    """``name = value``: the one way a line enters the store. Names are host names (two for a PSK), as
    `parse_secrets` reads them (netdwg.values); values a base64 key (and a digest). ValueError otherwise."""
    for part in name.split(":", 1):
        check_name(part, "host name")
    if _STORE_VALUE.fullmatch(value) is None:
        raise ValueError(f"{name}: not a key the store can hold")
    return f"{name} = {value}"


def format_secrets(secrets: Secrets) -> str:
    lines = list(HEADER)
    if secrets.export_of:
        lines += ["# Written by 'netdwg keys export': what this host needs, no other host's private key or PSK.",
                  "[export]", "host = " + check_name(secrets.export_of, "host name"), ""]
    lines += ["[private_keys]"]
    lines += [store_line(name, key.reveal_base64()) for name, key in sorted(secrets.private_keys.items())]
    lines += ["", "[preshared_keys]"]
    lines += [store_line(name, key.reveal_base64()) for name, key in sorted(secrets.preshared_keys.items())]
    records = secrets.verified_public_keys()
    if secrets.held_elsewhere:  # an export: the public keys of the hosts whose private keys stay elsewhere
        records.update((host, secrets.public_keys[host]) for host in secrets.held_elsewhere)
        lines += ["", "# Every host's public key. Written by 'netdwg keys export' for the host(s) above:",
                  "# the other private keys and PSKs stay in the full store. Do not delete.", "[public_keys]"]
    else:
        lines += ["", "# Public keys of the private keys above, each with a digest binding it to its private key:",
                  "# one that does not match is derived again. Not secret; safe to delete (rewritten on save).",
                  "[public_keys]"]
    lines += [store_line(name, f"{record.public.base64} {record.digest}") for name, record in sorted(records.items())]
    return "\n".join(lines) + "\n"


def load_secrets(path: str | Path, missing_ok: bool = True) -> Secrets:
    """The store at `path`: a regular file (not a link), owned by root or this user, mode 0600 (or 0400)."""
    path = Path(path)
    try:
        st = path.lstat()
    except PermissionError:
        raise NotPermittedError("cannot read the secrets store: permission denied", Span(str(path)), fix="run as root (the store holds the private keys, mode 0600)") from None
    except FileNotFoundError:
        if missing_ok:
            return Secrets()
        raise SecretsError(f"{path}: no secrets store", fix="run 'netdwg keys generate' to create it") from None
    if stat.S_ISLNK(st.st_mode):
        raise SecretsError("a symbolic link; the secrets store must be the file itself", Span(str(path)),
                           fix=f"replace the link with the file: mv \"$(readlink -f {path})\" {path}")
    if not stat.S_ISREG(st.st_mode):
        raise SecretsError("not a regular file, so not a secrets store", Span(str(path)),
                           fix="point [network] secrets = at a file (netdwg keys generate creates it)")
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretsError(f"mode {stat.S_IMODE(st.st_mode):04o} lets others read private keys",
                           Span(str(path)), fix=f"chmod 600 {path}")
    if stat.S_IMODE(st.st_mode) & ~0o600:
        raise SecretsError(f"mode {stat.S_IMODE(st.st_mode):04o}: a secrets store is read and written, never run",
                           Span(str(path)), fix=f"chmod 600 {path}")
    if st.st_uid not in (0, os.geteuid()):
        owner = "root:root" if os.geteuid() == 0 else str(os.geteuid())
        raise SecretsError(f"owned by uid {st.st_uid}, who could replace the keys netdwg renders",
                           Span(str(path)), fix=f"chown {owner} {path} (the store belongs to root, or to you)")
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
