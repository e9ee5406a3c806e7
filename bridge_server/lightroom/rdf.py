"""RDF/XMP values: read a property element into plain Python values, and write values back as XMP text.

Values are what Lightroom's SDK uses too: a string (or a typed scalar) for a simple property, a list for an
rdf:Seq/Bag, a dict for a struct, and a dict with an "x-default" key for an rdf:Alt (language alternatives).
Attribute form, element form, rdf:Description children and rdf:parseType="Resource" all read the same.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .xmlpos import RDF, XML, Node

CRS = "http://ns.adobe.com/camera-raw-settings/1.0/"
AIRETOUCH = "http://ns.airetouch.org/1.0/"
XMPMETA = "adobe:ns:meta/"
X_DEFAULT = "x-default"

_CLARK = re.compile(r"^\{([^}]*)\}(.+)$")
_NUMBER = re.compile(r"^[+-]?(?:0|[1-9]\d{0,14})(?:\.\d+)?$")


# -- reading ---------------------------------------------------------------------------------------------------
def field_key(node_ns: str, name: str, home: str) -> str:
    """A struct field's key: the local name in the home namespace, else Clark notation {uri}name."""
    return name if node_ns == home else f"{{{node_ns}}}{name}"


def _is_meta_attr(ns: str, name: str) -> bool:
    """True for rdf:*, xml:* and rdf:about attributes (not struct fields)."""
    return ns == RDF or ns == XML or (ns == "" and name in ("about",))


def struct_attrs(node: Node, home: str) -> dict[str, Any]:
    """The struct fields written as attributes of `node` (rdf:* and xml:* excluded)."""
    return {field_key(a.ns, a.name, home): a.value for a in node.attrs if not _is_meta_attr(a.ns, a.name)}


def description_fields(node: Node, home: str) -> dict[str, Any]:
    """All fields of a struct-like node: its attributes, then its child property elements."""
    out = struct_attrs(node, home)
    for child in node.children:
        out[field_key(child.ns, child.name, home)] = property_value(child, home)
    return out


def property_value(node: Node, home: str) -> Any:
    """The value of a property element (any RDF form)."""
    resource = node.attr(RDF, "resource")
    if resource is not None:
        return resource.value
    parse_type = node.attr(RDF, "parseType")
    if parse_type is not None and parse_type.value == "Resource":
        return description_fields(node, home)
    for child in node.children:
        if child.ns == RDF and child.name in ("Seq", "Bag"):
            return [item_value(li, home) for li in child.children if li.is_(RDF, "li")]
        if child.ns == RDF and child.name == "Alt":
            return {_lang(li): item_value(li, home) for li in child.children if li.is_(RDF, "li")}
        if child.is_(RDF, "Description"):
            return description_fields(child, home)
    if node.children:
        return description_fields(node, home)
    fields = struct_attrs(node, home)
    if fields:
        return fields
    return node.text


def item_value(li: Node, home: str) -> Any:
    """The value of one rdf:li (simple text or a struct)."""
    parse_type = li.attr(RDF, "parseType")
    if parse_type is not None and parse_type.value == "Resource":
        return description_fields(li, home)
    for child in li.children:
        if child.is_(RDF, "Description"):
            return description_fields(child, home)
        if child.ns == RDF and child.name in ("Seq", "Bag"):
            return [item_value(x, home) for x in child.children if x.is_(RDF, "li")]
        if child.is_(RDF, "Alt"):
            return {_lang(x): item_value(x, home) for x in child.children if x.is_(RDF, "li")}
    fields = struct_attrs(li, home)
    if fields or li.children:
        return description_fields(li, home)
    return li.text


def _lang(li: Node) -> str:
    """The xml:lang of an rdf:Alt item (x-default when absent)."""
    lang = li.attr(XML, "lang")
    return lang.value if lang is not None else X_DEFAULT


def typed(value: Any) -> Any:
    """XMP text -> the scalar Lightroom means: booleans, and numbers written canonically; else unchanged."""
    if isinstance(value, str):
        low = value.lower()
        if low in ("true", "false"):
            return low == "true"
        if _NUMBER.match(value):
            number = float(value)
            return int(number) if "." not in value else number
        return value
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    return value


# -- writing ---------------------------------------------------------------------------------------------------
def fmt_real(value: float) -> str:
    """A real number in the shortest exact form, without exponent ("1", "0.15", "-0.0375")."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"cannot write {value} into XMP")
    if value.is_integer():
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:
        text = f"{value:.12f}".rstrip("0").rstrip(".")
    return text


def scalar_text(value: Any, nested: bool) -> str:
    """A typed scalar as XMP text; booleans "True"/"False" at the top level, "true"/"false" in structs."""
    if isinstance(value, bool):
        text = "True" if value else "False"
        return text.lower() if nested else text
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return fmt_real(value)
    if value is None:
        return ""
    return str(value)


def escape_attr(text: str) -> str:
    """Escape text for a double-quoted attribute value."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#xA;").replace("\r", "&#xD;").replace("\t", "&#x9;"))


