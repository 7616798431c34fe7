"""What a quality expectation is: one SQL query that answers, per sender (or per group), how many rows are
wrong, out of how many, and how many wrong rows are tolerated. The same query runs inside Great Expectations
(expectations/context.py) and, for the benchmark, alone (benchmarks/quality.py).

A check's query returns the columns ``grp, unexpected, total, allowed, sample_keys``: ``grp`` names a sender or
another non-personal group, ``sample_keys`` up to five row keys of wrong rows (technical ids such as
observation keys; they are reduced to keyed hashes before they are stored or shown, expectations/results.py).
Nothing else leaves the database: no value, no time, no identifier.
"""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_KEYS = 5
RELATION = "{batch}"  # Great Expectations puts the validated table here; the benchmark puts its name
# Great Expectations writes {batch} as a bare "(select …)" only in a query that joins (otherwise it appends its own
# alias, and "{batch} as f" would not parse): every check's query therefore carries this join.
GX_JOIN = "cross join (select) as gx_join"


@dataclass(frozen=True)
class Check:
    """One expectation: the asset it validates, its suite, its severity and its grouped query.

    ``severity`` is ``blocking`` (a wrong number would mislead a clinician: the release is not published) or
    ``warning`` (reported, nothing is held back)."""

    suite: str
    name: str
    asset: tuple[str, str]
    severity: str
    query: str
    description: str = ""

    @property
    def blocking(self) -> bool:
        return self.severity == "blocking"

    @property
    def relation(self) -> str:
        return ".".join(self.asset)

    def sql(self, relation: str | None = None) -> str:
        """The query with the validated relation named (for running it without Great Expectations)."""
        return self.query.replace(RELATION, relation or self.relation)


def grouped(findings: str, rate: float = 0.0, floor: int = 0) -> str:
    """Wrap a row-level query (columns ``row_key, grp, bad``) into the grouped form; a group fails when more
    than ``max(floor, rate × total)`` of its rows are bad (devices glitch: a handful is reported, a flood fails)."""
    return f"""
select grp, count(*) filter (where bad) as unexpected, count(*) as total,
       greatest({int(floor)}, floor({float(rate)} * count(*)))::bigint as allowed,
       (array_agg(row_key) filter (where bad))[1:{SAMPLE_KEYS}] as sample_keys
from ({findings}) as findings {GX_JOIN}
group by grp
order by count(*) filter (where bad) > greatest({int(floor)}, floor({float(rate)} * count(*))) desc, grp"""  # noqa: S608 - relations and bounds from constants and checked-in reference data, no input value


def make(suite: str, name: str, asset: tuple[str, str], severity: str, findings: str, *, rate: float = 0.0,
         floor: int = 0, description: str = "") -> Check:
    """A check from row-level findings (``row_key, grp, bad``) and its tolerance."""
    if severity not in ("blocking", "warning"):
        raise ValueError(f"severity must be blocking or warning, not {severity!r}")
    return Check(suite, name, asset, severity, grouped(findings, rate, floor), description)


def verdict(groups: list[dict]) -> bool:
    """Passed when no group has more wrong rows than it tolerates (an empty relation passes)."""
    return all(int(g["unexpected"]) <= int(g["allowed"]) for g in groups)
