"""Key rotation against a real PostgreSQL: every sealed row moves to the new key version and still reads back,
ingest keeps landing while it runs, versions are retired only when unused, and no key leaves the key file.

Each test gets its own database and key file (the session database and WARDFLOW_MASTER_KEY stay untouched).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import psycopg
import pytest

from connectors.crypto import Fingerprinter, KeyRing, Sealer, parse_keyring, save_keyring
from connectors.hl7.parse import parse_message
from connectors.landing import Lander
from connectors.settings import Settings, load_settings
from orchestration.keys import (
    KeyRotationError,
    declared_sealed,
    key_status,
    reencrypt,
    retire_version,
    rotate_keys,
    sealed_tables,
)
from orchestration.warehouse.database import connect, init_database

SEALED_TABLES = ("landing.hl7_messages", "landing.fhir_resources", "landing.rejected", "vault.vault_patients")


def oru(n: int, sender: str = "MONITOR") -> bytes:
    """A small valid HL7 v2.6 ORU^R01 with a patient and one vital sign."""
    return "\r".join([
        f"MSH|^~\\&|{sender}|ICU1|WARDFLOW|HOSP|20260101120000||ORU^R01^ORU_R01|CTL{n:06d}|P|2.6",
        f"PID|1||MRN{n:06d}^^^HOSP^MR||Zhang^Wei{n}||19800101|M",
        "OBR|1|||69837-1^Vital signs^LN",
        f"OBX|1|NM|8867-4^Heart rate^LN||{60 + n % 40}|/min^^UCUM|||||F",
        "",
    ]).encode()


@dataclass
class KeyedDb:
    """A database of its own, initialised, with a key file holding `ring` (version 1)."""

    settings: Settings
    ring: KeyRing
    url: str

    def land(self, ring: KeyRing, numbers: range, sender: str = "MONITOR") -> dict[str, bytes]:
        """Land HL7 messages (and one reject) with `ring`; returns control id → raw bytes."""
        raws = {f"CTL{n:06d}": oru(n, sender) for n in numbers}
        with connect(self.settings, "pipeline") as conn:
            lander = Lander(conn, ring, source_kind="file")
            for raw in raws.values():
                lander.hl7(parse_message(raw))
            lander.reject(format="hl7v2", rule="msh.missing", reason="MSH segment missing",
                          data=f"garbage {numbers.start} {sender}".encode())
            lander.flush()
        return raws


@pytest.fixture
def keyed_db(own_database, tmp_path: Path) -> KeyedDb:
    _, url, home = own_database("wardflow_keys")
    key_file = tmp_path / "keys" / "ring.json"
    ring = KeyRing({1: secrets.token_bytes(32)}, 1, 1)
    save_keyring(ring, key_file)
    own = load_settings({"WARDFLOW_HOME": str(home), "WARDFLOW_DATABASE_URL": url,
                         "WARDFLOW_KEY_FILE": str(key_file)})
    init_database(own)
    return KeyedDb(own, ring, url)


def make_vault(db: KeyedDb, ring: KeyRing, names: dict[str, str]) -> None:
    """A minimal vault.vault_patients (dbt has not built this database), sealed in SQL with `ring`."""
    with connect(db.settings, "pipeline", keyring=ring) as conn:
        conn.execute("""create table if not exists vault.vault_patients (patient_key text, family_name_enc bytea,
                        given_name_enc bytea, key_version int)""")
        for key, family in names.items():
            conn.execute("""insert into vault.vault_patients values (%s, vault.encrypt_text(%s), vault.encrypt_text(null),
                            vault.current_key_version())""", (key, family))
        conn.commit()


def stored_ring(db: KeyedDb) -> KeyRing:
    return parse_keyring(db.settings.key_file.read_text())


def landed_hl7(db: KeyedDb, ring: KeyRing) -> dict[str, tuple[int, bytes, bytes, list]]:
    """control id → (key_version, payload decrypted in Python, payload decrypted in SQL, the document's segments
    as staging reads them: the stored document decrypted in Python, else built in SQL from the payload)."""
    sealer = Sealer(ring)
    with connect(db.settings, "pipeline", keyring=ring) as conn:
        rows = conn.execute("""select control_id, key_version, payload, vault.decrypt(payload, key_version), doc,
                                      landing.hl7_segments(vault.decrypt(payload, key_version))
                               from landing.hl7_messages""").fetchall()
    return {c: (v, sealer.open(p) if v == ring.current else b"", bytes(s),
                orjson.loads(Sealer(ring, v).open(d))["segments"] if d is not None else built)
            for c, v, p, s, d, built in rows}


def audit_events(db: KeyedDb, prefix: str = "keys.") -> list[tuple[str, dict]]:
    with connect(db.settings, "compliance") as conn:
        return conn.execute("select action, details from audit.events where action like %s order by event_id",
                            (prefix + "%",)).fetchall()


def assert_no_key_material(ring: KeyRing, *texts: str) -> None:
    blob = "\n".join(texts)
    leaked = [s for s in ring.secret_strings() if s in blob]
    assert not leaked, f"{len(leaked)} key encodings leaked"


def test_rotation_reencrypts_every_sealed_row(keyed_db: KeyedDb, caplog) -> None:
    caplog.set_level("DEBUG")
    db, old = keyed_db, keyed_db.ring
    raws = db.land(old, range(1, 8))
    make_vault(db, old, {"p1": "Zhang", "p2": "Li", "p3": "Wang"})
    before = key_status(db.settings)
    assert before["current"] == 1 and before["versions"] == [1]
    assert before["rows"]["landing.hl7_messages"] == {"1": 7}
    assert before["rows"]["landing.rejected"] == {"1": 1}
    assert before["rows"]["vault.vault_patients"] == {"1": 3}
    assert set(SEALED_TABLES) <= set(before["rows"])

    calls: list[tuple[str, int, int]] = []
    result = rotate_keys(db.settings, batch_size=2, on_progress=lambda *a: calls.append(a))

    new = stored_ring(db)
    assert (result["old_version"], result["new_version"]) == (1, 2)
    assert new.current == 2 and new.versions == [1, 2] and new.pseudonym_version == 1
    assert new.masters[1] == old.masters[1], "old versions must stay in the ring"
    assert db.settings.key_file.stat().st_mode & 0o777 == 0o600
    assert Fingerprinter(new).pseudonym("HOSP|MRN1") == Fingerprinter(old).pseudonym("HOSP|MRN1")
    assert result["reencrypted"]["complete"] and result["reencrypted"]["remaining"] == {}
    assert result["reencrypted"]["tables"] == {"landing.hl7_messages": 7, "landing.rejected": 1,
                                               "vault.vault_patients": 3}
    assert ("landing.hl7_messages", 7, 7) in calls and len(calls) >= 5  # batches of two

    rows = landed_hl7(db, new)
    assert len(rows) == 7
    for control_id, (version, py_plain, sql_plain, doc) in rows.items():
        assert version == 2
        assert py_plain == sql_plain == raws[control_id]
        assert doc == parse_message(raws[control_id]).segments
    with connect(db.settings, "pipeline", keyring=new) as conn:
        vault = dict(conn.execute("""select patient_key, vault.decrypt_text(family_name_enc, key_version)
                                     from vault.vault_patients where key_version = 2""").fetchall())
        assert vault == {"p1": "Zhang", "p2": "Li", "p3": "Wang"}
        assert conn.execute("select count(*) from vault.vault_patients where given_name_enc is null").fetchone()[0] == 3
        reject = conn.execute("select key_version, payload from landing.rejected").fetchone()
        assert reject[0] == 2 and Sealer(new).open(reject[1]) == b"garbage 1 MONITOR"
    with connect(db.settings, "pipeline", keyring=old) as conn, pytest.raises(psycopg.Error, match="_v2\" is not set"):
        conn.execute("select vault.decrypt(payload, key_version) from landing.hl7_messages").fetchall()

    after = key_status(db.settings)
    assert after["current"] == 2 and after["pending"] == 0
    assert after["rows"]["landing.hl7_messages"] == {"2": 7}
    events = audit_events(db)
    assert [a for a, _ in events] == ["keys.rotate", "keys.reencrypted"]
    assert events[0][1]["old_version"] == 1 and events[0][1]["new_version"] == 2
    assert events[1][1]["tables"]["landing.hl7_messages"] == 7
    assert_no_key_material(new, json.dumps(before), json.dumps(after), json.dumps(result),
                           json.dumps([d for _, d in events]), caplog.text)


def test_rotation_while_an_old_writer_keeps_landing(keyed_db: KeyedDb) -> None:
    """A listener started before the rotation keeps sealing with version 1; a re-run converts what it wrote."""
    db, old = keyed_db, keyed_db.ring
    landed = db.land(old, range(0, 300))
    stop = threading.Event()
    written: dict[str, bytes] = {}
    failures: list[BaseException] = []

    def writer() -> None:
        n = 1000
        try:
            with connect(db.settings, "pipeline") as conn:
                lander = Lander(conn, old, source_kind="mllp")
                while not stop.is_set():
                    for _ in range(5):
                        raw = oru(n, "PUMP")
                        lander.hl7(parse_message(raw))
                        written[f"CTL{n:06d}"] = raw
                        n += 1
                    lander.flush()
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    while len(written) < 50:
        time.sleep(0.01)
    result = rotate_keys(db.settings, batch_size=7)
    time.sleep(0.2)  # the old writer is still running after the rotation returned
    stop.set()
    thread.join(timeout=30)
    assert not failures and not thread.is_alive()
    assert result["reencrypted"]["rows"] >= 300

    status = key_status(db.settings)
    assert status["rows"]["landing.hl7_messages"].get("1", 0) > 0, "the old writer kept sealing with version 1"
    again = reencrypt(db.settings, batch_size=50)
    assert again["complete"] and again["remaining"] == {}

    new = stored_ring(db)
    rows = landed_hl7(db, new)
    expected = {**landed, **written}
    assert len(rows) == len(expected), "no message lost or duplicated"
    assert all(v == 2 and py == sq == expected[c] for c, (v, py, sq, _) in rows.items())
    assert key_status(db.settings)["pending"] == 0


def test_reencrypt_waits_for_rows_locked_by_another_writer(keyed_db: KeyedDb) -> None:
    db = keyed_db
    db.land(db.ring, range(0, 20))
    rotate_keys(db.settings, reencrypt=False)
    holder = psycopg.connect(db.url)
    holder.execute("select 1 from landing.hl7_messages where control_id = 'CTL000005' for update")
    threading.Timer(3.0, holder.commit).start()  # long enough for a first pass on a loaded machine
    try:
        result = reencrypt(db.settings, batch_size=4, retry_delay=0.1)
    finally:
        holder.close()
    assert result["complete"] and result["passes"] >= 3  # skipped the locked row, came back for it
    assert key_status(db.settings)["rows"]["landing.hl7_messages"] == {"2": 20}


def test_retire_only_unused_versions(keyed_db: KeyedDb) -> None:
    db = keyed_db
    db.land(db.ring, range(0, 5))
    rotate_keys(db.settings)                      # 1 → 2, everything re-encrypted
    rotate_keys(db.settings, reencrypt=False)     # 2 → 3, rows stay on 2
    with pytest.raises(KeyRotationError, match=r"version 2 still seals rows in landing\.hl7_messages \(5 rows\)"):
        retire_version(db.settings, 2)
    with pytest.raises(KeyRotationError, match="current version"):
        retire_version(db.settings, 3)
    with pytest.raises(KeyRotationError, match="pseudonym version"):
        retire_version(db.settings, 1)
    assert stored_ring(db).versions == [1, 2, 3]

    reencrypt(db.settings)
    result = retire_version(db.settings, 2)
    ring = stored_ring(db)
    assert result["versions"] == ring.versions == [1, 3] and ring.current == 3
    assert all(v == 3 and py == sq for v, py, sq, _ in landed_hl7(db, ring).values())
    assert [a for a, _ in audit_events(db)] == ["keys.rotate", "keys.reencrypted", "keys.rotate", "keys.reencrypted",
                                               "keys.retire"]
    assert_no_key_material(ring, json.dumps([d for _, d in audit_events(db)]), json.dumps(key_status(db.settings)))


def test_master_key_from_environment_needs_a_key_file(keyed_db: KeyedDb, tmp_path: Path) -> None:
    db = keyed_db
    env_key = db.ring.masters[1].hex()
    base = {"WARDFLOW_HOME": str(db.settings.home), "WARDFLOW_DATABASE_URL": db.url, "WARDFLOW_MASTER_KEY": env_key}
    with pytest.raises(KeyRotationError, match="WARDFLOW_KEY_FILE"):
        rotate_keys(load_settings(base))
    assert audit_events(db) == []

    key_file = tmp_path / "rotated" / "ring.json"
    env_settings = load_settings({**base, "WARDFLOW_KEY_FILE": str(key_file)})
    result = rotate_keys(env_settings)
    assert any("unset WARDFLOW_MASTER_KEY" in w for w in result["warnings"])
    ring = parse_keyring(key_file.read_text())
    assert ring.versions == [1, 2] and ring.masters[1] == db.ring.masters[1]
    status = key_status(env_settings)  # the key file's newer ring wins over the stale variable
    assert status["current"] == 2 and status["warnings"]
    assert_no_key_material(ring, json.dumps(status), json.dumps(result))


def test_sealed_columns_come_from_the_privacy_catalog(keyed_db: KeyedDb) -> None:
    """Which columns rotation re-encrypts is the catalog's `treatment: encrypt`; a sealed-looking column the
    catalog does not declare stops rotation by name (made to fail once by narrowing the declaration)."""
    make_vault(keyed_db, keyed_db.ring, {"p1": "Zhang"})
    declared = declared_sealed()
    with connect(keyed_db.settings, "pipeline") as conn:
        tables = {t.qualified: set(t.sealed) for t in sealed_tables(conn)}
        assert tables["vault.vault_patients"] == {"family_name_enc", "given_name_enc"}
        assert tables["landing.hl7_messages"] == set(declared["landing.hl7_messages"]) == {"payload", "doc"}
        narrowed = {**declared, "vault.vault_patients": declared["vault.vault_patients"] - {"given_name_enc"}}
        with pytest.raises(KeyRotationError, match="given_name_enc"):
            sealed_tables(conn, narrowed)


def test_keys_retire_command(keyed_db: KeyedDb) -> None:
    """`wardflow keys retire N`: refused in one line while rows need N, done once they do not."""
    import subprocess
    import sys

    db = keyed_db
    db.land(db.ring, range(0, 3))
    rotate_keys(db.settings, reencrypt=False)  # 1 → 2, rows stay on 1 (1 is also the pseudonym version)
    rotate_keys(db.settings)                   # 2 → 3, rows re-encrypted to 3
    env = {**os.environ, "WARDFLOW_HOME": str(db.settings.home), "WARDFLOW_DATABASE_URL": db.url,
           "WARDFLOW_KEY_FILE": str(db.settings.key_file)}
    env.pop("WARDFLOW_MASTER_KEY", None)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "orchestration.cli", "keys", "retire", *args], env=env,
                              capture_output=True, text=True, timeout=300, check=False)

    refused = cli("3")
    assert refused.returncode != 0 and "current version" in refused.stderr and "Traceback" not in refused.stderr
    done = cli("2", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["versions"] == [1, 3] == stored_ring(db).versions
    assert_no_key_material(stored_ring(db), done.stdout, done.stderr)
