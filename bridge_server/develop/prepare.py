"""Resolve a plan for one image, once: slider amounts, white-balance matrices, edit masks and per-pixel slider
fields on the working grid, colour tables, and the local statistics measured there (guided-filter coefficients
for texture and clarity, the haze map and the airlight).

The working grid is the image block-averaged to at most WORKING_EDGE cells on its long edge; coarser levels of
it serve the wider filters. Radii are shares of the image's long edge, so a preview and a full-size render of
the same photo look alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import torch

from ..core.params import HSL_BANDS
from ..core.plan import RetouchPlan
from . import ops
from .color import (
    CONE_TO_RGB, MIRED_PER_STEP, MIRED_RANGE, REFERENCE_KELVIN, RGB_TO_CONE, TINT_SCALE, cone_gains, wb_matrix,
)
from .curves import curve_tables
from .filters import Grid, box_min, guided_coefficients, pool
from .heal import Patch
from .masks import edit_mask, grid_centres
from .parameters import PlanParameters
from .pipeline import CLAMPS, CONST_ORDER, LOCAL_ORDER, Features, Maps, develop

Tensor = torch.Tensor

WORKING_EDGE = 1024  # about the resolution of the AI masks the vision stage makes
TEXTURE_RADIUS = 0.002
CLARITY_RADIUS = 0.012
HAZE_RADIUS = 0.01
TEXTURE_EPS = 0.0015  # guided-filter edge thresholds in (L*/100)^2: edges stronger than sqrt(eps) are kept
CLARITY_EPS = 0.0015
HAZE_EPS = 0.001
AIRLIGHT_SHARE = 0.001  # the airlight is the mean colour of the 0.1% haziest cells

# plan names -> internal names (internal amounts are slider/100, exposure in EV)
SLIDERS = {
    "Exposure2012": "exposure", "Contrast2012": "contrast", "Highlights2012": "highlights",
    "Shadows2012": "shadows", "Whites2012": "whites", "Blacks2012": "blacks", "Texture": "texture",
    "Clarity2012": "clarity", "Dehaze": "dehaze", "Saturation": "saturation", "Vibrance": "vibrance",
}
LOCAL_NAMES = {name: plan_name for plan_name, name in SLIDERS.items()} | {"temperature": "Temperature",
                                                                           "tint": "Tint"}
LOCAL_SCALE = {"exposure": 1.0, "temperature": MIRED_PER_STEP, "tint": 1.0 / TINT_SCALE}  # others: 1/100
HSL_CENTRES = {"Red": 0.0, "Orange": 30.0, "Yellow": 60.0, "Green": 120.0, "Aqua": 180.0, "Blue": 240.0,
               "Purple": 270.0, "Magenta": 300.0}  # on the hexagonal hue circle of `ops.hue_plane`
HSL_TABLE_SIZE = 360


def working_factor(height: int, width: int) -> int:
    """Pixels per working-grid cell: the smallest power of two bringing the long edge to <= WORKING_EDGE."""
    f = 1
    while max(height, width) / f > WORKING_EDGE:
        f *= 2
    return f


def level_for(radius_px: float, base: int) -> tuple[int, int]:
    """(factor, radius in cells) for a filter of `radius_px` full-size pixels: the coarsest power-of-two level
    (at least `base`) where the radius still spans two cells or more."""
    f = base
    while radius_px / (2 * f) >= 2.0:
        f *= 2
    return f, max(1, int(round(radius_px / f)))


@dataclass
class Prepared:
    """A plan resolved for one image: what every pass needs besides its pixels."""

    params: PlanParameters
    size: tuple[int, int]
    factor: int
    features: Features
    consts: Tensor  # global amounts in CONST_ORDER
    coef: Tensor | None  # (len(LOCAL_ORDER), K) local values per edit, internal units
    pre: Tensor  # global white balance and exposure (to cone responses when white balance varies locally)
    post: Tensor | None  # cone responses -> RGB, when white balance varies locally
    weights: Grid | None  # (1, K + gain channels, gh, gw): edit masks x amounts, then local WB/exposure gains
    grids: dict[str, Grid] = field(default_factory=dict)  # clarity, texture, haze: guided (a, b)
    airlight: Tensor | None = None
    curves: Tensor | None = None
    hsl_table: Tensor | None = None
    patches: list[Patch] = field(default_factory=list)

    def windows(self, top: int, left: int, height: int, width: int) -> dict[str, Any]:
        """Grid windows for a full-resolution crop, as `pipeline.tile_kernel` takes them."""
        def win(grid: Grid | None):
            return None if grid is None else grid.window(top, left, height, width, image_width=self.size[1])
        return {"weights": win(self.weights), "clarity": win(self.grids.get("clarity")),
                "texture": win(self.grids.get("texture")), "haze": win(self.grids.get("haze"))}


class MeasureMaps(Maps):
    """Maps for the working grid itself: edit weights straight from their grid; local statistics are computed
    from the pixels of this pass and recorded in `prep` for the full-resolution passes."""

    def __init__(self, prep: Prepared):
        super().__init__(prep.features, prep.consts, prep.coef,
                         prep.weights.data if prep.weights is not None else None, None)
        self.prep = prep

    def base(self, key: str, light: Tensor) -> Tensor:
        radius, eps = (TEXTURE_RADIUS, TEXTURE_EPS) if key == "texture" else (CLARITY_RADIUS, CLARITY_EPS)
        factor, cells = level_for(radius * max(self.prep.size), self.prep.factor)
        guide = pool(light, factor // self.prep.factor)
        a, b = guided_coefficients(guide, guide, cells, eps)
        grid = self.prep.grids[key] = Grid(torch.cat([a, b], dim=1), factor)
        ab = grid.sample(0, 0, *light.shape[-2:], at=self.prep.factor, image_width=light.shape[-1])
        return ab[:, :1] * light + ab[:, 1:]

    def haze(self, light: Tensor, rgb: Tensor) -> Tensor:
        """Dark-channel haze density (He et al. 2009), refined by a guided filter on lightness."""
        factor, cells = level_for(HAZE_RADIUS * max(self.prep.size), self.prep.factor)
        step = factor // self.prep.factor
        coarse = pool(rgb, step)
        dark = box_min(coarse.amin(dim=1, keepdim=True), cells).flatten(1)
        idx = dark.topk(max(1, int(dark.shape[1] * AIRLIGHT_SHARE)), dim=1).indices
        colours = coarse.flatten(2).gather(2, idx[:, None, :].expand(-1, 3, -1))
        self.airlight = self.prep.airlight = colours.mean(dim=2).clamp(min=0.05)[..., None, None]
        raw = box_min((coarse / self.airlight).amin(dim=1, keepdim=True), cells).clamp(0.0, 1.0)
        a, b = guided_coefficients(pool(light, step), raw, 2 * cells, HAZE_EPS)
        grid = self.prep.grids["haze"] = Grid(torch.cat([a, b], dim=1), factor)
        ab = grid.sample(0, 0, *light.shape[-2:], at=self.prep.factor, image_width=light.shape[-1])
        return (ab[:, :1] * light + ab[:, 1:]).clamp(0.0, 1.0)


# ---------------------------------------------------------------------------------------------------------
# white balance
# ---------------------------------------------------------------------------------------------------------
def wb_state(params: PlanParameters) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(reference mired, reference Duv, chosen mired, chosen Duv) of the global white balance.

    Raw (Temperature/Tint): the reference is the as-shot white the decoder balanced for; the chosen white is
    the plan's. Rendered files (Incremental*): the reference is D65-ish 6504 K; each step of
    IncrementalTemperature assumes a light one mired bluer (warmer result), of tint 1/3000 Duv greener
    (more magenta result)."""
    v = params.vector
    if params.absolute_wb:
        ref_m = v.new_tensor(1e6 / params.as_shot[0])
        ref_d = v.new_tensor(params.as_shot[1] / TINT_SCALE)
        kelvin = params.global_value("Temperature").clamp(1e6 / MIRED_RANGE[1], 1e6 / MIRED_RANGE[0])
        mired = 1e6 / kelvin
        duv = params.global_value("Tint") / TINT_SCALE
    else:
        ref_m = v.new_tensor(1e6 / REFERENCE_KELVIN)
        ref_d = v.new_tensor(0.0)
        mired = ref_m - params.global_value("IncrementalTemperature") * MIRED_PER_STEP
        duv = params.global_value("IncrementalTint") / TINT_SCALE
    return ref_m, ref_d, mired.clamp(*MIRED_RANGE), duv


