"""Incremental builds: a run after new data adds only the new rows, merges re-point history, and the result
equals a full rebuild."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.hl7.parse import parse_message
from connectors.ingest import ingest_paths
from connectors.landing import Lander
from orchestration.project import DBT_PROJECT_DIR
from orchestration.resources import dbt_environment
from orchestration.warehouse.database import connect

FACTS = "select md5(string_agg(observation_key || patient_key || value_num::text || observed_at::text, ',' " \
        "order by observation_key)) from clinical.fct_vital_signs"
# The published release, every column (analytics.vital_signs is incremental too).
RELEASE = "select count(*), md5(string_agg(t::text, ',' order by t::text)) from analytics.vital_signs t"


def dbt_build(settings, keyring, *args):
    dbt = str(Path(sys.executable).with_name("dbt"))
    result = subprocess.run([dbt, "build", *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                             str(DBT_PROJECT_DIR)], capture_output=True, text=True, timeout=600,
                            env={**os.environ, **dbt_environment(settings, keyring)})
    assert result.returncode == 0, result.stdout[-4000:]
    return result.stdout


def oru(control_id: str, pid3: str, value: int, at: str) -> bytes:
    return "\r".join([
        f"MSH|^~\\&|MONITOR^02AABBCCDDEEFF09^EUI-64|ICU-9|WARDFLOW|H1|{at}+0800||ORU^R01^ORU_R01|{control_id}|P|2.6",
        f"PID|1||{pid3}||测^试||19800101|M",
        f"OBR|1|||182777000^monitoring of patient^SCT|||{at}+0800",
        f"OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.0.1.1|{value}|264864^MDC_DIM_BEAT_PER_MIN^MDC|50-120|N|||R|||{at}+0800",
    ]).encode() + b"\r"


def land(settings, keyring, *messages: bytes) -> None:
    with connect(settings, "pipeline") as conn:
        lander = Lander(conn, keyring, source_kind="file")
        for raw in messages:
            lander.hl7(parse_message(raw))
        counts, _ = lander.flush()
    assert counts.landed == len(messages)


@pytest.fixture(scope="module")
def incremental_state(built, settings, keyring):
    dbt_build(settings, keyring)  # bring every incremental model up to date with what `built` landed
    with connect(settings, "pipeline") as conn:
        count = conn.execute("select count(*) from clinical.fct_vital_signs").fetchone()[0]
        checksum = conn.execute(FACTS).fetchone()[0]
    return count, checksum


def test_new_data_adds_only_new_rows(incremental_state, settings, keyring, tmp_path):
    count_before, checksum_before = incremental_state
    from connectors.synthetic import generate

    summary = generate(tmp_path, patients=3, days=1, devices=1, seed=99)
    with connect(settings, "pipeline") as conn:
        report = ingest_paths([tmp_path / "hl7"], conn, keyring)
    assert report.counts.landed > 0
    output = dbt_build(settings, keyring)
    with connect(settings, "pipeline") as conn:
        count_after = conn.execute("select count(*) from clinical.fct_vital_signs").fetchone()[0]
        new_batch = ("where not (source = 'hl7' and landing_row_id in "
                     "(select message_id from landing.hl7_messages where batch_id = %s))")
        new_rows = count_after - conn.execute("select count(*) from clinical.fct_vital_signs " + new_batch,
                                              (report.batch_id,)).fetchone()[0]
        unchanged = conn.execute(FACTS + " " + new_batch, (report.batch_id,)).fetchone()[0]
    assert count_after == count_before + new_rows and new_rows > 0
    assert unchanged == checksum_before
    fct_line = next(line for line in output.splitlines() if "model clinical.fct_vital_signs" in line and "OK" in line)
    assert f"INSERT 0 {new_rows}" in fct_line  # the incremental insert carried only the new rows
    release_line = next(line for line in output.splitlines() if "model analytics.vital_signs" in line and "OK" in line)
    assert "INSERT 0 " in release_line
    with connect(settings, "pipeline") as conn:  # appended, not rebuilt: far fewer rows than the table holds
        held = conn.execute("select count(*) from analytics.vital_signs").fetchone()[0]
    inserted = int(re.search(r"INSERT 0 (\d+)", release_line).group(1))
    assert inserted < held / 2, (inserted, held)
    assert summary.hl7_observations >= new_rows


def test_merge_repoints_earlier_facts(incremental_state, settings, keyring):
    survivor = "^^^CHN&2.16.156.10011.1.3&ISO^NNCHN"
    land(settings, keyring, oru("INC-DUP-1", "DUPMRN42^^^HIS&1.2.156.112604.1.2.1&ISO^MR", 71, "20261102100000"))
    dbt_build(settings, keyring)
    with connect(settings, "pipeline") as conn:
        dup_key = conn.execute("select patient_key from clinical.fct_vital_signs f join landing.hl7_messages m "
                               "on m.message_id = f.landing_row_id and f.source = 'hl7' where m.control_id = 'INC-DUP-1'").fetchone()[0]
    merge = "\r".join([
        "MSH|^~\\&|HIS|H1|WARDFLOW|H1|20261102110000+0800||ADT^A40^ADT_A39|INC-MERGE-1|P|2.5",
        "EVN|A40|20261102110000+0800",
        f"PID|1||MAINMRN42^^^HIS&1.2.156.112604.1.2.1&ISO^MR~11010519800101004X{survivor}||测^试||19800101|M",
        "MRG|DUPMRN42^^^HIS&1.2.156.112604.1.2.1&ISO^MR",
    ]).encode() + b"\r"
    land(settings, keyring, merge)
    dbt_build(settings, keyring)
    with connect(settings, "pipeline") as conn:
        key_now = conn.execute("select patient_key from clinical.fct_vital_signs f join landing.hl7_messages m "
                               "on m.message_id = f.landing_row_id and f.source = 'hl7' where m.control_id = 'INC-DUP-1'").fetchone()[0]
        retired = conn.execute("select count(*) from clinical.dim_patients where patient_key = %s",
                               (dup_key,)).fetchone()[0]
        survivor_known = conn.execute("select count(*) from clinical.dim_patients where patient_key = %s",
                                      (key_now,)).fetchone()[0]
    assert key_now != dup_key and retired == 0 and survivor_known == 1
    with connect(settings, "pipeline") as conn:
        assert conn.execute("select count(*) from analytics.vital_signs where patient_key = %s",
                            (dup_key,)).fetchone()[0] == 0


def test_incremental_result_equals_a_full_rebuild(incremental_state, settings, keyring):
    dbt_build(settings, keyring)
    with connect(settings, "pipeline") as conn:
        incremental = conn.execute(FACTS).fetchone()[0]
        patients = conn.execute("select md5(string_agg(patient_key || sex || coalesce(birth_year, 0)::text, ',' "
                                "order by patient_key)) from clinical.dim_patients").fetchone()[0]
        release = conn.execute(RELEASE).fetchone()
    dbt_build(settings, keyring, "--full-refresh")
    with connect(settings, "pipeline") as conn:
        assert conn.execute(RELEASE).fetchone() == release and release[0] > 0
        assert conn.execute(FACTS).fetchone()[0] == incremental
        assert conn.execute("select md5(string_agg(patient_key || sex || coalesce(birth_year, 0)::text, ',' "
                            "order by patient_key)) from clinical.dim_patients").fetchone()[0] == patients


def test_watermarks_are_kept_by_schema_and_table(incremental_state, settings):
    """Not by the database-qualified name: this module's database is a clone of the session's template under
    another name, and a watermark it could not find would re-insert every release row (the full-rebuild test
    above then fails on duplicates)."""
    with connect(settings, "pipeline") as conn:
        models = [m for (m,) in conn.execute("select distinct model from vault.build_watermarks")]
    assert models and all(m.count(".") == 1 and '"' not in m for m in models), models
    assert "analytics.vital_signs" in models
