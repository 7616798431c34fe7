"""Key ring and sealing: what Python encrypts, pgcrypto must be able to open (tested in integration)."""

import base64
import json

import pytest

from connectors.crypto import (
    Fingerprinter,
    IntegrityError,
    KeyError_,
    KeyRing,
    Sealer,
    load_keyring,
    parse_keyring,
    save_keyring,
)
from connectors.settings import load_settings


def ring() -> KeyRing:
    return parse_keyring(bytes(range(32)).hex())


def test_seal_open_round_trip_and_fresh_iv():
    sealer = Sealer(ring())
    a, b = sealer.seal("张伟 110101199003077777".encode()), sealer.seal("张伟 110101199003077777".encode())
    assert a != b, "every seal uses a fresh IV"
    assert sealer.open(a).decode() == "张伟 110101199003077777"
    assert "张伟".encode() not in a


def test_tampering_and_wrong_version_are_detected():
    r = ring().with_new_version()
    blob = Sealer(r).seal(b"payload")
    with pytest.raises(IntegrityError):
        Sealer(r).open(blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(IntegrityError):
        Sealer(r, version=1).open(blob)


def test_rotation_keeps_pseudonyms_and_fingerprints_stable():
    old = ring()
    new = old.with_new_version()
    assert new.current == 2 and new.versions == [1, 2]
    assert Fingerprinter(old).pseudonym("cn-resident-id|X") == Fingerprinter(new).pseudonym("cn-resident-id|X")
    assert Fingerprinter(old).content(b"m") == Fingerprinter(new).content(b"m")
    assert new.key("enc", 1) != new.key("enc", 2)


def test_keyring_json_round_trip_and_file_mode(tmp_path):
    r = ring().with_new_version()
    path = tmp_path / "secrets" / "master.key"
    save_keyring(r, path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    loaded = parse_keyring(path.read_text())
    assert loaded.current == 2 and loaded.masters == r.masters


def test_master_key_accepted_as_hex_or_base64_and_rejected_otherwise():
    raw = bytes(range(32))
    assert parse_keyring(raw.hex()).masters[1] == raw
    assert parse_keyring(base64.b64encode(raw).decode()).masters[1] == raw
    with pytest.raises(KeyError_) as err:
        parse_keyring("too-short-secret-value")
    assert "too-short" not in str(err.value)


def test_no_key_material_in_reprs_or_options_names():
    r = ring()
    for text in (repr(r), repr(Sealer(r)), repr(Fingerprinter(r))):
        for secret in r.secret_strings():
            assert secret not in text
    settings_names = r.session_settings().keys()
    assert {"wardflow.enc_v1", "wardflow.mac_v1", "wardflow.pseudonym_key", "wardflow.dateshift_key"} <= set(settings_names)


def test_load_keyring_creates_a_key_file_only_when_asked(tmp_path):
    settings = load_settings({"WARDFLOW_HOME": str(tmp_path)})
    with pytest.raises(KeyError_):
        load_keyring(settings)
    created = load_keyring(settings, create=True)
    assert load_keyring(settings).masters == created.masters
    assert json.loads(settings.key_file.read_text())["format"] == "wardflow-keyring/1"


def test_seal_is_standard_aes_cbc_then_hmac_for_every_length():
    """The sealer reuses one AES context (chaining trick) and a pre-keyed HMAC; every ciphertext must equal a
    fresh CBC context's, and fingerprints must stay plain HMAC-SHA256 (rows landed before still dedup)."""
    import hmac
    import random

    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    r = ring()
    sealer = Sealer(r)
    rng = random.Random(7)
    for n in list(range(71)) + [rng.randrange(5000) for _ in range(500)]:
        plaintext = rng.randbytes(n)
        blob = sealer.seal(plaintext)
        iv, body, tag = blob[:16], blob[16:-32], blob[-32:]
        padder = padding.PKCS7(128).padder()
        encryptor = Cipher(algorithms.AES(r.key("enc")), modes.CBC(iv)).encryptor()
        assert body == encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()
        assert tag == hmac.digest(r.key("mac"), (1).to_bytes(4, "big") + iv + body, "sha256")
        assert sealer.open(blob) == plaintext
        assert Fingerprinter(r).content(plaintext) == hmac.digest(r.key("dedup"), plaintext, "sha256")
