"""Check and correct (PerTouch's feedback-driven rethinking): render, measure, correct, at most three rounds.

The plan is developed on the analysis' working image before and after the instruction, and each edit's intended
statistic (a region's mean L*, L* spread, chroma, b*, a*) is measured. Edits judged by the same statistic of the
same region the same way ("make the eyes pop": contrast, Clarity and Dehaze all widen the eyes' L* spread) are
judged together, as one group asked to move it by the largest of their asked amounts. Groups that fell short are
strengthened (overshoots softened) by re-applying the instruction with per-edit gains, by at most MAX_STEP a round.

An edit is never strengthened when its own slider moves its statistic the wrong way (or not at all): more of it
would only do more of the wrong thing ("more contrast" in a near-white sky squeezes it against white). When a
group moved the wrong way or hardly at all, each of its edits is checked: alone in its region, the move is its
own; with other edits reaching the region, its own part is measured by rendering the plan without it. An edit
whose own part is not the asked way stays as the first pass made it, with a note saying so; one whose own part
is the asked way but is outweighed (the whole photo darkened, this face brightened) is strengthened. Edits whose
statistic another edit on the same region moves the other way ("brighter without blowing out the highlights")
are not judged on their own.

Protected regions are measured on their masks (mean ΔE76 where the mask is over 0.5: the limit) and on the masks'
cores (over CORE, where the holds are complete). A compensating local edit is added only when the core itself
drifted past the limit: drift at a soft mask edge is not something a local edit on that mask can undo without
moving the core. A strengthening that would push a protected region past the limit is held back.

Each round is one render, measured (round 1: the first pass), with a total error: each group's shortfall or
overshoot relative to its asked amount, plus a heavy penalty for a protected region past the limit. The loop
stops when a round is worse than the best so far, and returns the best round's plan (its gains in the
provenance). Every round leaves a note.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from ..core.plan import RetouchPlan
from ..core.regions import REGION_BY_KEY
from .attributes import PlanEditor, attribute_name, contains, slider_unit
from .instructions import GLOBAL_TARGET, STRONG, Edit, Interpretation, apply_interpretation, split_key

STAGE = "rethink"
MAX_ROUNDS = 3
# What one attribute unit is expected to do to its statistic (CIELAB units): "a little" (0.1) brighter is about
# +2 L*, "much" (0.3) cooler about -6 b*. An edit is satisfied when it moved at least SATISFIED of this.
PER_UNIT = {"luminance": 20.0, "contrast": 20.0, "chroma": 20.0, "b*": 20.0, "a*": 15.0}
SATISFIED = 0.9
OVERSHOOT = 2.0  # more than this times the asked amount is softened
MAX_GAIN = 4.0
MIN_GAIN = 0.25
MAX_STEP = 2.0  # one round changes an edit's gain by at most this factor, up or down
PROTECT_DE = 1.0  # a protected region may move less than this (mean ΔE76 where its mask is over 0.5)
CORE = 0.8  # a protected mask's core: where it is over this, the holds are (nearly) complete
# A strengthening is capped where a protected region it reaches would, its drift growing with the gain, reach
# this share of PROTECT_DE.
PROTECT_MARGIN = 0.95
PROTECT_PENALTY = 10.0  # error of a protected region past the limit: 10 + 10 per ΔE over (outweighs the edits)
# An edit that moved its statistic less than STUCK of the asked amount (or the wrong way) is checked: when other
# edits reach its region, its own part of the move is measured (the plan rendered without it); unless that part
# is more than MIN_OWN of the asked amount the asked way, it is never strengthened.
STUCK = 0.1
MIN_OWN = 0.0
WORSE = 0.02  # a round whose total error exceeds the best round's by more than this is worse: the loop stops
# Local sliders that counter a protected region's drift: (statistic, slider, slider units per statistic unit).
COUNTERS = (("luminance", "Exposure2012", 1 / 25.0), ("b*", "Temperature", 2.5), ("a*", "Tint", 2.5))
# How notes name a statistic and its two directions.
STAT_WORDS = {"luminance": ("brightness", "rise", "fall"), "contrast": ("tonal spread", "grow", "shrink"),
              "chroma": ("colourfulness", "grow", "fall"), "b*": ("warmth (b*)", "rise", "fall"),
              "a*": ("magenta-green balance (a*)", "move towards magenta", "move towards green")}


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


def _scaled(interp: Interpretation, gains: list[float], skip: int | None = None) -> Interpretation:
    edits = [replace(e, amount=e.amount * g) for i, (e, g) in enumerate(zip(interp.edits, gains)) if i != skip]
    return replace(interp, edits=edits)


def _build(base: RetouchPlan, interp: Interpretation, gains: list[float], counters: dict[str, dict[str, float]],
           is_raw: bool, as_shot, skip: int | None = None) -> RetouchPlan:
    """The instruction re-applied to `base` with per-edit gains (edit `skip` left out), and the counter-edits
    that hold protected regions."""
    plan = apply_interpretation(base, _scaled(interp, gains, skip), is_raw=is_raw, as_shot=as_shot)
    if counters:
        editor = PlanEditor(plan, is_raw=is_raw, as_shot=as_shot, stage=STAGE)
        for key, values in counters.items():
            for slider, value in values.items():
                editor.add_param(key, slider, value)
        plan = editor.result()
    return plan


def edit_error(progress: float) -> float:
    """How far a statistic is from what was asked, `progress` being the share of the asked amount it moved:
    0 from the asked amount up to OVERSHOOT times it; below, 1 - progress (more than 1 the wrong way); above,
    1 - OVERSHOOT / progress, so that k times too much counts as 1/k of the way."""
    if progress < 1.0:
        return 1.0 - progress
    if progress > OVERSHOOT:
        return 1.0 - OVERSHOOT / progress
    return 0.0


def protect_error(drift: float) -> float:
    """0 within the limit; past it, PROTECT_PENALTY plus PROTECT_PENALTY per ΔE over, so that a round that lets
    a protected region go is worse than one that holds it, whatever the edits did."""
    return 0.0 if drift < PROTECT_DE else PROTECT_PENALTY * (1.0 + drift - PROTECT_DE)


@dataclass
class Drift:
    """How far a protected region moved: mean ΔE76 where its mask is over 0.5 (`drift`, held to PROTECT_DE) and
    over its core (`core`), and the core's mean change of each statistic (`delta`)."""

    drift: float
    core: float
    delta: dict[str, float] = field(default_factory=dict)


