"""Merge a plan into an existing XMP packet by text surgery, so every byte we do not own stays as it was.

The packet is parsed with byte positions (xmlpos); the merge then computes a list of span edits: the crs
values the plan sets (replaced in place, or added to the Camera Raw rdf:Description), our own previous
corrections and spots (removed: only those our ownership record lists and that are unchanged since we wrote
them), our new ones (appended to the same rdf:Seq), and our ownership record (its own rdf:Description).
Everything else (other namespaces, other crs settings, the photographer's masks, spacing, comments,
attribute quoting) is copied through untouched. The result is parsed again and checked before it is used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.errors import SidecarConflictError
from ..core.plan import OURS, RetouchPlan, new_sync_id
from .ownership import Ownership, spot_sync_id
from .rdf import AIRETOUCH, CRS, Writer, escape_attr, escape_text, is_scalar, item_value
from .reader import descriptions, namespace_fields, rdf_root
from .settings import (
    ABSOLUTE_WB, CORRECTIONS, INCREMENTAL_WB, RETOUCH_AREAS, as_float, read_area, read_correction,
)
from .xmlpos import RDF, Node, XmlSyntaxError, indent_before, leading_space_start, parse
from .writer import description_block

OWN_FIELDS = ("RecordVersion", "Corrections", "Spots")  # our record's properties (others may share the namespace)
KEEP_IF_PRESENT = ("Version", "ProcessVersion")  # we add these when missing, never change them


@dataclass
class MergeReport:
    """What a merge did."""

    written_corrections: int = 0
    replaced_corrections: int = 0
    kept_corrections: int = 0
    written_spots: int = 0
    replaced_spots: int = 0
    kept_spots: int = 0
    adopted: list[str] = field(default_factory=list)
    set_values: list[str] = field(default_factory=list)
    removed_values: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(order=True)
class _Edit:
    start: int
    end: int
    seq: int
    text: str = field(compare=False)


class _Surgeon:
    """Collects span edits on the original bytes and applies them in one pass."""

    def __init__(self, data: bytes):
        self.data = data
        self.edits: list[_Edit] = []
        self.newline = "\r\n" if b"\r\n" in data else "\n"

    def replace(self, start: int, end: int, text: str) -> None:
        """Replace the bytes [start, end) with `text`."""
        self.edits.append(_Edit(start, end, len(self.edits), text))

    def insert(self, pos: int, text: str) -> None:
        """Insert `text` at `pos`."""
        self.replace(pos, pos, text)

    def delete_node(self, node: Node) -> None:
        """Remove an element and the whitespace run before it."""
        self.replace(leading_space_start(self.data, node.start), node.end, "")

    def apply(self) -> bytes:
        """The original bytes with every edit applied (edits must not overlap)."""
        out, pos = [], 0
        for edit in sorted(self.edits):
            if edit.start < pos:
                raise SidecarConflictError("internal error: overlapping edits while merging")
            out.append(self.data[pos:edit.start])
            out.append(edit.text.replace("\n", self.newline).encode("utf-8"))
            pos = edit.end
        out.append(self.data[pos:])
        return b"".join(out)


def _writer(node: Node) -> Writer:
    """A Writer using the prefixes in scope at `node` (ours for namespaces not declared there)."""
    prefixes = {uri: prefix for prefix, uri in node.scope.items() if prefix}
    prefixes.setdefault(CRS, "crs")
    prefixes.setdefault(AIRETOUCH, "airetouch")
    return Writer(prefixes)


def _child_indent(data: bytes, node: Node) -> str:
    """The indentation of `node`'s children (its first child's, else its own plus one space)."""
    if node.children:
        return indent_before(data, node.children[0].start)
    return indent_before(data, node.start) + " "


def _attr_indent(data: bytes, node: Node) -> str:
    """The indentation of `node`'s attributes when they sit on their own lines."""
    if node.attrs:
        last = node.attrs[-1]
        name_start = last.start
        while data[name_start:name_start + 1].isspace():
            name_start += 1
        indent = indent_before(data, name_start)
        if data[leading_space_start(data, name_start):name_start].count(b"\n"):
            return indent
    return indent_before(data, node.start) + "   "


