"""Seeded mutants of valid HL7 v2 messages and FHIR resources, for the fuzz test and benchmarks/fuzz.py.

Seeds are real samples (../shared/corpus when present) and generated messages. Each mutant changes one to
three things the way a careless or hostile sender would: a field or element replaced by a hostile value (NUL,
impossible dates and times, offsets out of range, numbers beyond double precision, over-long text, stray
delimiters and escapes, invalid UTF-8, JSON of the wrong shape), a field or key deleted, a segment repeated,
a message cut short or a byte flipped. The hostile values were chosen without looking at the guards that
handle them. Pure: no I/O beyond reading the seed files; the same seed gives the same mutants.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HOSTILE_TEXT = [
    "\x00", "A\x00B", "\\X00\\", "\\X\\", "\\Xzz\\", "\\E\\", "\\", "^", "~", "&", "^^^^^", "~~~~", "&&&&",
    "19901340", "19900230", "00000000", "2026110124", "20261101240000", "20261101096000", "20261101235960",
    "20261101090000+9999", "20261101090000-2400", "202611010900+0860", "2026110109", "202611", "9999999999999999",
    "20260229", "21000229", "1e999", "-1e999", "1e-999", "9" * 400, "NaN", "Infinity", "-0", "0x1F", "1,5",
    "１２３", "٣", "+", ".", "1.2.3", "1e", "e5", " 72 ", "\t", "C" * 3000, "x" * 70000, "'; drop table x; --",
    '"}]', "\u2028", "\ufeff", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u202eevil", "\x01", "\x1c", "\x0b", "\x7f", "",
]
HOSTILE_JSON = [
    "\u0000", "a\u0000b", "2026-02-30T10:00:00Z", "1990-02-30", "2026-11-01T24:00:00Z", "2026-11-01T10:00:00+99:00",
    "2026-13-01", "0000-01-01", "2026-11-01T10:00:60Z", "2026", "2026-11", "", " ", 1e308, -1e308, 5e-324, 10**30,
    -(10**30), 0, -0.0, True, None, [], {}, [[[]]], {"a": {"b": {"c": []}}}, "x" * 5000, "Patient/../../etc",
    "urn:uuid:", "\ud7ff\ue000", "\u202e", 3.14, "1e999", "NaN",
]
_RAW_JSON_BREAKERS = [b'"\\ud800"', b"1e999", b"-", b"[", b"{", b'"\\u0000"', b"12345678901234567890123", b"\xff\xfe"]


@dataclass(frozen=True)
class Mutant:
    """One input file: its kind ('hl7v2' or 'fhir'), name and bytes."""

    kind: str
    name: str
    data: bytes


def hl7_seeds(corpus: Path | None, generated: list[bytes]) -> list[bytes]:
    """Valid-looking messages: those of the corpus's HL7 files (split on MSH) and the generated ones."""
    seeds = list(generated)
    if corpus is not None and (corpus / "hl7v2").is_dir():
        from connectors.hl7.split import split_messages

        for path in sorted((corpus / "hl7v2").iterdir()):
            seeds += [p.data for p in split_messages(path.read_bytes()) if p.kind == "message"]
    return seeds


def fhir_seeds(corpus: Path | None, generated: list[dict]) -> list[dict]:
    """JSON resources (Bundles included) of the corpus's FHIR JSON files, and the generated ones."""
    seeds = list(generated)
    if corpus is not None and (corpus / "fhir").is_dir():
        for path in sorted((corpus / "fhir").rglob("*.json")):
            try:
                value = json.loads(path.read_bytes())
            except ValueError:
                continue
            if isinstance(value, dict) and value.get("resourceType"):
                seeds += _small(value)
    return seeds


def _small(resource: dict) -> list[dict]:
    """A resource, or a large bundle's first resources: a mutant is one change in a small document."""
    entries = resource.get("entry") if resource.get("resourceType") == "Bundle" else None
    if not isinstance(entries, list) or len(entries) <= 20:
        return [resource]
    return [e["resource"] for e in entries[:30] if isinstance(e, dict) and isinstance(e.get("resource"), dict)]


