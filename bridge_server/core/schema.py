"""The JSON schema of a plan, derived from the parameter table and the region vocabulary."""
from __future__ import annotations

from .params import CURVE, ENUM, GLOBAL_PARAMS, LOCAL_PARAMS, Param
from .plan import MASK_KINDS, MASK_MODES, SCHEMA_VERSION
from .regions import REGIONS


def _value_schema(p: Param) -> dict:
    if p.kind == ENUM:
        return {"enum": list(p.choices), "description": p.label}
    if p.kind == CURVE:
        return {"type": "array", "items": {"type": "array", "items": {"type": "integer", "minimum": 0,
                                                                       "maximum": 255}, "minItems": 2,
                                           "maxItems": 2}, "minItems": 2, "description": p.label}
    return {"type": "number", "minimum": p.lo, "maximum": p.hi, "description": f"{p.label} ({p.unit})"}


def plan_json_schema() -> dict:
    mask = {"type": "object", "properties": {
        "kind": {"enum": list(MASK_KINDS)}, "region": {"enum": [r.key for r in REGIONS]},
        "mode": {"enum": list(MASK_MODES)}, "inverted": {"type": "boolean"},
        "value": {"type": "number", "minimum": 0, "maximum": 1}, "geometry": {"type": "object"},
        "reference_point": {"type": "array", "items": {"type": "number"}}}}
    region_edit = {"type": "object", "required": ["region"], "properties": {
        "region": {"enum": [r.key for r in REGIONS]},
        "values": {"type": "object", "additionalProperties": False,
                   "properties": {n: _value_schema(p) for n, p in LOCAL_PARAMS.items()}},
        "amount": {"type": "number", "minimum": 0, "maximum": 2},
        "masks": {"type": "array", "items": mask}, "name": {"type": "string"},
        "person": {"type": "integer", "minimum": 0}, "active": {"type": "boolean"}}}
    spot = {"type": "object", "required": ["x", "y", "size_x"], "properties": {
        k: {"type": "number", "minimum": 0, "maximum": 1}
        for k in ("x", "y", "size_x", "size_y", "source_x", "source_y", "opacity", "feather")}}
    spot["properties"]["kind"] = {"enum": ["heal", "clone"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "RetouchPlan", "type": "object",
        "properties": {
            "schema_version": {"const": SCHEMA_VERSION},
            "global": {"type": "object", "additionalProperties": False,
                       "properties": {n: _value_schema(p) for n, p in GLOBAL_PARAMS.items()}},
            "regions": {"type": "array", "items": region_edit},
            "spots": {"type": "array", "items": spot},
            "notes": {"type": "array", "items": {"type": "object", "required": ["text"]}},
            "provenance": {"type": "object"}, "other": {"type": "object"},
        },
    }
