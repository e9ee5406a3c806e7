"""A safe, position-aware XML reader for XMP packets.

expat parses the bytes (no DTDs, no entities: XML bombs and external entities are refused); every element
keeps the byte offsets of its start tag, its end tag and each attribute value, so that a sidecar can be
edited by text surgery and stay byte-for-byte identical wherever it is not edited.
"""
from __future__ import annotations

import re
import xml.parsers.expat as expat
from dataclasses import dataclass, field

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML = "http://www.w3.org/XML/1998/namespace"
XMLNS = "http://www.w3.org/2000/xmlns/"
MAX_PACKET = 64 * 1024 * 1024

_ATTR = re.compile(rb"""\s+([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


class XmlSyntaxError(ValueError):
    """The bytes are not well-formed XML, or use a construct we refuse (DTD, entities)."""


@dataclass
class Attr:
    """One attribute as written: namespace URI, local name, qualified name, value and byte offsets."""

    ns: str
    name: str
    qname: str
    value: str
    start: int  # offset of the whitespace before the name
    value_start: int  # first byte inside the quotes
    value_end: int  # offset of the closing quote


@dataclass
class Node:
    """An element with its byte span: [start, end) is the whole element, [start, head_end) the start tag."""

    ns: str
    name: str
    qname: str
    start: int
    head_end: int = 0
    tail_start: int = 0  # offset of "</" (== head_end for an empty element)
    end: int = 0
    empty: bool = False
    attrs: list[Attr] = field(default_factory=list)
    children: list["Node"] = field(default_factory=list)
    text: str = ""
    scope: dict[str, str] = field(default_factory=dict)  # prefix -> URI in scope here ("" = default)
    parent: "Node | None" = field(default=None, repr=False)

    def is_(self, ns: str, name: str) -> bool:
        """True when this element is {ns}name."""
        return self.ns == ns and self.name == name

    def attr(self, ns: str, name: str) -> Attr | None:
        """The attribute {ns}name, or None."""
        for a in self.attrs:
            if a.ns == ns and a.name == name:
                return a
        return None

    def iter(self):
        """This node and all descendants, depth first."""
        yield self
        for child in self.children:
            yield from child.iter()

    def prefix_for(self, uri: str) -> str | None:
        """A prefix bound to `uri` in this element's scope."""
        for prefix, bound in self.scope.items():
            if bound == uri and prefix:
                return prefix
        return None


def _tag_end(data: bytes, start: int) -> int:
    """Offset just after the '>' closing the tag that starts at `start` (quotes respected)."""
    i, quote = start + 1, 0
    n = len(data)
    while i < n:
        c = data[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):
            quote = c
        elif c == 0x3E:
            return i + 1
        i += 1
    raise XmlSyntaxError("unterminated tag")


def _split(qualified: str) -> tuple[str, str]:
    """Split expat's "uri local" name."""
    if " " in qualified:
        ns, name = qualified.split(" ", 1)
        return ns, name
    return "", qualified


class _Builder:
    def __init__(self, data: bytes):
        self.data = data
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.root: Node | None = None
        self.stack: list[Node] = []
        self.pending_ns: dict[str, str] = {}
        p = self.parser
        p.ordered_attributes = True
        p.buffer_text = True
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.CharacterDataHandler = self.chars
        p.StartNamespaceDeclHandler = self.ns_decl
        p.StartDoctypeDeclHandler = self.refuse("a DTD")
        p.EntityDeclHandler = self.refuse("an entity declaration")
        p.UnparsedEntityDeclHandler = self.refuse("an entity declaration")
        p.ExternalEntityRefHandler = self.refuse("an external entity")
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    @staticmethod
    def refuse(what: str):
        def handler(*_args):
            raise XmlSyntaxError(f"{what} is not allowed in an XMP packet")
        return handler

    def ns_decl(self, prefix, uri) -> None:
        self.pending_ns[prefix or ""] = uri or ""

    def start(self, qualified: str, attrs: list[str]) -> None:
        """Open an element: positions, scope, attributes."""
        pos = self.parser.CurrentByteIndex
        head_end = _tag_end(self.data, pos)
        head = self.data[pos:head_end]
        ns, name = _split(qualified)
        scope = dict(self.stack[-1].scope) if self.stack else {"xml": XML}
        scope.update(self.pending_ns)
        self.pending_ns = {}
        qname = head[1:].split(None, 1)[0].rstrip(b"/>").decode("utf-8")
        node = Node(ns, name, qname, pos, head_end, scope=scope, parent=self.stack[-1] if self.stack else None)
        node.empty = head.endswith(b"/>")
        node.attrs = self._attrs(head, pos, attrs, scope)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def _attrs(self, head: bytes, base: int, parsed: list[str], scope: dict[str, str]) -> list[Attr]:
        """The attributes of a start tag with their byte offsets (xmlns declarations left out)."""
        values = dict(zip(parsed[0::2], parsed[1::2]))
        out = []
        for m in _ATTR.finditer(head):
            qname = m.group(1).decode("utf-8")
            if qname == "xmlns" or qname.startswith("xmlns:"):
                continue
            prefix, _, local = qname.rpartition(":")
            uri = scope.get(prefix, "") if prefix else ""
            key = f"{uri} {local}" if uri else local
            vstart = m.start(2) if m.group(2) is not None else m.start(3)
            vend = m.end(2) if m.group(2) is not None else m.end(3)
            out.append(Attr(uri, local, qname, values.get(key, ""), base + m.start(), base + vstart, base + vend))
        return out

    def end(self, _qualified: str) -> None:
        """Close an element: record where its end tag starts and ends."""
        node = self.stack.pop()
        if node.empty:
            node.tail_start = node.end = node.head_end
        else:
            node.tail_start = self.parser.CurrentByteIndex
            node.end = _tag_end(self.data, node.tail_start)

    def chars(self, text: str) -> None:
        if self.stack:
            self.stack[-1].text += text


def parse(data: bytes) -> Node:
    """Parse XML bytes into positioned nodes; XmlSyntaxError on malformed input or DTD/entities."""
    if len(data) > MAX_PACKET:
        raise XmlSyntaxError(f"the packet is larger than {MAX_PACKET // (1024 * 1024)} MB")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise XmlSyntaxError("UTF-16 packets are not supported")
    builder = _Builder(data)
    try:
        builder.parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise XmlSyntaxError(f"{expat.ErrorString(exc.code)} (line {exc.lineno}, column {exc.offset + 1})"
                             ) from None
    if builder.root is None:
        raise XmlSyntaxError("no XML element found")
    return builder.root


def leading_space_start(data: bytes, pos: int) -> int:
    """Offset where the run of whitespace that ends at `pos` begins."""
    while pos > 0 and data[pos - 1:pos] in (b" ", b"\t", b"\n", b"\r"):
        pos -= 1
    return pos


def indent_before(data: bytes, pos: int) -> str:
    """The whitespace between the previous line break and `pos` (the indentation of what starts there)."""
    start = leading_space_start(data, pos)
    run = data[start:pos].decode("utf-8")
    return run.rsplit("\n", 1)[-1] if "\n" in run else ""
