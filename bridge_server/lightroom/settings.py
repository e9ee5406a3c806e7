"""Plan <-> Lightroom develop settings, for both forms Lightroom uses.

One walker writes a plan as a settings dict whose leaves are either XMP text (crs properties, `XMP`) or the
typed values of `photo:applyDevelopSettings` (`SDK`); one reader turns either form back into a plan. Names,
units and stored scales all come from the parameter table (core.params) and the region vocabulary.

`complete_plan` fills in everything a writer needs (sync ids, names, mask definitions, Lightroom's own
defaults) and rounds values to what Lightroom stores, so `read(write(complete_plan(p))) == complete_plan(p)`.
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.errors import PlanError
from ..core.params import (
    CURVE, ENUM, GLOBAL, GLOBAL_BY_XMP, GLOBAL_PARAMS, LOCAL_BY_XMP, LOCAL_PARAMS, Param, is_default,
    is_linear_curve,
)
from ..core.plan import OURS, USER, Mask, Note, RegionEdit, RetouchPlan, Spot, new_sync_id, stable_sync_id
from ..core.regions import GEOMETRY_BY_WHAT, REGION_BY_KEY, region_for_codes
from .rdf import X_DEFAULT, fmt_real, scalar_text, typed

OUR_PREFIX = "AI Retouch · "
DEFAULT_VERSION = "17.5"
DEFAULT_PROCESS_VERSION = "15.4"
CORRECTIONS = "MaskGroupBasedCorrections"
LEGACY_CORRECTIONS = ("GradientBasedCorrections", "CircularGradientBasedCorrections", "PaintBasedCorrections")
RETOUCH_AREAS = "RetouchAreas"
RETOUCH_INFO = "RetouchInfo"
MASKS = "CorrectionMasks"
AI_WHAT = REGION_BY_KEY["subject"].what
ELLIPSE_WHAT = "Mask/Ellipse"
# Settings about the file rather than the look: kept in provenance["crs"].
META_KEYS = ("Version", "ProcessVersion", "CompatibleVersion", "AlreadyApplied", "HasSettings")
# Preset header fields (a develop preset's identity and capabilities), kept in PresetInfo.
PRESET_FLAGS = ("SupportsAmount2", "SupportsAmount", "SupportsColor", "SupportsMonochrome",
                "SupportsHighDynamicRange", "SupportsNormalDynamicRange", "SupportsSceneReferred",
                "SupportsOutputReferred", "RequiresRGBTables", "ShowInPresets", "ShowInQuickActions")
PRESET_TEXT = ("PresetType", "Cluster", "UUID", "CameraModelRestriction", "Copyright", "ContactInfo")
PRESET_ALTS = ("Name", "ShortName", "SortName", "Group", "Description")
PRESET_KEYS = PRESET_TEXT[:3] + PRESET_FLAGS + PRESET_TEXT[3:] + PRESET_ALTS
# applyDevelopSettings switches that say "this panel is on"; XMP has no such property.
SDK_ENABLE = {CORRECTIONS: "EnableMaskGroupBasedCorrections", RETOUCH_AREAS: "EnableRetouch"}

ABSOLUTE_WB = tuple(p.name for p in GLOBAL_PARAMS.values() if p.raw_only)
INCREMENTAL_WB = tuple(p.name for p in GLOBAL_PARAMS.values() if p.rendered_only)

# Mask geometry: (crs field, plan geometry key, type) per mask kind, as in core.plan.Mask.
GEOMETRY: dict[str, tuple[tuple[str, str, type], ...]] = {
    "radial": (("Top", "top", float), ("Left", "left", float), ("Bottom", "bottom", float),
               ("Right", "right", float), ("Angle", "angle", float), ("Midpoint", "midpoint", float),
               ("Roundness", "roundness", float), ("Feather", "feather", float), ("Flipped", "flipped", bool)),
    "linear": (("ZeroX", "zero_x", float), ("ZeroY", "zero_y", float), ("FullX", "full_x", float),
               ("FullY", "full_y", float)),
    "brush": (("Radius", "radius", float), ("Flow", "flow", float), ("CenterWeight", "center_weight", float),
              ("Dabs", "dabs", list)),
}
REQUIRED_GEOMETRY = {"radial": ("top", "left", "bottom", "right"), "linear": ("zero_x", "zero_y", "full_x", "full_y"),
                     "brush": ("radius", "dabs")}
# Lightroom's defaults for what a new component carries (Adobe exports, LIGHTROOM.md §4).
RADIAL_DEFAULTS = {"angle": 0.0, "midpoint": 50.0, "roundness": 0.0, "feather": 50.0, "flipped": True}
BRUSH_DEFAULTS = {"flow": 1.0, "center_weight": 0.0}
MASK_EXTRA_DEFAULTS = {"MaskActive": True}
AI_EXTRA_DEFAULTS = {"MaskVersion": 1, "ErrorReason": 0}
RADIAL_EXTRA_DEFAULTS = {"Version": 2}
SPOT_EXTRA_DEFAULTS = {"Method": "gaussian", "Seed": 1}
SPOT_MASK_DEFAULTS = {"MaskActive": True, "MaskBlendMode": 0, "MaskInverted": False, "MaskValue": 1, "Alpha": 0,
                      "CenterValue": 1, "PerimeterValue": 0}
_DAB = re.compile(r"^\s*d\s+(\S+)\s+(\S+)\s*$")
_POINT = re.compile(r"^\s*(-?\d+)\s*,\s*(-?\d+)\s*$")


@dataclass
class PresetInfo:
    """A develop preset's header: identity, group, capabilities (flags) and free text fields."""

    name: str = ""
    group: str = ""
    uuid: str = ""
    preset_type: str = "Normal"
    cluster: str = ""
    short_name: str = ""
    sort_name: str = ""
    description: str = ""
    flags: dict[str, bool] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)  # CameraModelRestriction, Copyright, ContactInfo

    def to_dict(self) -> dict:
        """JSON form (kept in plan.provenance["preset"])."""
        return copy.deepcopy(self.__dict__)


