"""`wardflow scan`: find personal data by its values, and compare what is found with what is declared.

For every relation of the chosen layers — dbt models and seeds that are persisted, the landing sources,
tables found in those schemas that dbt does not know, and (with keys) the ephemeral staging models run
from their compiled SQL — up to ``sample_rows`` rows are read (random rows of tables and views, the first
rows an ephemeral model yields), and every text, JSON and array value goes through
``connectors.privacy.detect``. JSON is reported per path: HL7 segments as field paths
(``PID-5``), FHIR resources as element paths (``Patient.name.family``), anything else as ``$.a[*].b``.
Landing payloads are decrypted in memory only (``vault.decrypt`` in a session given the key ring).

The report holds counts, rates and declarations, never a value. A row's verdict is ``declared`` (hits in
a column declared an identifier or given a protective treatment), ``undeclared`` (hits in a column
declared none/keep, or not declared at all) or ``clean``. The scan fails when any value in ``clinical``
or ``analytics`` hits at all, or when one of their relations cannot be read (fail closed). Columns
declared ``pseudonymize`` in persisted layers are also checked for the pseudonym format (32 hex).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from connectors.privacy import detect
from connectors.settings import Settings

LAYERS = ("landing", "staging", "vault", "clinical", "analytics", "aggregates", "recontact", "audit")
PROTECTED = ("clinical", "analytics", "aggregates")
PSEUDONYM = re.compile(r"[0-9a-f]{32}")
# A date the scrubber (deid/) already shifted by the patient's offset is published by design, not a real date.
SHIFTED_DATE = re.compile(r"\[DATE (?:[0-9]{4}|-)-[0-9]{2}-[0-9]{2}\]")
PROTECTIVE_TREATMENTS = {"encrypt", "pseudonymize", "mask", "generalize", "date_shift", "redact_text", "drop"}
PERSISTED = {"table", "view", "incremental", "materialized_view", "seed"}
# Landing columns decrypted for the scan (they are encrypted at rest): (table, column) → key column.
DECRYPTED = {("hl7_messages", "doc"): "key_version", ("fhir_resources", "payload"): "key_version",
             ("rejected", "payload"): "key_version"}
# Most HL7 rows store no document: staging builds it from the payload, and so does the scan.
HL7_DOCUMENT = sql.SQL("coalesce(vault.decrypt(t.doc, t.key_version), convert_to(jsonb_build_object('segments', "
                       "landing.hl7_segments(vault.decrypt(t.payload, t.key_version)))::text, 'UTF8'))")
TEXT_TYPES = {"text", "varchar", "bpchar", "name", "json", "jsonb", "citext"}
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")


class ScanError(RuntimeError):
    """The scan could not start (manifest, keys, compile); the message names the step, never a value."""


@dataclass(frozen=True)
class ScanRow:
    """One column (or JSON path) of one relation and one detector: how many sampled values hit."""

    layer: str
    relation: str
    column: str
    path: str | None
    detector: str | None  # None: the column was scanned and nothing hit
    rows_sampled: int
    values: int
    hits: int
    identifier: str | None
    treatment: str | None
    verdict: str  # declared | undeclared | clean

    @property
    def hit_rate(self) -> float:
        return round(self.hits / self.values, 4) if self.values else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hit_rate": self.hit_rate}


@dataclass
class ScanReport:
    """Every scanned column × detector, relations that could not be read (by error class), and the verdict."""

    layers: tuple[str, ...]
    sample_rows: int
    rows: list[ScanRow] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)  # relations that could not be read
    skipped: list[dict[str, str]] = field(default_factory=list)  # declared in dbt but not built
    # Independent of the scrubber: canary values (orchestration/canaries.py) found in clinical, analytics or
    # aggregates (relation, column, kinds, count; never a value). None when no canary set was planted.
    canary_findings: list[dict[str, Any]] | None = None

    @property
    def failures(self) -> list[ScanRow]:
        return [r for r in self.rows if r.layer in PROTECTED and r.hits > 0]

    @property
    def undeclared(self) -> list[ScanRow]:
        return [r for r in self.rows if r.verdict == "undeclared"]

    @property
    def failed(self) -> bool:
        return (bool(self.failures) or bool(self.canary_findings)
                or any(e["layer"] in PROTECTED for e in self.errors))

    def as_dict(self) -> dict[str, Any]:
        verdicts = Counter(r.verdict for r in self.rows if r.detector is not None)
        return {"failed": self.failed, "layers": list(self.layers), "sample_rows": self.sample_rows,
                "relations": len({(r.layer, r.relation) for r in self.rows}),
                "columns": len({(r.layer, r.relation, r.column, r.path) for r in self.rows}),
                "verdicts": dict(verdicts), "failures": [r.as_dict() for r in self.failures],
                "errors": self.errors, "skipped": self.skipped, "rows": [r.as_dict() for r in self.rows],
                "scrubber_independent": {"canaries_planted": self.canary_findings is not None,
                                         "canary_findings": self.canary_findings or []}}

    def print(self, console: Any, *, everything: bool = False) -> None:
        """Readable at 80 columns: one line per layer, then only the rows that need a look (hits in clinical or
        analytics, undeclared hits anywhere); `everything` lists every hit. Cells wrap, never truncate."""
        from rich.table import Table

        console.print(f"personal data found by value (sample ≤ {self.sample_rows} rows per relation):")
        for layer in self.layers:
            console.print("  " + self._layer_line(layer), highlight=False)
        shown = [r for r in self.rows if r.hits and (everything or r.layer in PROTECTED or r.verdict == "undeclared")]
        if shown:
            table = Table(title="every hit" if everything else "needs a look")
            for header in ("relation · column", "detector", "hits", "verdict"):
                table.add_column(header, overflow="fold")  # long JSON paths wrap instead of ending in "…"
            for r in shown:
                colour = "red" if r.layer in PROTECTED or r.verdict == "undeclared" else "green"
                where = f"{r.relation} · {r.column}" + (f" {r.path}" if r.path else "")
                table.add_row(where, r.detector, f"{r.hits}/{r.values}", f"[{colour}]{r.verdict}[/{colour}]")
            console.print(table)
        for e in self.errors:
            console.print(f"[yellow]not scanned:[/yellow] {e['layer']} {e['relation']} ({e['error']})")
        console.print("Scrubber-independent (canary values, normalized), above: the scrubber's own patterns.")
        if self.canary_findings is None:
            console.print("[yellow]  no canary set planted yet (run the pipeline once)[/yellow]")
        for f in self.canary_findings or []:
            what = f"not searched: {f['error']}" if "error" in f else f"{', '.join(f['kinds'])}; {f['values']} values"
            console.print(f"[red]  canary check:[/red] {f['relation']}.{f['column']} ({what})")
        console.print("[red]scan failed: personal data in clinical or analytics[/red]" if self.failed
                      else "[green]scan passed: nothing found in clinical or analytics[/green]")

    def _layer_line(self, layer: str) -> str:
        rows = [r for r in self.rows if r.layer == layer]
        hit_columns = {(r.relation, r.column, r.path) for r in rows if r.hits}
        undeclared = {(r.relation, r.column, r.path) for r in rows if r.verdict == "undeclared"}
        verdict = ("clean" if not hit_columns else f"{len(undeclared)} undeclared" if undeclared
                   else "all declared")
        relations = len({r.relation for r in rows})
        return f"{layer:<10} {relations:>3} relations  {len(hit_columns):>4} columns with hits  {verdict}"


# ---------------------------------------------------------------- what to scan

@dataclass
class Relation:
    """A relation to sample: a database table/view (schema, name) or an ephemeral model (compiled SQL)."""

    layer: str
    name: str  # schema.table, or the model name for ephemeral models
    declared: dict[str, Mapping[str, Any]]  # column → privacy declaration
    schema: str | None = None
    table: str | None = None
    compiled_sql: str | None = None
    persisted: bool = True


def _declarations(props: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    from orchestration.catalog import declaration

    return {name: declaration(column) for name, column in (props.get("columns") or {}).items()}


def manifest_relations(manifest: Mapping[str, Any], layers: Iterable[str] | None) -> list[Relation]:
    """Persisted models, seeds and sources of the layers (all with None), and ephemeral models in them."""
    from orchestration.translator import layer_of

    wanted, out = None if layers is None else set(layers), []
    for props in list(manifest["nodes"].values()) + list(manifest["sources"].values()):
        if props["resource_type"] not in ("model", "seed", "source"):
            continue
        if wanted is not None and layer_of(props) not in wanted:
            continue
        layer, declared = layer_of(props), _declarations(props)
        materialized = "source" if props["resource_type"] == "source" else props["config"].get("materialized")
        if materialized == "ephemeral":
            out.append(Relation(layer, props["name"], declared, persisted=False))
        elif materialized in PERSISTED or materialized == "source":
            table = props.get("identifier") or props.get("alias") or props["name"]
            out.append(Relation(layer, f"{props['schema']}.{table}", declared, props["schema"], table,
                                persisted=layer != "landing"))
    return out


def catalog_relations(conn: psycopg.Connection, layers: Iterable[str], known: set[str]) -> list[Relation]:
    """Tables and views in the layer schemas that no manifest entry names: declared nowhere."""
    rows = conn.execute(
        """select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = any(%s) and c.relkind in ('r', 'v', 'm', 'p', 'f') order by 1, 2""",
        ([layer for layer in layers if layer != "staging"],)).fetchall()
    return [Relation(schema, f"{schema}.{table}", {}, schema, table, persisted=schema != "landing")
            for schema, table in rows if f"{schema}.{table}" not in known]


_MARKER = "select 1 as wardflow_scan_marker from "


def compile_ephemeral(settings: Settings, ring: Any, names: Iterable[str]) -> dict[str, str]:
    """A runnable ``select *`` for each ephemeral model, from one in-process `dbt compile --inline`.

    The inline query refers to every model, so dbt prepends all their CTEs (``__dbt__cte__<name>``) once;
    each model is then read as ``<those CTEs> select * from __dbt__cte__<name>`` (PostgreSQL skips the
    CTEs a query does not use). A model's own compiled_code is not used: dbt injects the CTEs of its
    parents after the first WITH keyword, which breaks ``jsonb_array_elements(…) with ordinality``.
    """
    from dbt.cli.main import dbtRunner

    from orchestration.project import DBT_PROJECT_DIR
    from orchestration.resources import dbt_environment, environment

    names = sorted(set(names))
    if not names:
        return {}
    inline = _MARKER + ", ".join(f"{{{{ ref('{name}') }}}} as r{i}" for i, name in enumerate(names))
    with tempfile.TemporaryDirectory(prefix="wardflow-scan-") as tmp, environment(dbt_environment(settings, ring)):
        result = dbtRunner().invoke(["--log-level", "none", "--log-level-file", "none", "compile",
                                     "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                                     "--target-path", tmp, "--log-path", tmp, "--inline", inline])
    outcome: Any = result.result
    compiled = outcome.results[0].node.compiled_code if result.success and outcome else None
    if not compiled or _MARKER not in compiled:
        raise ScanError(f"dbt compile of {len(names)} ephemeral models failed")
    prefix = compiled[:compiled.rindex(_MARKER)]
    return {name: f"{prefix}\nselect * from __dbt__cte__{name}" for name in names
            if f"__dbt__cte__{name} as (" in prefix}


# ---------------------------------------------------------------- values → (path, text)

def _is_segment(value: list) -> bool:
    return (len(value) > 1 and isinstance(value[0], str) and _SEGMENT_ID.fullmatch(value[0]) is not None
            and all(isinstance(f, list) for f in value[1:]))


def _encode_field(field_value: list) -> str:
    """An HL7 field of the landing document ([rep][comp][sub]) as its wire text, delimiters ~ ^ &."""
    def part(value: Any, seps: str) -> str:
        if not isinstance(value, list):
            return str(value)
        return seps[0].join(part(v, seps[1:] or "&") for v in value)
    return part(field_value, "~^&")


def _scalar(path: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if value:
            yield path, value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, str(value)


def _fhir_leaves(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """FHIR element paths: list positions dropped, nested (contained) resources start their own path."""
    if isinstance(value, dict):
        if isinstance(value.get("resourceType"), str):
            path = value["resourceType"]
        for key, item in value.items():
            if key != "resourceType":
                yield from _fhir_leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _fhir_leaves(item, path)
    else:
        yield from _scalar(path, value)


def json_leaves(value: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """(path, text) of every scalar; HL7 segments give one text per field, FHIR resources element paths."""
    if isinstance(value, dict):
        if isinstance(value.get("resourceType"), str):
            yield from _fhir_leaves(value, "")
        elif isinstance(value.get("resource"), dict) and "fullUrl" in value:  # a Bundle.entry
            yield from _scalar("Bundle.entry.fullUrl", value["fullUrl"])
            yield from _fhir_leaves(value["resource"], "")
        else:
            for key, item in value.items():
                yield from json_leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        if _is_segment(value):
            for number, item in enumerate(value[1:], start=1):
                text = _encode_field(item)
                if text.strip("~^&"):
                    yield f"{value[0]}-{number}", text
        else:
            for item in value:
                yield from json_leaves(item, f"{path}[*]")
    else:
        yield from _scalar(path, value)


def _decoded(raw: bytes) -> Any:
    """Decrypted bytes: JSON when they parse, else text (UTF-8, else GB 18030); nothing is kept."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


