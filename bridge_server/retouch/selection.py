"""Click guidance: positive / negative clicks pick the person to emphasise and the people to leave alone.

After the region-aware interactive retouching paper (TMM): up to five positive and five negative clicks select
person instances; the chosen person gets an emphasis edit, the avoided ones are held back from the edits meant
for the people as a whole. Person edits are written as feathered radial gradients fitted to the person (Lightroom
cannot address one person of a group through an AI mask from a plugin), so the renderer shows what Lightroom will.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np

from ..core.errors import PlanError
from ..core.plan import OURS, Mask, RegionEdit, RetouchPlan

MAX_CLICKS = 5  # of each kind, as in the paper
STAGE = "clicks"
EMPHASIS_FEATHER = 60.0  # radial feather (0..100): the effect fades over the outer 60 % of the radius
# The emphasis: a lift of the face and upper body with a little local contrast. Exposure grows when the person's
# face is darker than the group's (uneven light in group photos is the motivating case).
EMPHASIS_BASE = {"Exposure2012": 0.3, "Shadows2012": 12.0, "Clarity2012": 10.0, "Texture": 5.0}
EMPHASIS_MAX_EV = 0.7
FACE_L_AIM_GAP = 5.0  # L*: a chosen face this much darker than the others' median gets extra exposure


def _point(click: Mapping[str, Any], analysis, where: str) -> tuple[float, float]:
    """A click as normalised (x, y): values in 0..1 are normalised already, larger ones are pixels of the
    original (oriented) photo."""
    try:
        x, y = float(click["x"]), float(click["y"])
    except (KeyError, TypeError, ValueError):
        raise PlanError("a click needs numeric x and y", field=where) from None
    if not (math.isfinite(x) and math.isfinite(y)) or x < 0 or y < 0:
        raise PlanError(f"click ({x:g}, {y:g}) is outside the photo", field=where)
    if x <= 1.0 and y <= 1.0:
        return x, y
    width, height = analysis.source_size or (analysis.working.shape[1], analysis.working.shape[0])
    if x > width or y > height:
        raise PlanError(f"click ({x:g}, {y:g}) is outside the photo ({width} x {height} pixels)", field=where)
    return x / width, y / height


def _positive(click: Mapping[str, Any]) -> bool:
    value = click.get("positive", True)
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "negative", "-")
    return bool(value)


def _face_box_norm(person: Mapping[str, Any], analysis) -> tuple[float, float, float, float] | None:
    face = person.get("face_box")
    if not face:
        return None
    h, w = analysis.working.shape[:2]
    return face[0] / w, face[1] / h, face[2] / w, face[3] / h


def person_at(analysis, x: float, y: float) -> tuple[int, str] | None:
    """The person under normalised (x, y), or the nearest one: (index, how it was found)."""
    people = list(analysis.people or [])
    if not people:
        return None
    h, w = analysis.working.shape[:2]
    px, py = min(w - 1, int(x * w)), min(h - 1, int(y * h))
    # 1. the person mask under the click (a 3 px disk, as the paper's clicks)
    best, best_value = None, 0.0
    for person in people:
        mask = analysis.masks.get(f"person:{person['index']}")
        if mask is None:
            continue
        patch = mask[max(0, py - 3):py + 4, max(0, px - 3):px + 4]
        value = float(patch.max()) if patch.size else 0.0
        if value > best_value:
            best, best_value = person["index"], value
    if best is not None and best_value >= 0.5:
        return best, "on their mask"
    # 2. a face box under the click
    for person in people:
        box = _face_box_norm(person, analysis)
        if box and box[0] <= x <= box[2] and box[1] <= y <= box[3]:
            return person["index"], "on their face"
    # 3. the nearest person: distance to their face (else box) centre, in frame units
    aspect = w / h

    def distance(person):
        box = _face_box_norm(person, analysis) or person["box"]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return math.hypot((x - cx) * aspect, y - cy)

    nearest = min(people, key=distance)
    return nearest["index"], f"nearest to the click ({distance(nearest):.2f} of the frame height away)"


def select_people(analysis, clicks: Iterable[Mapping[str, Any]] | None,
                  notes: list[str] | None = None) -> tuple[list[int], list[int]]:
    """(chosen, avoided) person indices from clicks {x, y, positive}: x, y normalised (0..1) or pixels of the
    original photo. At most five clicks of each kind count; a person both chosen and avoided is chosen (the
    later click is taken as a correction only when it is positive). `notes` receives why each was picked."""
    chosen: list[int] = []
    avoided: list[int] = []
    notes = notes if notes is not None else []
    counts = {True: 0, False: 0}
    for i, click in enumerate(clicks or []):
        if not isinstance(click, Mapping):
            raise PlanError("a click must be an object {x, y, positive}", field=f"clicks[{i}]")
        positive = _positive(click)
        x, y = _point(click, analysis, f"clicks[{i}]")
        if counts[positive] >= MAX_CLICKS:
            notes.append(f"more than {MAX_CLICKS} {'positive' if positive else 'negative'} clicks: click at "
                         f"({x:.2f}, {y:.2f}) ignored")
            continue
        counts[positive] += 1
        found = person_at(analysis, x, y)
        if found is None:
            notes.append(f"click at ({x:.2f}, {y:.2f}): no people were found in this photo")
            continue
        index, how = found
        target = chosen if positive else avoided
        if index not in target:
            target.append(index)
        notes.append(f"{'positive' if positive else 'negative'} click at ({x:.2f}, {y:.2f}): person {index + 1} "
                     f"({how})")
    both = [i for i in avoided if i in chosen]
    for i in both:
        avoided.remove(i)
        notes.append(f"person {i + 1} was clicked both ways: chosen")
    return chosen, avoided


def radial_for(person: Mapping[str, Any], analysis, feather: float = EMPHASIS_FEATHER) -> dict:
    """A flipped radial gradient (normalised top/left/bottom/right) around a person's face and upper body,
    shrunk about their face until no other face of the group lies inside it (neighbours stay untouched)."""
    h, w = analysis.working.shape[:2]
    bx0, by0, bx1, by1 = (float(v) for v in person["box"])
    face = _face_box_norm(person, analysis)
    if face is None:
        left, right, top, bottom = bx0, bx1, by0, by1
    else:
        fx0, fy0, fx1, fy1 = face
        fw, fh = fx1 - fx0, fy1 - fy0
        fcx, fcy = (fx0 + fx1) / 2, (fy0 + fy1) / 2
        cx, cy = fcx, fy0 + 1.05 * fh  # face near the top of the ellipse, the upper body below
        ax, ay = 1.3 * fw, 1.75 * fh  # half axes, normalised
        others = [b for b in (_face_box_norm(p, analysis) for p in analysis.people
                              if p["index"] != person["index"]) if b is not None]
        grid = np.linspace(0.0, 1.0, 5)
        points = [(b[0] + (b[2] - b[0]) * u, b[1] + (b[3] - b[1]) * v) for b in others for u in grid for v in grid]
        for _ in range(30):
            inside = [math.hypot((x - cx) / ax, (y - cy) / ay) for x, y in points]
            if not inside or min(inside) >= 1.0 or ax < 0.55 * fw:
                break
            ax, ay = ax * 0.92, ay * 0.92
            cy = fcy + (cy - fcy) * 0.92
        left, right, top, bottom = cx - ax, cx + ax, cy - ay, cy + ay
    clip = lambda v: round(float(min(1.0, max(0.0, v))), 4)  # noqa: E731
    return {"top": clip(top), "left": clip(left), "bottom": clip(bottom), "right": clip(right), "angle": 0.0,
            "midpoint": 50.0, "roundness": 0.0, "feather": float(feather), "flipped": True}


def _face_l(analysis, index: int) -> float | None:
    """Median L* of a person's face box on the working image."""
    from ..vision.stats import lab_image
    person = next((p for p in analysis.people if p["index"] == index), None)
    if person is None or not person.get("face_box"):
        return None
    x0, y0, x1, y1 = (int(round(v)) for v in person["face_box"])
    crop = analysis.working[max(0, y0):max(y0 + 1, y1), max(0, x0):max(x0 + 1, x1)]
    if crop.size == 0:
        return None
    return float(np.median(lab_image(crop)[..., 0]))


