"""Develop-settings tables (what a catalog's `text` or the plugin's getDevelopSettings holds) -> RetouchPlan.

The translation belongs to `bridge_server.lightroom.sdk.develop_settings_to_plan`; this module uses it when
it is installed. Until then a small reader of our own covers what the memory learns from: the parameter
table's global settings and the local corrections (AI masks by their codes, gradients, brushes).
"""
from __future__ import annotations

import logging
from typing import Any

from bridge_server.core.errors import PlanError
from bridge_server.core.params import CURVE, ENUM, GLOBAL_BY_XMP, LOCAL_BY_XMP
from bridge_server.core.plan import USER, RegionEdit, RetouchPlan
from bridge_server.core.regions import GEOMETRY_BY_WHAT, region_for_codes

from .memory import ABSOLUTE_WB, INCREMENTAL_WB, LEARNED_GLOBALS

log = logging.getLogger(__name__)

CORRECTION_CONTAINERS = ("MaskGroupBasedCorrections", "GradientBasedCorrections",
                         "CircularGradientBasedCorrections", "PaintBasedCorrections")


def settings_to_plan(table: dict[str, Any] | RetouchPlan, *, is_raw: bool | None = None) -> RetouchPlan:
    """The plan a develop-settings table describes (a plan passes through). Raises PlanError."""
    if isinstance(table, RetouchPlan):
        return table
    if not isinstance(table, dict):
        raise PlanError("develop settings must be a table of setting names to values", field="settings")
    try:
        from bridge_server.lightroom.sdk import develop_settings_to_plan  # noqa: PLC0415
    except ImportError:
        develop_settings_to_plan = None
    if develop_settings_to_plan is not None:
        return develop_settings_to_plan(table)
    return _own_reader(table, is_raw)


def _own_reader(table: dict[str, Any], is_raw: bool | None) -> RetouchPlan:
    glob: dict[str, Any] = {}
    for key, value in table.items():
        p = GLOBAL_BY_XMP.get(key)
        if p is None or value is None:
            continue
        if p.kind == ENUM:
            if value in p.choices:
                glob[p.name] = value
        elif p.kind == CURVE:
            if isinstance(value, (list, tuple)) and len(value) >= 4:
                glob[p.name] = list(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            glob[p.name] = p.from_stored(float(value))
    raw = is_raw if is_raw is not None else ("Temperature" in glob or "Tint" in glob)
    for name in (INCREMENTAL_WB if raw else ABSOLUTE_WB):
        glob.pop(name, None)
    regions = []
    for container in CORRECTION_CONTAINERS:
        for i, corr in enumerate(_as_list(table.get(container))):
            edit = _correction(corr)
            if edit is not None:
                regions.append(edit)
    return RetouchPlan.build(glob, regions)


def _correction(corr: Any) -> RegionEdit | None:
    if not isinstance(corr, dict):
        return None
    region = None
    for mask in _as_list(corr.get("CorrectionMasks")):
        if not isinstance(mask, dict):
            continue
        what = str(mask.get("What", ""))
        if what == "Mask/Image":
            found = region_for_codes(_int(mask.get("MaskSubType")), _int(mask.get("MaskSubCategoryID")))
            region = found.key if found else "other"
        elif what in GEOMETRY_BY_WHAT:
            region = GEOMETRY_BY_WHAT[what].key
        elif what == "Mask/CircularGradient":
            region = "radial"
        if region:
            break
    values = {}
    for key, value in corr.items():
        p = LOCAL_BY_XMP.get(key)
        if p is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            values[p.name] = p.clamp(p.from_stored(float(value)))
    amount = corr.get("CorrectionAmount", 1)
    active = corr.get("CorrectionActive", True)
    return RegionEdit(region=region or "other", values=values,
                      amount=min(2.0, max(0.0, float(amount))) if isinstance(amount, (int, float)) else 1.0,
                      active=active not in (False, "false", 0), name=corr.get("CorrectionName"), origin=USER)


def with_baseline(proposed: RetouchPlan, before: RetouchPlan | dict | None, *, is_raw: bool | None = None,
                  ) -> RetouchPlan:
    """The proposal as Lightroom shows it once applied: global settings the proposal leaves alone keep
    the photo's earlier values (`before`: its settings at import, or before our plan was applied)."""
    if before is None:
        return proposed
    if isinstance(before, dict):
        try:
            before = settings_to_plan(before, is_raw=is_raw)
        except PlanError as exc:
            log.info("earlier settings unreadable, proposal kept as is: %s", exc.message)
            return proposed
    out = proposed.copy()
    has_abs = any(k in out.global_ for k in ABSOLUTE_WB)
    has_inc = any(k in out.global_ for k in INCREMENTAL_WB)
    for name in LEARNED_GLOBALS:
        if name in out.global_ or name not in before.global_:
            continue
        if (name in ABSOLUTE_WB and has_inc) or (name in INCREMENTAL_WB and has_abs):
            continue
        out.global_[name] = before.global_[name]
    return out.validate()


def _as_list(value: Any) -> list:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):  # a Lua array with holes comes back keyed by index
        return [value[k] for k in sorted(k for k in value if isinstance(k, int))]
    return []


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(float(value))
    except (TypeError, ValueError):
        return None
