"""FHIR XML → the FHIR JSON object, following the spec's XML/JSON mapping, for landing as JSON.

fhir.resources parses XML only with lxml, which is not installed, so the conversion is done here with
the standard library and the element definitions of the fhir.resources R4B models (which elements
repeat, which primitives are boolean / integer / decimal, where a resource is nested):
- ``<x value="..."/>`` → ``"x": value`` (typed), its ``id`` attribute and extensions → ``"_x": {...}``;
- repeating elements → arrays (also for primitives, with ``_x`` arrays aligned by null);
- the root element's name → ``resourceType``; ``contained`` / ``entry.resource`` wrap a resource element;
- ``id`` and ``url`` attributes of elements → ``id`` / ``url`` properties;
- the XHTML ``div`` of a narrative → a string of its markup.
Elements the R4B definitions do not know (R4/R4B differences) are converted by shape, with a warning.
DTDs are refused (FHIR XML must not have one), so no entity can expand or be fetched.
"""

from __future__ import annotations

import functools
import math
import re
import types
import typing
import xml.etree.ElementTree as ET  # noqa: S405 - DTDs are refused before parsing, see _precheck
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connectors.fhir.bundles import emit_object
from connectors.fhir.emit import Context, Record, reject
from connectors.fhir.r4 import ELEMENT_NAME_RE, R4_RESOURCE_TYPES

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
_DECL_ENCODING_RE = re.compile(rb"^\s*<\?xml[^>]*\bencoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_INT_RE = re.compile(r"-?[0-9]+")
_DECIMAL_RE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


class XmlProblem(Exception):
    """The document cannot be converted: carries a rule, a path and a problem, never a value."""

    def __init__(self, rule: str, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem} (rule {rule})")
        self.rule, self.path, self.problem = rule, path, problem


@dataclass(frozen=True, slots=True)
class _Spec:
    kind: str  # "bool" | "int" | "dec" | "str" | "xhtml" | "complex" | "resource"
    is_list: bool
    model: Any = None


def read_xml(raw: bytes, validate: str) -> Iterator[Record]:
    """Records for one FHIR XML document (a resource, or a Bundle whose entries are unpacked)."""
    try:
        obj, warnings = xml_to_json(raw)
    except XmlProblem as err:
        yield reject(err.rule, err.path, err.problem, raw, 0)
        return
    yield from emit_object(obj, raw, Context(validate=validate, warnings_by_id=warnings))


def xml_to_json(raw: bytes) -> tuple[dict[str, Any], dict[int, tuple[str, ...]]]:
    """Convert a FHIR XML document to its JSON object.

    Also return the conversion warnings (paths, no values) of each resource that is landed on its own
    (the root, Bundle entries), keyed by ``id()`` of its JSON object; a contained resource's warnings
    belong to its container.
    """
    _precheck(raw)
    try:
        root = ET.fromstring(raw)  # noqa: S314 - no DTD (checked), expat never fetches external entities
    except ET.ParseError as err:
        line, column = err.position
        raise XmlProblem("fhir.xml.syntax", "$", f"malformed XML at line {line}, column {column}") from None
    ns, _ = _split(root.tag)
    if ns != FHIR_NS:
        raise XmlProblem("fhir.xml.namespace", "$", "root element is not in the FHIR namespace")
    warnings: dict[int, tuple[str, ...]] = {}
    try:
        return _resource(root, "$", warnings, None), warnings
    except RecursionError:
        raise XmlProblem("fhir.xml.syntax", "$", "elements nested too deep") from None


def _precheck(raw: bytes) -> None:
    match = _DECL_ENCODING_RE.match(raw)
    if match and match.group(1).lower() not in (b"utf-8", b"utf8"):
        raise XmlProblem("fhir.xml.encoding", "$", "declared encoding is not UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise XmlProblem("fhir.xml.encoding", "$", "not valid UTF-8") from None
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise XmlProblem("fhir.xml.dtd", "$", "DTD declarations are not allowed in FHIR XML")


def _resource(
    elem: ET.Element, where: str, landed: dict[int, tuple[str, ...]], container: list[str] | None
) -> dict[str, Any]:
    """Convert a resource element. Its warnings go to ``container`` (the enclosing resource's list),
    or, for a resource landed on its own (``container`` None), into ``landed`` under its object's id."""
    from connectors.fhir.validation import model_class

    ns, rtype = _split(elem.tag)
    if ns != FHIR_NS or rtype not in R4_RESOURCE_TYPES:
        raise XmlProblem("fhir.resourceType.unsupported", where, "element is not an R4 resource type")
    model = model_class(rtype)
    if model is None:
        raise XmlProblem(
            "fhir.xml.unsupported", where, "no R4B definition to convert this resource type from XML"
        )
    walk = _Walk(landed, [])
    root_path = rtype if container is None else f"{where}.{rtype}"
    obj = {"resourceType": rtype, **walk.complex(elem, model, root_path, is_resource=True)}
    if container is None:
        landed[id(obj)] = tuple(walk.warnings)
    else:
        container.extend(walk.warnings)
    return obj


@dataclass(slots=True)
class _Walk:
    """The conversion of one resource's elements; collects that resource's warnings."""

    landed: dict[int, tuple[str, ...]]
    warnings: list[str]

    def complex(self, elem: ET.Element, model: Any, path: str, is_resource: bool = False) -> dict[str, Any]:
        spec = _spec_of(model) if model is not None else {}
        out: dict[str, Any] = {}
        for attr, value in elem.attrib.items():
            if attr in ("id", "url") and not is_resource and (attr in spec or model is None):
                out[attr] = value
            else:
                self.warnings.append(f"{path}: unexpected XML attribute {_safe(attr)}")
        primitive_lists: dict[str, list[Any]] = {}
        for child in elem:
            if not isinstance(child.tag, str):
                continue  # comment or processing instruction
            ns, name = _split(child.tag)
            if ns == XHTML_NS and name == "div":
                out["div"] = _xhtml(child)
                continue
            child_path = f"{path}.{_safe(name)}"
            element = spec.get(name) if ns == FHIR_NS else None
            if element is None:
                self.warnings.append(f"{child_path}: element not in the R4B definition, converted by shape")
                element = _Spec("str" if "value" in child.attrib else "complex", False)
            in_entry = model is not None and model.__name__ == "BundleEntry"
            self.add(out, primitive_lists, name, element, child, child_path, in_entry)
        for name, extensions in primitive_lists.items():
            if any(ext is not None for ext in extensions):
                out["_" + name] = extensions
            if all(value is None for value in out[name]):
                del out[name]
        return out

    def add(
        self,
        out: dict[str, Any],
        primitive_lists: dict[str, list[Any]],
        name: str,
        spec: _Spec,
        child: ET.Element,
        path: str,
        in_entry: bool,
    ) -> None:
        extension = None
        if spec.kind == "complex":
            value: Any = self.complex(child, spec.model, path)
        elif spec.kind == "resource":
            value = self.contained(child, path, landed_alone=in_entry)
        elif spec.kind == "xhtml":
            value = _xhtml(child)
        else:
            value, extension = self.primitive(child, spec.kind, path)
        if spec.is_list:
            out.setdefault(name, []).append(value)
            if spec.kind in ("bool", "int", "dec", "str"):
                primitive_lists.setdefault(name, []).append(extension)
            return
        if name in out:
            self.warnings.append(f"{path}: repeated, but R4B allows one")
            out[name] = (out[name] if isinstance(out[name], list) else [out[name]]) + [value]
            return
        if value is not None:
            out[name] = value
        if extension is not None:
            out["_" + name] = extension

    def contained(self, elem: ET.Element, path: str, landed_alone: bool) -> dict[str, Any]:
        children = [child for child in elem if isinstance(child.tag, str)]
        if len(children) != 1:
            raise XmlProblem("fhir.xml.syntax", path, "must hold exactly one resource element")
        return _resource(children[0], path, self.landed, None if landed_alone else self.warnings)

    def primitive(self, elem: ET.Element, kind: str, path: str) -> tuple[Any, dict[str, Any] | None]:
        from connectors.fhir.validation import model_class

        value = _typed(elem.attrib.get("value"), kind, path, self.warnings)
        extension: dict[str, Any] = {}
        if "id" in elem.attrib:
            extension["id"] = elem.attrib["id"]
        for attr in elem.attrib.keys() - {"value", "id"}:
            self.warnings.append(f"{path}: unexpected XML attribute {_safe(attr)}")
        for child in elem:
            if not isinstance(child.tag, str):
                continue
            ns, name = _split(child.tag)
            if ns == FHIR_NS and name == "extension":
                ext = self.complex(child, model_class("Extension"), f"{path}.extension")
                extension.setdefault("extension", []).append(ext)
            else:
                self.warnings.append(f"{path}.{_safe(name)}: element not allowed in a primitive, dropped")
        return value, extension or None


def _typed(text: str | None, kind: str, path: str, warnings: list[str]) -> Any:
    """The JSON value of an XML ``value`` attribute; malformed numbers/booleans stay strings (with a warning)."""
    if text is None or kind == "str":
        return text
    if kind == "bool" and text in ("true", "false"):
        return text == "true"
    if kind == "int" and _INT_RE.fullmatch(text):
        return int(text)
    if kind == "dec" and _DECIMAL_RE.fullmatch(text):
        if _INT_RE.fullmatch(text):
            return int(text)
        number = float(text)
        if math.isfinite(number):
            return number
    warnings.append(f"{path}: invalid {kind} value kept as a string")
    return text


def _xhtml(elem: ET.Element) -> str:
    tail, elem.tail = elem.tail, None
    try:
        return ET.tostring(elem, encoding="unicode", default_namespace=XHTML_NS)
    except ValueError:  # an element without a namespace inside the div
        return ET.tostring(elem, encoding="unicode")
    finally:
        elem.tail = tail


@functools.cache
def _spec_of(model: Any) -> dict[str, _Spec]:
    """JSON element name → how it appears, from the fhir.resources model's fields."""
    specs: dict[str, _Spec] = {}
    for name, field in model.model_fields.items():
        alias = field.alias or name
        if alias.startswith("_") or not (field.json_schema_extra or {}).get("element_property"):
            continue
        specs[alias] = _element_spec(field.annotation)
    return specs


def _element_spec(annotation: Any) -> _Spec:
    ann = _strip_optional(annotation)
    is_list = typing.get_origin(ann) is list
    if is_list:
        ann = _strip_optional(typing.get_args(ann)[0])
    if typing.get_origin(ann) is typing.Annotated:
        base, *markers = typing.get_args(ann)
        if any(type(marker).__name__ == "Xhtml" for marker in markers):
            return _Spec("xhtml", is_list)
        return _Spec(_primitive_kind(base), is_list)
    if isinstance(ann, type) and hasattr(ann, "get_model_klass"):
        model = ann.get_model_klass()
        return _Spec("resource" if model.__name__ == "Resource" else "complex", is_list, model)
    return _Spec(_primitive_kind(ann), is_list)


def _strip_optional(ann: Any) -> Any:
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(ann) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return ann


def _primitive_kind(base: Any) -> str:
    if base is bool:
        return "bool"
    if base is int:
        return "int"
    if base is Decimal:
        return "dec"
    return "str"


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return None, tag


def _safe(name: str) -> str:
    """An XML name for a message: element-like names only, anything else hidden."""
    return name if ELEMENT_NAME_RE.fullmatch(name) else "<unnamed>"