def emphasis_values(analysis, index: int, base: Mapping[str, float] | None = None) -> tuple[dict, str]:
    """The emphasis edit for one chosen person, and why: more exposure when their face is darker than the
    others' (uneven light), less when it is already bright."""
    values = dict(base or EMPHASIS_BASE)
    own = _face_l(analysis, index)
    others = [v for v in (_face_l(analysis, p["index"]) for p in analysis.people if p["index"] != index)
              if v is not None]
    why = "lift and a little clarity"
    if own is not None and others:
        gap = float(np.median(others)) - own
        if gap > FACE_L_AIM_GAP:
            extra = min(EMPHASIS_MAX_EV - values["Exposure2012"], (gap - FACE_L_AIM_GAP) / 40.0)
            values["Exposure2012"] = round(values["Exposure2012"] + max(0.0, extra), 2)
            why = f"face L* {own:.0f} is darker than the others' ({float(np.median(others)):.0f}): more lift"
    if own is not None and own > 78:
        values["Exposure2012"] = 0.1
        why = f"face L* {own:.0f} is already bright: a small lift, mostly clarity"
    return values, why


def _people_edits(plan: RetouchPlan) -> list[RegionEdit]:
    """Our active edits meant for all the people at once (the subject mask)."""
    return [e for e in plan.regions if e.region == "subject" and e.origin == OURS and e.active and e.amount > 0]


