"""`RetouchPlan`: the one vocabulary every stage speaks, in Lightroom's own slider units.

A plan holds global settings, per-region local edits (each with its mask components), heal spots, notes on
why each edit was made, and provenance. Values are validated once, when a plan is built (`RetouchPlan.build`
or `from_dict`): unknown names are errors, out-of-range values are clamped with a note.
"""
from __future__ import annotations

import copy
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from .errors import PlanError
from .params import (
    CURVE, ENUM, GLOBAL, GLOBAL_PARAMS, LOCAL, LOCAL_PARAMS, NUMBER, Param, canonical_name, is_default,
)
from .regions import AI, REGION_BY_KEY, region as lookup_region

SCHEMA_VERSION = 1
OURS = "airetouch"  # origin of the edits we generate; the XMP merge replaces only these
USER = "user"

MASK_KINDS = ("ai", "radial", "linear", "brush", "range", "other")
MASK_MODES = ("add", "subtract", "intersect")


def new_sync_id() -> str:
    """A Lightroom-style sync id: 32 upper-case hex digits."""
    return uuid.uuid4().hex.upper()


_SYNC_NAMESPACE = uuid.UUID("6f1c2a0e-3b7d-4c55-9a39-1f2e8d4b7a10")


def stable_sync_id(*parts: object) -> str:
    """A sync id that is the same whenever the same edit is generated (plans are deterministic)."""
    return uuid.uuid5(_SYNC_NAMESPACE, "\x1f".join(str(p) for p in parts)).hex.upper()