# -- value decoding (XMP text or typed SDK values) ----------------------------------------------------------
def as_float(value: Any) -> float:
    """A number from XMP text ("+26", "0.0375") or an SDK number; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    number = float(value.strip()) if isinstance(value, str) else float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def as_bool(value: Any) -> bool:
    """A boolean from "True"/"true"/"1" (any case) or an SDK boolean/number; ValueError otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def as_text(value: Any) -> str:
    """A string field (names, ids) from either form."""
    return value if isinstance(value, str) else scalar_text(value, True)


def as_list(value: Any) -> list:
    """A list from an XMP Seq, an SDK array or a Lua-style {1: .., 2: ..} table."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and all(isinstance(k, int) for k in value):
        return [value[k] for k in sorted(value)]
    if value in ("", None):
        return []
    raise ValueError(f"not a list: {value!r}")


def sdk_normal(value: Any) -> Any:
    """Lua-style tables with keys 1..n become lists, recursively (SDK values as a catalog or lupa gives them)."""
    if isinstance(value, dict):
        if not value:
            return []
        if all(isinstance(k, int) for k in value) and sorted(value) == list(range(1, len(value) + 1)):
            return [sdk_normal(value[k]) for k in sorted(value)]
        return {str(k): sdk_normal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sdk_normal(v) for v in value]
    return value


def curve_points(value: Any) -> list[tuple[int, int]]:
    """A tone curve from an XMP Seq of "x, y" strings, an SDK flat array or a list of pairs."""
    items = as_list(value)
    if items and all(isinstance(v, str) for v in items):
        points = []
        for item in items:
            m = _POINT.match(item)
            if not m:
                raise ValueError(f"not a curve point: {item!r}")
            points.append((int(m.group(1)), int(m.group(2))))
    elif items and all(isinstance(v, (list, tuple)) for v in items):
        points = [(int(x), int(y)) for x, y in items]
    else:
        if len(items) % 2 or any(isinstance(v, bool) or not float(v).is_integer() for v in items):
            raise ValueError("a flat curve is an even number of integers")
        points = [(int(x), int(y)) for x, y in zip(items[0::2], items[1::2])]
    if len(points) < 2 or any(not 0 <= c <= 255 for pt in points for c in pt):
        raise ValueError("a tone curve needs two or more points in 0..255")
    if points != sorted(points):
        raise ValueError("tone curve points are not sorted")
    return points


def is_curve_key(key: str) -> bool:
    """Curves outside the table (PV2010 ToneCurve*, kept in other) follow the same point format."""
    return key.startswith("ToneCurve") and not key.startswith("ToneCurveName")


# -- encodings -----------------------------------------------------------------------------------------------
class XmpEncoding:
    """Leaves as crs text, formatted the way Lightroom writes them."""

    sdk = False

    def param(self, p: Param, ui: float) -> str:
        return p.format_xmp(ui)

    def real(self, value: float) -> str:
        return fmt_real(value)

    def int(self, value: int) -> str:
        return str(int(value))

    def bool(self, value: bool, nested: bool = True) -> str:
        return scalar_text(bool(value), nested)

    def curve(self, points) -> list[str]:
        return [f"{int(x)}, {int(y)}" for x, y in points]

    def other(self, value: Any, nested: bool) -> Any:
        if isinstance(value, list):
            return [self.other(v, True) for v in value]
        if isinstance(value, dict):
            return {k: self.other(v, True) for k, v in value.items()}
        return scalar_text(value, nested)


class SdkEncoding(XmpEncoding):
    """Leaves as the typed values applyDevelopSettings takes (numbers, booleans, strings, arrays)."""

    sdk = True

    def param(self, p: Param, ui: float):
        stored = p.to_stored(ui)
        return int(round(stored)) if p.scope == GLOBAL and p.integer else round(stored, 9)

    def real(self, value: float) -> float | int:
        value = float(value)
        return int(value) if value.is_integer() else value

    def int(self, value: int) -> int:
        return int(value)

    def bool(self, value: bool, nested: bool = True) -> bool:
        return bool(value)

    def curve(self, points) -> list[int]:
        return [int(c) for pt in points for c in pt]

    def other(self, value: Any, nested: bool) -> Any:
        return copy.deepcopy(value)


XMP = XmpEncoding()
SDK = SdkEncoding()


# -- completing a plan for writing ---------------------------------------------------------------------------
def quantise(p: Param, value: float) -> float | int:
    """The value Lightroom will store and read back (table formatting), in UI units."""
    stored = float(p.format_xmp(value))
    ui = round(p.from_stored(stored), 9)
    if p.scope == GLOBAL and p.integer:
        return int(round(ui))
    return ui


def region_label(edit: RegionEdit) -> str:
    """A readable label for an edit: the region's label, with the person's number for person edits."""
    label = REGION_BY_KEY[edit.region].label
    return f"{label} {edit.person + 1}" if edit.person is not None else label


def complete_plan(plan: RetouchPlan) -> RetouchPlan:
    """A copy with everything a writer needs filled in and values rounded to what Lightroom stores."""
    out = plan.copy()
    out.global_ = _complete_globals(out.global_)
    for edit in out.regions:
        _complete_edit(edit)
    for spot in out.spots:
        _complete_spot(spot)
    return out.validate()


def _complete_globals(values: dict) -> dict:
    """Globals rounded to Lightroom's precision, with the curve name and WB mode they imply."""
    out = {}
    for name, value in values.items():
        p = GLOBAL_PARAMS[name]
        out[name] = quantise(p, value) if p.kind not in (ENUM, CURVE) else value
    curves = [n for n, p in GLOBAL_PARAMS.items() if p.kind == CURVE and n in out]
    if any(not is_linear_curve(out[n]) for n in curves) and out.get("ToneCurveName2012", "Linear") == "Linear":
        out["ToneCurveName2012"] = "Custom"
    wb_set = any(k in out and not is_default(GLOBAL_PARAMS[k], out[k]) for k in ABSOLUTE_WB + INCREMENTAL_WB)
    if wb_set and "WhiteBalance" not in out:
        out["WhiteBalance"] = "Custom"
    return out