# ---------------------------------------------------------------------------------------------------------
# the plan on the working grid
# ---------------------------------------------------------------------------------------------------------
def _wanted(params: PlanParameters, values: Tensor) -> bool:
    """A stage runs when any of its values is non-zero, or always when gradients are wanted."""
    return params.requires_grad or bool((values.detach() != 0).any())


def prepare(params: PlanParameters, pooled: Tensor, size: tuple[int, int], factor: int,
            masks: Mapping[str, Any] | None, patches: list[Patch]) -> Prepared:
    """Resolve `params` for an image of `size` whose working grid (`factor` pixels a cell) is `pooled`
    (N, 3, gh, gw), measuring local statistics on it."""
    globals_ = {name: params.global_value(p) * (1.0 if name == "exposure" else 0.01) for p, name in SLIDERS.items()}
    weights, coef, local = _edit_weights(params, pooled, size, factor, masks)
    pre, post, gains = _white_balance(params, weights, coef, local, globals_["exposure"])
    if gains is not None:
        weights = torch.cat([weights, gains], dim=1)
    consts = torch.stack([globals_[name].clamp(-CLAMPS[name], CLAMPS[name]) for name in CONST_ORDER])

    def on(name: str) -> bool:
        return name in local or _wanted(params, globals_[name])

    hsl_table, hsl_parts = _hsl_table(params)
    curves = _curves(params)
    features = Features(
        local=local, dehaze=on("dehaze"), highlights=on("highlights"), shadows=on("shadows"), clarity=on("clarity"),
        texture=on("texture"), whites_blacks=on("whites") or on("blacks"), contrast=on("contrast"),
        saturation=on("saturation"), vibrance=on("vibrance"), hsl=hsl_parts, curves=curves is not None)
    prep = Prepared(params=params, size=size, factor=factor, features=features, consts=consts, coef=coef,
                    pre=pre, post=post, weights=Grid(weights, factor) if local else None, curves=curves,
                    hsl_table=hsl_table, patches=patches)
    develop(pooled, features, pre, post, MeasureMaps(prep), curves, hsl_table, stats_only=True)
    return prep