class Merger:
    """Merge one completed plan into one packet."""

    def __init__(self, data: bytes, done: RetouchPlan, crs: dict[str, Any], name: str, *, is_raw: bool):
        self.data, self.done, self.crs, self.name, self.is_raw = data, done, crs, name, is_raw
        self.report = MergeReport()
        self.surgeon = _Surgeon(data)
        try:
            self.root = parse(data)
        except XmlSyntaxError as exc:
            raise SidecarConflictError(f"the existing sidecar is not well-formed XMP ({exc}); it is left "
                                       f"untouched", path=name) from None
        self.rdf = rdf_root(self.root)
        if self.rdf is None:
            raise SidecarConflictError("the existing sidecar has no rdf:RDF element; it is left untouched", path=name)
        self.descs = descriptions(self.root)
        self.ownership = Ownership.from_xmp_fields(namespace_fields(self.descs, AIRETOUCH))
        self.target = next((d for d in self.descs if _has_ns(d, CRS)), None)
        self.new_crs_block: dict[str, Any] = {}
        self.target_attrs: list[tuple[str, Any]] = []
        self.target_children: list[tuple[str, Any]] = []
        self.renamed_corrections: dict[str, str] = {}
        self.renamed_spots: dict[str, str] = {}

    # -- entry point -----------------------------------------------------------------------------------------
    def run(self, record: Ownership) -> bytes:
        """The merged packet bytes."""
        self._scalars_and_structures()
        self._sequence(CORRECTIONS, self._correction_items(), self._owns_correction, "corrections")
        self._sequence(RETOUCH_AREAS, self._spot_items(), self._owns_spot, "spots")
        self._flush_target()
        self._record(record)
        return self.surgeon.apply()

    # -- crs values ------------------------------------------------------------------------------------------
    def _occurrences(self, key: str) -> list[tuple[Node, Any]]:
        """Where a crs property is written now: (description, Attr) or (description, element Node)."""
        found: list[tuple[Node, Any]] = []
        for desc in self.descs:
            found += [(desc, a) for a in desc.attrs if a.ns == CRS and a.name == key]
            found += [(desc, c) for c in desc.children if c.ns == CRS and c.name == key]
        return found

    def _scalars_and_structures(self) -> None:
        """Set the crs values of the plan (in place, else added); drop the wrong white-balance pair."""
        wrong = INCREMENTAL_WB if self.is_raw else ABSOLUTE_WB
        sets_wb = any(k in self.crs for k in ABSOLUTE_WB + INCREMENTAL_WB)
        for key, value in self.crs.items():
            if key in (CORRECTIONS, RETOUCH_AREAS):
                continue
            found = self._occurrences(key)
            if key in KEEP_IF_PRESENT and found:
                self._check_process_version(key, found)
                continue
            if found:
                for desc, where in found:
                    self._set_existing(desc, where, key, value)
            else:
                self._add(key, value)
            self.report.set_values.append(key)
        for key in wrong if sets_wb else ():
            for _desc, where in self._occurrences(key):
                self._remove(where)
                self.report.removed_values.append(key)
        if "AlreadyApplied" in self._present_names():
            self.report.warnings.append("the sidecar says its settings are already applied (crs:AlreadyApplied); "
                                        "Lightroom may ignore them")

    def _present_names(self) -> set[str]:
        """The crs properties the packet holds now."""
        return set(namespace_fields(self.descs, CRS))

    def _check_process_version(self, key: str, found: list) -> None:
        """Warn when an existing process version predates the 2012 controls."""
        if key != "ProcessVersion":
            return
        _desc, where = found[0]
        text = where.value if not isinstance(where, Node) else where.text
        try:
            if as_float(text.split(".")[0]) < 6:
                self.report.warnings.append(f"process version {text} predates the 2012 controls this plan uses; "
                                            f"Lightroom shows it after updating the process version")
        except (ValueError, TypeError):
            pass

    def _set_existing(self, desc: Node, where: Any, key: str, value: Any) -> None:
        """Give an existing property (attribute or element) a new value, keeping its form where possible."""
        if not isinstance(where, Node):  # an attribute
            if is_scalar(value):
                text = escape_attr(str(value)).replace("'", "&apos;")
                self.surgeon.replace(where.value_start, where.value_end, text)
            else:
                self._remove(where)
                self._add(key, value)
            return
        if is_scalar(value) and not where.children and not where.empty:
            self.surgeon.replace(where.head_end, where.tail_start, escape_text(str(value)))
            return
        text = _writer(where).element(key, value, CRS, indent_before(self.data, where.start))
        self.surgeon.replace(where.start, where.end, text.lstrip("\n").lstrip(" \t"))

    def _remove(self, where: Any) -> None:
        """Remove an attribute or element with the whitespace before it."""
        if isinstance(where, Node):
            self.surgeon.delete_node(where)
        else:
            self.surgeon.replace(where.start, where.value_end + 1, "")

    def _add(self, key: str, value: Any) -> None:
        """Queue a new property for the Camera Raw description (created when the packet has none)."""
        if self.target is None:
            self.new_crs_block[key] = value
        elif is_scalar(value):
            self.target_attrs.append((key, value))
        else:
            self.target_children.append((key, value))

    def _flush_target(self) -> None:
        """Write the queued new properties into the Camera Raw description (or a new one)."""
        if self.target is None:
            if self.new_crs_block:
                self._insert_description(CRS, self.new_crs_block)
            return
        desc, data = self.target, self.data
        writer = _writer(desc)
        prefix = desc.prefix_for(CRS)
        head_close = desc.head_end - (2 if desc.empty else 1)
        attr_pos = leading_space_start(data, head_close)
        if self.target_attrs or self.target_children:
            if prefix is None:
                prefix = _free_prefix(desc, "crs")
                writer.prefixes[CRS] = prefix
                self.surgeon.insert(attr_pos, f' xmlns:{prefix}="{escape_attr(CRS)}"')
        indent = _attr_indent(data, desc)
        for key, value in self.target_attrs:
            self.surgeon.insert(attr_pos, f'\n{indent}{prefix}:{key}="{escape_attr(str(value))}"')
        if not self.target_children:
            return
        child_indent = _child_indent(data, desc)
        children = "".join(writer.element(k, v, CRS, child_indent) for k, v in self.target_children)
        if desc.empty:
            own = indent_before(data, desc.start)
            self.surgeon.replace(head_close, desc.head_end, f">{children}\n{own}</{desc.qname}>")
        else:
            self.surgeon.insert(leading_space_start(data, desc.tail_start), children)

    # -- corrections and spots -------------------------------------------------------------------------------
    def _correction_items(self) -> list[tuple[Any, str | None]]:
        """The plan's written corrections with, for the photographer's, their sync ids."""
        items = self.crs.get(CORRECTIONS) or []
        return [(item, edit.sync_id if edit.origin != OURS else None)
                for item, edit in zip(items, self.done.regions)]

    def _spot_items(self) -> list[tuple[Any, str | None]]:
        """The plan's written spots with, for the photographer's, their sync ids."""
        items = self.crs.get(RETOUCH_AREAS) or []
        return [(item, spot_sync_id(spot) if spot.origin != OURS else None)
                for item, spot in zip(items, self.done.spots)]

    def _owns_correction(self, li: Node) -> tuple[bool, str | None]:
        """Whether an existing correction item is ours and unchanged (and its sync id)."""
        edit = read_correction(item_value(li, CRS))
        if edit.sync_id in self.ownership.corrections and not self.ownership.owns_edit(edit):
            self.report.adopted.append(edit.sync_id)
        return self.ownership.owns_edit(edit), edit.sync_id

    def _owns_spot(self, li: Node) -> tuple[bool, str | None]:
        """Whether an existing spot item is ours and unchanged (and its sync id)."""
        spot = read_area(item_value(li, CRS))
        sync = spot_sync_id(spot)
        if sync in self.ownership.spots and not self.ownership.owns_spot(spot):
            self.report.adopted.append(sync)
        return self.ownership.owns_spot(spot), sync

    def _sequence(self, key: str, items: list[tuple[Any, str | None]], owns, what: str) -> None:
        """Replace our items of one rdf:Seq property (corrections or spots), keep everyone else's."""
        found = [(d, w) for d, w in self._occurrences(key) if isinstance(w, Node)]
        prop = found[0][1] if found else None
        seq = next((c for c in prop.children if c.ns == RDF and c.name in ("Seq", "Bag")), None) if prop else None
        kept, replaced, present = 0, 0, set()
        if prop is not None and seq is None and prop.children:
            raise SidecarConflictError(f"crs:{key} in the existing sidecar is not a list; it is left untouched",
                                       path=self.name)
        if seq is not None:
            for li in (c for c in seq.children if c.is_(RDF, "li")):
                ours, sync = owns(li)
                if ours:
                    self.surgeon.delete_node(li)
                    replaced += 1
                else:
                    kept += 1
                    present.add(sync)
        new = [item for item, user_sync in items if user_sync is None or user_sync not in present]
        for item, user_sync in items:
            if user_sync is None and _item_sync(item, what) in present:
                self._new_identity(item, what)
        setattr(self.report, f"written_{what}", len(new))
        setattr(self.report, f"replaced_{what}", replaced)
        setattr(self.report, f"kept_{what}", kept)
        if prop is None:
            if new:
                self._add(key, new)
            return
        if seq is None or seq.empty:  # nothing kept: the property is ours to rewrite
            if new:
                self._set_existing(found[0][0], prop, key, new)
            elif seq is not None:
                self.surgeon.delete_node(prop)
            return
        if not new and not kept:
            self.surgeon.delete_node(prop)
            return
        li_indent = _child_indent(self.data, seq)
        text = "".join(_writer(seq).item(item, CRS, li_indent) for item in new)
        if text:
            self.surgeon.insert(leading_space_start(self.data, seq.tail_start), text)

    def _new_identity(self, item: dict, what: str) -> None:
        """Give one of our new items a fresh sync id: its old one belongs to a kept (adopted) item now."""
        old, new = _item_sync(item, what), new_sync_id()
        if what == "corrections":
            item["CorrectionSyncID"] = new
            for mask in item.get("CorrectionMasks") or []:
                mask["MaskSyncID"] = new_sync_id()
            self.renamed_corrections[old] = new
        else:
            item["Masks"][0]["MaskSyncID"] = new
            self.renamed_spots[old] = new

    # -- our record ------------------------------------------------------------------------------------------
    def _record(self, record: Ownership) -> None:
        """Replace our ownership record (only our own properties in the airetouch namespace)."""
        for old, new in self.renamed_corrections.items():
            record.corrections[new] = record.corrections.pop(old)
        for old, new in self.renamed_spots.items():
            record.spots[new] = record.spots.pop(old)
        for desc in self.descs:
            ours_attrs = [a for a in desc.attrs if a.ns == AIRETOUCH and a.name in OWN_FIELDS]
            ours_children = [c for c in desc.children if c.ns == AIRETOUCH and c.name in OWN_FIELDS]
            others = [a for a in desc.attrs if not (a.ns == AIRETOUCH and a.name in OWN_FIELDS)
                      and a.ns != RDF] + [c for c in desc.children if c not in ours_children]
            if (ours_attrs or ours_children) and not others:
                self.surgeon.delete_node(desc)
                continue
            for attr in ours_attrs:
                self._remove(attr)
            for child in ours_children:
                self.surgeon.delete_node(child)
        if record.corrections or record.spots:
            self._insert_description(AIRETOUCH, record.to_xmp_fields())

    def _insert_description(self, ns: str, fields: dict[str, Any]) -> None:
        """Add an rdf:Description block for one namespace at the end of rdf:RDF."""
        indent = indent_before(self.data, self.descs[0].start) if self.descs else _child_indent(self.data, self.rdf)
        block = description_block(_writer(self.rdf), ns, fields, indent)
        if self.rdf.empty:
            own = indent_before(self.data, self.rdf.start)
            self.surgeon.replace(self.rdf.head_end - 2, self.rdf.head_end, f">{block}\n{own}</{self.rdf.qname}>")
        else:
            self.surgeon.insert(leading_space_start(self.data, self.rdf.tail_start), block)


def _item_sync(item: dict, what: str) -> str | None:
    """The sync id of a written correction or spot item."""
    if what == "corrections":
        return item.get("CorrectionSyncID")
    masks = item.get("Masks") or [{}]
    return masks[0].get("MaskSyncID") if isinstance(masks[0], dict) else None


def _has_ns(desc: Node, ns: str) -> bool:
    """True when the description holds a property of namespace `ns`."""
    return any(a.ns == ns for a in desc.attrs) or any(c.ns == ns for c in desc.children)


def _free_prefix(node: Node, wanted: str) -> str:
    """A prefix not yet bound in the scope of `node`, close to `wanted`."""
    prefix, n = wanted, 1
    while prefix in node.scope:
        prefix, n = f"{wanted}{n}", n + 1
    return prefix


def merge_packet(data: bytes, done: RetouchPlan, crs: dict[str, Any], record: Ownership, name: str, *,
                 is_raw: bool) -> tuple[bytes, MergeReport]:
    """Merge a completed plan's crs settings and ownership record into packet bytes."""
    merger = Merger(data, done, crs, name, is_raw=is_raw)
    return merger.run(record), merger.report
