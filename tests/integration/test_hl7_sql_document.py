"""The HL7 document that staging builds in SQL (landing.hl7_segments) is the connector's own, for every message
the connector lands without a document (Hl7Message.sql_document); the others keep their sealed document.

Messages: every message of the shared public corpus, a generated hospital (monitors, ADT, lab, notes), and
hand-made edge cases of line endings, blanks, separators, charsets and JSON punctuation. Failures name message
numbers only, never content.
"""

from __future__ import annotations

import random
import secrets
from pathlib import Path

import orjson
import psycopg
import pytest
from psycopg import sql

from connectors.hl7.parse import Hl7Message, Hl7ParseError, parse_message
from connectors.hl7.split import split_messages
from connectors.landing import Lander
from connectors.settings import load_settings
from orchestration.warehouse.database import DatabaseError, connect, init_database

CORPUS = Path(__file__).parents[2].parent / "shared" / "corpus" / "hl7v2"
MSH = "MSH|^~\\&|MONITOR|ICU1|WARDFLOW|HOSP|20260101120000||ORU^R01^ORU_R01|{cid}|P|2.6"
PID = "PID|1||MRN000001^^^HOSP^MR||Zhang^Wei||19800101|M"
OBX = "OBX|1|NM|8867-4^Heart rate^LN||72|/min^^UCUM|||||F"

# (name, segments after MSH joined by CR unless the text is given whole, SQL can build it)
EDGE_CASES: list[tuple[str, str, bool]] = [
    ("cr", "\r".join([MSH, PID, OBX, ""]), True),
    ("crlf", "\r\n".join([MSH, PID, OBX, ""]), True),
    ("lf, no final ending", "\n".join([MSH, PID, OBX]), True),
    ("bom and leading line breaks", "\ufeff\r\n\r" + "\r".join([MSH, PID, OBX]), True),
    ("trailing separators", "\r".join([MSH + "|||", PID + "||", OBX + "|", "ZXT|1|||"]) + "|", True),
    ("blank lines and separator-only lines", "\r".join([MSH, "", PID, "|||", "", OBX, "", "", ""]), True),
    ("empty fields, components, repetitions", "\r".join([
        MSH, "PID|||A^^B~~C&&D^~^&||^|~|&|x", "OBX||ST|||", "ZZ1|1"]), True),
    ("HL7 null and JSON punctuation", "\r".join([
        MSH, 'PID|1||""||"quoted" [a], {b}: c,d|x\ty', "NTE|1||back]]]]][[[[[\"\"]]]"]), True),
    ("control characters and line separators", "\r".join([MSH, "NTE|1||a\x0bb\x1cc\u2028d\x02e\x1f"]), True),
    ("SOH", "\r".join([MSH, "NTE|1||a\x01b"]), False),
    ("UTF-8 CJK", "\r".join([MSH + "||||||UNICODE UTF-8", "PID|1||MRN9||张^伟||19800101|M"]), True),
    ("truncation character declared", "\r".join([MSH.replace("^~\\&", "^~\\&#", 1).replace("2.6", "2.7"),
                                                  "OBX|1|ST|x||ab#cd"]), True),
    ("Z-segment with digits, one field", "\r".join([MSH, "Z01|x"]), True),
    ("blank after a segment", "\r".join([MSH, PID + " ", OBX]), False),
    ("tab at the end", "\r".join([MSH, PID, OBX + "\t"]), False),
    ("blank before a segment", "\r".join([MSH, " " + PID, OBX]), False),
    ("escape sequence", "\r".join([MSH, "NTE|1||a\\F\\b"]), False),
    ("other delimiters", "\r".join([MSH.replace("|", "#"), "PID#1##x"]), False),
    ("GB 18030", "\r".join([MSH + "||||||GB 18030", "PID|1||MRN9||Zhang"]), False),
    ("bare segment id", "\r".join([MSH, "ZBR", OBX]), False),
    ("DEL character", "\r".join([MSH, "NTE|1||a\x7fb"]), False),
]


def corpus_messages() -> list[bytes]:
    if not CORPUS.is_dir():
        return []
    return [p.data for f in sorted(CORPUS.iterdir()) if f.is_file()
            for p in split_messages(f.read_bytes()) if p.kind == "message"]


def generated_messages(root: Path) -> list[bytes]:
    return [p.data for f in sorted((root / "hl7").rglob("*")) if f.is_file()
            for p in split_messages(f.read_bytes()) if p.kind == "message"]


def edge_messages(tag: str = "") -> list[bytes]:
    """The edge cases as bytes; ``tag`` makes their control ids unique (the session database is shared)."""
    return [text.replace("{cid}", f"EDGE{tag}{n:03d}").encode("gb18030" if "GB 18030" in name else "utf-8")
            for n, (name, text, _) in enumerate(EDGE_CASES)]


def parsed(raws: list[bytes]) -> list[Hl7Message]:
    out = []
    for raw in raws:
        try:
            out.append(parse_message(raw))
        except Hl7ParseError:
            continue
    return out


def differing(conn: psycopg.Connection, messages: list[Hl7Message], wanted: list[str] | None = None) -> list[int]:
    """Positions of the messages whose SQL-built segments differ from the connector's document (with ``wanted``:
    from its MSH and the segments with those ids, in order)."""
    conn.execute("create temp table sql_doc (n int, raw bytea, segments jsonb) on commit drop")
    with conn.cursor().copy("copy sql_doc from stdin") as copy:
        for n, msg in enumerate(messages):
            segments = msg.segments_json if wanted is None else orjson.dumps(
                msg.segments[:1] + [seg for seg in msg.segments[1:] if seg[0] in wanted])
            copy.write_row((n, msg.raw, segments.decode()))
    rows = conn.execute("select n from sql_doc where landing.hl7_segments(raw, %s) is distinct from segments "
                        "order by n", (wanted,)).fetchall()
    conn.rollback()
    return [n for (n,) in rows]