# ---------------------------------------------------------------- sampling and counting

class _Tally:
    """Per (column, path): values seen and values hit per detector."""

    def __init__(self) -> None:
        self.values: Counter[tuple[str, str | None]] = Counter()
        self.hits: defaultdict[tuple[str, str | None], Counter[str]] = defaultdict(Counter)

    def add(self, column: str, path: str | None, text: str, pseudonym: bool) -> None:
        key = (column, path)
        self.values[key] += 1
        if pseudonym:
            if PSEUDONYM.fullmatch(text):
                return
            self.hits[key]["pseudonym_format"] += 1
        for kind in {s.kind for s in detect(SHIFTED_DATE.sub("[DATE]", text))}:
            self.hits[key][kind] += 1

    def value(self, column: str, value: Any, pseudonym: bool) -> None:
        if isinstance(value, bytes | bytearray | memoryview):
            value = _decoded(bytes(value))
        if isinstance(value, str):
            if value:
                self.add(column, None, value, pseudonym)
        elif isinstance(value, dict | list):
            for path, text in json_leaves(value):
                self.add(column, path, text, False)
        elif value is not None:
            self.add(column, None, str(value), pseudonym)


def _source_sql(rel: Relation, limit: int, estimated_rows: float) -> sql.Composable:
    if rel.compiled_sql is not None:
        return sql.SQL("select * from (\n{}\n) s limit {}").format(
            sql.SQL(rel.compiled_sql.rstrip().rstrip(";")), sql.Literal(limit))  # noqa: S608 - dbt's own SQL
    sample: sql.Composable = sql.SQL("")
    if estimated_rows > 20 * limit:  # large tables: read a few pages, not the whole table
        percent = min(100.0, 100.0 * 10 * limit / estimated_rows)
        sample = sql.SQL(" tablesample system ({})").format(sql.Literal(round(percent, 4)))
    return sql.SQL("select * from {}{} order by random() limit {}").format(
        sql.Identifier(rel.schema or "", rel.table or ""), sample, sql.Literal(limit))


