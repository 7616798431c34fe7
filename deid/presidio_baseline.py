"""Presidio's model-free recognizers as a baseline on the same text: the pattern recognizers for e-mail,
IP address, credit card and date, and its phonenumbers-based phone recognizer (regions CN, US, GB). No
spaCy model is loaded (none is installed). Presidio is an optional benchmark dependency
(``make bench-deps``); without it the baseline is reported as not installed.

Classes Presidio's predefined recognizers cannot express here: Chinese names and any name without an NLP
model, PRC resident ID numbers, passports and HK/Macau permits, licence plates, WeChat/QQ ids, record numbers
after a cue word, addresses, organisations and ages over 89.
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

CLASS_OF = {"EMAIL_ADDRESS": "contact", "PHONE_NUMBER": "contact", "IP_ADDRESS": "contact",
            "CREDIT_CARD": "identifier", "DATE_TIME": "date"}
CANNOT_EXPRESS = ("name", "address", "age", "resident ID", "passport/permit", "licence plate", "WeChat/QQ",
                  "record number")


def status() -> str:
    try:
        from importlib.metadata import version

        return f"presidio-analyzer {version('presidio-analyzer')} (pattern and phone recognizers, no NLP model)"
    except Exception:  # noqa: BLE001 - any failure means "not installed"
        return "not installed (make bench-deps)"


@lru_cache(maxsize=1)
def _recognizers():
    try:
        import tldextract
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            DateRecognizer,
            EmailRecognizer,
            IpRecognizer,
            PhoneRecognizer,
        )
        from presidio_analyzer.predefined_recognizers.generic import email_recognizer
    except ImportError:
        return None
    # tldextract would fetch the public suffix list over the network; use its bundled snapshot instead.
    email_recognizer.tldextract = SimpleNamespace(extract=tldextract.TLDExtract(suffix_list_urls=()))
    return [(EmailRecognizer(), ["EMAIL_ADDRESS"]), (IpRecognizer(), ["IP_ADDRESS"]),
            (CreditCardRecognizer(), ["CREDIT_CARD"]), (DateRecognizer(), ["DATE_TIME"]),
            (PhoneRecognizer(supported_regions=("CN", "US", "GB")), ["PHONE_NUMBER"])]


def predictor(phone: bool = True):
    """A function text → [(start, end, class)], or None when Presidio is not installed. ``phone=False``: the
    pattern recognizers alone (e-mail, IP, credit card, date), without the phonenumbers-based phone one."""
    recognizers = _recognizers()
    if recognizers is None:
        return None
    if not phone:
        recognizers = [(r, e) for r, e in recognizers if e != ["PHONE_NUMBER"]]

    def predict(text: str) -> list[tuple[int, int, str]]:
        out = []
        for recognizer, entities in recognizers:
            for r in recognizer.analyze(text, entities, None):
                out.append((r.start, r.end, CLASS_OF[r.entity_type]))
        return out

    return predict