@dataclass
class Note:
    """Why something was done: `stage` is who did it (predictor, memory, instruction, validation...)."""

    stage: str
    text: str
    region: str | None = None
    param: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Mask:
    """One component of a local edit's mask.

    kind "ai" names a `region` of the vocabulary; "radial" geometry: top, left, bottom, right (normalised
    box), angle, midpoint, roundness, feather, flipped; "linear": zero_x, zero_y, full_x, full_y; "brush":
    radius, flow, center_weight, dabs [[x, y], ...]. `extra` keeps XMP attributes we do not model, verbatim.
    """

    kind: str = "ai"
    region: str | None = None
    mode: str = "add"
    inverted: bool = False
    value: float = 1.0
    geometry: dict[str, Any] = field(default_factory=dict)
    reference_point: tuple[float, float] | None = None
    name: str | None = None
    sync_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind}
        if self.region is not None:
            out["region"] = self.region
        if self.mode != "add":
            out["mode"] = self.mode
        if self.inverted:
            out["inverted"] = True
        if self.value != 1.0:
            out["value"] = self.value
        if self.geometry:
            out["geometry"] = copy.deepcopy(self.geometry)
        if self.reference_point is not None:
            out["reference_point"] = list(self.reference_point)
        for key in ("name", "sync_id"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.extra:
            out["extra"] = copy.deepcopy(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict, where: str = "mask") -> "Mask":
        _known(data, {"kind", "region", "mode", "inverted", "value", "geometry", "reference_point", "name",
                      "sync_id", "extra"}, where)
        kind = data.get("kind", "ai")
        if kind not in MASK_KINDS:
            raise PlanError(f"unknown mask kind {kind!r} (expected one of {', '.join(MASK_KINDS)})",
                            field=f"{where}.kind")
        mode = data.get("mode", "add")
        if mode not in MASK_MODES:
            raise PlanError(f"unknown mask mode {mode!r} (expected add, subtract or intersect)",
                            field=f"{where}.mode")
        region_key = data.get("region")
        if region_key is not None:
            try:
                region_key = lookup_region(region_key).key
            except KeyError:
                raise PlanError(f"unknown region {region_key!r}", field=f"{where}.region") from None
        if kind == "ai" and region_key is None and not data.get("extra"):
            raise PlanError("an AI mask needs a region", field=f"{where}.region")
        ref = data.get("reference_point")
        return cls(kind=kind, region=region_key, mode=mode, inverted=bool(data.get("inverted", False)),
                   value=_number(data.get("value", 1.0), f"{where}.value"),
                   geometry=dict(data.get("geometry") or {}),
                   reference_point=tuple(float(v) for v in ref) if ref is not None else None,
                   name=data.get("name"), sync_id=data.get("sync_id"), extra=dict(data.get("extra") or {}))


@dataclass
class RegionEdit:
    """A local correction: values (local sliders, UI units) applied through a mask, scaled by `amount`."""

    region: str
    values: dict[str, float] = field(default_factory=dict)
    amount: float = 1.0
    masks: list[Mask] = field(default_factory=list)
    name: str | None = None
    active: bool = True
    person: int | None = None  # which person instance, for region "person"
    sync_id: str | None = None
    origin: str = OURS
    confidence: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def mask_components(self) -> list[Mask]:
        """The mask as written: explicit components, or one component derived from the region."""
        if self.masks:
            return self.masks
        reg = REGION_BY_KEY[self.region]
        kind = "ai" if reg.kind == AI else ("radial" if reg.key == "person" else reg.key)
        return [Mask(kind=kind, region=self.region if reg.kind == AI else None)]

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"region": self.region, "values": dict(self.values)}
        if self.amount != 1.0:
            out["amount"] = self.amount
        if self.masks:
            out["masks"] = [m.to_dict() for m in self.masks]
        for key in ("name", "person", "sync_id", "confidence"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if not self.active:
            out["active"] = False
        if self.origin != OURS:
            out["origin"] = self.origin
        if self.extra:
            out["extra"] = copy.deepcopy(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict, where: str = "region") -> "RegionEdit":
        if not isinstance(data, dict):
            raise PlanError("a region edit must be an object", field=where)
        _known(data, {"region", "values", "amount", "masks", "name", "active", "person", "sync_id", "origin",
                      "confidence", "extra"}, where)
        masks = [Mask.from_dict(m, f"{where}.masks[{i}]") for i, m in enumerate(data.get("masks") or [])]
        key = data.get("region")
        if key is None and masks:
            key = masks[0].region or masks[0].kind
        if key is None:
            raise PlanError("a region edit needs a region", field=f"{where}.region")
        try:
            key = lookup_region(key).key
        except KeyError:
            raise PlanError(f"unknown region {key!r}", field=f"{where}.region") from None
        values = data.get("values") or {}
        if not isinstance(values, dict):
            raise PlanError("values must be an object of slider names to numbers", field=f"{where}.values")
        return cls(region=key, values=dict(values), amount=_number(data.get("amount", 1.0), f"{where}.amount"),
                   masks=masks, name=data.get("name"), active=bool(data.get("active", True)),
                   person=data.get("person"), sync_id=data.get("sync_id"), origin=data.get("origin", OURS),
                   confidence=data.get("confidence"), extra=dict(data.get("extra") or {}))


@dataclass
class Spot:
    """A heal (or clone) spot: destination ellipse centre and size, and the source centre; normalised 0..1."""

    x: float
    y: float
    size_x: float
    size_y: float | None = None
    source_x: float | None = None
    source_y: float | None = None
    kind: str = "heal"
    opacity: float = 1.0
    feather: float = 0.0
    origin: str = OURS
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if v is not None and k != "extra"}
        if self.origin == OURS:
            out.pop("origin")
        if self.extra:
            out["extra"] = copy.deepcopy(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict, where: str = "spot") -> "Spot":
        _known(data, set(cls.__dataclass_fields__), where)
        try:
            spot = cls(**{k: v for k, v in data.items()})
        except TypeError as exc:
            raise PlanError(f"a spot needs x, y and size_x ({exc})", field=where) from None
        if spot.kind not in ("heal", "clone"):
            raise PlanError(f"spot kind must be heal or clone, not {spot.kind!r}", field=f"{where}.kind")
        return spot