def _columns(conn: psycopg.Connection, source: sql.Composable, rel: Relation) -> list[tuple[str, sql.Composable]]:
    """The scanned columns with their select expression (decryption for landing payloads)."""
    cur = conn.execute(sql.SQL("select * from ({}) t limit 0").format(source))
    out: list[tuple[str, sql.Composable]] = []
    for col in cur.description or []:
        type_name = conn.adapters.types.get(col.type_code)
        base = type_name.name if type_name else ""
        key = (rel.table or "", col.name)
        if rel.layer == "landing" and key == ("hl7_messages", "doc"):
            out.append((col.name, HL7_DOCUMENT))
        elif rel.layer == "landing" and key in DECRYPTED:
            out.append((col.name, sql.SQL("vault.decrypt(t.{}, t.{})").format(
                sql.Identifier(col.name), sql.Identifier(DECRYPTED[key]))))
        elif base in TEXT_TYPES:  # arrays report their element type
            out.append((col.name, sql.SQL("t.{}").format(sql.Identifier(col.name))))
    return out


def scan_relation(conn: psycopg.Connection, rel: Relation, limit: int, estimated_rows: float) -> list[ScanRow]:
    source = _source_sql(rel, limit, estimated_rows)
    columns = _columns(conn, source, rel)
    if not columns:
        return []
    query = sql.SQL("select {} from ({}) t").format(sql.SQL(", ").join(e for _, e in columns), source)
    tally, sampled = _Tally(), 0
    pseudonyms = {name for name, _ in columns
                  if rel.persisted and rel.declared.get(name, {}).get("treatment") == "pseudonymize"}
    with conn.cursor() as cur:
        for record in cur.execute(query):
            sampled += 1
            for (name, _), value in zip(columns, record, strict=True):
                tally.value(name, value, name in pseudonyms)
    return _rows(rel, tally, sampled, [name for name, _ in columns])


