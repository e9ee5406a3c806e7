"""The four attribute sliders (brightness, contrast, colourfulness, temperature) and how they move a plan.

PerTouch and DiffRetouch steer a retouch with four attributes in [-1, 1]. We keep Lightroom's sliders as the
plan's vocabulary, so each attribute is a small set of *levers*: Lightroom sliders that move together, with
per-unit step sizes chosen so that ±1 is a strong but sane edit (see `LEVERS`, the one table). ±1 is the
end of the range; the intensity words of instructions use 0.05 to 0.6 of it.

| attribute     | global levers (per unit)                      | local levers (per unit)             | statistic |
|---------------|-----------------------------------------------|-------------------------------------|-----------|
| brightness    | Exposure2012 1.2 EV, Shadows2012 25, Whites2012 10 | Exposure2012 1.2 EV, Shadows2012 20 | luminance |
| contrast      | Contrast2012 60, Clarity2012 20               | Contrast2012 60, Clarity2012 20     | contrast  |
| colourfulness | Vibrance 60, Saturation 20                    | Saturation 50                       | chroma    |
| temperature   | rendered: IncrementalTemperature 40;          | Temperature 40                      | b*        |
|               | raw: Temperature 40 mired toward warm, moved  |                                     |           |
|               | from the plan's or the as-shot kelvin         |                                     |           |

(`describe_levers()` prints this from `LEVERS`, so the table above can be checked against the code.)

How a global change reaches the regions: PerTouch's map lets a region *override* the global attribute, so
a global delta must be copied into every region that sets the same attribute. Lightroom's local sliders are
*offsets added to* the global settings, so a global change already moves every region by the same amount,
overriding regions included; copying the delta into their local values would apply it twice. We therefore
pass it on by composition (tested: a region's effective value, global + local x amount, moves by exactly the
delta) and never by writing it again. The opposite is needed where a region must *not* change ("don't touch
the sky"): `PlanEditor.hold` adds a compensating local offset (approximate; see `HOLD_EQUIVALENTS`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..core.params import GLOBAL, GLOBAL_PARAMS, LOCAL, LOCAL_PARAMS, NUMBER, Param, canonical_name
from ..core.plan import OURS, RegionEdit, RetouchPlan
from ..core.regions import AI, HUMAN_REGIONS, REGION_BY_KEY, region as lookup_region

BRIGHTNESS = "brightness"
CONTRAST = "contrast"
COLOURFULNESS = "colourfulness"
TEMPERATURE = "temperature"
ATTRIBUTES = (BRIGHTNESS, CONTRAST, COLOURFULNESS, TEMPERATURE)
ATTRIBUTE_ALIASES = {"colorfulness": COLOURFULNESS, "colourfulness": COLOURFULNESS, "colour": COLOURFULNESS,
                     "color": COLOURFULNESS, "warmth": TEMPERATURE, "temp": TEMPERATURE}

# The statistic each attribute is meant to move, for the render-measure-correct loop. Measured per region on
# the rendered image in CIELAB: luminance = mean L*, contrast = spread of L* (p95 - p5), chroma = mean C*ab,
# b* = mean b* (yellow-blue axis; warmer = higher).
ATTRIBUTE_STATISTIC = {BRIGHTNESS: "luminance", CONTRAST: "contrast", COLOURFULNESS: "chroma",
                       TEMPERATURE: "b*"}

ANY, RAW, RENDERED = "any", "raw", "rendered"
MIRED_FLOOR = 1e6 / 50000.0  # the warm end of Lightroom's raw Temperature range, in mired


@dataclass(frozen=True)
class Lever:
    """One Lightroom slider moved by an attribute: `per_unit` slider units per attribute unit.

    `files` limits the lever to raw or rendered files (white balance differs). `mired`: the slider is raw
    Temperature in kelvin and `per_unit` is a shift in mired toward warm (kelvin steps are not uniform).
    """

    attribute: str
    param: str
    scope: str
    per_unit: float
    files: str = ANY
    mired: bool = False


LEVERS: tuple[Lever, ...] = (
    Lever(BRIGHTNESS, "Exposure2012", GLOBAL, 1.2),
    Lever(BRIGHTNESS, "Shadows2012", GLOBAL, 25.0),
    Lever(BRIGHTNESS, "Whites2012", GLOBAL, 10.0),
    Lever(BRIGHTNESS, "Exposure2012", LOCAL, 1.2),
    Lever(BRIGHTNESS, "Shadows2012", LOCAL, 20.0),
    Lever(CONTRAST, "Contrast2012", GLOBAL, 60.0),
    Lever(CONTRAST, "Clarity2012", GLOBAL, 20.0),
    Lever(CONTRAST, "Contrast2012", LOCAL, 60.0),
    Lever(CONTRAST, "Clarity2012", LOCAL, 20.0),
    Lever(COLOURFULNESS, "Vibrance", GLOBAL, 60.0),
    Lever(COLOURFULNESS, "Saturation", GLOBAL, 20.0),
    Lever(COLOURFULNESS, "Saturation", LOCAL, 50.0),
    Lever(TEMPERATURE, "IncrementalTemperature", GLOBAL, 40.0, files=RENDERED),
    Lever(TEMPERATURE, "Temperature", GLOBAL, 40.0, files=RAW, mired=True),
    Lever(TEMPERATURE, "Temperature", LOCAL, 40.0),
)

# Global slider -> (local slider, factor) used to hold a protected region where a global slider moved.
# Sliders with the same name in both scopes hold one to one; these are the approximate cross-name pairs.
# Raw Temperature (kelvin) is held by a local Temperature offset equal to the mired shift.
HOLD_EQUIVALENTS = {"Vibrance": ("Saturation", 0.5), "IncrementalTemperature": ("Temperature", 1.0),
                    "IncrementalTint": ("Tint", 1.0), "Tint": ("Tint", 1.0)}
NOT_HELD = frozenset({"Temperature"})  # handled by the mired rule, never by name


def _check_table() -> None:
    for lever in LEVERS:
        table = GLOBAL_PARAMS if lever.scope == GLOBAL else LOCAL_PARAMS
        if lever.param not in table or table[lever.param].kind != NUMBER:
            raise RuntimeError(f"attribute lever {lever} names no numeric {lever.scope} parameter")
    for name, (local, _) in HOLD_EQUIVALENTS.items():
        if name not in GLOBAL_PARAMS or local not in LOCAL_PARAMS:
            raise RuntimeError(f"hold equivalent {name} -> {local} is not in the parameter table")


_check_table()


def attribute_name(name: str) -> str:
    """Canonical attribute name ('colorfulness' -> 'colourfulness'); KeyError when it is not one."""
    key = name.strip().lower()
    key = ATTRIBUTE_ALIASES.get(key, key)
    if key not in ATTRIBUTES:
        raise KeyError(name)
    return key


def levers(attribute: str, scope: str, *, is_raw: bool) -> list[Lever]:
    """The sliders an attribute moves in a scope (GLOBAL or LOCAL) for a raw or a rendered file."""
    attribute = attribute_name(attribute)
    want = RAW if is_raw else RENDERED
    return [lv for lv in LEVERS if lv.attribute == attribute and lv.scope == scope and lv.files in (ANY, want)]


def clamp_attribute(value: float) -> tuple[float, bool]:
    """An attribute value limited to [-1, 1], and whether it had to be limited."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"an attribute value must be a number, not {value!r}")
    clamped = max(-1.0, min(1.0, float(value)))
    return clamped, clamped != value


