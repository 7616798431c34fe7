"""Vital signs: metric catalogue (MDC and LOINC codes), per-patient baselines and a smooth stream.

A ``VitalStream`` yields one reading of every metric per step: baseline plus a mean-reverting
deviation, occasional deterioration episodes (values flagged H/L/HH/LL) and, at a low seeded rate,
clearly implausible values that a quality check must catch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

IMPLAUSIBLE_RATE = 0.001


@dataclass(frozen=True)
class Metric:
    """One vital sign: codes in both vocabularies, display precision, ranges and bad values."""

    key: str
    mdc: str
    mdc_ref: str
    sub_id: str
    unit_mdc: str
    unit_ref: str
    loinc: str | None
    loinc_display: str | None
    ucum: str
    decimals: int
    normal: tuple[float, float]
    critical: tuple[float, float]
    limits: tuple[float, float]
    implausible: tuple[float, ...]


def _m(key: str, mdc: str, sub: str, unit: str, loinc: str | None, ucum: str, decimals: int,
       *ranges: tuple[float, ...]) -> Metric:  # fmt: skip
    """A catalogue row from ``code:refid`` pairs (MDC code, unit, LOINC code:display)."""
    mdc_code, mdc_ref = mdc.split(":")
    unit_code, unit_ref = unit.split(":")
    loinc_code, loinc_display = loinc.split(":") if loinc else (None, None)
    normal, critical, limits, implausible = ranges
    return Metric(key, mdc_code, mdc_ref, sub, unit_code, unit_ref, loinc_code, loinc_display, ucum,
                  decimals, (normal[0], normal[1]), (critical[0], critical[1]), (limits[0], limits[1]),
                  implausible)  # fmt: skip


_BPM, _PCT, _MMHG = "264864:MDC_DIM_BEAT_PER_MIN", "262688:MDC_DIM_PERCENT", "266016:MDC_DIM_MMHG"
# fmt: off
# key, MDC code:refid, OBX-4 sub-id, unit code:refid, LOINC code:display, UCUM, decimals,
# normal range, critical range, physiological limits, implausible values a device may send.
METRICS: tuple[Metric, ...] = (
    _m("hr", "147842:MDC_ECG_HEART_RATE", "1.1.1.1", _BPM, "8867-4:Heart rate", "/min", 0,
       (60, 100), (40, 130), (25, 220), (400, 0, 999)),
    _m("spo2", "150456:MDC_PULS_OXIM_SAT_O2", "1.2.1.1", _PCT,
       "59408-5:Oxygen saturation in Arterial blood by Pulse oximetry", "%", 0,
       (94, 100), (88, 101), (60, 100), (130, 0, 250)),
    _m("pr", "149530:MDC_PULS_OXIM_PULS_RATE", "1.2.1.2", _BPM, None, "/min", 0,
       (60, 100), (40, 130), (25, 220), (400, 0)),
    _m("pi", "150448:MDC_PULS_OXIM_PERF_REL", "1.2.1.3", _PCT, None, "%", 1,
       (0.5, 20), (0.2, 25), (0.1, 20), (99.9,)),
    _m("rr", "151562:MDC_RESP_RATE", "1.3.1.1", "264928:MDC_DIM_RESP_PER_MIN", "9279-1:Respiratory rate",
       "/min", 0, (12, 20), (8, 30), (4, 50), (150, 0)),
    _m("sys", "150021:MDC_PRESS_BLD_NONINV_SYS", "1.4.1.1", _MMHG, None, "mm[Hg]", 0,
       (90, 140), (70, 180), (50, 240), (400, 0, 10)),
    _m("dia", "150022:MDC_PRESS_BLD_NONINV_DIA", "1.4.1.2", _MMHG, None, "mm[Hg]", 0,
       (60, 90), (40, 110), (25, 140), (300, 0)),
    _m("mean", "150023:MDC_PRESS_BLD_NONINV_MEAN", "1.4.1.3", _MMHG, None, "mm[Hg]", 0,
       (70, 105), (60, 130), (35, 170), (350, 0)),
    _m("temp", "150344:MDC_TEMP", "1.5.1.1", "268192:MDC_DIM_DEGC", "8310-5:Body temperature", "Cel", 1,
       (36.0, 37.3), (35.0, 39.0), (34.0, 42.0), (45.5, 20.0, 98.6)),
)
# fmt: on
BY_KEY = {m.key: m for m in METRICS}

# Shift per metric while a deterioration episode lasts.
EPISODES: tuple[dict[str, float], ...] = (
    {"hr": 35, "rr": 6},
    {"spo2": -8, "hr": 15, "rr": 8},
    {"sys": -35, "dia": -20, "hr": 20},
    {"temp": 1.8, "hr": 18},
    {"hr": -25},
    {"sys": 45, "dia": 20},
)
_NOISE = {"hr": 2.5, "spo2": 0.6, "rr": 1.0, "sys": 4.0, "dia": 2.5, "temp": 0.06, "pi": 0.25}


def child_ranges(metric: Metric, age: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(normal, critical) ranges; heart and breathing rates are higher in infants and children."""
    if metric.key in ("hr", "pr") and age < 12:
        return ((100, 160), (70, 200)) if age < 1 else ((70, 120), (50, 170))
    if metric.key == "rr" and age < 12:
        return ((30, 60), (20, 80)) if age < 1 else ((18, 30), (10, 45))
    return metric.normal, metric.critical


