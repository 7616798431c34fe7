"""Faulty feeds for the synthetic hospital: rewrite some bedside monitor files after ``generate`` wrote them, so
that the demo and the tests show each quality expectation failing (docs/quality.md).

Each fault takes a monitor of its own (the files of ``hl7/monitors`` in name order, skipping monitors with too
few messages) and one patient on it, so faults never overlap:

- ``out_of_range``     heart rate (ECG) 900 /min in a run of messages;
- ``unit_mixup``       temperatures sent in °F under the °C unit in a run of messages;
- ``silent_monitor``   the monitor stops sending for the last part of a patient's stay (still admitted);
- ``injected_stream``  two hours of a stay replaced by one reading a minute, every value frozen (a fake feed);
- ``duplicate_stream`` a second monitor (new EUI-64) streams a copy of a patient's readings at the same times.

Deterministic: the same files and faults give the same output. Returns counts of messages touched per fault.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

FAULTS = ("out_of_range", "unit_mixup", "silent_monitor", "injected_stream", "duplicate_stream")
MIN_MESSAGES = 24  # a monitor's patient needs this many messages to carry a fault
HR_CODE, TEMP_CODE = "147842^", "150344^"
TS_FORMAT = "%Y%m%d%H%M%S%z"


def parse_faults(text: str) -> list[str]:
    """``out_of_range,unit_mixup`` → the names, each checked (a clear error names the unknown one)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {unknown[0]!r}: choose from {', '.join(FAULTS)}")
    return names


def _messages(path: Path) -> list[str]:
    return [m for m in path.read_bytes().decode("utf-8").split("\r\n") if m]  # segments end in CR: no newline translation


def _write(path: Path, messages: list[str]) -> None:
    path.write_text("".join(m + "\r\n" for m in messages), encoding="utf-8", newline="")


def _patient(message: str) -> str:
    """PID-3 of a message: only to group a monitor's messages by patient, never written anywhere."""
    pid = next(s for s in message.split("\r") if s.startswith("PID|"))
    return pid.split("|")[3]


def _monitors(out_dir: Path) -> dict[str, list[Path]]:
    """EUI-64 → its daily files in date order."""
    by_monitor: dict[str, list[Path]] = {}
    for path in sorted((out_dir / "hl7" / "monitors").glob("*_*.hl7")):
        by_monitor.setdefault(path.stem.split("_")[0], []).append(path)
    return by_monitor


def _longest_stay(files: list[Path]) -> tuple[str, int]:
    """The patient with most messages on this monitor and how many."""
    counts: dict[str, int] = {}
    for path in files:
        for message in _messages(path):
            counts[_patient(message)] = counts.get(_patient(message), 0) + 1
    patient = max(sorted(counts), key=lambda p: counts[p]) if counts else ""
    return patient, counts.get(patient, 0)


def _map_stay(files: list[Path], patient: str, change: Callable[[int, int, str], str | None]) -> int:
    """Rewrite the patient's messages: ``change(index, count, message)`` returns the new text or None (dropped)."""
    total = sum(_patient(m) == patient for f in files for m in _messages(f))
    index = touched = 0
    for path in files:
        kept = []
        for message in _messages(path):
            if _patient(message) != patient:
                kept.append(message)
                continue
            new = change(index, total, message)
            index += 1
            touched += new != message
            if new is not None:
                kept.append(new)
        _write(path, kept)
    return touched


def _set_value(message: str, code: str, value: Callable[[str], str]) -> str:
    segments = message.split("\r")
    for i, seg in enumerate(segments):
        fields = seg.split("|")
        if fields[0] == "OBX" and len(fields) > 5 and fields[3].startswith(code):
            fields[5] = value(fields[5])
            segments[i] = "|".join(fields)
    return "\r".join(segments)


def _middle(index: int, total: int) -> bool:
    """The second quarter of a stay's messages (at least twelve)."""
    start = total // 4
    return start <= index < start + max(12, total // 4)


def out_of_range(files: list[Path], patient: str) -> int:
    return _map_stay(files, patient, lambda i, n, m: _set_value(m, HR_CODE, lambda v: "900") if _middle(i, n) else m)


def unit_mixup(files: list[Path], patient: str) -> int:
    to_f = lambda v: f"{float(v) * 1.8 + 32:.1f}"  # noqa: E731 - the fault in one line
    return _map_stay(files, patient, lambda i, n, m: _set_value(m, TEMP_CODE, to_f) if _middle(i, n) else m)


def silent_monitor(files: list[Path], patient: str) -> int:
    """The last 40 % of the stay's messages are never sent."""
    return _map_stay(files, patient, lambda i, n, m: None if i >= n - max(8, n * 2 // 5) else m)


def _times(message: str) -> str:
    """MSH-7, the message time (every OBX-14 and OBR-7 of a monitor message carries the same)."""
    return message.split("\r")[0].split("|")[6]


def _retime(message: str, old: str, when: datetime, control_id: str, old_control: str) -> str:
    return message.replace(old, when.strftime(TS_FORMAT)).replace(old_control, control_id)


def injected_stream(files: list[Path], patient: str) -> int:
    """From the stay's middle message on, two hours of readings replaced by one a minute, all frozen at the
    values of that message (a replayed, constant feed pushed at the monitor's sender)."""
    template: dict[str, str] = {}

    def change(i: int, n: int, message: str) -> str | None:
        when = datetime.strptime(_times(message), TS_FORMAT)
        if i == n // 2:
            template.update(message=message, start=_times(message))
            return "\r\n".join(_frozen(message, when, minute) for minute in range(120))
        if template and when < datetime.strptime(template["start"], TS_FORMAT) + timedelta(hours=2):
            return None
        return message

    _map_stay(files, patient, change)
    return 120


def _frozen(message: str, start: datetime, minute: int) -> str:
    control = message.split("\r")[0].split("|")[9]
    return _retime(message, _times(message), start + timedelta(minutes=minute), f"INJ{minute:03d}{control}", control)


def duplicate_stream(files: list[Path], patient: str) -> int:
    """A second monitor, new EUI-64 of the locally administered block, sends the stay's readings again."""
    eui = files[0].stem.split("_")[0]
    twin = "02" + "".join(reversed(eui[2:]))  # another locally administered EUI-64, derived, deterministic
    copies = 0
    for path in files:
        mine = [m for m in _messages(path) if _patient(m) == patient]
        copied = []
        for message in mine:
            control = message.split("\r")[0].split("|")[9]
            copied.append(message.replace(eui, twin).replace(control, "DUP" + control))
        if copied:
            _write(path.with_name(path.name.replace(eui, twin)), copied)
            copies += len(copied)
    return copies


APPLY: dict[str, Callable[[list[Path], str], int]] = {
    "out_of_range": out_of_range, "unit_mixup": unit_mixup, "silent_monitor": silent_monitor,
    "injected_stream": injected_stream, "duplicate_stream": duplicate_stream,
}


def apply_faults(out_dir: Path, faults: list[str]) -> dict[str, int]:
    """Each fault on a monitor of its own (in file-name order); messages touched per fault."""
    candidates = []
    for eui, files in _monitors(Path(out_dir)).items():
        patient, count = _longest_stay(files)
        if count >= MIN_MESSAGES:
            candidates.append((eui, files, patient))
    if len(candidates) < len(faults):
        raise ValueError(f"{len(faults)} faults need as many monitors with {MIN_MESSAGES}+ messages for one "
                         f"patient; this data set has {len(candidates)}: generate more devices or days")
    return {fault: APPLY[fault](files, patient) for fault, (_, files, patient) in zip(faults, candidates, strict=False)}