def emphasise(plan: RetouchPlan, analysis, chosen: Iterable[int], avoided: Iterable[int] = (),
              notes: Iterable[str] = ()) -> RetouchPlan:
    """A copy of `plan` in which the chosen people get an emphasis edit (a feathered radial person edit) and
    the avoided people have their share of the edits meant for all the people cancelled by their own person
    edit. Notes say who was chosen and why."""
    out = plan.copy()
    known = {p["index"]: p for p in analysis.people or []}
    for text in notes:
        out.add_note(STAGE, text)
    chosen = [i for i in dict.fromkeys(chosen) if i in known]
    avoided = [i for i in dict.fromkeys(avoided) if i in known and i not in chosen]
    for index in chosen:
        values, why = emphasis_values(analysis, index)
        geometry = radial_for(known[index], analysis)
        out.regions = [e for e in out.regions if not (e.region == "person" and e.person == index and e.origin == OURS
                                                        and (e.name or "").startswith("AI Retouch: emphasis"))]
        out.regions.append(RegionEdit(region="person", person=index, values=values,
                                      masks=[Mask(kind="radial", geometry=geometry)],
                                      name=f"AI Retouch: emphasis, person {index + 1}"))
        out.add_note(STAGE, f"person {index + 1} chosen: {why} ("
                     + ", ".join(f"{k} {v:+g}" for k, v in values.items()) + ") through a feathered radial on them",
                     region="person")
    group = _people_edits(out)
    for index in avoided:
        cancel: dict[str, float] = {}
        for edit in group:
            for name, value in edit.values.items():
                if isinstance(value, (int, float)):
                    cancel[name] = cancel.get(name, 0.0) - float(value) * edit.amount
        cancel = {k: round(v, 3) for k, v in cancel.items() if abs(v) > 1e-6}
        if not cancel:
            out.add_note(STAGE, f"person {index + 1} left alone: no edit meant for all the people reaches them",
                         region="person")
            continue
        out.regions.append(RegionEdit(region="person", person=index, values=cancel,
                                      masks=[Mask(kind="radial", geometry=radial_for(known[index], analysis))],
                                      name=f"AI Retouch: hold back, person {index + 1}"))
        out.add_note(STAGE, f"person {index + 1} left alone: the people's edit is cancelled on them ("
                     + ", ".join(f"{k} {v:+g}" for k, v in cancel.items()) + ")", region="person")
    if not chosen and not avoided and not list(notes):
        return out.validate()
    out.provenance["clicks"] = {"chosen": chosen, "avoided": avoided}
    return out.validate()


def apply_clicks(plan: RetouchPlan, analysis, clicks) -> RetouchPlan:
    """select_people + emphasise, with the selection's notes."""
    notes: list[str] = []
    chosen, avoided = select_people(analysis, clicks, notes)
    return emphasise(plan, analysis, chosen, avoided, notes)