def _complete_edit(edit: RegionEdit) -> None:
    """Fill in an edit's masks, name, sync id and LocalCurveRefineSaturation; round its values."""
    edit.masks = [copy.deepcopy(m) for m in edit.mask_components()]
    if edit.name is None:
        edit.name = (OUR_PREFIX if edit.origin == OURS else "") + region_label(edit)
    if not edit.sync_id:
        edit.sync_id = stable_sync_id(edit.region, edit.person, edit.name) if edit.origin == OURS else new_sync_id()
    edit.values = {k: quantise(LOCAL_PARAMS[k], v) for k, v in edit.values.items()}
    edit.values.setdefault("CurveRefineSaturation", LOCAL_PARAMS["CurveRefineSaturation"].default)
    for i, mask in enumerate(edit.masks):
        if edit.origin == OURS and mask.region and not REGION_BY_KEY[mask.region].writable:
            raise PlanError(f"Lightroom's code for {mask.region!r} is not confirmed, so it is not written",
                            field=f"regions.{edit.region}.masks")
        kind_label = REGION_BY_KEY[mask.kind].label if mask.kind in REGION_BY_KEY else mask.kind
        if not mask.sync_id and edit.origin == OURS:
            mask.sync_id = stable_sync_id(edit.sync_id, i)
        _complete_mask(mask, region_label(edit) if i == 0 else kind_label)