def test_the_edge_cases_go_the_way_they_are_meant_to() -> None:
    messages = [parse_message(raw) for raw in edge_messages()]
    assert [m.sql_document for m in messages] == [built for _, _, built in EDGE_CASES]


def test_sql_builds_the_connectors_document_for_every_message_it_may(settings, initialised, synthetic) -> None:
    root, _ = synthetic
    sets = {"corpus": parsed(corpus_messages()), "generated": parsed(generated_messages(root)),
            "edge cases": parsed(edge_messages())}
    with connect(settings, "pipeline") as conn:
        for name, messages in sets.items():
            eligible = [m for m in messages if m.sql_document]
            assert differing(conn, eligible) == [], f"{name}: SQL document differs"
            if name == "generated":
                assert len(eligible) > 0.9 * len(messages) > 450  # notes with escapes keep their document
            if name == "corpus" and messages:
                assert 10 <= len(eligible) < len(messages)  # both ways are exercised by real files


def random_messages(count: int, seed: int) -> list[bytes]:
    """Messages made of delimiters, blanks, JSON punctuation, control characters and CJK in random places, with
    random segment endings, blank lines and trailing separators."""
    rng = random.Random(seed)
    pieces = ["a", "Z9", "7.5", "a b", "x\ty", "^", "~", "&", "^^", "~~", "&&", '"', '""', "[", "]", "[[[", "]]]", ",",
              "{", "}", ":", "'", "#", "é", "张伟", "\x0b", "\x1c", "\u2028"]
    rare = [" ", "\t", "\\", "\\F\\", "\x7f", "\x01"]  # each keeps the message from SQL (where it lands at a line's edge)
    out = []
    for n in range(count):
        def value() -> str:
            text = "".join(rng.choice(pieces) for _ in range(rng.choice((0, 0, 1, 2, 4))))
            return text + rng.choice(rare) if rng.random() < 0.01 else text

        def fields(k: int) -> str:
            return "|".join(value() for _ in range(k)) + "|" * rng.choice((0, 0, 0, 1, 3))

        lines = [MSH.replace("{cid}", f"R{seed}X{n}") + ("|" + fields(rng.randint(0, 8)) if rng.random() < 0.5 else "")]
        for _ in range(rng.randint(1, 8)):
            lines.append(rng.choice(("PID", "OBX", "NTE", "ZZ1", "PV1")) + "|" + fields(rng.randint(1, 12)))
            if rng.random() < 0.1:
                lines.append(rng.choice(("", "|", "|||")))
        ending = rng.choice(("\r", "\r", "\n", "\r\n"))
        text = ending.join(lines) + ending * rng.choice((0, 1, 1, 2))
        out.append((("\ufeff" if rng.random() < 0.05 else "") + text).encode())
    return out


def test_sql_builds_the_connectors_document_for_random_messages(settings, initialised) -> None:
    messages = parsed(random_messages(3000, seed=29))
    eligible = [m for m in messages if m.sql_document]
    assert len(eligible) > 0.3 * len(messages) > 300
    with connect(settings, "pipeline") as conn:
        assert differing(conn, eligible) == []


def test_sql_builds_only_the_segments_asked_for(settings, initialised, synthetic) -> None:
    root, _ = synthetic
    messages = [m for m in parsed(corpus_messages() + generated_messages(root) + edge_messages()
                                  + random_messages(1000, seed=31)) if m.sql_document]
    with connect(settings, "pipeline") as conn:
        for wanted in (["PID"], ["PID", "PV1", "MRG", "NK1"], ["ZZ1", "OBX"], ["XYZ"]):
            assert differing(conn, messages, wanted) == [], wanted


def test_landing_stores_only_the_documents_sql_cannot_build(settings, keyring) -> None:
    raws = edge_messages(secrets.token_hex(4).upper())
    messages = [parse_message(raw) for raw in raws]
    with connect(settings, "pipeline", keyring=keyring) as conn:
        lander = Lander(conn, keyring, source_kind="file")
        for msg in messages:
            lander.hl7(msg)
        counts, _ = lander.flush()
        assert counts.landed == len(raws)
        rows = conn.execute(
            """select payload_bytes, doc is null,
                      case when doc is null then landing.hl7_segments(vault.decrypt(payload, key_version))
                           else convert_from(vault.decrypt(doc, key_version), 'UTF8')::jsonb -> 'segments' end
               from landing.hl7_messages where batch_id = %s order by message_id""", (lander.batch_id,)).fetchall()
    assert [no_doc for _, no_doc, _ in rows] == [built for _, _, built in EDGE_CASES]
    assert [segments for _, _, segments in rows] == [m.segments for m in messages]


def test_init_refuses_a_database_not_in_utf8(own_database, server_admin_url: str, tmp_path: Path) -> None:
    """Staging decodes payloads as UTF-8 text (and names come in every script): LATIN1 is refused up front."""
    name, url, home = own_database("wardflow_latin1")
    with psycopg.connect(server_admin_url, autocommit=True) as admin:  # made again, in another encoding
        admin.execute(sql.SQL("drop database {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("create database {} encoding 'LATIN1' lc_collate 'C' lc_ctype 'C' template template0")
                      .format(sql.Identifier(name)))
    own = load_settings({"WARDFLOW_HOME": str(home), "WARDFLOW_DATABASE_URL": url,
                         "WARDFLOW_KEY_FILE": str(tmp_path / "ring.json")})
    with pytest.raises(DatabaseError, match="encoding LATIN1: wardflow needs a UTF8 database"):
        init_database(own)