@dataclass
class RetouchPlan:
    """What to do to one photo. `global_` is keyed by the global parameter names of the table."""

    global_: dict[str, Any] = field(default_factory=dict)
    regions: list[RegionEdit] = field(default_factory=list)
    spots: list[Spot] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)  # crs settings we keep but do not model (round trip)

    # -- construction ------------------------------------------------------------------------------------
    @classmethod
    def build(cls, global_: dict | None = None, regions: list | None = None, spots: list | None = None,
              notes: list | None = None, provenance: dict | None = None, other: dict | None = None,
              ) -> "RetouchPlan":
        plan = cls(global_=dict(global_ or {}),
                   regions=[r if isinstance(r, RegionEdit) else RegionEdit.from_dict(r, f"regions[{i}]")
                            for i, r in enumerate(regions or [])],
                   spots=[s if isinstance(s, Spot) else Spot.from_dict(s, f"spots[{i}]")
                          for i, s in enumerate(spots or [])],
                   notes=[n if isinstance(n, Note) else Note(**n) for n in (notes or [])],
                   provenance=dict(provenance or {}), other=dict(other or {}))
        return plan.validate()

    def validate(self) -> "RetouchPlan":
        """Canonicalise names, check types, clamp out-of-range values with a note. Returns self."""
        self.global_ = self._checked_values(self.global_, GLOBAL, "global")
        if ("Temperature" in self.global_ or "Tint" in self.global_) and (
                "IncrementalTemperature" in self.global_ or "IncrementalTint" in self.global_):
            raise PlanError("white balance is either Temperature/Tint (raw files) or IncrementalTemperature/"
                            "IncrementalTint (rendered files), never both", field="global")
        for i, edit in enumerate(self.regions):
            where = f"regions[{i}]"
            if edit.region not in REGION_BY_KEY:
                raise PlanError(f"unknown region {edit.region!r}", field=f"{where}.region")
            edit.values = self._checked_values(edit.values, LOCAL, f"{where}.values", edit.region)
            if not 0.0 <= edit.amount <= 2.0 or math.isnan(edit.amount):
                clamped = 0.0 if math.isnan(edit.amount) else min(2.0, max(0.0, edit.amount))
                self.notes.append(Note("validation", f"{edit.region} amount {edit.amount} clamped to {clamped}",
                                       region=edit.region))
                edit.amount = clamped
            if edit.region == "person" and edit.person is None and not edit.masks:
                raise PlanError("a person edit needs the person's index or a mask", field=f"{where}.person")
        for i, spot in enumerate(self.spots):
            for key in ("x", "y", "size_x"):
                value = _number(getattr(spot, key), f"spots[{i}].{key}")
                if not 0.0 <= value <= 1.0:
                    raise PlanError(f"spot {key} must be normalised to 0..1, got {value}", field=f"spots[{i}].{key}")
        return self

    def _checked_values(self, values: dict, scope: str, where: str, region: str | None = None) -> dict:
        table = GLOBAL_PARAMS if scope == GLOBAL else LOCAL_PARAMS
        out: dict[str, Any] = {}
        for name, value in values.items():
            canon = _canon(name, scope, where)
            if canon in out:
                raise PlanError(f"{name} is given twice (as {canon})", field=f"{where}.{name}")
            out[canon] = self._checked(table[canon], value, where, region)
        return out

    def _checked(self, p: Param, value: Any, where: str, region: str | None = None) -> Any:
        if p.kind == ENUM:
            if value not in p.choices:
                raise PlanError(f"{p.name} must be one of {', '.join(p.choices)}, not {value!r}",
                                field=f"{where}.{p.name}")
            return value
        if p.kind == CURVE:
            return _curve(value, f"{where}.{p.name}")
        number = _number(value, f"{where}.{p.name}")
        clamped = p.clamp(number)
        if clamped != number:
            scope = f"{region} " if region else ""
            self.notes.append(Note("validation", f"{scope}{p.name} {number:g} is outside {p.lo:g}..{p.hi:g}; "
                                                 f"clamped to {clamped:g}", region=region, param=p.name))
        # Local values stay fractional: Lightroom stores them scaled (adaptive presets hold e.g. 0.081591).
        return round(clamped) if p.integer and p.scope == GLOBAL and p.unit != "EV" else clamped

    # -- queries and edits ---------------------------------------------------------------------------------
    def region_edits(self, key: str) -> list[RegionEdit]:
        return [r for r in self.regions if r.region == key]

    def changed_globals(self) -> dict[str, Any]:
        """Global settings that differ from Lightroom's defaults."""
        return {k: v for k, v in self.global_.items() if not is_default(GLOBAL_PARAMS[k], v)}

    def add_note(self, stage: str, text: str, region: str | None = None, param: str | None = None) -> None:
        self.notes.append(Note(stage, text, region, param))

    def scaled(self, strength: float) -> "RetouchPlan":
        """A copy whose numeric edits move `strength` times as far from Lightroom's defaults (0 = no edit)."""
        out = self.copy()
        for name, value in list(out.global_.items()):
            p = GLOBAL_PARAMS[name]
            if p.kind == NUMBER and p.default is not None:
                out.global_[name] = p.default + (value - p.default) * strength
        for edit in out.regions:
            edit.amount = edit.amount * strength
        out.provenance["strength"] = strength
        return out.validate()

    def copy(self) -> "RetouchPlan":
        return copy.deepcopy(self)

    # -- JSON ----------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "global": _jsonable(self.global_),
                               "regions": [r.to_dict() for r in self.regions]}
        if self.spots:
            out["spots"] = [s.to_dict() for s in self.spots]
        out["notes"] = [n.to_dict() for n in self.notes]
        out["provenance"] = copy.deepcopy(self.provenance)
        if self.other:
            out["other"] = copy.deepcopy(self.other)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> "RetouchPlan":
        if not isinstance(data, dict):
            raise PlanError("a plan must be a JSON object")
        version = data.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION or version < 1:
            raise PlanError(f"plan schema version {version!r} is not supported (this version reads 1.."
                            f"{SCHEMA_VERSION})", field="schema_version")
        _known(data, {"schema_version", "global", "regions", "spots", "notes", "provenance", "other"}, "plan")
        glob = data.get("global") or {}
        if not isinstance(glob, dict):
            raise PlanError("global must be an object", field="global")
        regions = data.get("regions") or []
        if not isinstance(regions, list):
            raise PlanError("regions must be a list", field="regions")
        notes = []
        for i, n in enumerate(data.get("notes") or []):
            if not isinstance(n, dict) or "text" not in n:
                raise PlanError("a note needs a text", field=f"notes[{i}]")
            notes.append(Note(stage=n.get("stage", "note"), text=str(n["text"]), region=n.get("region"),
                              param=n.get("param")))
        return cls.build(glob, regions, data.get("spots") or [], notes, data.get("provenance") or {},
                         data.get("other") or {})

    def summary(self) -> str:
        """A short readable description for people (CLI output, dialogs)."""
        lines = []
        changed = self.changed_globals()
        if changed:
            lines.append("global: " + ", ".join(f"{k} {_fmt(GLOBAL_PARAMS[k], v)}" for k, v in changed.items()))
        for edit in self.regions:
            vals = ", ".join(f"{k} {_fmt(LOCAL_PARAMS[k], v)}" for k, v in edit.values.items()
                             if not is_default(LOCAL_PARAMS[k], v))
            who = f"{edit.region}#{edit.person}" if edit.person is not None else edit.region
            amount = f" x{edit.amount:.2f}" if edit.amount != 1.0 else ""
            label = f" \"{edit.name}\"" if edit.name else ""
            lines.append(f"{who}{label}{amount}: {vals or 'no change'}")
        if self.spots:
            lines.append(f"{len(self.spots)} heal spot(s)")
        if not lines:
            lines.append("no changes")
        return "\n".join(lines)



