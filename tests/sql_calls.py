"""Every function the project's SQL calls without a schema, found by parsing that SQL (sqlglot), not listed by hand.

Sources: the SQL files `wardflow init` runs, the scrub functions it generates, the SQL string constants of the
Python packages, the dbt models and macros (Jinja blanked out) and whatever dbt compiled under target/. Bodies
of functions ($$ … $$) are parsed too, statement by statement. Used by the trojan test (issue 11).
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

REPO = Path(__file__).resolve().parents[1]
SQLISH = re.compile(r"\b(select|insert|update|delete|perform|create|values)\b", re.IGNORECASE)
JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
DOLLAR = re.compile(r"\$(\w*)\$(.*?)\$\1\$", re.DOTALL)
CALL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def python_sql(path: Path) -> Iterator[str]:
    """String constants (and f-strings with their holes blanked) that look like SQL."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else " x " for v in node.values)
        else:
            continue
        if SQLISH.search(text) and "(" in text:
            yield text.replace("%s", "x")


def project_sql() -> Iterator[str]:
    for path in sorted((REPO / "orchestration" / "warehouse" / "sql").glob("*.sql")):
        yield path.read_text()
    yield (REPO / "connectors" / "sql" / "landing.sql").read_text()
    for package in ("connectors", "orchestration", "expectations", "deid"):
        for path in sorted((REPO / package).rglob("*.py")):
            yield from python_sql(path)
    dbt = REPO / "dbt_project"
    for folder in ("models", "macros"):
        for path in sorted(p for p in (dbt / folder).rglob("*.sql") if p.is_file()):
            yield JINJA.sub(" x ", path.read_text())
    for path in sorted(p for p in (dbt / "target").rglob("*.sql") if p.is_file()) if (dbt / "target").exists() else []:
        if "/run/" in str(path) or "/compiled/" in str(path):
            yield path.read_text()


def statements(text: str) -> Iterator[str]:
    """The text itself, then each ;-separated piece of every dollar-quoted body (plpgsql and SQL functions)."""
    yield DOLLAR.sub("''", text)
    for match in DOLLAR.finditer(text):
        yield from statements(match.group(2))
        for piece in match.group(2).split(";"):
            yield re.sub(r"^\s*(declare|begin|return|perform|if|elsif|then|else)\b", "select", piece.strip(),
                         flags=re.IGNORECASE)


def unqualified_calls(text: str) -> dict[str, set[int]]:
    """Function name (lower case) → the argument counts seen, for calls with no schema."""
    found: dict[str, set[int]] = {}
    for trees in _parse(text):
        for tree in trees:
            if tree is None:
                continue
            for func in tree.find_all(exp.Func):
                if isinstance(func.parent, exp.Dot) or isinstance(func, exp.Cast | exp.TryCast):
                    continue
                name = _name(func)
                if name:
                    found.setdefault(name, set()).add(_arity(func))
    return found


def _parse(text: str) -> Iterator[list]:
    for piece in statements(text):
        try:
            yield sqlglot.parse(piece, read="postgres", error_level=ErrorLevel.IGNORE)
        except (sqlglot.errors.SqlglotError, RecursionError, ValueError):
            continue


def _name(func: exp.Func) -> str | None:
    """The name as PostgreSQL would see it (sqlglot renders its own classes back to PostgreSQL spelling)."""
    if isinstance(func, exp.Anonymous):
        return func.name.lower()
    try:
        match = CALL.match(func.sql("postgres"))
    except Exception:  # noqa: BLE001 - a node sqlglot cannot render back is one name less, not a test error
        match = None
    return match.group(1).lower() if match else None


def _arity(func: exp.Func) -> int:
    if isinstance(func, exp.Anonymous):
        return len(func.expressions)
    count = 0
    for value in func.args.values():
        if isinstance(value, list):
            count += len(value)
        elif value is not None:
            count += 1
    return count


def token_calls(text: str) -> dict[str, set[int]]:
    """A net under the parser: every `name(` not preceded by a dot or a word (plpgsql statements sqlglot gives
    up on). Argument counts are unknown here (reported as 1 and 2); the caller keeps only real function names."""
    return {m.group(1).lower(): {1, 2} for m in re.finditer(r"(?<![.\w\"])([A-Za-z_][A-Za-z0-9_]*)\s*\(", text)}


def all_unqualified_calls() -> dict[str, set[int]]:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    merged: dict[str, set[int]] = {}
    for text in project_sql():
        for found in (unqualified_calls(text), token_calls(text)):
            for name, arities in found.items():
                merged.setdefault(name, set()).update(arities)
    return merged
