"""The PostgreSQL forms of the scan/check detectors (connectors/privacy): PostgreSQL accepts every pattern and
agrees with Python on examples. (Free text is scrubbed by deid/ in Python only; there is no SQL scrubber.)"""

import psycopg
import pytest

from connectors.privacy import detect
from connectors.privacy.sql import POSIX_PATTERNS, matches_any

# (text, kind that must match or None). Python-only refinements (check digit, calendar) are left out.
EXAMPLES = [
    ("身份证110101199003077774，", "resident_id"), ("11010119900307109X", "resident_id"),
    ("990101199003077771", None), ("1110101199003077774", None),
    ("医保卡号：A12345678", "insurance_number"), ("3301123456789012", "insurance_number"),
    ("住院号：A1234567", "mrn"), ("12345678^^^HIS&1.2.156.112604.1.2.1&ISO^MR", "mrn"), ("12345678", None),
    ("+86 138-1234-5678", "mobile_phone"), ("电话13812345678。", "mobile_phone"),
    ("3f5a13812345678ab90c0d1e2f3a4b5c", None), ("12812345678", None),
    ("0571-88888888", "landline"), ("(010)62345678", "landline"),
    ("zhangwei90@163.com", "email"), ("2026-11-01", "date"), ("2026年11月1日", "date"), ("11月1日", "date"),
    ("20261101083000+0800", "date"), ("01.11.2026", "date"),
    ("120/80", None), ("36.5", None), ("1.2.156.112604.1.2.1", None), ("SpO2 97 %", None),
    ("１３８１２３４５６７８", "mobile_phone"),
    ("患者张伟夜间睡眠差", "chinese_name"), ("张^伟^^^^^L", "chinese_name"), ("患者自诉头晕", None), ("郑州市", None),
]


@pytest.fixture(scope="module")
def conn(server_admin_url):
    with psycopg.connect(server_admin_url, autocommit=True) as c:
        yield c


def test_postgres_accepts_every_pattern(conn):
    for kind, pattern in POSIX_PATTERNS.items():
        assert conn.execute("select 'x' ~ %s", (pattern,)).fetchone() == (False,), kind


@pytest.mark.parametrize("text,kind", EXAMPLES)
def test_sql_and_python_agree(conn, text, kind):
    python_kinds = {s.kind for s in detect(text)}
    sql_kinds = {k for k, p in POSIX_PATTERNS.items()
                 if conn.execute("select translate(%s, %s, %s) ~ %s",
                                 (text, *_fold(), p)).fetchone()[0]}
    assert python_kinds == ({kind} if kind else set())
    assert sql_kinds == python_kinds
    any_hit = conn.execute(f"select {matches_any('t.v')} from (select %s::text as v) t", (text,)).fetchone()[0]
    assert any_hit is bool(kind)


def _fold():
    from connectors.privacy.sql import FOLD_FROM, FOLD_TO

    return FOLD_FROM, FOLD_TO


def test_there_is_no_sql_scrubber(conn):
    """One scrubber, in Python: the database holds no scrub function (an older one is dropped at init)."""
    import connectors.privacy.sql as privacy_sql

    assert not hasattr(privacy_sql, "scrub_expression")
    found = conn.execute("select count(*) from pg_proc where proname in ('scrub_text', 'scrub_patterns')").fetchone()[0]
    assert found == 0