def flag(value: float, normal: tuple[float, float], critical: tuple[float, float]) -> str:
    """HL7 table 0078 abnormal flag for a value."""
    if value < critical[0]:
        return "LL"
    if value > critical[1]:
        return "HH"
    if value < normal[0]:
        return "L"
    return "H" if value > normal[1] else "N"


def baseline(seed: int, person_index: int, age: int) -> dict[str, float]:
    """A patient's resting values, the same for their monitor and their wearable."""
    rng = random.Random(f"{seed}:baseline:{person_index}")  # noqa: S311 - synthetic data, not security
    hr = rng.gauss(78, 9) + (50 if age < 1 else 22 if age < 12 else 0)
    rr = rng.gauss(16, 2) + (24 if age < 1 else 6 if age < 12 else 0)
    sys_bp = rng.gauss(118, 12) + max(age - 40, 0) * 0.35
    return {
        "hr": hr,
        "spo2": min(rng.gauss(97, 1.2), 99.4),
        "rr": rr,
        "sys": sys_bp,
        "dia": rng.gauss(74, 7),
        "temp": rng.gauss(36.7, 0.2),
        "pi": max(rng.gauss(3.0, 1.0), 0.8),
    }


@dataclass
class Reading:
    """One value of one metric, rounded as a device would send it, with its abnormal flag."""

    metric: Metric
    value: float
    flag: str
    implausible: bool = False

    def text(self) -> str:
        return f"{self.value:.{self.metric.decimals}f}"


class VitalStream:
    """Successive readings for one patient on one device; each ``step`` is one reporting instant."""

    def __init__(self, rng: random.Random, base: dict[str, float], age: int) -> None:
        self.rng = rng
        self.base = base
        self.deviation = dict.fromkeys(_NOISE, 0.0)
        self.episode: dict[str, float] = {}
        self.episode_left = 0
        self.ranges = {m.key: child_ranges(m, age) for m in METRICS}

    def _advance(self) -> dict[str, float]:
        rng = self.rng
        if self.episode_left == 0 and rng.random() < 0.01:
            self.episode, self.episode_left = rng.choice(EPISODES), rng.randint(3, 10)
        elif self.episode_left:
            self.episode_left -= 1
            self.episode = self.episode if self.episode_left else {}
        for key, noise in _NOISE.items():
            self.deviation[key] = 0.85 * self.deviation[key] + rng.gauss(0, noise)
        raw = {k: self.base[k] + self.deviation[k] + self.episode.get(k, 0.0) for k in _NOISE}
        raw["pr"] = raw["hr"] + rng.gauss(0, 1.2)
        raw["mean"] = raw["dia"] + (raw["sys"] - raw["dia"]) / 3
        return raw

    def step(self) -> list[Reading]:
        """All metrics at the next instant, in catalogue order."""
        raw = self._advance()
        readings = []
        for metric in METRICS:
            low, high = metric.limits
            value = round(min(max(raw[metric.key], low), high), metric.decimals)
            implausible = self.rng.random() < IMPLAUSIBLE_RATE
            if implausible:
                value = self.rng.choice(metric.implausible)
            normal, critical = self.ranges[metric.key]
            readings.append(Reading(metric, value, flag(value, normal, critical), implausible))
        return readings
