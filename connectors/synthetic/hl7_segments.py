"""HL7 v2 segment text shared by the monitor (ORU) and HIS (ADT) writers.

Segments are lists whose position ``k`` is field ``k`` (for MSH, field ``k + 1``), joined with
``|``. Free text is escaped with the HL7 escape sequences; segments end with CR.
"""

from __future__ import annotations

from datetime import datetime

from .census import Stay
from .people import Person

HOSPITAL = "HUAKANG^1.2.156.112604.1^ISO"
MRN_AUTHORITY = "HIS&1.2.156.112604.1.2.1&ISO"
RIC_AUTHORITY = "CHN&2.16.156.10011.1.3&ISO"
PCD_PROFILE = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
CHARSETS = {"utf-8": "UNICODE UTF-8", "gb18030": "GB 18030-2000"}

_ESCAPES = (
    ("\\", "\\E\\"),
    ("|", "\\F\\"),
    ("^", "\\S\\"),
    ("&", "\\T\\"),
    ("~", "\\R\\"),
    ("\r", "\\X0D\\"),
    ("\n", "\\X0A\\"),
)


def esc(text: str) -> str:
    """Escape HL7 delimiters inside a free-text value."""
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


def hl7_ts(when: datetime) -> str:
    """HL7 DTM with seconds and the +0800 offset, e.g. 20261101083000+0800."""
    return when.strftime("%Y%m%d%H%M%S%z")


def segment(name: str, fields: dict[int, str]) -> str:
    """A segment from {field number: value}; fields not given are empty."""
    values = [""] * (max(fields, default=0) + 1)
    values[0] = name
    for number, value in fields.items():
        values[number] = value
    return "|".join(values)


def msh(
    sending_app: str,
    sending_facility: str,
    when: datetime,
    message_type: str,
    control_id: str,
    version: str,
    charset: str,
    profile: str = "",
) -> str:
    fields = {
        3: sending_app,
        4: sending_facility,
        5: "WARDFLOW",
        6: HOSPITAL,
        7: hl7_ts(when),
        9: message_type,
        10: control_id,
        11: "P",
        12: version,
        15: "AL",
        16: "NE",
        17: "CHN",
        18: CHARSETS[charset],
    }
    if profile:
        fields[21] = profile
    # MSH-1 is the field separator itself and MSH-2 the encoding characters.
    return "|".join(["MSH", "^~\\&", *(fields.get(k, "") for k in range(3, max(fields) + 1))])


def address(person: Person) -> str:
    """XAD: street^^city^province^postal^CHN^H^district."""
    r = person.region
    return f"{esc(person.street)}^^{r.city}^{r.province}^{r.postal}^CHN^H^{r.district}"


def phones(person: Person) -> str:
    """XTN repetitions: mobile, then landline and e-mail when the patient has them."""
    reps = [f"^PRN^CP^^^^^^^^^{person.mobile}"]
    if person.landline:
        reps.append(f"^PRN^PH^^^^^^^^^{person.landline}")
    if person.email:
        reps.append(f"^NET^Internet^{esc(person.email)}")
    return "~".join(reps)


def pid(person: Person, mrn: str, ric: str | None) -> str:
    """PID with MRN (and resident ID unless this is a duplicate registration), name, sex, contacts."""
    ids = f"{mrn}^^^{MRN_AUTHORITY}^MR"
    if ric:
        ids += f"~{ric}^^^{RIC_AUTHORITY}^NNCHN"
    return segment(
        "PID",
        {
            1: "1",
            3: ids,
            5: f"{esc(person.family)}^{esc(person.given)}^^^^^L",
            7: f"{person.birth_date:%Y%m%d}",
            8: person.sex,
            11: address(person),
            13: phones(person),
        },
    )


def location(stay: Stay) -> str:
    return f"{stay.ward}^{stay.room}^{stay.bed}"


def visit_number(stay: Stay) -> str:
    return f"{stay.visit}^^^{MRN_AUTHORITY}^VN"


def pv1(stay: Stay, admitted: bool = True, discharged: datetime | None = None) -> str:
    """PV1: inpatient, bed, attending doctor, service, visit number, admit and discharge times."""
    fields = {
        1: "1",
        2: "I",
        3: location(stay),
        7: "^".join(stay.doctor),
        10: stay.service,
        19: visit_number(stay),
    }
    if admitted:
        fields[44] = hl7_ts(stay.admit)
    if discharged:
        fields[45] = hl7_ts(discharged)
    return segment("PV1", fields)