def _edit_weights(params: PlanParameters, pooled: Tensor, size: tuple[int, int], factor: int,
                  masks: Mapping[str, Any] | None) -> tuple[Tensor | None, Tensor | None, tuple[str, ...]]:
    """The active edits on the working grid: (weights (1, K, gh, gw) = mask x amount, coef (len(LOCAL_ORDER),
    K) = local values in internal units, the LOCAL_ORDER names some edit changes)."""
    plan = params.plan
    regions = [i for i, e in enumerate(plan.regions) if e.active]
    if not regions:
        return None, None, ()
    ys, xs = grid_centres(tuple(pooled.shape[-2:]), factor, size, pooled.dtype, pooled.device)
    masks_k = torch.stack([edit_mask(plan.regions[i], ys, xs, size, masks or {}, f"regions[{i}]") for i in regions])
    weights = (masks_k * params.amounts()[regions].view(-1, 1, 1))[None]
    coef = torch.stack([params.local_values(LOCAL_NAMES[name])[regions] * LOCAL_SCALE.get(name, 0.01)
                        for name in LOCAL_ORDER])
    return weights, coef, tuple(name for name, row in zip(LOCAL_ORDER, coef) if _wanted(params, row))


def _white_balance(params: PlanParameters, weights: Tensor | None, coef: Tensor | None, local: tuple[str, ...],
                   exposure_ev: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """(pre, post, gains): the global white balance x exposure matrix, and where white balance or exposure vary
    locally, per-cell gains (1, 3 cone gains or 1 exposure gain, gh, gw) with `pre` stopping at the cones and
    `post` going back to RGB."""
    ref_m, ref_d, mired, duv = wb_state(params)
    exposure = torch.exp2(exposure_ev)
    dtype, device = params.vector.dtype, params.vector.device

    def local_sum(name: str) -> Tensor:
        return torch.einsum("nkhw,k->nhw", weights, coef[LOCAL_ORDER.index(name)])[:, None]

    if "temperature" in local or "tint" in local:
        gains = torch.stack(cone_gains(ref_m, ref_d, (mired - local_sum("temperature")).clamp(*MIRED_RANGE),
                                       duv + local_sum("tint")), dim=1)[:, :, 0]
        if "exposure" in local:
            gains = gains * torch.exp2(local_sum("exposure"))
        return (torch.as_tensor(RGB_TO_CONE, dtype=dtype, device=device) * exposure,
                torch.as_tensor(CONE_TO_RGB, dtype=dtype, device=device), gains)
    pre = wb_matrix(torch.stack(cone_gains(ref_m, ref_d, mired, duv))) * exposure
    return pre, None, torch.exp2(local_sum("exposure")) if "exposure" in local else None


def _hsl_table(params: PlanParameters) -> tuple[Tensor | None, tuple[bool, bool, bool]]:
    """(n, 3) table over hue 0..360: hue shift (degrees), chroma factor - 1, luminance change (EV)."""
    hsl = torch.stack([torch.stack([params.global_value(f"{what}Adjustment{band}") for band in HSL_BANDS])
                       for what in ("Hue", "Saturation", "Luminance")], dim=1) / 100.0  # (8, 3)
    parts = tuple(_wanted(params, hsl[:, j]) for j in range(3))
    if not any(parts):
        return None, (False, False, False)
    scale = hsl.new_tensor([ops.HSL_HUE_SHIFT_DEG, 1.0, ops.HSL_LUMINANCE_EV])
    return _hsl_weights(HSL_TABLE_SIZE, hsl.dtype, hsl.device) @ (hsl * scale), parts


def _hsl_weights(n: int, dtype, device) -> Tensor:
    """(n, 8): smooth (raised-cosine) weights of the 8 band centres at hues 0..360, summing to one."""
    centres = torch.tensor([HSL_CENTRES[b] for b in HSL_BANDS], dtype=torch.float64)
    hue = torch.arange(n, dtype=torch.float64) * (360.0 / n)
    w = torch.zeros(n, len(centres), dtype=torch.float64)
    for k in range(len(centres)):
        nxt = (k + 1) % len(centres)
        t = ((hue - centres[k]) % 360.0) / ((centres[nxt] - centres[k]) % 360.0)
        inside = t <= 1.0
        w[inside, k] += 0.5 + 0.5 * torch.cos(math.pi * t[inside])
        w[inside, nxt] += 0.5 - 0.5 * torch.cos(math.pi * t[inside])
    return w.to(dtype=dtype, device=device)


def _curves(params: PlanParameters) -> Tensor | None:
    """Per-channel tone-curve tables (parametric, master, R/G/B), or None when the curves are all linear."""
    plan = params.plan
    v = params.vector
    regions = torch.stack([params.global_value(n) for n in
                           ("ParametricShadows", "ParametricDarks", "ParametricLights", "ParametricHighlights")])
    splits = torch.stack([params.global_value(n) for n in
                          ("ParametricShadowSplit", "ParametricMidtoneSplit", "ParametricHighlightSplit")])
    splits = torch.cummax((splits / 100.0).clamp(0.01, 0.99), dim=0).values
    master = _points(plan, "ToneCurvePV2012")
    channels = [_points(plan, f"ToneCurvePV2012{c}") for c in ("Red", "Green", "Blue")]
    parametric = _wanted(params, regions)
    if not parametric and master is None and all(c is None for c in channels):
        return None
    return curve_tables(master, channels, regions / 100.0 if parametric else None, splits,
                        dtype=v.dtype, device=v.device)


def _points(plan: RetouchPlan, name: str):
    points = plan.global_.get(name)
    if not points or all(int(x) == int(y) for x, y in points):
        return None
    return points