def mutants(hl7: list[bytes], fhir: list[dict], count: int, seed: int, fhir_share: float = 0.35) -> Iterator[Mutant]:
    """`count` mutants, HL7 and FHIR in the given proportion, reproducible from `seed`."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    for n in range(count):
        if fhir and (not hl7 or rng.random() < fhir_share):
            yield Mutant("fhir", f"m{n:06d}.json", mutate_fhir(rng.choice(fhir), rng, n))
        else:
            yield Mutant("hl7v2", f"m{n:06d}.hl7", mutate_hl7(rng.choice(hl7), rng, n))


def mutate_hl7(message: bytes, rng: random.Random, n: int) -> bytes:
    """One to three mutations of a message; MSH-10 is made unique first so that mutants do not dedup."""
    text = message.decode("utf-8", "surrogateescape").replace("\r\n", "\r").replace("\n", "\r")
    segments = [s for s in text.split("\r") if s]
    if segments and segments[0].startswith("MSH") and len(segments[0]) > 3:
        segments[0] = _set_field(segments[0], segments[0][3], 9, f"FUZZ-{n}")
    for _ in range(rng.randint(1, 3)):
        segments = _hl7_operation(segments, rng)
    data = "\r".join(segments).encode("utf-8", "surrogateescape") + b"\r"
    if rng.random() < 0.08:
        data = _byte_operation(data, rng)
    return data


def _hl7_operation(segments: list[str], rng: random.Random) -> list[str]:
    if not segments:
        return segments
    i = rng.randrange(len(segments))
    seg = segments[i]
    fs = segments[0][3] if len(segments[0]) > 3 else "|"
    op = rng.random()
    if op < 0.75:
        fields = seg.split(fs)
        k = rng.randrange(1, max(len(fields), 2) + 3)
        segments[i] = _set_field(seg, fs, k - (1 if seg.startswith("MSH") else 0), rng.choice(HOSTILE_TEXT))
    elif op < 0.85:
        segments.insert(i, seg)
    elif op < 0.92 and i:
        del segments[i]
    else:
        segments[i] = seg[:rng.randrange(len(seg) + 1)]
    return segments


def _set_field(seg: str, fs: str, k: int, value: str) -> str:
    """Segment with field k (0 = segment id) set to value, padding with empty fields."""
    fields = seg.split(fs)
    k = max(k, 1)
    while len(fields) <= k:
        fields.append("")
    fields[k] = value
    return fs.join(fields)


def _byte_operation(data: bytes, rng: random.Random) -> bytes:
    pos = rng.randrange(len(data))
    op = rng.random()
    if op < 0.4:
        return data[:pos] + bytes([rng.randrange(256)]) + data[pos + 1:]
    if op < 0.7:
        return data[:pos] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\x1c\r", b"\x0b"]) + data[pos:]
    return data[:pos]


def mutate_fhir(resource: dict, rng: random.Random, n: int) -> bytes:
    """One to three mutations of a resource (a leaf replaced or deleted, a value's type changed), as JSON; a
    few mutants are broken at the byte level instead."""
    value = json.loads(json.dumps(resource))
    if isinstance(value.get("id"), str) or value.get("resourceType") != "Bundle":
        value["id"] = f"fuzz-{n}"
    for _ in range(rng.randint(1, 3)):
        _fhir_operation(value, rng)
    data = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    if rng.random() < 0.08:
        pos = rng.randrange(len(data))
        data = data[:pos] + rng.choice(_RAW_JSON_BREAKERS) + data[pos:]
    return data


def _fhir_operation(value: dict, rng: random.Random) -> None:
    paths = list(_leaf_paths(value))
    if not paths:
        return
    *parents, last = rng.choice(paths)
    holder = value
    for step in parents:
        holder = holder[step]
    if rng.random() < 0.15 and isinstance(holder, dict):
        del holder[last]
    else:
        holder[last] = rng.choice(HOSTILE_JSON)


def _leaf_paths(value, path: tuple = ()) -> Iterator[tuple]:
    """Paths of every element (leaves and containers) below the top."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        if path == () and key == "resourceType" and isinstance(value, dict) and value.get("resourceType") == "Bundle":
            continue  # keep bundles bundles: their entries are what gets mutated
        yield (*path, key)
        yield from _leaf_paths(child, (*path, key))