def _complete_mask(mask: Mask, label: str) -> None:
    """Fill in a component's name, sync id and the definition fields Lightroom writes for its kind."""
    mask.sync_id = mask.sync_id or new_sync_id()
    if mask.name is None:
        mask.name = REGION_BY_KEY[mask.region].label if mask.region else label
    if mask.mode != "add":
        mask.value = 1.0
    for key, value in MASK_EXTRA_DEFAULTS.items():
        mask.extra.setdefault(key, value)
    if mask.kind == "ai":
        for key, value in AI_EXTRA_DEFAULTS.items():
            mask.extra.setdefault(key, value)
        x, y = mask.reference_point or (0.5, 0.5)
        mask.reference_point = (round(float(x), 6), round(float(y), 6))
    missing = [k for k in REQUIRED_GEOMETRY.get(mask.kind, ()) if k not in mask.geometry]
    if missing and not (mask.kind == "brush" and "Dabs" in mask.extra):
        raise PlanError(f"a {mask.kind} mask needs {', '.join(missing)} in its geometry", field="masks.geometry")
    if mask.kind == "radial":
        for key, value in RADIAL_DEFAULTS.items():
            mask.geometry.setdefault(key, value)
        for key, value in RADIAL_EXTRA_DEFAULTS.items():
            mask.extra.setdefault(key, value)
    if mask.kind == "brush":
        for key, value in BRUSH_DEFAULTS.items():
            mask.geometry.setdefault(key, value)
        if "dabs" in mask.geometry:
            mask.geometry["dabs"] = [[round(float(x), 6), round(float(y), 6)] for x, y in mask.geometry["dabs"]]
    if mask.kind == "range" and "CorrectionRangeMask" not in mask.extra:
        raise PlanError("a range mask needs its CorrectionRangeMask definition", field="masks.extra")
    if mask.kind == "other" and "What" not in mask.extra:
        raise PlanError("a mask of kind 'other' needs its crs:What in extra", field="masks.extra")


def _complete_spot(spot: Spot) -> None:
    """Fill in a spot's size, source and the RetouchAreas fields Lightroom writes."""
    if spot.size_y is None:
        spot.size_y = spot.size_x
    if spot.source_x is None or spot.source_y is None:
        spot.extra.setdefault("SourceState", "sourceAutoComputed")
        shift = 2.5 * spot.size_x
        spot.source_x = spot.x + shift if spot.x + shift <= 1.0 else spot.x - shift
        spot.source_y = spot.y
    spot.extra.setdefault("SourceState", "sourceSetExplicitly")
    for key, value in SPOT_EXTRA_DEFAULTS.items():
        spot.extra.setdefault(key, value)
    if "Masks" not in spot.extra:
        mask = spot.extra.setdefault("Mask", {})
        mask.setdefault("MaskSyncID", new_sync_id())
        for key, value in SPOT_MASK_DEFAULTS.items():
            mask.setdefault(key, value)


# -- writing -------------------------------------------------------------------------------------------------
def check_white_balance(values: dict, is_raw: bool) -> dict:
    """Drop the white-balance pair that does not fit the file when it is a no-op; PlanError otherwise."""
    wrong = INCREMENTAL_WB if is_raw else ABSOLUTE_WB
    present = {k: values[k] for k in wrong if k in values}
    if not present:
        return values
    if all(is_default(GLOBAL_PARAMS[k], v) for k, v in present.items()):
        return {k: v for k, v in values.items() if k not in present}
    kind, right = ("a raw file", "Temperature/Tint") if is_raw else ("a rendered file (JPEG/TIFF/PNG)",
                                                                     "IncrementalTemperature/IncrementalTint")
    raise PlanError(f"{', '.join(present)} cannot be written for {kind}: use {right}", field="global")


def plan_settings(plan: RetouchPlan, enc: XmpEncoding, *, is_raw: bool | None) -> dict[str, Any]:
    """A completed plan as Lightroom settings (ordered: globals, other, corrections, spots)."""
    glob = plan.global_ if is_raw is None else check_white_balance(plan.global_, is_raw)
    out: dict[str, Any] = {}
    for name, p in GLOBAL_PARAMS.items():
        if name in glob:
            value = glob[name]
            out[p.xmp_name] = value if p.kind == ENUM else enc.curve(value) if p.kind == CURVE else enc.param(p, value)
    wrong = () if is_raw is None else (INCREMENTAL_WB if is_raw else ABSOLUTE_WB)
    for key, value in plan.other.items():
        if key in wrong:
            continue
        if is_curve_key(key) and isinstance(value, list) and not (value and isinstance(value[0], str)):
            out[key] = enc.curve(curve_points(value))
        else:
            out[key] = enc.other(value, nested=False)
    if plan.regions:
        out[CORRECTIONS] = [correction_settings(e, enc) for e in plan.regions]
    if plan.spots:
        out[RETOUCH_AREAS] = [spot_settings(s, enc) for s in plan.spots]
    return out


