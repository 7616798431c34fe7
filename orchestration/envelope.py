"""The encrypted envelope of a shared extract, and the helper a recipient decrypts it with.

A recipient holds an X25519 key pair (``wardflow share keygen``) and gives the provider its public key. Layout::

    header  = b"WFEX1\\n" || cipher id (1: aes-256-gcm, 2: sm4-gcm) || ephemeral X25519 public key (32)
              || salt (16) || chunk size (4, big-endian)
    chunk i = AEAD(key, nonce_prefix(7) || int4be(i) || last(1), plaintext chunk, aad = header) (ciphertext || tag 16)
              each preceded by its length (4, big-endian)

``key || nonce_prefix = HKDF-SHA256(X25519(ephemeral, recipient), salt, info = b"wardflow-export/1/" || cipher ||
ephemeral public || recipient public)``: 32 key bytes for AES-256-GCM, 16 for SM4-GCM (SM4's block key size).
The ``last`` byte (1 on the final chunk only) makes a truncated file fail to decrypt; a fresh ephemeral key and
salt per file make every (key, nonce) pair unique. Nothing here logs; errors name the problem, never content.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"WFEX1\n"
CIPHERS = {"aes-256-gcm": (1, 32), "sm4-gcm": (2, 16)}
CHUNK = 1 << 20
TAG = 16
HEADER = struct.Struct(">6sB32s16sI")


class EnvelopeError(ValueError):
    """The file or key is not a valid envelope / key, or does not authenticate. Never carries content."""


def _derive(shared: bytes, salt: bytes, cipher: str, ephemeral: bytes, recipient: bytes) -> tuple[bytes, bytes]:
    size = CIPHERS[cipher][1]
    info = b"wardflow-export/1/" + cipher.encode() + ephemeral + recipient
    out = HKDF(algorithm=hashes.SHA256(), length=size + 7, salt=salt, info=info).derive(shared)
    return out[:size], out[size:]


def _algorithm(cipher: str, key: bytes):
    return algorithms.AES(key) if cipher == "aes-256-gcm" else algorithms.SM4(key)


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_public_key(text: str) -> X25519PublicKey:
    """A recipient key: PEM (SubjectPublicKeyInfo), or the raw 32 bytes as hex or base64."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, X25519PublicKey):
                raise EnvelopeError("recipient key is not an X25519 public key")
            return key
        for decode in (bytes.fromhex, base64.b64decode):
            try:
                raw = decode(text)
            except (ValueError, binascii.Error):
                continue
            if len(raw) == 32:
                return X25519PublicKey.from_public_bytes(raw)
    except ValueError:
        pass
    raise EnvelopeError("recipient key must be an X25519 public key: PEM, or 32 bytes as hex or base64")


def load_private_key(text: str) -> X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise EnvelopeError("private key must be an unencrypted PEM X25519 key (wardflow share keygen)") from None
    if not isinstance(key, X25519PrivateKey):
        raise EnvelopeError("private key is not an X25519 key")
    return key


def keygen() -> tuple[str, str]:
    """A new recipient key pair as PEM (private, public)."""
    private = X25519PrivateKey.generate()
    return (private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode(),
            private.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo).decode())


def _chunks(source: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    current = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        yield current, not following
        if not following:
            return
        current = following


def encrypt_file(plain: Path, out: Path, recipient: X25519PublicKey, cipher: str = "aes-256-gcm") -> None:
    """Seal `plain` for `recipient` into `out` (mode 0600)."""
    if cipher not in CIPHERS:
        raise EnvelopeError(f"--cipher must be one of {', '.join(CIPHERS)}")
    ephemeral = X25519PrivateKey.generate()
    eph_raw, salt = _raw(ephemeral.public_key()), os.urandom(16)
    key, prefix = _derive(ephemeral.exchange(recipient), salt, cipher, eph_raw, _raw(recipient))
    header = HEADER.pack(MAGIC, CIPHERS[cipher][0], eph_raw, salt, CHUNK)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as sink, plain.open("rb") as source:
        sink.write(header)
        for index, (chunk, last) in enumerate(_chunks(source)):
            nonce = prefix + struct.pack(">IB", index, int(last))
            encryptor = Cipher(_algorithm(cipher, key), modes.GCM(nonce)).encryptor()
            encryptor.authenticate_additional_data(header)
            body = encryptor.update(chunk) + encryptor.finalize() + encryptor.tag
            sink.write(struct.pack(">I", len(body)) + body)


def decrypt_file(sealed: Path, out: Path, private: X25519PrivateKey) -> str:
    """Open an envelope into `out` (mode 0600); returns the cipher name. Fails on any change or truncation."""
    with sealed.open("rb") as source:
        header = source.read(HEADER.size)
        try:
            magic, cipher_id, eph_raw, salt, _ = HEADER.unpack(header)
        except struct.error:
            raise EnvelopeError("not a wardflow export envelope (too short)") from None
        cipher = next((name for name, (number, _) in CIPHERS.items() if number == cipher_id), None)
        if magic != MAGIC or cipher is None:
            raise EnvelopeError("not a wardflow export envelope (unknown header)")
        ephemeral = X25519PublicKey.from_public_bytes(eph_raw)
        key, prefix = _derive(private.exchange(ephemeral), salt, cipher, eph_raw, _raw(private.public_key()))
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as sink:
            _open_chunks(source, sink, cipher, key, prefix, header)
    return cipher


def _open_chunks(source: BinaryIO, sink: BinaryIO, cipher: str, key: bytes, prefix: bytes, header: bytes) -> None:
    index, last = 0, False
    while not last:
        size = source.read(4)
        if len(size) != 4:
            raise EnvelopeError("envelope is truncated")
        body = source.read(struct.unpack(">I", size)[0])
        for last in (False, True):  # the sender marked the final chunk; try both and require the marker to end
            try:
                decryptor = Cipher(_algorithm(cipher, key),
                                   modes.GCM(prefix + struct.pack(">IB", index, int(last)), body[-TAG:])).decryptor()
                decryptor.authenticate_additional_data(header)
                sink.write(decryptor.update(body[:-TAG]) + decryptor.finalize())
                break
            except (InvalidTag, ValueError):
                if last:
                    raise EnvelopeError("envelope does not authenticate (altered, truncated or another key)") from None
        index += 1
    if source.read(1):
        raise EnvelopeError("envelope has data after its final chunk")