def _verdict(hits: int, privacy: Mapping[str, Any]) -> str:
    if not hits:
        return "clean"
    if privacy.get("identifier") in ("direct", "quasi") or privacy.get("treatment") in PROTECTIVE_TREATMENTS:
        return "declared"
    return "undeclared"


def _rows(rel: Relation, tally: _Tally, sampled: int, columns: list[str]) -> list[ScanRow]:
    keys = sorted(set(tally.values) | {(c, None) for c in columns if not any(k[0] == c for k in tally.values)},
                  key=lambda k: (columns.index(k[0]), k[1] or ""))
    out: list[ScanRow] = []
    for column, path in keys:
        privacy = rel.declared.get(column) or {}
        base: dict[str, Any] = dict(layer=rel.layer, relation=rel.name, column=column, path=path, rows_sampled=sampled,
                                    values=tally.values[(column, path)], identifier=privacy.get("identifier"),
                                    treatment=privacy.get("treatment"))
        found = tally.hits.get((column, path))
        if not found:
            out.append(ScanRow(**base, detector=None, hits=0, verdict="clean"))
        for kind, hits in sorted((found or {}).items()):
            out.append(ScanRow(**base, detector=kind, hits=hits, verdict=_verdict(hits, privacy)))
    return out


# ---------------------------------------------------------------- the scan

