"""Check and correct (PerTouch's feedback-driven rethinking): render, measure, correct, at most three rounds.

The plan is developed on the analysis' working image before and after the instruction; each edit's intended
statistic (a region's mean L*, L* spread, chroma, b*, a*) is measured, and edits that fell short are strengthened
(overshoots softened) by re-applying the instruction with per-edit gains. Protected regions that moved anyway
(masks overlap, holds are approximate) get a compensating local edit. Every round leaves a note.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

import numpy as np

from ..core.plan import RetouchPlan
from .attributes import PlanEditor, attribute_name, slider_unit
from .instructions import GLOBAL_TARGET, Interpretation, apply_interpretation, unsatisfied

STAGE = "rethink"
MAX_ROUNDS = 3
# What one attribute unit is expected to do to its statistic (CIELAB units): "a little" (0.1) brighter is about
# +2 L*, "much" (0.3) cooler about -6 b*. An edit is satisfied when it moved at least SATISFIED of this.
PER_UNIT = {"luminance": 20.0, "contrast": 20.0, "chroma": 20.0, "b*": 20.0, "a*": 15.0}
SATISFIED = 0.9
OVERSHOOT = 2.0  # more than this times the asked amount is softened
MAX_GAIN = 4.0
PROTECT_DE = 1.0  # a protected region may move less than this (mean ΔE76)
# Local sliders that counter a protected region's drift: (statistic, slider, slider units per statistic unit).
COUNTERS = (("luminance", "Exposure2012", 1 / 25.0), ("b*", "Temperature", 2.5), ("a*", "Tint", 2.5))


def region_weights(analysis, region: str, protected=()) -> np.ndarray | None:
    """The weight map of a measured region: "global" (less the protected regions), a region key, "person#N"."""
    if region == GLOBAL_TARGET:
        weights = np.ones(analysis.working.shape[:2], np.float32)
        for key in protected:
            if key in analysis.masks:
                weights = np.minimum(weights, 1.0 - np.asarray(analysis.masks[key], np.float32))
        return weights if float(weights.sum()) >= 1.0 else None
    key = f"person:{region.split('#', 1)[1]}" if region.startswith("person#") else region
    mask = analysis.masks.get(key)
    if mask is None or float(mask.sum()) < 1.0:
        return None
    return np.asarray(mask, np.float32)


def measure(lab: np.ndarray, weights: np.ndarray) -> dict[str, float]:
    """Weighted statistics of one region of a CIELAB image."""
    w = weights.ravel().astype(np.float64)
    total = max(w.sum(), 1e-9)
    light, a, b = (lab[..., i].ravel().astype(np.float64) for i in range(3))
    order = np.argsort(light)
    cdf = np.cumsum(w[order]) / total
    p5, p95 = (float(light[order][min(len(cdf) - 1, np.searchsorted(cdf, q))]) for q in (0.05, 0.95))
    return {"luminance": float((light * w).sum() / total), "contrast": p95 - p5,
            "chroma": float((np.hypot(a, b) * w).sum() / total), "b*": float((b * w).sum() / total),
            "a*": float((a * w).sum() / total)}


def _lab(analysis, plan: RetouchPlan) -> np.ndarray:
    from ..develop.renderer import render
    from ..vision.stats import lab_image
    return lab_image(render(analysis.working, plan, analysis.masks))


def _measure_all(lab: np.ndarray, analysis, regions, protected=()) -> dict[str, dict[str, float]]:
    out = {}
    for region in regions:
        weights = region_weights(analysis, region, protected)
        if weights is not None:
            out[region] = measure(lab, weights)
    return out


def asked(edit) -> float | None:
    """How far (statistic units, signed) an edit asks its statistic to move."""
    stat = edit.statistic
    if stat is None:
        return None
    try:
        units = abs(float(edit.amount)) if edit.attribute and attribute_name(edit.attribute) else None
    except KeyError:
        units = None
    if units is None:
        if edit.op == "set":
            units = 0.1  # a set value: only the direction is judged
        else:
            try:
                units = abs(float(edit.amount)) / slider_unit(edit.param, edit.scope)
            except (KeyError, StopIteration, ZeroDivisionError):
                units = 0.1
    return stat.direction * max(0.05, units) * PER_UNIT[stat.measure]


def _scaled(interp: Interpretation, gains: list[float]) -> Interpretation:
    edits = [replace(e, amount=e.amount * g) for e, g in zip(interp.edits, gains)]
    return replace(interp, edits=edits)


def rethink(plan: RetouchPlan, analysis, interp: Interpretation, *, is_raw: bool, rounds: int = MAX_ROUNDS,
            base: RetouchPlan | None = None, as_shot: Mapping[str, float] | None = None) -> RetouchPlan:
    """Render, measure, correct: a plan whose instruction edits moved their statistics by about the asked
    amount and whose protected regions stayed put (within PROTECT_DE), after at most `rounds` rounds.

    `plan` is the plan after `apply_interpretation(base, interp)`; `base` the plan before it (None: the
    unedited photo is the reference and `plan` is corrected by rescaling its own instruction edits in place,
    which needs `base`, so without it the plan is only checked)."""
    rounds = max(0, min(MAX_ROUNDS, int(rounds)))
    judged = [e for e in interp.edits if e.statistic is not None]
    protected = [k for k in interp.protected if region_weights(analysis, k) is not None]
    if not judged and not protected or rounds == 0:
        return plan
    regions = {e.statistic.region for e in judged} | set(protected)
    lab_before = _lab(analysis, base if base is not None else RetouchPlan())
    before = _measure_all(lab_before, analysis, regions, protected)
    gains = [1.0] * len(interp.edits)
    counters: dict[str, dict[str, float]] = {}
    current = plan.copy()
    history: list[dict[str, Any]] = []
    for round_no in range(1, rounds + 1):
        lab_after = _lab(analysis, current)
        after = _measure_all(lab_after, analysis, regions, protected)
        short = {id(e) for e in unsatisfied(interp, before, after, tolerance=0.0)}
        changes, report, unmet = [], [], []
        for i, e in enumerate(interp.edits):
            stat = e.statistic
            if stat is None or stat.region not in before or stat.region not in after:
                continue
            want = asked(e)  # the asked amount does not grow with the gain
            moved = after[stat.region][stat.measure] - before[stat.region][stat.measure]
            report.append(f"{e.where} {stat.measure} {moved:+.1f} (asked {want:+.1f})")
            progress = moved / want
            if id(e) in short or progress < SATISFIED:
                factor = min(3.0, 1.0 / max(progress, 0.25)) * 1.05
            elif progress > OVERSHOOT:
                factor = max(0.5, 1.2 / progress)
            else:
                continue
            new_gain = min(MAX_GAIN, max(0.25, gains[i] * factor))
            if e.attribute and abs(e.amount * gains[i]) >= 1.0 and new_gain > gains[i]:
                new_gain = gains[i]  # the attribute is at the end of its range already
            if abs(new_gain - gains[i]) <= 1e-3:
                unmet.append(f"{e.where} {stat.measure} cannot be pushed further")
            else:
                changes.append(f"{e.describe()} x{new_gain / gains[i]:.2f}")
                gains[i] = new_gain
        for key in protected:
            drift = float(np.mean(np.sqrt(((lab_after - lab_before) ** 2).sum(-1))[
                region_weights(analysis, key) > 0.5])) if (region_weights(analysis, key) > 0.5).any() else 0.0
            report.append(f"{key} (protected) moved ΔE {drift:.2f}")
            if drift < PROTECT_DE:
                continue
            own = counters.setdefault(key, {})
            for measure_name, slider, per in COUNTERS:
                delta = after[key][measure_name] - before[key][measure_name]
                if abs(delta) > 0.3:
                    own[slider] = own.get(slider, 0.0) - delta * per
                    changes.append(f"{key} {slider} {-delta * per:+.3g} (held)")
        history.append({"round": round_no, "measured": report, "changes": changes})
        if not changes:
            verdict = "; ".join(unmet) if unmet else "satisfied"
            current.add_note(STAGE, f"round {round_no}: " + "; ".join(report) + f" - {verdict}")
            break
        current.add_note(STAGE, f"round {round_no}: " + "; ".join(report) + " - corrected: " + ", ".join(changes))
        if base is None:
            break  # nothing to rebuild from: checked, not corrected
        notes = [n for n in current.notes if n.stage == STAGE]
        rebuilt = apply_interpretation(base, _scaled(interp, gains), is_raw=is_raw, as_shot=as_shot)
        if counters:
            editor = PlanEditor(rebuilt, is_raw=is_raw, as_shot=as_shot, stage=STAGE)
            for key, values in counters.items():
                for slider, value in values.items():
                    editor.add_param(key, slider, value)
            rebuilt = editor.result()
        rebuilt.notes += notes
        current = rebuilt
    else:
        lab_after = _lab(analysis, current)
        after = _measure_all(lab_after, analysis, regions, protected)
        final = []
        for e in judged:
            stat = e.statistic
            if stat.region in before and stat.region in after:
                moved = after[stat.region][stat.measure] - before[stat.region][stat.measure]
                final.append(f"{e.where} {stat.measure} {moved:+.1f} (asked {asked(e):+.1f})")
        for key in protected:
            sel = region_weights(analysis, key) > 0.5
            if sel.any():
                final.append(f"{key} (protected) ΔE "
                             f"{float(np.mean(np.sqrt(((lab_after - lab_before) ** 2).sum(-1))[sel])):.2f}")
        current.add_note(STAGE, f"after {rounds} round(s): " + "; ".join(final))
    current.provenance["rethink"] = {"rounds": len(history), "gains": [round(g, 3) for g in gains],
                                     "history": history}
    return current.validate()