def escape_text(text: str) -> str:
    """Escape text for element content."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")


def is_scalar(value: Any) -> bool:
    """True for values written as attributes (not lists or dicts)."""
    return not isinstance(value, (list, dict))


def is_alt(value: Any) -> bool:
    """True for a language-alternative dict."""
    return isinstance(value, dict) and X_DEFAULT in value


@dataclass
class Writer:
    """Writes values as XMP elements with the prefixes in scope where they go; `unit` is one indent step."""

    prefixes: dict[str, str]  # URI -> prefix
    unit: str = " "
    declared: dict[str, str] = field(default_factory=dict)

    def qname(self, key: str, home: str) -> tuple[str, str]:
        """(qualified name, extra xmlns declaration or "") for a field key in namespace `home`."""
        m = _CLARK.match(key)
        uri, local = (m.group(1), m.group(2)) if m else (home, key)
        prefix = self.prefixes.get(uri)
        if prefix is not None:
            return f"{prefix}:{local}", ""
        prefix = self.declared.setdefault(uri, f"ns{len(self.declared) + 1}")
        return f"{prefix}:{local}", f' xmlns:{prefix}="{escape_attr(uri)}"'

    @property
    def rdf(self) -> str:
        return self.prefixes[RDF]

    def attrs(self, fields: dict[str, Any], home: str, indent: str, nested: bool) -> str:
        """Scalar fields as attributes, each on its own line at `indent`."""
        out = []
        for key, value in fields.items():
            if is_scalar(value):
                q, decl = self.qname(key, home)
                out.append(f"{decl}\n{indent}{q}=\"{escape_attr(scalar_text(value, nested))}\"")
        return "".join(out)

    def element(self, key: str, value: Any, home: str, indent: str, nested: bool = False) -> str:
        """One property as an element (starting with a line break and `indent`)."""
        q, decl = self.qname(key, home)
        inner = indent + self.unit
        if is_scalar(value):
            text = escape_text(scalar_text(value, nested))
            return f"\n{indent}<{q}{decl}>{text}</{q}>"
        if is_alt(value):
            items = "".join(self._alt_item(lang, text, inner + self.unit) for lang, text in value.items())
            return (f"\n{indent}<{q}{decl}>\n{inner}<{self.rdf}:Alt>{items}\n{inner}</{self.rdf}:Alt>"
                    f"\n{indent}</{q}>")
        if isinstance(value, list):
            if not value:
                return f"\n{indent}<{q}{decl}>\n{inner}<{self.rdf}:Seq/>\n{indent}</{q}>"
            items = "".join(self.item(v, home, inner + self.unit) for v in value)
            return (f"\n{indent}<{q}{decl}>\n{inner}<{self.rdf}:Seq>{items}\n{inner}</{self.rdf}:Seq>"
                    f"\n{indent}</{q}>")
        if not value:
            return f"\n{indent}<{q}{decl} {self.rdf}:parseType=\"Resource\"/>"
        if all(is_scalar(v) for v in value.values()):
            return f"\n{indent}<{q}{decl}{self.attrs(value, home, inner, True)}/>"
        return f"\n{indent}<{q}{decl}>{self.description(value, home, inner)}\n{indent}</{q}>"

    def description(self, fields: dict[str, Any], home: str, indent: str, about: bool = False) -> str:
        """A struct as an rdf:Description element (starting with a line break)."""
        head = f' {self.rdf}:about=""' if about else ""
        attrs = self.attrs(fields, home, indent + self.unit, not about)
        children = "".join(self.element(k, v, home, indent + self.unit, not about)
                           for k, v in fields.items() if not is_scalar(v))
        if not children:
            return f"\n{indent}<{self.rdf}:Description{head}{attrs}/>"
        return f"\n{indent}<{self.rdf}:Description{head}{attrs}>{children}\n{indent}</{self.rdf}:Description>"

    def item(self, value: Any, home: str, indent: str) -> str:
        """One rdf:li of a Seq (starting with a line break)."""
        li = f"{self.rdf}:li"
        if is_scalar(value):
            return f"\n{indent}<{li}>{escape_text(scalar_text(value, True))}</{li}>"
        if isinstance(value, dict) and not is_alt(value) and all(is_scalar(v) for v in value.values()):
            return f"\n{indent}<{li}{self.attrs(value, home, indent + self.unit, True)}/>"
        if isinstance(value, dict) and not is_alt(value):
            return f"\n{indent}<{li}>{self.description(value, home, indent + self.unit)}\n{indent}</{li}>"
        inner = indent + self.unit
        if is_alt(value):
            items = "".join(self._alt_item(lang, text, inner + self.unit) for lang, text in value.items())
            return f"\n{indent}<{li}>\n{inner}<{self.rdf}:Alt>{items}\n{inner}</{self.rdf}:Alt>\n{indent}</{li}>"
        items = "".join(self.item(v, home, inner + self.unit) for v in value)
        return f"\n{indent}<{li}>\n{inner}<{self.rdf}:Seq>{items}\n{inner}</{self.rdf}:Seq>\n{indent}</{li}>"

    def _alt_item(self, lang: str, text: Any, indent: str) -> str:
        """One rdf:li of an rdf:Alt (starting with a line break)."""
        li = f"{self.rdf}:li"
        body = escape_text(scalar_text(text, True))
        if not body:
            return f"\n{indent}<{li} xml:lang=\"{escape_attr(lang)}\"/>"
        return f"\n{indent}<{li} xml:lang=\"{escape_attr(lang)}\">{body}</{li}>"