# Sliders no attribute moves that still change a statistic the rethink loop can measure.
OTHER_STATISTIC = {"Highlights2012": "luminance", "Blacks2012": "luminance", "Texture": "contrast",
                   "Dehaze": "contrast", "Tint": "a*", "IncrementalTint": "a*"}


def primary_levers() -> dict[str, str]:
    """Slider -> attribute for each attribute's first lever per scope and file kind (Exposure2012 ->
    brightness, Contrast2012 -> contrast, Vibrance and Saturation -> colourfulness, the temperatures ->
    temperature). Two requests on the same primary slider in opposite directions contradict each other."""
    out: dict[str, str] = {}
    seen: set[tuple[str, str, str]] = set()
    for lv in LEVERS:
        if (lv.attribute, lv.scope, lv.files) not in seen:
            seen.add((lv.attribute, lv.scope, lv.files))
            out.setdefault(lv.param, lv.attribute)
    return out


PRIMARY = primary_levers()


def family(name: str) -> str:
    """What a requested change is about: an attribute name, the attribute a primary slider stands for, or
    the slider itself ('Exposure2012' -> 'brightness', 'Shadows2012' -> 'Shadows2012')."""
    try:
        return attribute_name(name)
    except KeyError:
        return PRIMARY.get(name, name)


