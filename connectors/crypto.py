"""Keys and the authenticated encryption that both Python and pgcrypto understand.

Key ring: one or more random 32-byte master keys, each with a version. Purpose keys are derived with
HKDF-SHA256 (`info = b"wardflow/<purpose>"`), so a leaked purpose key never exposes the master:

- ``enc`` / ``mac``   (per version)  AES-256-CBC + HMAC-SHA256 for landing payloads and vault columns
- ``pseudonym``       (pseudonym version only)  keyed pseudonyms of patients and devices
- ``dateshift``       (pseudonym version only)  per-patient date offsets
- ``dedup``           (pseudonym version only)  content fingerprints used for duplicate detection
- ``audit``           (pseudonym version only)  the MAC chaining audit events; given to a session on its own
                      (``audit_options``), never with the data keys, and never stored in the database

Pseudonym, date-shift and dedup keys stay on the version they were created with: rotating the
encryption key must not change a patient's pseudonym or make old messages look new.

Ciphertext layout (one ``bytea``): ``iv(16) || AES-256-CBC/PKCS7(plaintext) || tag(32)`` where
``tag = HMAC-SHA256(mac_key, int4be(version) || iv || ciphertext)``. The SQL twin is
``vault.decrypt(blob, version)`` created by ``wardflow init``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from connectors.settings import Settings, ensure_private_dir

KEY_BYTES = 32
IV_BYTES = 16
TAG_BYTES = 32
KEYRING_FORMAT = "wardflow-keyring/1"
VERSIONED_PURPOSES = ("enc", "mac")
STABLE_PURPOSES = ("pseudonym", "dateshift", "dedup")
AUDIT_PURPOSE = "audit"
_PADDING = [bytes([n]) * n for n in range(IV_BYTES + 1)]


class KeyError_(Exception):
    """A key is missing, malformed or does not verify. Never carries key material."""


class IntegrityError(KeyError_):
    """A ciphertext's tag does not verify: tampered data or the wrong key."""


def derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=f"wardflow/{purpose}".encode()).derive(
        master
    )


@dataclass(frozen=True)
class KeyRing:
    """Master keys by version; `current` encrypts new data, `pseudonym_version` keys pseudonyms forever."""

    masters: dict[int, bytes] = field(repr=False)
    current: int
    pseudonym_version: int

    def __post_init__(self) -> None:
        if self.current not in self.masters or self.pseudonym_version not in self.masters:
            raise KeyError_("key ring: current or pseudonym version has no key")
        for version, key in self.masters.items():
            if len(key) != KEY_BYTES:
                raise KeyError_(f"key ring: version {version} is not {KEY_BYTES} bytes")

    def __repr__(self) -> str:
        return f"KeyRing(versions={sorted(self.masters)}, current={self.current})"

    @property
    def versions(self) -> list[int]:
        return sorted(self.masters)

    def key(self, purpose: str, version: int | None = None) -> bytes:
        if purpose in STABLE_PURPOSES:
            version = self.pseudonym_version
        elif version is None:
            version = self.current
        try:
            return _derive_cached(self.masters[version], purpose)
        except KeyError:
            raise KeyError_(f"no key for version {version}") from None

    def with_new_version(self) -> KeyRing:
        new = max(self.masters) + 1
        return KeyRing({**self.masters, new: secrets.token_bytes(KEY_BYTES)}, new, self.pseudonym_version)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": KEYRING_FORMAT,
                "current": self.current,
                "pseudonym_version": self.pseudonym_version,
                "keys": {str(v): base64.b64encode(k).decode() for v, k in sorted(self.masters.items())},
            },
            indent=2,
        )

    def session_settings(self) -> dict[str, str]:
        """The custom settings a PostgreSQL session needs to encrypt, decrypt and pseudonymize."""
        out = {"wardflow.key_current": str(self.current)}
        for version in self.versions:
            for purpose in VERSIONED_PURPOSES:
                out[f"wardflow.{purpose}_v{version}"] = self.key(purpose, version).hex()
        for purpose in STABLE_PURPOSES:
            out[f"wardflow.{purpose}_key"] = self.key(purpose).hex()
        return out

    def audit_key(self) -> bytes:
        """The audit chain's MAC key: stable across rotations, so the whole chain verifies with one key."""
        return _derive_cached(self.masters[self.pseudonym_version], AUDIT_PURPOSE)

    def audit_options(self) -> str:
        """libpq `options` fragment that lets a session append audit events (and nothing else)."""
        return f"-c wardflow.audit_key={self.audit_key().hex()}"

    def pg_options(self) -> str:
        """libpq `options` (or PGOPTIONS) string that hands the purpose keys to the session at start."""
        return " ".join(f"-c {name}={value}" for name, value in self.session_settings().items())

    def secret_strings(self) -> list[str]:
        """Every encoding of every key this ring can emit, for leak tests and log scrubbing."""
        out: list[str] = []
        for version, master in self.masters.items():
            out += [master.hex(), base64.b64encode(master).decode()]
            for purpose in VERSIONED_PURPOSES + STABLE_PURPOSES:
                derived = self.key(purpose, version) if purpose in VERSIONED_PURPOSES else self.key(purpose)
                out += [derived.hex(), base64.b64encode(derived).decode()]
        out += [self.audit_key().hex(), base64.b64encode(self.audit_key()).decode()]
        return sorted(set(out))


_CACHE: dict[tuple[bytes, str], bytes] = {}


