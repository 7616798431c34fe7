"""The kinds of span the scrubber finds, their output tag and the class the evaluation scores them in."""

from __future__ import annotations

# kind → (tag written into the text, evaluation class)
KINDS: dict[str, tuple[str, str]] = {
    "name": ("[NAME]", "name"),
    "resident_id": ("[ID]", "identifier"),
    "passport": ("[ID]", "identifier"),
    "permit": ("[ID]", "identifier"),
    "record": ("[ID]", "identifier"),
    "card": ("[CARD]", "identifier"),
    "plate": ("[PLATE]", "identifier"),
    "phone": ("[PHONE]", "contact"),
    "email": ("[EMAIL]", "contact"),
    "account": ("[ACCOUNT]", "contact"),
    "ip": ("[IP]", "contact"),
    "address": ("[ADDRESS]", "address"),
    "org": ("[ORG]", "address"),
    "date": ("[DATE]", "date"),
    "age": ("[AGE90+]", "age"),
}
CLASSES = ("name", "identifier", "contact", "address", "date", "age")
# When spans overlap they are merged; the merged span takes the kind listed first here.
PRIORITY = ("resident_id", "card", "passport", "permit", "record", "phone", "email", "account", "ip", "plate",
            "name", "age", "address", "org", "date")


def tag(kind: str) -> str:
    return KINDS[kind][0]


def klass(kind: str) -> str:
    return KINDS[kind][1]
