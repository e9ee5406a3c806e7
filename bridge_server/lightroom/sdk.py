"""Plan <-> the table Lightroom's `photo:applyDevelopSettings` takes (and `getDevelopSettings` / a catalog's
develop `text` hold).

Keys are the crs names without the prefix; tone curves are flat arrays {x1, y1, x2, y2, ...}; local
corrections are `MaskGroupBasedCorrections`, a list of correction tables (stored scale, Lua booleans and
numbers, `CorrectionMasks` lists) switched on by `EnableMaskGroupBasedCorrections`. Lightroom replaces a
top-level key whole, so the table carries every correction the plan holds (the photographer's included).
The table is plain JSON (the plugin decodes it) and `develop_settings_to_plan` is its exact inverse.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..core.errors import PlanError
from ..core.plan import RetouchPlan
from .ownership import Ownership
from .settings import (
    CORRECTIONS, RETOUCH_AREAS, SDK, SDK_ENABLE, complete_plan, plan_settings, sdk_normal, settings_to_plan,
)
from .writer import version_fields


def plan_to_develop_settings(plan: RetouchPlan, *, is_raw: bool) -> dict[str, Any]:
    """The develop-settings table for applyDevelopSettings (white balance checked for raw vs rendered)."""
    return develop_settings_with_ownership(plan, is_raw=is_raw)[0]


def develop_settings_with_ownership(plan: RetouchPlan, *, is_raw: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the develop-settings table, the ownership record of our corrections in it, for the plugin to keep)."""
    done = complete_plan(plan)
    table: dict[str, Any] = {"ProcessVersion": version_fields(done)["ProcessVersion"]}
    table.update(plan_settings(done, SDK, is_raw=is_raw))
    for key, flag in SDK_ENABLE.items():
        if key in table:
            table[flag] = True
    return table, Ownership.of_plan(done).to_dict()


def develop_settings_to_plan(table: Mapping[str, Any], *, ownership: Ownership | Mapping | None = None
                             ) -> RetouchPlan:
    """A plan from a develop-settings table (SDK, plugin JSON or a parsed catalog `text`).

    `ownership` (an Ownership or its to_dict form, as the plugin keeps it) marks which corrections are ours.
    """
    if not isinstance(table, Mapping):
        raise PlanError("develop settings must be a table of setting names to values")
    settings = {str(k): v for k, v in sdk_normal(dict(table)).items()} if table else {}
    plan = settings_to_plan(settings, sdk=True).plan
    if ownership is not None:
        record = ownership if isinstance(ownership, Ownership) else Ownership.from_dict(dict(ownership))
        record.apply(plan)
    return plan


__all__ = ["CORRECTIONS", "RETOUCH_AREAS", "develop_settings_to_plan", "develop_settings_with_ownership",
           "plan_to_develop_settings"]
