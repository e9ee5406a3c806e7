"""Read any Lightroom / Camera Raw XMP into a RetouchPlan: sidecars, develop presets, XMP inside JPEG/TIFF/DNG.

Global settings go through the parameter table; tone curves, local corrections (MaskGroupBasedCorrections and
the legacy Gradient/CircularGradient/Paint containers), their mask components and heal spots (RetouchAreas,
legacy RetouchInfo) are modelled; everything else Camera Raw wrote is kept in `plan.other` so that writing
the plan again loses nothing. Preset headers land in `PresetInfo` (and `plan.provenance["preset"]`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import PlanError, XmpError
from ..core.plan import RetouchPlan
from .embedded import looks_like_xml, packets_in
from .ownership import Ownership
from .rdf import AIRETOUCH, CRS, property_value
from .settings import PresetInfo, settings_to_plan
from .xmlpos import MAX_PACKET, RDF, Node, XmlSyntaxError, parse

Source = bytes | str | Path


@dataclass
class XmpDocument:
    """A read XMP packet: the plan, the preset header (presets only), our ownership record, where it came from."""

    plan: RetouchPlan
    preset: PresetInfo | None
    ownership: Ownership
    name: str
    adopted: list[str] = field(default_factory=list)  # our corrections the photographer has changed since

    @property
    def is_preset(self) -> bool:
        """True for a develop preset (it has a preset header)."""
        return self.preset is not None


def rdf_root(root: Node) -> Node | None:
    """The rdf:RDF element of a packet (under x:xmpmeta, or the root itself)."""
    for node in root.iter():
        if node.is_(RDF, "RDF"):
            return node
    return None


def descriptions(root: Node) -> list[Node]:
    """The top-level rdf:Description elements of a packet."""
    rdf = rdf_root(root)
    return [] if rdf is None else [c for c in rdf.children if c.is_(RDF, "Description")]


def namespace_fields(descs: list[Node], ns: str) -> dict[str, Any]:
    """All properties of one namespace across the Descriptions (attribute and element form)."""
    out: dict[str, Any] = {}
    for desc in descs:
        for attr in desc.attrs:
            if attr.ns == ns:
                out[attr.name] = attr.value
        for child in desc.children:
            if child.ns == ns:
                out[child.name] = property_value(child, ns)
    return out


def parse_packet(packet: bytes, name: str) -> Node:
    """Parse a packet, turning syntax problems into an XmpError that names the file."""
    try:
        return parse(packet)
    except XmlSyntaxError as exc:
        raise XmpError(f"malformed XMP: {exc}", path=name) from None


def load_packets(source: Source) -> tuple[list[bytes], str]:
    """The XMP packet(s) of a source (a path, XML text, or file bytes) and a name to report it by."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "<bytes>"
    elif isinstance(source, str) and "<" in source:
        data, name = source.encode("utf-8"), "<text>"
    else:
        path = Path(source)
        name = str(path)
        try:
            if path.stat().st_size > MAX_PACKET and path.suffix.lower() == ".xmp":
                raise XmpError(f"an XMP file larger than {MAX_PACKET // (1024 * 1024)} MB is refused", path=name)
            data = path.read_bytes()
        except FileNotFoundError:
            raise XmpError("file not found", path=name) from None
        except OSError as exc:
            raise XmpError(f"cannot read the file ({exc.strerror or exc})", path=name) from None
        if not looks_like_xml(data):
            packets = packets_in(data) or _exiftool_packet(path)
            if not packets:
                raise XmpError("no XMP packet found in this file", path=name)
            return packets, name
    if looks_like_xml(data):
        return [data], name
    packets = packets_in(data)
    if not packets:
        raise XmpError("no XMP packet found", path=name)
    return packets, name


def _exiftool_packet(path: Path) -> list[bytes]:
    """The packet as ExifTool sees it (compressed PNG chunks and other containers our scan cannot open)."""
    try:
        from ..imaging.metadata import read_xmp_packet  # noqa: PLC0415 - optional, needs ExifTool
        packet = read_xmp_packet(path)
    except Exception:  # noqa: BLE001 - no ExifTool, or it cannot read the file: same as "no packet"
        return []
    return [packet] if packet else []


def read_xmp(source: Source, *, require_crs: bool = True) -> XmpDocument:
    """Read a sidecar, preset, XMP text or image into an XmpDocument; XmpError when malformed or empty."""
    packets, name = load_packets(source)
    descs: list[Node] = []
    for packet in packets:
        descs.extend(descriptions(parse_packet(packet, name)))
    settings = namespace_fields(descs, CRS)
    if require_crs and not settings:
        raise XmpError("no Camera Raw (crs) settings in this XMP", path=name)
    try:
        result = settings_to_plan(settings, sdk=False)
    except PlanError as exc:
        raise XmpError(f"Camera Raw settings that cannot be read: {exc.message}", path=name) from None
    ownership = Ownership.from_xmp_fields(namespace_fields(descs, AIRETOUCH))
    adopted = ownership.apply(result.plan)
    if not name.startswith("<"):
        result.plan.provenance.setdefault("source", name)
    return XmpDocument(result.plan, result.preset, ownership, name, adopted)


def read_plan(source: Source) -> RetouchPlan:
    """Read any Lightroom/Camera Raw XMP (sidecar, preset, XMP text, JPEG/TIFF/DNG) into a RetouchPlan."""
    return read_xmp(source).plan