def _present(conn: psycopg.Connection, relations: list[Relation]) -> dict[str, float]:
    """Relations that exist, with the planner's row estimate (0 for views and never-analysed tables)."""
    rows = conn.execute("""select n.nspname || '.' || c.relname, greatest(c.reltuples, 0) from pg_class c
                           join pg_namespace n on n.oid = c.relnamespace
                           where c.relkind in ('r', 'm', 'p', 'v', 'f') and n.nspname = any(%s)""",
                        (sorted({r.schema for r in relations if r.schema}),)).fetchall()
    return {name: float(tuples) for name, tuples in rows}


def _with_compiled_sql(settings: Settings, ring: Any, relations: list[Relation], report: ScanReport) -> None:
    ephemeral = [r for r in relations if r.schema is None]
    try:
        compiled = compile_ephemeral(settings, ring, [r.name for r in ephemeral])
    except ScanError as exc:
        compiled, reason = {}, str(exc)
    else:
        reason = "not found in the compiled SQL"
    for rel in ephemeral:
        rel.compiled_sql = compiled.get(rel.name)
        if rel.compiled_sql is None:
            report.errors.append({"layer": rel.layer, "relation": rel.name, "error": reason})


def scan(settings: Settings, *, sample_rows: int = 2000, layers: Iterable[str] = LAYERS,
         manifest_path: Path | None = None, progress: Callable[[int, int, str], None] | None = None) -> ScanReport:
    """Sample every relation of ``layers`` and report detector hits per column; see the module docstring.
    ``progress(done, total, relation name)`` is called after each relation."""
    from connectors.crypto import load_keyring
    from orchestration.project import prepare_manifest
    from orchestration.warehouse.database import connect

    layers = tuple(layers)
    report = ScanReport(layers, sample_rows)
    manifest = json.loads(Path(manifest_path or prepare_manifest()).read_text())
    ring = load_keyring(settings)
    relations = manifest_relations(manifest, layers)
    _with_compiled_sql(settings, ring, relations, report)
    with connect(settings, "pipeline", keyring=ring, autocommit=True) as conn:
        conn.execute("set default_transaction_read_only = on")
        relations += catalog_relations(conn, layers, {r.name for r in manifest_relations(manifest, None)})
        present = _present(conn, relations)
        for done, rel in enumerate(relations, 1):
            if progress is not None:
                progress(done, len(relations), rel.name)
            if rel.schema is None and rel.compiled_sql is None:
                continue  # reported by _with_compiled_sql
            if rel.schema is not None and rel.name not in present:
                report.skipped.append({"layer": rel.layer, "relation": rel.name, "reason": "not built"})
                continue
            try:
                report.rows += scan_relation(conn, rel, sample_rows, present.get(rel.name, 0.0))
            except psycopg.Error as exc:  # the class and SQLSTATE only: messages can quote values
                report.errors.append({"layer": rel.layer, "relation": rel.name,
                                      "error": f"{type(exc).__name__} {exc.sqlstate or ''}".strip()})
        report.canary_findings = _canary_findings(conn)
    order = {layer: i for i, layer in enumerate(layers)}
    report.rows.sort(key=lambda r: (order.get(r.layer, len(order)), r.relation))
    return report


def _canary_findings(conn: psycopg.Connection) -> list[dict[str, Any]] | None:
    """Canary values in clinical, analytics and aggregates (all rows, not a sample); None when none planted."""
    from orchestration.canaries import find_canaries, load

    try:
        values = load(conn)
    except psycopg.errors.UndefinedTable:  # a database initialised before canaries existed
        return None
    return None if values is None else find_canaries(conn, values)