def protection_drift(lab_before: np.ndarray, lab_after: np.ndarray, mask: np.ndarray) -> Drift:
    de = np.sqrt(((lab_after - lab_before) ** 2).sum(-1))
    inside = mask > 0.5
    if not inside.any():
        return Drift(0.0, 0.0, {})
    core = mask > CORE
    if not core.any():  # a soft mask with no firm core: its firmest part
        core = mask >= 0.9 * float(mask.max())
    diff = (lab_after - lab_before)[core]
    delta = {"luminance": float(diff[:, 0].mean()), "a*": float(diff[:, 1].mean()), "b*": float(diff[:, 2].mean())}
    return Drift(float(de[inside].mean()), float(de[core].mean()), delta)


@dataclass
class Group:
    """The asked edits judged by one statistic of one region, one way: `members` index the instruction's edits;
    `want` is the largest of their asked amounts (signed)."""

    region: str
    measure: str
    direction: int
    members: list[int]
    want: float

    @property
    def name(self) -> str:
        return f"{self.region} {self.measure}"


def groups_of(interp: Interpretation) -> list[Group]:
    out: dict[tuple, Group] = {}
    for i, e in enumerate(interp.edits):
        stat = e.statistic
        if stat is None:
            continue
        want = asked(e)
        g = out.setdefault((stat.region, stat.measure, stat.direction),
                           Group(stat.region, stat.measure, stat.direction, [], want))
        g.members.append(i)
        if abs(want) > abs(g.want):
            g.want = want
    return list(out.values())


@dataclass
class _Round:
    no: int
    error: float
    plan: RetouchPlan
    gains: list[float]
    counters: dict[str, dict[str, float]]