def correction_settings(edit: RegionEdit, enc: XmpEncoding) -> dict[str, Any]:
    """One correction (mask group) with its local values in stored scale and its mask components."""
    out: dict[str, Any] = {"What": "Correction", "CorrectionAmount": enc.real(edit.amount),
                           "CorrectionActive": enc.bool(edit.active), "CorrectionName": edit.name or "",
                           "CorrectionSyncID": edit.sync_id or ""}
    for name, p in LOCAL_PARAMS.items():
        if name in edit.values:
            out[p.xmp_name] = enc.param(p, edit.values[name])
    for key, value in edit.extra.items():
        out[key] = enc.other(value, nested=True)
    out[MASKS] = [mask_settings(m, enc) for m in edit.masks]
    return out


def encode_blend(mask: Mask) -> tuple[int, bool, float]:
    """(MaskBlendMode, MaskInverted, MaskValue) for a component's mode (LIGHTROOM.md §4.4)."""
    if mask.mode == "subtract":
        return 1, False, 0.0
    if mask.mode == "intersect":
        return 1, True, 0.0
    return 0, mask.inverted, mask.value


def what_for(mask: Mask) -> str:
    """crs:What of a component, from the region vocabulary."""
    if mask.kind == "ai":
        return AI_WHAT
    if mask.kind in REGION_BY_KEY and REGION_BY_KEY[mask.kind].what:
        return REGION_BY_KEY[mask.kind].what
    return str(mask.extra.get("What", ""))


def mask_settings(mask: Mask, enc: XmpEncoding) -> dict[str, Any]:
    """One mask component: the common fields, the definition for its kind, then kept attributes."""
    blend, inverted, value = encode_blend(mask)
    out: dict[str, Any] = {"What": what_for(mask), "MaskActive": None, "MaskName": mask.name or "",
                           "MaskBlendMode": enc.int(blend), "MaskInverted": enc.bool(inverted),
                           "MaskSyncID": mask.sync_id or "", "MaskValue": enc.real(value)}
    if mask.kind == "ai" and mask.region:
        reg = REGION_BY_KEY[mask.region]
        out["MaskVersion"] = None
        out["MaskSubType"] = enc.int(reg.subtype)
        if reg.subcategory is not None:
            out["MaskSubCategoryID"] = enc.int(reg.subcategory)
    if mask.reference_point is not None:
        x, y = mask.reference_point
        out["ReferencePoint"] = f"{x:.6f} {y:.6f}"
    for crs_name, key, kind in GEOMETRY.get(mask.kind, ()):
        if key in mask.geometry:
            out[crs_name] = _geometry_out(mask.geometry[key], kind, enc)
    for key, value in mask.extra.items():
        out[key] = enc.other(value, nested=True)
    return {k: v for k, v in out.items() if v is not None}


def _geometry_out(value: Any, kind: type, enc: XmpEncoding) -> Any:
    """One geometry value in the encoding (dabs as "d x y" strings)."""
    if kind is bool:
        return enc.bool(value)
    if kind is list:
        return [f"d {float(x):.6f} {float(y):.6f}" for x, y in value]
    return enc.real(value)


def spot_settings(spot: Spot, enc: XmpEncoding) -> dict[str, Any]:
    """One RetouchAreas item: source, opacity and feather, and the destination ellipse."""
    out: dict[str, Any] = {"SpotType": spot.kind, "SourceState": None, "Method": None,
                           "SourceX": enc.real(spot.source_x if spot.source_x is not None else spot.x),
                           "OffsetY": enc.real(spot.source_y if spot.source_y is not None else spot.y),
                           "Opacity": enc.real(spot.opacity), "Feather": enc.real(spot.feather), "Seed": None}
    for key, value in spot.extra.items():
        if key not in ("Mask", "Masks"):
            out[key] = enc.other(value, nested=True)
    if "Masks" in spot.extra:
        out["Masks"] = enc.other(spot.extra["Masks"], nested=True)
    else:
        ellipse: dict[str, Any] = {"What": ELLIPSE_WHAT, "MaskActive": None, "MaskBlendMode": None,
                                   "MaskInverted": None, "MaskSyncID": None, "MaskValue": None,
                                   "X": enc.real(spot.x), "Y": enc.real(spot.y), "SizeX": enc.real(spot.size_x),
                                   "SizeY": enc.real(spot.size_y if spot.size_y is not None else spot.size_x)}
        for key, value in (spot.extra.get("Mask") or {}).items():
            ellipse[key] = enc.other(value, nested=True)
        out["Masks"] = [{k: v for k, v in ellipse.items() if v is not None}]
    return {k: v for k, v in out.items() if v is not None}


# -- reading -------------------------------------------------------------------------------------------------
@dataclass
class ReadResult:
    """What a settings dict holds: the plan, the preset header (if any) and file-level metadata."""

    plan: RetouchPlan
    preset: PresetInfo | None
    meta: dict[str, Any]


