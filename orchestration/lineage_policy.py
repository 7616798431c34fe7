"""Classification along lineage: which direct identifiers and level ≥ 4 values reach each column with no
treatment on the way, and the release columns (what wardflow_analyst, wardflow_reader or a sharing recipient
reads) that such a path reaches.

A column inherits what its inputs carry until a treatment lowers it; a staging column that declares the
source field it extracts (`config.meta.source_field`) is classified as that field. A treatment counts only where it is
applied: not in staging (staging extracts and decrypts in flight; the treatment it declares is what a later
layer must do), and not where the model's SQL merely copies its input (a declaration that says `mask` over a
bare column is a claim, not a treatment). That is read from the SQL, so this check does not share its
definition of "treated" with the macros that apply treatments. Names only, never a data value.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.lineage import ColumnLineage, Graph

RANK = {"": 0, "none": 0, "quasi": 1, "sensitive": 2, "direct": 3}
RULE = "privacy.lineage_untreated"


def risky(column: ColumnLineage) -> bool:
    """What must not reach a release untreated: a direct identifier or a value of level 4 or 5."""
    return column.identifier == "direct" or column.level >= 4


def treated(column: ColumnLineage) -> bool:
    """A declared treatment that the column's own SQL applies (see the module docstring)."""
    return column.treatment not in ("", "keep") and column.layer != "staging" and not column.copied


def carried(graph: Graph) -> dict[str, frozenset[str]]:
    """column → the risky columns (relation.column) that reach it with no treatment on the way (itself included
    when it is risky and untreated)."""
    memo: dict[str, frozenset[str]] = {}
    for key in graph.columns:
        _carried(graph, key, memo, set())
    return memo


def _carried(graph: Graph, key: str, memo: dict[str, frozenset[str]], active: set[str]) -> frozenset[str]:
    if key in memo:
        return memo[key]
    if key in active:  # an incremental model reading itself
        return frozenset()
    active.add(key)
    column = graph.columns[key]
    if treated(column):
        found: frozenset[str] = frozenset()
    else:
        found = frozenset({key}) if risky(column) else frozenset()
        # a column that declares the source field it extracts is classified as that field, not as the
        # whole message it was read from: the walk stops there
        for parent in () if column.source_field else graph.inputs(key):
            found |= _carried(graph, parent.key, memo, active)
    active.discard(key)
    memo[key] = found
    return found


def inherited(graph: Graph, carried_by: dict[str, frozenset[str]], key: str) -> tuple[int, str]:
    """The level and identifier kind a column holds: its own, or the highest that reaches it untreated."""
    column = graph.columns[key]
    sources = [graph.columns[k] for k in carried_by.get(key, ())] + [column]
    return (max(c.level for c in sources), max((c.identifier for c in sources), key=lambda k: RANK.get(k, 0)))


@dataclass(frozen=True)
class Violation:
    column: str  # release relation.column
    origin: str  # the risky column that reaches it untreated
    origin_field: str  # its source field when it declares one
    kind: str  # "direct identifier" or "level N"

    def message(self) -> str:
        field = f" ({self.origin_field})" if self.origin_field else ""
        return (f"{self.column}: a {self.kind} from {self.origin}{field} reaches a release relation with no "
                f"treatment on the way (rule {RULE})")


def violations(graph: Graph) -> list[Violation]:
    """Every (release column, risky origin) pair with an untreated path between them; also every release
    column whose SQL could not be analysed (unknown is not safe)."""
    carried_by = carried(graph)
    out = []
    for key, column in sorted(graph.columns.items()):
        if column.relation not in graph.release:
            continue
        if not column.resolved:
            out.append(Violation(key, key, "", "column whose lineage could not be analysed"))
        for origin in sorted(carried_by.get(key, ())):
            c = graph.columns[origin]
            kind = "direct identifier" if c.identifier == "direct" else f"level {c.level} value"
            out.append(Violation(key, origin, c.source_field, kind))
    return out