def rethink(plan: RetouchPlan, analysis, interp: Interpretation, *, is_raw: bool, rounds: int = MAX_ROUNDS,
            base: RetouchPlan | None = None, as_shot: Mapping[str, float] | None = None) -> RetouchPlan:
    """Render, measure, correct: a plan whose instruction edits moved their statistics by about the asked
    amount and whose protected regions stayed put (within PROTECT_DE): the best of at most `rounds` rounds.

    `plan` is the plan after `apply_interpretation(base, interp)`; `base` the plan before it (None: the
    unedited photo is the reference and `plan` is corrected by rescaling its own instruction edits in place,
    which needs `base`, so without it the plan is only checked)."""
    rounds = max(0, min(MAX_ROUNDS, int(rounds)))
    groups = groups_of(interp)
    protected = [k for k in interp.protected if region_weights(analysis, k) is not None]
    if not groups and not protected or rounds == 0:
        return plan
    regions = {g.region for g in groups} | set(protected)
    lab_before = _lab(analysis, base if base is not None else RetouchPlan())
    before = _measure_all(lab_before, analysis, regions, protected)
    groups = [g for g in groups if g.region in before]
    masks = {key: np.asarray(analysis.masks[key], np.float32) for key in protected}
    edits = interp.edits
    gains = [1.0] * len(edits)
    counters: dict[str, dict[str, float]] = {}
    # edits whose own slider does not move their statistic the asked way, and edits the photographer gave as a
    # number ("shadows +30"): those are measured and reported, never rescaled
    frozen: set[int] = {i for i, e in enumerate(edits) if e.explicit}
    checked: set[int] = set()  # edits whose own part of the move was measured and found the asked way
    opposed: set[int] = set()  # groups (by position) another group on the same statistic pushes the other way
    current = plan.copy()
    history: list[dict[str, Any]] = []
    notes: list[tuple[str, str | None]] = []
    best: _Round | None = None
    for round_no in range(1, rounds + 1):
        lab_after = _lab(analysis, current)
        after = _measure_all(lab_after, analysis, regions, protected)
        moves = {n: after[g.region][g.measure] - before[g.region][g.measure] for n, g in enumerate(groups)
                 if g.region in after}
        report = [f"{groups[n].name} {moved:+.1f} (asked {groups[n].want:+.1f})" for n, moved in moves.items()]
        aside: list[tuple[str, str | None]] = []  # this round's notes about single edits
        if round_no == 1:  # a statistic moved the wrong way while another asked edit pushes it that way
            for n, g in enumerate(groups):
                other = next((o for o in groups if (o.region, o.measure) == (g.region, g.measure)
                              and o.direction != g.direction), None)
                if other is not None and n in moves and moves[n] / g.want <= 0:
                    opposed.add(n)
                    them = ", ".join(edits[i].describe() for i in other.members)
                    for i in g.members:
                        aside.append((f"{edits[i].describe()}: not judged on its own, since {them} moves the same "
                                      f"statistic of {_region_words(g.region)} the other way; left as the first "
                                      f"pass made it", _note_region(edits[i])))
        error = sum(edit_error(moved / groups[n].want) for n, moved in moves.items() if n not in opposed)
        drifts = {key: protection_drift(lab_before, lab_after, masks[key]) for key in protected}
        for key, d in drifts.items():
            report.append(f"{key} (protected) moved ΔE {d.drift:.2f} (core {d.core:.2f})")
            error += protect_error(d.drift)
        entry: dict[str, Any] = {"round": round_no, "measured": report, "error": round(error, 3), "changes": []}
        history.append(entry)
        head = f"round {round_no}: " + "; ".join(report)
        if best is not None and error > best.error + WORSE:
            notes.append((head + f" - worse than round {best.no} (error {error:.2f}, was {best.error:.2f}): "
                          f"kept round {best.no}", None))
            break
        if best is None or error < best.error:
            best = _Round(round_no, error, current, list(gains), {k: dict(v) for k, v in counters.items()})
        kept = f"; kept round {best.no}" if best.no != round_no else ""
        if round_no == rounds:
            short = [groups[n].name for n, moved in moves.items() if n not in opposed
                     and not all(i in frozen for i in groups[n].members)
                     and not SATISFIED <= moved / groups[n].want <= OVERSHOOT]
            over = [f"{key} (protected)" for key, d in drifts.items() if d.drift >= PROTECT_DE]
            verdict = "still off after the last round: " + ", ".join(short + over) if short or over else "satisfied"
            notes += [(head + f" - {verdict}{kept}", None)] + aside
            break
        changes, unmet = [], []
        for n, moved in moves.items():
            g = groups[n]
            live = [i for i in g.members if i not in frozen]
            if n in opposed or not live:
                continue
            progress = moved / g.want
            if SATISFIED <= progress <= OVERSHOOT:
                continue
            own = moved  # the part of the move that is the group's own
            if progress < STUCK and not all(i in checked for i in live):
                # the wrong way, or hardly at all: is it these sliders? Each edit's own part of the move
                own, live = 0.0, []
                for i in g.members:
                    if i in frozen:
                        continue
                    e = edits[i]
                    mixed = base is not None and any(_touches(o, e) for o in edits if o is not e)
                    part = moved if not mixed else moved - (measure(
                        _lab(analysis, _build(base, interp, gains, counters, is_raw, as_shot, skip=i)),
                        region_weights(analysis, g.region, protected))[g.measure] - before[g.region][g.measure])
                    if part / g.want <= MIN_OWN:  # its own slider does not move it the asked way
                        frozen.add(i)
                        unmet.append(f"{e.describe()} does not move {g.name} the asked way: not strengthened")
                        aside.append((_wrong_way_note(e, g, moved, part if mixed else None, before, round_no),
                                      _note_region(e)))
                    else:
                        checked.add(i)
                        live.append(i)
                        own += part
                if not live:
                    continue
            if progress < SATISFIED:  # strengthen so that its own part grows by what is missing
                factor = MAX_STEP if own / g.want <= 0 else \
                    min(MAX_STEP, max(1.05, (own + 1.05 * g.want - moved) / own))
            else:
                factor = max(1.0 / MAX_STEP, 1.2 / progress)
            for i in live:
                e = edits[i]
                new_gain = min(MAX_GAIN, max(MIN_GAIN, gains[i] * factor))
                if e.attribute and abs(e.amount * gains[i]) >= 1.0 and new_gain > gains[i]:
                    new_gain = gains[i]  # the attribute is at the end of its range already
                held_by = None
                if new_gain > gains[i]:  # strengthening must not push a protected region past the limit
                    for key, d in drifts.items():
                        if _reaches(e, key) and d.drift > 0:
                            cap = gains[i] * max(1.0, PROTECT_MARGIN * PROTECT_DE / d.drift)
                            if cap < new_gain:
                                new_gain, held_by = cap, key
                if abs(new_gain - gains[i]) <= 1e-3:
                    unmet.append(f"{e.describe()} held back: strengthening it would move the protected {held_by}"
                                 if held_by else f"{e.describe()} cannot be pushed further")
                else:
                    changes.append(f"{e.describe()} x{new_gain / gains[i]:.2f}")
                    gains[i] = new_gain
        for key, d in drifts.items():
            if d.drift < PROTECT_DE:
                continue
            if d.core < PROTECT_DE:  # the drift is at the mask's soft edge: a local counter would move the core
                unmet.append(f"{key} moved at its soft edge (core ΔE {d.core:.2f}): not countered")
                continue
            own_counters = counters.setdefault(key, {})
            for measure_name, slider, per in COUNTERS:
                delta = d.delta.get(measure_name, 0.0)
                if abs(delta) > 0.3:
                    own_counters[slider] = own_counters.get(slider, 0.0) - delta * per
                    changes.append(f"{key} {slider} {-delta * per:+.3g} (held)")
        entry["changes"] = changes
        if not changes:
            verdict = "; ".join(unmet) if unmet else "satisfied"
            notes += [(head + f" - {verdict}{kept}", None)] + aside
            break
        notes += [(head + " - corrected: " + ", ".join(changes) + "".join("; " + u for u in unmet), None)] + aside
        if base is None:
            break  # nothing to rebuild from: checked, not corrected
        current = _build(base, interp, gains, counters, is_raw, as_shot)
    assert best is not None
    out = best.plan  # its notes are the instruction's (rebuilt with its gains); this run's come now
    for text, region in notes:
        out.add_note(STAGE, text, region)
    out.provenance["rethink"] = {"rounds": len(history), "kept": best.no, "error": round(best.error, 3),
                                 "gains": [round(g, 3) for g in best.gains],
                                 "counters": {k: {s: round(v, 3) for s, v in c.items()}
                                              for k, c in best.counters.items()},
                                 "history": history}
    return out.validate()