def settings_to_plan(settings: dict[str, Any], *, sdk: bool) -> ReadResult:
    """Build a plan from crs settings (XMP text when `sdk` is False, applyDevelopSettings values when True)."""
    conv: Callable[[Any], Any] = sdk_normal if sdk else typed
    plan = RetouchPlan()
    meta: dict[str, Any] = {}
    is_preset = any(k in settings for k in ("PresetType", "UUID")) or isinstance(settings.get("Name"), dict)
    preset = PresetInfo() if is_preset else None
    for key, value in settings.items():
        if key in META_KEYS:
            if key != "HasSettings":
                meta[key] = as_bool(value) if key == "AlreadyApplied" else (conv(value) if key == "CompatibleVersion"
                                                                           else as_text(value))
        elif preset is not None and key in PRESET_KEYS:
            _read_preset_field(preset, key, value)
        elif key == CORRECTIONS or key in LEGACY_CORRECTIONS:
            _read_corrections(plan, key, value, conv)
        elif key == RETOUCH_AREAS:
            plan.spots.extend(_read_area(a, conv) for a in as_list(value))
        elif key == RETOUCH_INFO and _read_retouch_infos(plan, value):
            continue
        elif sdk and key in SDK_ENABLE.values() and value is True:
            continue
        elif key in GLOBAL_BY_XMP and _read_global(plan, GLOBAL_BY_XMP[key], value):
            continue
        else:
            plan.other[key] = _other_in(key, value, conv)
    plan.validate()
    if meta:
        plan.provenance["crs"] = dict(meta)
    if preset is not None:
        plan.provenance["preset"] = preset.to_dict()
    return ReadResult(plan, preset, meta)


def _read_retouch_infos(plan: RetouchPlan, value: Any) -> bool:
    """Legacy spots into the plan; False (keep them verbatim in other) when an entry cannot be read."""
    try:
        spots = [_read_retouch_info(s) for s in as_list(value)]
    except (ValueError, TypeError, AttributeError):
        return False
    plan.spots.extend(spots)
    if spots:
        plan.notes.append(Note("xmp", f"{len(spots)} spot(s) read from the legacy RetouchInfo; they are written "
                                      f"back as RetouchAreas"))
    return True


def _other_in(key: str, value: Any, conv: Callable[[Any], Any]) -> Any:
    """A kept value in its canonical form (curves outside the table as flat SDK arrays)."""
    if is_curve_key(key) and isinstance(value, (list, dict)):
        try:
            return [c for pt in curve_points(value) for c in pt]
        except (ValueError, TypeError):
            pass
    return conv(value)


def _read_preset_field(preset: PresetInfo, key: str, value: Any) -> None:
    """Store one preset header field in PresetInfo."""
    if key in PRESET_ALTS:
        text = value.get(X_DEFAULT, next(iter(value.values()), "")) if isinstance(value, dict) else value
        attr = {"ShortName": "short_name", "SortName": "sort_name"}.get(key, key.lower())
        setattr(preset, attr, as_text(text) if text is not None else "")
    elif key in PRESET_FLAGS:
        preset.flags[key] = as_bool(value)
    elif key in ("PresetType", "Cluster", "UUID"):
        setattr(preset, {"PresetType": "preset_type"}.get(key, key.lower()), as_text(value))
    else:
        preset.text[key] = as_text(value)


def _read_global(plan: RetouchPlan, p: Param, raw: Any) -> bool:
    """Put a global setting into the plan when it fits the table exactly; False to keep it in `other`."""
    try:
        if p.kind == CURVE:
            value: Any = curve_points(raw)
        elif p.kind == ENUM:
            value = as_text(raw)
            if value not in p.choices:
                return False
        else:
            value = as_float(raw)
            if not p.lo <= value <= p.hi:
                return False
            if p.integer and p.unit != "EV":
                if not value.is_integer():
                    return False
                value = int(value)
    except (ValueError, TypeError):
        return False
    pair = INCREMENTAL_WB if p.name in ABSOLUTE_WB else ABSOLUTE_WB if p.name in INCREMENTAL_WB else ()
    if any(k in plan.global_ for k in pair):
        return False
    plan.global_[p.name] = value
    return True


def _read_corrections(plan: RetouchPlan, container: str, value: Any, conv) -> None:
    """Append the corrections of one container (noting legacy containers)."""
    items = as_list(value)
    for item in items:
        if isinstance(item, dict):
            plan.regions.append(_read_correction(item, conv))
    if container != CORRECTIONS and items:
        plan.notes.append(Note("xmp", f"{len(items)} correction(s) read from the legacy container {container}; "
                                      f"they are written back as mask groups"))