def _fmt(p: Param, value: Any) -> str:
    if p.kind == CURVE:
        return f"{len(value)} points"
    if p.kind == ENUM:
        return str(value)
    if p.unit == "EV":
        return f"{value:+.2f} EV"
    return f"{value:+g}" if p.is_signed else f"{value:g}"


def _canon(name: str, scope: str, where: str) -> str:
    try:
        return canonical_name(name, scope)
    except KeyError:
        raise PlanError(f"unknown {scope} parameter {name!r}", field=f"{where}.{name}") from None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise PlanError(f"expected a number, got {value!r}", field=where) from None
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise PlanError(f"expected a finite number, got {value}", field=where)
    return value


def _curve(value: Any, where: str) -> list[tuple[int, int]]:
    if isinstance(value, (list, tuple)) and value and not isinstance(value[0], (list, tuple)):
        if len(value) % 2:  # flat SDK form {x1, y1, x2, y2, ...}
            raise PlanError("a flat tone curve needs an even number of values", field=where)
        value = list(zip(value[0::2], value[1::2]))
    try:
        points = [(int(round(float(x))), int(round(float(y)))) for x, y in value]
    except (TypeError, ValueError):
        raise PlanError("a tone curve is a list of [x, y] points in 0..255", field=where) from None
    if len(points) < 2 or any(not (0 <= c <= 255) for pt in points for c in pt):
        raise PlanError("a tone curve needs at least two points with x and y in 0..255", field=where)
    points.sort()
    return points


def _jsonable(values: dict) -> dict:
    return {k: [list(p) for p in v] if isinstance(v, list) else v for k, v in values.items()}


def _known(data: dict, allowed: set, where: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise PlanError(f"unknown field(s) {', '.join(sorted(unknown))} in {where}", field=where)