def _region_words(region: str) -> str:
    if region == GLOBAL_TARGET:
        return "the photo"
    if region.startswith("person#"):
        return f"person #{region.split('#', 1)[1]}"
    reg = REGION_BY_KEY.get(region)
    return f"the {reg.label.lower() if reg else region.replace('_', ' ')}"


def _note_region(e: Edit) -> str | None:
    return None if e.target == GLOBAL_TARGET else e.target


def _reaches(e: Edit, key: str) -> bool:
    """Whether an edit reaches a protected region ("person:N": one person): a global edit, or one on a region
    that covers it."""
    target, person = split_key(key)
    if e.target == GLOBAL_TARGET:
        return True
    if person is not None:
        return e.target == "subject" or (e.target == "person" and e.person == person)
    return e.target == key or contains(e.target, key)


def _touches(o: Edit, e: Edit) -> bool:
    """Whether edit `o` changes (part of) the region edit `e` is measured on."""
    if GLOBAL_TARGET in (o.target, e.target) or o.where == e.where:
        return True
    return contains(o.target, e.target) or contains(e.target, o.target)


def _what(e: Edit) -> str:
    """The words an edit was read from (and, for a style's or an optimisation's edit, which edit it is)."""
    source = e.source.strip().replace("_", " ")
    if not source:
        return e.describe()
    return source if e.origin == STRONG else f"{source} ({e.describe()})"


def _wrong_way_note(e: Edit, g: Group, moved: float, own: float | None, before, round_no: int) -> str:
    name, up, down = STAT_WORDS[g.measure]
    light = before.get(g.region, {}).get("luminance")
    hint = ""
    if light is not None and g.measure in ("luminance", "contrast", "chroma"):
        hint = "; it is near white" if light >= 85 else ("; it is near black" if light <= 15 else "")
    part = "" if own is None else f", {own:+.1f} of it this edit's own"
    kept = "left at the first pass" if round_no == 1 else "not strengthened further"
    return (f"{_what(e)}: {_region_words(g.region)}'s {name} did not {up if g.direction > 0 else down} "
            f"({moved:+.1f}{part}, asked {g.want:+.1f}{hint}); the slider did not move it as asked, so it was {kept}")