def statistic(name: str) -> str | None:
    """The region statistic an attribute or slider moves (luminance, contrast, chroma, b*, a*), or None."""
    try:
        return ATTRIBUTE_STATISTIC[attribute_name(name)]
    except KeyError:
        pass
    for lv in LEVERS:
        if lv.param == name:
            return ATTRIBUTE_STATISTIC[lv.attribute]
    return OTHER_STATISTIC.get(name)


def slider_unit(name: str, scope: str) -> float:
    """How far one attribute unit moves a single slider when a request names the slider itself: the
    brightness lever's EV per unit for exposure, half the range of a signed slider, the range otherwise.
    So 'a little more clarity' (0.1) is Clarity +10 and 'slightly more exposure' is +0.12 EV."""
    p = (GLOBAL_PARAMS if scope == GLOBAL else LOCAL_PARAMS)[name]
    if p.unit == "EV":
        return next(lv.per_unit for lv in LEVERS if lv.param == name and lv.scope == scope)
    return (p.hi - p.lo) / 2.0 if p.lo < 0 else float(p.hi - p.lo)


def describe_levers() -> str:
    lines = []
    for attribute in ATTRIBUTES:
        parts = []
        for lv in LEVERS:
            if lv.attribute == attribute:
                table = GLOBAL_PARAMS if lv.scope == GLOBAL else LOCAL_PARAMS
                unit = "mired toward warm" if lv.mired else table[lv.param].unit
                files = "" if lv.files == ANY else f" ({lv.files})"
                parts.append(f"{lv.scope} {lv.param} {lv.per_unit:g} {unit}{files}")
        lines.append(f"{attribute} [{ATTRIBUTE_STATISTIC[attribute]}]: " + "; ".join(parts))
    return "\n".join(lines)


# -- editing a plan ------------------------------------------------------------------------------------------

@dataclass
class Change:
    """One slider moved: where, which, from what to what (UI units). `held` marks a compensating change."""

    target: str  # "global" or a region key
    param: str
    before: float | None
    after: float
    person: int | None = None
    held: bool = False
    mired: float | None = None  # raw Temperature: the shift in mired that was applied

    @property
    def delta(self) -> float:
        return self.after - (self.before or 0.0)


