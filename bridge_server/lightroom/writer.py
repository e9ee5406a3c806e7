"""Write a plan as Camera Raw settings (crs properties) and as a complete XMP packet (LIGHTROOM.md §10)."""
from __future__ import annotations

from typing import Any

from .. import __version__
from ..core.plan import RetouchPlan
from .ownership import Ownership
from .rdf import AIRETOUCH, CRS, XMPMETA, Writer, escape_attr, is_scalar
from .settings import DEFAULT_PROCESS_VERSION, DEFAULT_VERSION, XMP, complete_plan, plan_settings
from .xmlpos import RDF

PREFIXES = {CRS: "crs", RDF: "rdf", AIRETOUCH: "airetouch"}
TOOLKIT = f"AI Retouch bridge {__version__}"


def version_fields(plan: RetouchPlan) -> dict[str, str]:
    """crs:Version and crs:ProcessVersion: as read from the plan's source, else the versions we write."""
    crs = plan.provenance.get("crs") or {}
    return {"Version": str(crs.get("Version") or DEFAULT_VERSION),
            "ProcessVersion": str(crs.get("ProcessVersion") or DEFAULT_PROCESS_VERSION)}


def crs_for(plan: RetouchPlan, *, is_raw: bool | None) -> tuple[dict[str, Any], RetouchPlan]:
    """(crs properties as XMP text, the completed plan they were written from)."""
    done = complete_plan(plan)
    crs: dict[str, Any] = version_fields(done)
    crs.update(plan_settings(done, XMP, is_raw=is_raw))
    crs["HasSettings"] = "True"
    return crs, done


def plan_to_crs(plan: RetouchPlan, *, is_raw: bool) -> dict[str, Any]:
    """The plan as crs properties (name without prefix -> XMP text, lists for Seqs, dicts for structs)."""
    return crs_for(plan, is_raw=is_raw)[0]


def description_block(writer: Writer, ns: str, fields: dict[str, Any], indent: str) -> str:
    """An rdf:Description about="" for one namespace, scalars as attributes, structures as children."""
    rdf, prefix = writer.rdf, writer.prefixes[ns]
    attrs = writer.attrs(fields, ns, indent + " ", nested=False)
    children = "".join(writer.element(k, v, ns, indent + " ") for k, v in fields.items() if not is_scalar(v))
    head = f'\n{indent}<{rdf}:Description {rdf}:about=""\n{indent}  xmlns:{prefix}="{escape_attr(ns)}"{attrs}'
    if not children:
        return head + "/>"
    return f"{head}>{children}\n{indent}</{rdf}:Description>"


def render_packet(blocks: list[tuple[str, dict[str, Any]]]) -> bytes:
    """A complete x:xmpmeta packet with one rdf:Description per (namespace, fields) block."""
    writer = Writer(dict(PREFIXES))
    body = "".join(description_block(writer, ns, fields, "  ") for ns, fields in blocks if fields)
    text = (f'<x:xmpmeta xmlns:x="{XMPMETA}" x:xmptk="{escape_attr(TOOLKIT)}">\n'
            f' <rdf:RDF xmlns:rdf="{RDF}">{body}\n </rdf:RDF>\n</x:xmpmeta>\n')
    return text.encode("utf-8")


def sidecar_packet(plan: RetouchPlan, *, is_raw: bool) -> tuple[bytes, RetouchPlan, Ownership]:
    """A fresh sidecar packet for the plan: (bytes, completed plan, our ownership record)."""
    crs, done = crs_for(plan, is_raw=is_raw)
    record = Ownership.of_plan(done)
    return render_packet([(CRS, crs), (AIRETOUCH, record.to_xmp_fields() if record.corrections or record.spots
                                       else {})]), done, record


def plan_to_xmp(plan: RetouchPlan, *, is_raw: bool) -> str:
    """The plan as a complete Camera Raw XMP packet (text), as a new sidecar would hold it."""
    return sidecar_packet(plan, is_raw=is_raw)[0].decode("utf-8")
