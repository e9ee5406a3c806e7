"""The one table of develop parameters.

Every develop parameter is described here once: its name in a `RetouchPlan` (Lightroom's own name), the
crs property and applyDevelopSettings key it maps to, unit, range, default, how XMP stores it and whether it
is a global or a local (masked) setting. Validation, XMP conversion, the Lightroom SDK table, the API's JSON
schema and the CLI help are all derived from it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

GLOBAL = "global"
LOCAL = "local"

NUMBER = "number"
ENUM = "enum"
CURVE = "curve"


@dataclass(frozen=True)
class Param:
    """One develop parameter in one scope.

    `name` is the key in a plan (Lightroom's name, e.g. Exposure2012). Local parameters that are the same
    slider as a global one share its name (a local Exposure2012 is the mask's Exposure slider).
    Stored XMP value = UI value x `xmp_scale` (local exposure is stored as EV/4, other local sliders /100).
    """

    name: str
    scope: str
    label: str
    unit: str = "slider"  # slider (-100..100 style), EV, K (kelvin), deg, amount
    lo: float = -100.0
    hi: float = 100.0
    default: float | str | None = 0.0
    kind: str = NUMBER
    integer: bool = True
    decimals: int = 0  # XMP decimals for non-integers
    signed: bool | None = None  # write "+" on positive values; None: when the range allows negatives
    xmp: str = ""  # crs property name; defaults to name (global) or "Local"+name (local)
    xmp_scale: float = 1.0
    group: str = "basic"
    raw_only: bool = False  # absolute white balance: only for raw files
    rendered_only: bool = False  # incremental white balance: only for JPEG/TIFF/PNG
    controller: str | None = None  # LrDevelopController parameter name, where it differs
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def xmp_name(self) -> str:
        if self.xmp:
            return self.xmp
        return ("Local" + self.name) if self.scope == LOCAL else self.name

    @property
    def sdk_name(self) -> str:
        """Key in photo:getDevelopSettings()/applyDevelopSettings (crs names without the prefix)."""
        return self.xmp_name

    @property
    def is_signed(self) -> bool:
        return self.lo < 0 if self.signed is None else self.signed

    # -- units: the only place where stored scales are applied -------------------------------------------
    def to_stored(self, value: float) -> float:
        """UI value -> the number XMP and the catalog store."""
        return value * self.xmp_scale

    def from_stored(self, stored: float) -> float:
        """Stored number (XMP, catalog, applyDevelopSettings) -> UI value."""
        return stored / self.xmp_scale

    def clamp(self, value: float) -> float:
        return min(self.hi, max(self.lo, value))

    def format_xmp(self, value: float) -> str:
        """Format a UI value the way Lightroom writes the stored number."""
        stored = self.to_stored(value)
        if self.scope == LOCAL:
            text = f"{stored:.6f}".rstrip("0").rstrip(".")
            if text in ("-0", ""):
                text = "0"
            return text
        if self.integer:
            number = int(round(stored))
            text = str(number)
            return f"+{text}" if self.is_signed and number > 0 else text
        text = f"{stored:.{self.decimals}f}"
        if float(text) == 0:
            text = f"{0:.{self.decimals}f}"
        return f"+{text}" if self.is_signed and float(text) > 0 else text

    def describe(self) -> str:
        if self.kind == ENUM:
            return f"{self.name}: one of {', '.join(self.choices)}"
        if self.kind == CURVE:
            return f"{self.name}: tone curve, points (x, y) in 0..255"
        return f"{self.name} ({self.label}): {_num(self.lo)}..{_num(self.hi)} {self.unit}, default {_num(self.default)}"


def _num(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


HSL_BANDS = ("Red", "Orange", "Yellow", "Green", "Aqua", "Blue", "Purple", "Magenta")
WHITE_BALANCE_CHOICES = (
    "As Shot", "Auto", "Daylight", "Cloudy", "Shade", "Tungsten", "Fluorescent", "Flash", "Custom",
)
TONE_CURVE_NAMES = ("Linear", "Medium Contrast", "Strong Contrast", "Custom")
CURVE_NAMES = ("ToneCurvePV2012", "ToneCurvePV2012Red", "ToneCurvePV2012Green", "ToneCurvePV2012Blue")


def _global_params() -> list[Param]:
    g = GLOBAL
    rows = [
        Param("WhiteBalance", g, "White balance", kind=ENUM, default="As Shot", choices=WHITE_BALANCE_CHOICES,
              group="wb", unit="", lo=0, hi=0),
        Param("Temperature", g, "Temperature", unit="K", lo=2000, hi=50000, default=None, group="wb",
              raw_only=True, signed=False, help="absolute white balance; raw files only"),
        Param("Tint", g, "Tint", lo=-150, hi=150, default=None, group="wb", raw_only=True),
        Param("IncrementalTemperature", g, "Temperature", group="wb", rendered_only=True,
              help="relative white balance; JPEG, TIFF, PNG only"),
        Param("IncrementalTint", g, "Tint", group="wb", rendered_only=True),
        Param("Exposure2012", g, "Exposure", unit="EV", lo=-5, hi=5, integer=False, decimals=2, group="tone"),
        Param("Contrast2012", g, "Contrast", group="tone"),
        Param("Highlights2012", g, "Highlights", group="tone"),
        Param("Shadows2012", g, "Shadows", group="tone"),
        Param("Whites2012", g, "Whites", group="tone"),
        Param("Blacks2012", g, "Blacks", group="tone"),
        Param("Texture", g, "Texture", group="presence"),
        Param("Clarity2012", g, "Clarity", group="presence"),
        Param("Dehaze", g, "Dehaze", group="presence"),
        Param("Vibrance", g, "Vibrance", group="presence"),
        Param("Saturation", g, "Saturation", group="presence"),
        Param("ToneCurveName2012", g, "Tone curve", kind=ENUM, default="Linear", choices=TONE_CURVE_NAMES,
              group="curve", unit="", lo=0, hi=0),
    ]
    rows += [Param(c, g, c.replace("ToneCurvePV2012", "Tone curve ").strip(), kind=CURVE, default=None,
                   group="curve", unit="", lo=0, hi=255) for c in CURVE_NAMES]
    rows += [
        Param("ParametricShadows", g, "Curve shadows", group="curve"),
        Param("ParametricDarks", g, "Curve darks", group="curve"),
        Param("ParametricLights", g, "Curve lights", group="curve"),
        Param("ParametricHighlights", g, "Curve highlights", group="curve"),
        Param("ParametricShadowSplit", g, "Curve shadow split", lo=0, hi=100, default=25, group="curve"),
        Param("ParametricMidtoneSplit", g, "Curve midtone split", lo=0, hi=100, default=50, group="curve"),
        Param("ParametricHighlightSplit", g, "Curve highlight split", lo=0, hi=100, default=75, group="curve"),
    ]
    for what, label in (("Hue", "hue"), ("Saturation", "saturation"), ("Luminance", "luminance")):
        rows += [Param(f"{what}Adjustment{band}", g, f"{band} {label}", group="hsl") for band in HSL_BANDS]
    rows += [
        Param("Sharpness", g, "Sharpening amount", lo=0, hi=150, default=40, group="detail"),
        Param("SharpenRadius", g, "Sharpening radius", lo=0.5, hi=3.0, default=1.0, integer=False, decimals=1,
              signed=True, group="detail"),
        Param("SharpenDetail", g, "Sharpening detail", lo=0, hi=100, default=25, group="detail"),
        Param("SharpenEdgeMasking", g, "Sharpening masking", lo=0, hi=100, default=0, group="detail"),
        Param("LuminanceSmoothing", g, "Noise reduction", lo=0, hi=100, default=0, group="detail"),
        Param("LuminanceNoiseReductionDetail", g, "Noise reduction detail", lo=0, hi=100, default=50,
              group="detail"),
        Param("LuminanceNoiseReductionContrast", g, "Noise reduction contrast", lo=0, hi=100, default=0,
              group="detail"),
        Param("ColorNoiseReduction", g, "Colour noise reduction", lo=0, hi=100, default=25, group="detail"),
        Param("ColorNoiseReductionDetail", g, "Colour noise detail", lo=0, hi=100, default=50, group="detail"),
        Param("ColorNoiseReductionSmoothness", g, "Colour noise smoothness", lo=0, hi=100, default=50,
              group="detail"),
        Param("PostCropVignetteAmount", g, "Vignette amount", group="effects"),
        Param("PostCropVignetteMidpoint", g, "Vignette midpoint", lo=0, hi=100, default=50, group="effects"),
        Param("PostCropVignetteFeather", g, "Vignette feather", lo=0, hi=100, default=50, group="effects"),
        Param("PostCropVignetteRoundness", g, "Vignette roundness", group="effects"),
        Param("PostCropVignetteStyle", g, "Vignette style", lo=1, hi=3, default=1, group="effects"),
        Param("PostCropVignetteHighlightContrast", g, "Vignette highlights", lo=0, hi=100, default=0,
              group="effects"),
        Param("GrainAmount", g, "Grain amount", lo=0, hi=100, default=0, group="effects"),
        Param("GrainSize", g, "Grain size", lo=0, hi=100, default=25, group="effects"),
        Param("GrainFrequency", g, "Grain roughness", lo=0, hi=100, default=50, group="effects"),
        Param("ColorGradeMidtoneHue", g, "Grading midtone hue", unit="deg", lo=0, hi=359, group="grading"),
        Param("ColorGradeMidtoneSat", g, "Grading midtone saturation", lo=0, hi=100, group="grading"),
        Param("ColorGradeShadowLum", g, "Grading shadow luminance", group="grading"),
        Param("ColorGradeMidtoneLum", g, "Grading midtone luminance", group="grading"),
        Param("ColorGradeHighlightLum", g, "Grading highlight luminance", group="grading"),
        Param("ColorGradeGlobalHue", g, "Grading global hue", unit="deg", lo=0, hi=359, group="grading"),
        Param("ColorGradeGlobalSat", g, "Grading global saturation", lo=0, hi=100, group="grading"),
        Param("ColorGradeGlobalLum", g, "Grading global luminance", group="grading"),
        Param("ColorGradeBlending", g, "Grading blending", lo=0, hi=100, default=50, group="grading"),
        Param("SplitToningShadowHue", g, "Grading shadow hue", unit="deg", lo=0, hi=359, group="grading"),
        Param("SplitToningShadowSaturation", g, "Grading shadow saturation", lo=0, hi=100, group="grading"),
        Param("SplitToningHighlightHue", g, "Grading highlight hue", unit="deg", lo=0, hi=359, group="grading"),
        Param("SplitToningHighlightSaturation", g, "Grading highlight saturation", lo=0, hi=100,
              group="grading"),
        Param("SplitToningBalance", g, "Grading balance", group="grading"),
    ]
    return rows


def _local_params() -> list[Param]:
    loc = LOCAL
    pct = 0.01
    return [
        Param("Exposure2012", loc, "Exposure", unit="EV", lo=-4, hi=4, integer=False, decimals=2, xmp_scale=0.25,
              controller="local_Exposure", group="tone"),
        Param("Contrast2012", loc, "Contrast", xmp_scale=pct, controller="local_Contrast", group="tone"),
        Param("Highlights2012", loc, "Highlights", xmp_scale=pct, controller="local_Highlights", group="tone"),
        Param("Shadows2012", loc, "Shadows", xmp_scale=pct, controller="local_Shadows", group="tone"),
        Param("Whites2012", loc, "Whites", xmp_scale=pct, controller="local_Whites2012", group="tone"),
        Param("Blacks2012", loc, "Blacks", xmp_scale=pct, controller="local_Blacks2012", group="tone"),
        Param("Texture", loc, "Texture", xmp_scale=pct, controller="local_Texture", group="presence"),
        Param("Clarity2012", loc, "Clarity", xmp_scale=pct, controller="local_Clarity", group="presence"),
        Param("Dehaze", loc, "Dehaze", xmp_scale=pct, controller="local_Dehaze", group="presence"),
        Param("Saturation", loc, "Saturation", xmp_scale=pct, controller="local_Saturation", group="presence"),
        Param("Temperature", loc, "Temperature", xmp_scale=pct, controller="local_Temperature", group="wb"),
        Param("Tint", loc, "Tint", xmp_scale=pct, controller="local_Tint", group="wb"),
        Param("Hue", loc, "Hue", xmp_scale=pct, controller="local_Hue", group="presence",
              help="scale unconfirmed in Lightroom; kept as read"),
        Param("Sharpness", loc, "Sharpness", xmp_scale=pct, controller="local_Sharpness", group="detail"),
        Param("LuminanceNoise", loc, "Noise", xmp_scale=pct, controller="local_LuminanceNoise", group="detail"),
        Param("Moire", loc, "Moire", xmp_scale=pct, controller="local_Moire", group="detail"),
        Param("Defringe", loc, "Defringe", xmp_scale=pct, controller="local_Defringe", group="detail"),
        Param("Grain", loc, "Grain", xmp_scale=pct, group="effects"),
        Param("ToningHue", loc, "Colour hue", unit="deg", lo=0, hi=360, group="wb"),
        Param("ToningSaturation", loc, "Colour saturation", lo=0, hi=100, xmp_scale=pct, group="wb"),
        Param("CurveRefineSaturation", loc, "Curve refine saturation", lo=0, hi=100, default=100, group="curve"),
    ]


PARAMS: tuple[Param, ...] = tuple(_global_params() + _local_params())
GLOBAL_PARAMS: dict[str, Param] = {p.name: p for p in PARAMS if p.scope == GLOBAL}
LOCAL_PARAMS: dict[str, Param] = {p.name: p for p in PARAMS if p.scope == LOCAL}
LOCAL_BY_XMP: dict[str, Param] = {p.xmp_name: p for p in LOCAL_PARAMS.values()}
GLOBAL_BY_XMP: dict[str, Param] = {p.xmp_name: p for p in GLOBAL_PARAMS.values()}

# Local properties from process version 2010 that Lightroom still writes, always as 0; we keep them readable.
LEGACY_LOCAL_XMP = ("LocalExposure", "LocalBrightness", "LocalContrast", "LocalClarity")

# Short names a person may type (CLI --set, instructions, API) -> canonical plan name.
ALIASES: dict[str, str] = {
    "Exposure": "Exposure2012", "Contrast": "Contrast2012", "Highlights": "Highlights2012",
    "Shadows": "Shadows2012", "Whites": "Whites2012", "Blacks": "Blacks2012", "Clarity": "Clarity2012",
    "Temp": "Temperature", "WB": "WhiteBalance", "Noise": "LuminanceNoise",
}


def canonical_name(name: str, scope: str = GLOBAL) -> str:
    """Resolve a typed parameter name (case-insensitive, aliases, crs/Local prefixes) for a scope."""
    table = GLOBAL_PARAMS if scope == GLOBAL else LOCAL_PARAMS
    key = name.strip()
    if key.startswith("crs:"):
        key = key[4:]
    if scope == LOCAL and key in LOCAL_BY_XMP:
        return LOCAL_BY_XMP[key].name
    if key in table:
        return key
    lowered = {k.lower(): k for k in table}
    lowered.update({a.lower(): c for a, c in ALIASES.items() if c in table})
    if key.lower() in lowered:
        return lowered[key.lower()]
    if scope == LOCAL and key.lower().startswith("local") and key[5:].lower() in lowered:
        return lowered[key[5:].lower()]
    raise KeyError(name)


def param(name: str, scope: str = GLOBAL) -> Param:
    return (GLOBAL_PARAMS if scope == GLOBAL else LOCAL_PARAMS)[canonical_name(name, scope)]


def is_default(p: Param, value) -> bool:
    if p.kind == CURVE:
        return value is None or is_linear_curve(value)
    if p.kind == ENUM or p.default is None:
        return value == p.default
    return math.isclose(float(value), float(p.default), abs_tol=1e-9)


def is_linear_curve(points: Iterable) -> bool:
    pts = [tuple(pt) for pt in points]
    return all(int(x) == int(y) for x, y in pts)


def describe_table(scope: str | None = None) -> str:
    return "\n".join(p.describe() for p in PARAMS if scope is None or p.scope == scope)