@dataclass
class PlanEditor:
    """Adds attribute and slider changes to a copy of a plan, with a note for everything it could not do.

    White balance follows the file type: rendered files get IncrementalTemperature/IncrementalTint, raw files
    an absolute Temperature/Tint moved from the plan's value or, failing that, from `as_shot`. When the plan
    already holds one kind, that kind wins (the plan knows its file), with a note if `is_raw` disagrees.
    """

    plan: RetouchPlan
    is_raw: bool
    as_shot: Mapping[str, float] | None = None
    stage: str = "attributes"
    changes: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.plan = self.plan.copy()
        g = self.plan.global_
        has_abs = "Temperature" in g or "Tint" in g
        has_inc = "IncrementalTemperature" in g or "IncrementalTint" in g
        if has_abs and not self.is_raw:
            self.plan.add_note(self.stage, "the plan holds absolute white balance, so it is treated as a raw file")
            self.is_raw = True
        elif has_inc and self.is_raw:
            self.plan.add_note(self.stage, "the plan holds incremental white balance, so it is treated as a "
                                           "rendered file")
            self.is_raw = False

    # -- attributes --------------------------------------------------------------------------------------
    def add_attribute(self, target: str, attribute: str, value: float, *, person: int | None = None) -> list[Change]:
        """Move `attribute` by `value` (attribute units, clamped to [-1, 1] with a note) on a target."""
        attribute = attribute_name(attribute)
        value, clamped = clamp_attribute(value)
        where = _where(target, person)
        if clamped:
            self._note(f"{where}: {attribute} limited to {value:+g} (attributes range from -1 to 1)", target)
        scope = GLOBAL if target == "global" else LOCAL
        out = []
        for lv in levers(attribute, scope, is_raw=self.is_raw):
            if lv.mired:
                change = self._shift_raw_temperature(lv.per_unit * value)
            else:
                change = self.add_param(target, lv.param, lv.per_unit * value, person=person, quiet=True)
            if change is not None:
                out.append(change)
        return out

    # -- sliders -----------------------------------------------------------------------------------------
    def add_param(self, target: str, name: str, delta: float, *, person: int | None = None, op: str = "add",
                  quiet: bool = False) -> Change | None:
        """Add `delta` to (op "add") or set (op "set") one slider, in its UI units; None when impossible."""
        scope = GLOBAL if target == "global" else LOCAL
        if target == "global":
            name = self._global_wb_name(name)
            if name is None:
                return None
            if name == "Temperature":
                if op == "set":
                    return self._set_global("Temperature", delta)
                return self._shift_raw_kelvin(delta)
        try:
            p = (GLOBAL_PARAMS if scope == GLOBAL else LOCAL_PARAMS)[canonical_name(name, scope)]
        except KeyError:
            self._problem(f"{_where(target, person)}: Lightroom has no {scope} slider {name!r}", target)
            return None
        if p.kind != NUMBER:
            self._problem(f"{p.name} is not a numeric slider", target)
            return None
        if scope == GLOBAL:
            return self._set_global(p.name, delta if op == "set" else None, delta if op == "add" else None)
        return self._local(target, person, p, delta, op)

    def _global_wb_name(self, name: str) -> str | None:
        """Map a typed white-balance slider to the one this file uses; other names pass through."""
        try:
            canon = canonical_name(name, GLOBAL)
        except KeyError:
            return name
        if self.is_raw and canon in ("IncrementalTemperature", "IncrementalTint"):
            return "Temperature" if canon == "IncrementalTemperature" else "Tint"
        if not self.is_raw and canon in ("Temperature", "Tint"):
            return "IncrementalTemperature" if canon == "Temperature" else "IncrementalTint"
        return canon

    def _set_global(self, name: str, value: float | None = None, delta: float | None = None) -> Change | None:
        p = GLOBAL_PARAMS[name]
        before = self.plan.global_.get(name)
        base = before if before is not None else (self.as_shot or {}).get(name, p.default)
        if value is None:
            if base is None:
                self._problem(f"the as-shot {p.label.lower()} of this raw file is unknown, so it was not changed",
                              "global", name)
                return None
            value = float(base) + float(delta)
        after = self._clamped(p, value, "global")
        if p.integer and p.unit != "EV":
            after = float(round(after))
        self.plan.global_[name] = after
        if name in ("Temperature", "Tint"):
            self.plan.global_["WhiteBalance"] = "Custom"
        change = Change("global", name, None if before is None else float(before), after)
        if change.before is None and base is not None:
            change.before = float(base)
        self.changes.append(change)
        return change

    def _shift_raw_kelvin(self, delta_k: float) -> Change | None:
        before = self.plan.global_.get("Temperature", (self.as_shot or {}).get("Temperature"))
        change = self._set_global("Temperature", delta=delta_k)
        if change is not None and before:
            change.mired = 1e6 / float(before) - 1e6 / change.after
        return change

    def _shift_raw_temperature(self, mired_toward_warm: float) -> Change | None:
        kelvin = self.plan.global_.get("Temperature", (self.as_shot or {}).get("Temperature"))
        if kelvin is None:
            self._problem("the as-shot white balance of this raw file is unknown, so the global temperature was "
                          "not changed", "global", "Temperature")
            return None
        mired = max(MIRED_FLOOR, 1e6 / float(kelvin) - mired_toward_warm)
        change = self._set_global("Temperature", 1e6 / mired)
        if change is not None:
            change.mired = 1e6 / float(kelvin) - 1e6 / change.after
        return change

    def _local(self, target: str, person: int | None, p: Param, delta: float, op: str,
               held: bool = False) -> Change | None:
        try:
            key = lookup_region(target).key
        except KeyError:
            self._problem(f"unknown region {target!r}", target)
            return None
        if key == "person" and person is None:
            self._problem("a person edit needs the person's index", target)
            return None
        edit = self._region_edit(key, person)
        before = float(edit.values.get(p.name, p.default or 0.0))
        if op == "set":
            wanted = float(delta)
        else:
            wanted = before + float(delta) / edit.amount
        after = self._clamped(p, wanted, _where(key, person))
        if p.integer and p.unit != "EV":
            after = float(round(after))
        edit.values[p.name] = after
        change = Change(key, p.name, before * edit.amount, after * edit.amount, person=person, held=held)
        self.changes.append(change)
        return change

    def _region_edit(self, key: str, person: int | None) -> RegionEdit:
        """Our own edit for this region (and person), made if missing; edits the user made are left alone."""
        for edit in self.plan.regions:
            if (edit.region == key and edit.person == person and edit.origin == OURS and edit.active
                    and edit.amount >= 0.05 and not edit.masks):
                return edit
        edit = RegionEdit(region=key, person=person, name=f"AI Retouch: {REGION_BY_KEY[key].label}")
        self.plan.regions.append(edit)
        return edit

    def _clamped(self, p: Param, value: float, where: str) -> float:
        clamped = p.clamp(value)
        if clamped != value:
            self._note(f"{where}: {p.name} {value:.4g} is outside {p.lo:g}..{p.hi:g}; limited to {clamped:g}",
                       None if where == "global" else where.split("#")[0], p.name)
        return clamped

    # -- protection ----------------------------------------------------------------------------------------
    def hold(self, regions: list[tuple[str, int | None]], since: int = 0, *,
             only: frozenset[str] | set[str] | None = None) -> list[Change]:
        """Offset, inside protected regions, the changes made since `changes[since]` that reach them, so they
        stay put: global changes, and local changes on a region whose mask covers a protected one (the
        background covers the sky, the subject its faces). `only` limits the hold to these sliders (a
        protection against one attribute, e.g. "without brightening the sky").

        A protected subject already covers its parts (face, hair...), so those are not held a second time.
        """
        keys = {k for k, _ in regions}
        recent = [c for c in self.changes[since:] if not c.held and c.delta]
        out: list[Change] = []
        for key, person in regions:
            if key in HUMAN_REGIONS and key != "subject" and "subject" in keys:
                continue
            for c in recent:
                if only is not None and c.param not in only:
                    continue
                if c.target == "global":
                    local, factor = self._hold_equivalent(c)
                elif contains(c.target, key) or (key == "person" and person is not None and c.target == "subject"):
                    local, factor = c.param, 1.0  # (the subject's mask covers each of the people)
                else:
                    continue
                if local is None:
                    self._note(f"{_where(key, person)} cannot be held for {c.param}: Lightroom has no local "
                               f"equivalent, so the global change still shows there", key, c.param)
                    continue
                amount = -(c.mired if c.param == "Temperature" and c.target == "global" else c.delta) * factor
                change = self._local(key, person, LOCAL_PARAMS[local], amount, "add", held=True)
                if change is not None:
                    out.append(change)
        return out

    @staticmethod
    def _hold_equivalent(c: Change) -> tuple[str | None, float]:
        if c.param == "Temperature":
            return ("Temperature", 1.0) if c.mired is not None else (None, 0.0)
        if c.param in HOLD_EQUIVALENTS:
            return HOLD_EQUIVALENTS[c.param]
        if c.param in LOCAL_PARAMS and c.param not in NOT_HELD and c.param != "Sharpness":
            return c.param, 1.0
        return None, 0.0

    # -- notes ---------------------------------------------------------------------------------------------
    def _note(self, text: str, region: str | None = None, param: str | None = None) -> None:
        self.plan.add_note(self.stage, text, None if region in (None, "global") else region, param)

    def _problem(self, text: str, region: str | None = None, param: str | None = None) -> None:
        self.problems.append(text)
        self._note(text, region, param)

    def result(self) -> RetouchPlan:
        return self.plan.validate()