def _derive_cached(master: bytes, purpose: str) -> bytes:
    cache_key = (hashlib.sha256(master).digest(), purpose)
    if cache_key not in _CACHE:
        _CACHE[cache_key] = derive(master, purpose)
    return _CACHE[cache_key]


def _decode_master(text: str) -> bytes:
    text = text.strip()
    for decoder in (bytes.fromhex, base64.b64decode):
        try:
            raw = decoder(text)
        except (ValueError, binascii.Error):
            continue
        if len(raw) == KEY_BYTES:
            return raw
    raise KeyError_(f"master key must be {KEY_BYTES} bytes, given as hex or base64")


def parse_keyring(text: str) -> KeyRing:
    """A key ring from JSON (the key file format) or a single hex/base64 master key (version 1)."""
    text = text.strip()
    if not text.startswith("{"):
        return KeyRing({1: _decode_master(text)}, 1, 1)
    try:
        data = json.loads(text)
        masters = {int(v): _decode_master(k) for v, k in data["keys"].items()}
        return KeyRing(masters, int(data["current"]), int(data.get("pseudonym_version", min(masters))))
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyError_(f"key ring is not valid {KEYRING_FORMAT} JSON ({type(exc).__name__})") from None


def load_keyring(settings: Settings, *, create: bool = False) -> KeyRing:
    """WARDFLOW_MASTER_KEY, else WARDFLOW_KEY_FILE / home/secrets/master.key (created 0600 when asked)."""
    if settings.master_key:
        return parse_keyring(settings.master_key)
    path = settings.key_file
    if path.exists():
        return parse_keyring(path.read_text())
    if not create:
        raise KeyError_(f"no master key: set WARDFLOW_MASTER_KEY or run `wardflow init` to create {path}")
    ring = KeyRing({1: secrets.token_bytes(KEY_BYTES)}, 1, 1)
    save_keyring(ring, path)
    return ring


def save_keyring(ring: KeyRing, path: Path) -> None:
    """Write atomically with mode 0600 (the folder 0700)."""
    ensure_private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(ring.to_json())
    os.replace(tmp, path)
    path.chmod(0o600)


class Sealer:
    """Encrypt-then-MAC with one key version; cheap to call per message.

    One AES-CBC encryptor lives as long as the sealer (creating a cipher context costs more than
    encrypting a 4 KB message). CBC chains each block on the previous ciphertext block, so continuing the
    same context at chaining value ``c`` with a first block of ``p1 ^ iv ^ c`` yields exactly
    ``AES-CBC(key, iv, p)``: every message still gets a fresh random IV and the standard layout. The
    chaining value is state, so ``seal`` takes a lock (a Lander seals from one thread anyway). The MAC
    starts from a copy of an HMAC already keyed and fed the version prefix.
    """

    def __init__(self, ring: KeyRing, version: int | None = None):
        self.version = ring.current if version is None else version
        self._enc = ring.key("enc", self.version)
        self._mac = ring.key("mac", self.version)
        self._prefix = self.version.to_bytes(4, "big", signed=True)
        self._algo = algorithms.AES(self._enc)
        self._cbc = Cipher(self._algo, modes.CBC(bytes(IV_BYTES))).encryptor()
        self._chain = 0  # last ciphertext block the context chains on, as an int (the zero IV at first)
        self._lock = threading.Lock()
        self._tagger = HMAC(self._mac, hashes.SHA256())
        self._tagger.update(self._prefix)

    def __repr__(self) -> str:
        return f"Sealer(version={self.version})"

    def seal(self, plaintext: bytes) -> bytes:
        iv = os.urandom(IV_BYTES)
        pad = IV_BYTES - len(plaintext) % IV_BYTES
        padded = bytes(plaintext) + _PADDING[pad]  # PKCS7
        iv_int = int.from_bytes(iv, "big")
        with self._lock:
            first = int.from_bytes(padded[:IV_BYTES], "big") ^ iv_int ^ self._chain
            ct = self._cbc.update(first.to_bytes(IV_BYTES, "big") + padded[IV_BYTES:])
            self._chain = int.from_bytes(ct[-IV_BYTES:], "big")
        tagger = self._tagger.copy()
        tagger.update(iv)
        tagger.update(ct)
        return b"".join((iv, ct, tagger.finalize()))

    def open(self, blob: bytes) -> bytes:
        if len(blob) < IV_BYTES + 16 + TAG_BYTES:
            raise IntegrityError("ciphertext too short")
        body, tag = blob[:-TAG_BYTES], blob[-TAG_BYTES:]
        if not hmac.compare_digest(tag, hmac.digest(self._mac, self._prefix + body, "sha256")):
            raise IntegrityError(f"ciphertext does not verify with key version {self.version}")
        decryptor = Cipher(self._algo, modes.CBC(body[:IV_BYTES])).decryptor()
        padded = decryptor.update(body[IV_BYTES:]) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()


class Fingerprinter:
    """Keyed content fingerprints (dedup) and pseudonyms; stable across encryption key rotations."""

    def __init__(self, ring: KeyRing):
        self._dedup = HMAC(ring.key("dedup"), hashes.SHA256())  # keyed once; copied per message
        self._pseudonym = ring.key("pseudonym")

    def __repr__(self) -> str:
        return "Fingerprinter()"

    def content(self, data: bytes) -> bytes:
        fingerprint = self._dedup.copy()
        fingerprint.update(data)
        return fingerprint.finalize()

    def pseudonym(self, canonical: str) -> str:
        """32 lowercase hex characters; the SQL twin is vault.pseudonym(text)."""
        return hmac.digest(self._pseudonym, canonical.encode(), "sha256").hex()[:32]