def _read_correction(d: dict, conv) -> RegionEdit:
    """One correction struct as a RegionEdit (unmodelled fields kept in extra)."""
    edit = RegionEdit(region="other", origin=USER)
    for key, raw in d.items():
        if key == MASKS:
            edit.masks = [_read_mask(m, conv) for m in as_list(raw) if isinstance(m, dict)]
        elif key == "What" and as_text(raw) == "Correction":
            continue
        elif not _read_correction_field(edit, key, raw):
            edit.extra[key] = conv(raw)
    edit.region = _edit_region(edit.masks)
    return edit


def _read_correction_field(edit: RegionEdit, key: str, raw: Any) -> bool:
    """Read one modelled correction field; False to keep it verbatim in extra."""
    try:
        if key in LOCAL_BY_XMP:
            p = LOCAL_BY_XMP[key]
            ui = round(p.from_stored(as_float(raw)), 9)
            if not p.lo <= ui <= p.hi:
                return False
            edit.values[p.name] = ui
        elif key == "CorrectionAmount":
            amount = as_float(raw)
            if not 0.0 <= amount <= 2.0:
                return False
            edit.amount = amount
        elif key == "CorrectionActive":
            edit.active = as_bool(raw)
        elif key == "CorrectionName":
            edit.name = as_text(raw)
        elif key == "CorrectionSyncID":
            edit.sync_id = as_text(raw)
        else:
            return False
    except (ValueError, TypeError):
        return False
    return True


def _edit_region(masks: list[Mask]) -> str:
    """The region an edit is about: its first added component's region (or its kind's region)."""
    added = [m for m in masks if m.mode == "add"] or masks
    if not added:
        return "other"
    first = added[0]
    if first.region:
        return first.region
    return first.kind if first.kind in REGION_BY_KEY and first.kind != "ai" else "other"


def kind_for_what(what: str) -> str:
    """Mask kind (core.plan.MASK_KINDS) for a crs:What."""
    if what == AI_WHAT:
        return "ai"
    reg = GEOMETRY_BY_WHAT.get(what)
    return reg.key if reg is not None and reg.key in ("radial", "linear", "brush", "range") else "other"


def _read_mask(d: dict, conv) -> Mask:
    """One mask component: kind, blend mode, geometry, AI region; the rest kept in extra."""
    what = as_text(d.get("What", ""))
    mask = Mask(kind=kind_for_what(what))
    if mask.kind == "other":
        mask.extra["What"] = conv(d.get("What", ""))
    try:
        blend = int(as_float(d.get("MaskBlendMode", 0)))
        inverted = as_bool(d.get("MaskInverted", False))
        value = as_float(d.get("MaskValue", 1))
    except (ValueError, TypeError):
        blend, inverted, value = -1, False, 1.0
    used = {"What", "MaskBlendMode", "MaskInverted", "MaskValue"}
    if blend == 0:
        mask.inverted, mask.value = inverted, value
    elif blend == 1 and value == 0:
        mask.mode = "intersect" if inverted else "subtract"
    else:  # a combination we do not model: keep the raw fields
        used = {"What"}
    geometry_fields = {crs: (key, kind) for crs, key, kind in GEOMETRY.get(mask.kind, ())}
    for key, raw in d.items():
        if key in used:
            continue
        if not _read_mask_field(mask, key, raw, geometry_fields):
            mask.extra[key] = conv(raw)
    _resolve_ai_region(mask)
    return mask


def _read_mask_field(mask: Mask, key: str, raw: Any, geometry_fields: dict) -> bool:
    """Read one modelled mask field; False to keep it verbatim in extra."""
    try:
        if key == "MaskName":
            mask.name = as_text(raw)
        elif key == "MaskSyncID":
            mask.sync_id = as_text(raw)
        elif key == "ReferencePoint":
            x, y = as_text(raw).split()
            mask.reference_point = (float(x), float(y))
        elif key in geometry_fields:
            name, kind = geometry_fields[key]
            mask.geometry[name] = _geometry_in(raw, kind)
        else:
            return False
    except (ValueError, TypeError):
        return False
    return True


def _geometry_in(raw: Any, kind: type) -> Any:
    """One geometry value from either encoding (dabs from "d x y" strings)."""
    if kind is bool:
        return as_bool(raw)
    if kind is list:
        dabs = []
        for item in as_list(raw):
            m = _DAB.match(as_text(item))
            if not m:
                raise ValueError(f"a dab we do not model: {item!r}")
            dabs.append([float(m.group(1)), float(m.group(2))])
        return dabs
    return as_float(raw)