def contains(outer: str, inner: str) -> bool:
    """Whether Lightroom's mask for region `outer` covers region `inner`, so that a local edit on `outer`
    reaches `inner` too: the subject covers the people's parts; the background (everything but the
    subject) covers the sky and the landscape regions."""
    if outer == inner or inner not in REGION_BY_KEY:
        return False
    if outer == "subject":
        return inner in HUMAN_REGIONS and inner not in ("subject", "person")
    if outer == "background":
        reg = REGION_BY_KEY[inner]
        return reg.kind == AI and not reg.human and inner != "background"
    return False


def _where(target: str, person: int | None) -> str:
    return f"{target}#{person}" if person is not None else target


def parse_target(key: str) -> tuple[str, int | None]:
    """'global', a region key or alias, or 'person#2' / 'person:2' -> (region key or 'global', person)."""
    text = key.strip().lower()
    if text in ("global", "image", "all"):
        return "global", None
    for sep in ("#", ":"):
        if sep in text:
            head, _, tail = text.partition(sep)
            if not tail.strip().isdigit():
                raise KeyError(key)
            return lookup_region(head).key, int(tail)
    return lookup_region(text).key, None


def apply_attributes(plan: RetouchPlan, attributes: Mapping[str, Mapping[str, float]], *, is_raw: bool,
                     as_shot: Mapping[str, float] | None = None, stage: str = "attributes") -> RetouchPlan:
    """A copy of `plan` with attribute deltas added: {"global": {"brightness": 0.3}, "sky": {...}}.

    Keys are "global", region keys (aliases accepted) or "person#N". Values are attribute units in [-1, 1];
    larger ones are clamped with a note. Every slider that moved gets a note naming the attribute.
    """
    editor = PlanEditor(plan, is_raw=is_raw, as_shot=as_shot, stage=stage)
    for key, values in attributes.items():
        try:
            target, person = parse_target(key)
        except KeyError:
            editor._problem(f"unknown region {key!r}; its attributes were not applied")
            continue
        if not isinstance(values, Mapping):
            editor._problem(f"{key}: attributes must be given as {{name: value}}, not {values!r}", target)
            continue
        for name, value in values.items():
            try:
                attribute = attribute_name(name)
            except KeyError:
                editor._problem(f"unknown attribute {name!r} (expected one of {', '.join(ATTRIBUTES)})", target)
                continue
            try:
                changes = editor.add_attribute(target, attribute, value, person=person)
            except ValueError as exc:
                editor._problem(f"{_where(target, person)}: {exc}", target)
                continue
            if changes:
                editor._note(f"{_where(target, person)}: {attribute} {max(-1.0, min(1.0, value)):+.2f} -> "
                             + ", ".join(describe_change(c) for c in changes), target)
    return editor.result()


def describe_change(c: Change) -> str:
    p = GLOBAL_PARAMS[c.param] if c.target == "global" else LOCAL_PARAMS[c.param]
    if p.unit == "EV":
        return f"{c.param} {c.delta:+.2f} EV"
    if p.unit == "K":
        return f"{c.param} {c.before or 0:.0f} K -> {c.after:.0f} K"
    return f"{c.param} {c.delta:+.0f}"


def effective_value(plan: RetouchPlan, key: str, param: str, person: int | None = None) -> float:
    """What a slider amounts to inside a region in Lightroom: global value plus local offsets x amount.

    Global and local sliders share a name where they are the same control (Exposure2012, Contrast2012, ...).
    """
    total = 0.0
    if param in GLOBAL_PARAMS and GLOBAL_PARAMS[param].kind == NUMBER:
        value: Any = plan.global_.get(param, GLOBAL_PARAMS[param].default)
        total += float(value or 0.0)
    for edit in plan.regions:
        if edit.region == key and edit.person == person and edit.active:
            total += float(edit.values.get(param, 0.0)) * edit.amount
    return total
