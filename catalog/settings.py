"""Develop-settings tables (a catalog's develop `text`, the plugin's getDevelopSettings) as plans, and the
proposal as Lightroom shows it once applied.

The translation itself is `bridge_server.lightroom.sdk.develop_settings_to_plan` (the exact inverse of the
applyDevelopSettings table); this module only adds what learning needs around it.
"""
from __future__ import annotations

import logging
from typing import Any

from bridge_server.core.errors import PlanError
from bridge_server.core.plan import RetouchPlan
from bridge_server.lightroom.sdk import develop_settings_to_plan

from .memory import ABSOLUTE_WB, INCREMENTAL_WB, LEARNED_GLOBALS

log = logging.getLogger(__name__)


def settings_to_plan(table: dict[str, Any] | RetouchPlan, *, is_raw: bool | None = None) -> RetouchPlan:
    """The plan a develop-settings table describes (a plan passes through). Raises PlanError.

    White balance follows the file kind when it is known: a raw file keeps Temperature/Tint, a rendered
    one IncrementalTemperature/IncrementalTint (never both, as Lightroom itself)."""
    if isinstance(table, RetouchPlan):
        return table
    if not isinstance(table, dict):
        raise PlanError("develop settings must be a table of setting names to values", field="settings")
    plan = develop_settings_to_plan(table)
    if is_raw is not None:
        drop = INCREMENTAL_WB if is_raw else ABSOLUTE_WB
        if any(k in plan.global_ for k in drop):
            for key in drop:
                plan.global_.pop(key, None)
            plan.validate()
    return plan


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