def _resolve_ai_region(mask: Mask) -> None:
    """Turn MaskSubType/MaskSubCategoryID into a vocabulary region; codes it does not cover stay in extra."""
    if mask.kind != "ai":
        return
    try:
        subtype = int(as_float(mask.extra.get("MaskSubType")))
        raw_cat = mask.extra.get("MaskSubCategoryID")
        category = None if raw_cat is None else int(as_float(raw_cat))
    except (ValueError, TypeError):
        return
    reg = region_for_codes(subtype, category)
    if reg is None:
        return
    mask.region = reg.key
    mask.extra.pop("MaskSubType")
    if reg.subcategory == category:
        mask.extra.pop("MaskSubCategoryID", None)


def _read_area(d: dict, conv) -> Spot:
    """One RetouchAreas struct as a Spot (unmodelled fields kept in extra)."""
    spot = Spot(x=0.0, y=0.0, size_x=0.0, origin=USER)
    spot_type = as_text(d.get("SpotType", "heal"))
    spot.kind = spot_type if spot_type in ("heal", "clone") else "heal"
    for key, raw in d.items():
        if key == "SpotType" and spot_type in ("heal", "clone"):
            continue
        if key == "Masks":
            _read_area_masks(spot, as_list(raw), conv)
        elif not _read_area_field(spot, key, raw):
            spot.extra[key] = conv(raw)
    return spot


def _read_area_field(spot: Spot, key: str, raw: Any) -> bool:
    """Read one modelled spot field; False to keep it verbatim in extra."""
    names = {"SourceX": "source_x", "OffsetY": "source_y", "Opacity": "opacity", "Feather": "feather"}
    if key not in names:
        return False
    try:
        setattr(spot, names[key], as_float(raw))
    except (ValueError, TypeError):
        return False
    return True


def _read_area_masks(spot: Spot, masks: list, conv) -> None:
    """The spot's destination: a single ellipse is modelled, anything else kept whole."""
    fields = {"X": "x", "Y": "y", "SizeX": "size_x", "SizeY": "size_y"}
    single = len(masks) == 1 and isinstance(masks[0], dict) and as_text(masks[0].get("What", "")) == ELLIPSE_WHAT
    if not single:
        spot.extra["Masks"] = conv(masks)
    first = masks[0] if masks and isinstance(masks[0], dict) else {}
    kept: dict[str, Any] = {}
    for key, raw in first.items():
        if key == "What" and single:
            continue
        try:
            if key in fields:
                number = as_float(raw)
                setattr(spot, fields[key], min(1.0, max(0.0, number)))
                if number == getattr(spot, fields[key]):
                    continue
        except (ValueError, TypeError):
            pass
        kept[key] = conv(raw)
    if single:
        spot.extra["Mask"] = kept
    elif "Dabs" in first:
        _paint_spot_position(spot, first)


def _paint_spot_position(spot: Spot, mask: dict) -> None:
    """Where a painted spot is, for people and the renderer: its first dab and its brush radius."""
    try:
        x, y = _geometry_in(mask["Dabs"], list)[0]
        spot.x, spot.y = min(1.0, max(0.0, x)), min(1.0, max(0.0, y))
        spot.size_x = min(1.0, max(0.0, as_float(mask.get("Radius", 0))))
    except (ValueError, TypeError, IndexError):
        pass


def _read_retouch_info(text: str) -> Spot:
    """A legacy crs:RetouchInfo string ("centerX = 0.5, centerY = 0.4, radius = 0.01, ...") as a spot."""
    fields = {}
    for part in text.split(","):
        if "=" in part:
            key, _, value = part.partition("=")
            fields[key.strip()] = value.strip()

    def number(key: str) -> float | None:
        return float(fields.pop(key)) if key in fields else None

    x, y, radius = number("centerX"), number("centerY"), number("radius")
    if x is None or y is None or radius is None:
        raise ValueError(f"a RetouchInfo entry needs centerX, centerY and radius: {text!r}")
    spot = Spot(x=x, y=y, size_x=radius, size_y=radius, source_x=number("sourceX"), source_y=number("sourceY"),
                origin=USER)
    kind = fields.pop("spotType", "heal")
    spot.kind = kind if kind in ("heal", "clone") else "heal"
    if kind not in ("heal", "clone"):
        spot.extra["SpotType"] = kind
    if "sourceState" in fields:
        spot.extra["SourceState"] = fields.pop("sourceState")
    return spot


def read_correction(d: dict, *, sdk: bool = False) -> RegionEdit:
    """One correction struct (XMP text or SDK values) as a RegionEdit (origin USER until a record says ours)."""
    return _read_correction(d, sdk_normal if sdk else typed)


def read_area(d: dict, *, sdk: bool = False) -> Spot:
    """One RetouchAreas struct as a Spot."""
    return _read_area(d, sdk_normal if sdk else typed)
