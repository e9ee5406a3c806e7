"""The renderer: develop linear pixels with a `RetouchPlan`, in Lightroom's order, in one pass or in tiles.

Order: heal spots -> white balance and exposure (global and local) -> dehaze -> tone (highlights, shadows on an
edge-aware base; texture and clarity as detail; whites, blacks; contrast) -> vibrance, saturation, HSL ->
tone curves -> clip to [0, 1].

Local operators measure what they need on a coarse "working grid" (the image block-averaged down to at most
2048 px on the long edge) and coarser levels of it: edit masks and the per-pixel slider fields, guided-filter
coefficients for texture and clarity, the haze map and the airlight. Those grids are computed once per image
and reach full resolution by exact bilinear upsampling in global coordinates (the fast guided filter), so a
pixel's result depends only on its own value and the grids: tiles need no overlap and `render_tiled` gives the
same result as `render`. Everything is torch and differentiable (see `PlanParameters`); `render_tiled` runs
without gradients in bounded memory, on CPU or CUDA.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import torch

from ..core.params import HSL_BANDS
from ..core.plan import RetouchPlan
from . import ops
from .color import (
    CONE_TO_RGB, MIRED_PER_STEP, MIRED_RANGE, REFERENCE_KELVIN, RGB_TO_CONE, TINT_SCALE, apply_matrix,
    cone_gains, encode_srgb, lightness, luminance, wb_matrix,
)
from .curves import apply_tables, curve_tables
from .filters import Grid, box_min, guided_coefficients, pool
from .heal import Patch, heal_spot, paste
from .masks import edit_mask, grid_centres
from .parameters import PlanParameters

Tensor = torch.Tensor

WORKING_EDGE = 2048  # the working grid's long edge is at most this many cells
# Radii as shares of the image's long edge, so previews and full-size renders look alike.
TEXTURE_RADIUS = 0.002
CLARITY_RADIUS = 0.012
HAZE_RADIUS = 0.01
TEXTURE_EPS = 0.0015  # guided-filter edge thresholds, in (L*/100)^2: edges stronger than sqrt(eps) are kept
CLARITY_EPS = 0.003
HAZE_EPS = 0.001
AIRLIGHT_SHARE = 0.001  # the airlight is the mean colour of the 0.1% haziest cells

# plan names -> internal names; internal amounts are slider/100 except exposure (EV)
_SLIDERS = {
    "Exposure2012": "exposure", "Contrast2012": "contrast", "Highlights2012": "highlights",
    "Shadows2012": "shadows", "Whites2012": "whites", "Blacks2012": "blacks", "Texture": "texture",
    "Clarity2012": "clarity", "Dehaze": "dehaze", "Saturation": "saturation", "Vibrance": "vibrance",
}
_LOCAL_WB = {"Temperature": "temperature", "Tint": "tint"}
_CLAMPS = {  # safe ranges of the summed (global + local) amounts
    "contrast": 1.5, "highlights": 2.0, "shadows": 2.0, "whites": 1.5, "blacks": 1.5, "texture": 2.0,
    "clarity": 2.0, "dehaze": 1.0, "saturation": 2.0,
}
# HSL band centres on the hexagonal hue circle (degrees) of `ops.hue_plane`
HSL_CENTRES = {"Red": 0.0, "Orange": 30.0, "Yellow": 60.0, "Green": 120.0, "Aqua": 180.0, "Blue": 240.0,
               "Purple": 270.0, "Magenta": 300.0}
HSL_TABLE_SIZE = 360


# ---------------------------------------------------------------------------------------------------------
# scales
# ---------------------------------------------------------------------------------------------------------
def working_factor(height: int, width: int) -> int:
    """Pixels per working-grid cell: the smallest power of two bringing the long edge to <= WORKING_EDGE."""
    f = 1
    while max(height, width) / f > WORKING_EDGE:
        f *= 2
    return f


def level_for(radius_px: float, base: int) -> tuple[int, int]:
    """(factor, radius in cells) for a filter of `radius_px` full-size pixels: the coarsest power-of-two level
    (at least `base`) where the radius still spans about two cells or more."""
    f = base
    while radius_px / (2 * f) >= 2.0:
        f *= 2
    return f, max(1, int(round(radius_px / f)))


# ---------------------------------------------------------------------------------------------------------
# prepared state: everything computed once per image
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Prepared:
    """The plan resolved for one image: scalar amounts, grids, tables, heal patches."""

    params: PlanParameters
    size: tuple[int, int]
    factor: int  # working-grid factor
    scalars: dict[str, Tensor] = field(default_factory=dict)  # global amounts (internal units)
    field_names: tuple[str, ...] = ()  # spatially varying amounts, channels of `fields`
    fields: Grid | None = None
    matrix: Tensor | None = None  # global WB x exposure (3, 3); with local WB: to-cone x exposure
    cone_to_rgb: Tensor | None = None  # set when white balance varies locally (`gains` channels of fields)
    grids: dict[str, Grid] = field(default_factory=dict)  # measured: clarity, texture, haze
    airlight: Tensor | None = None
    curves: Tensor | None = None
    hsl_table: Tensor | None = None
    hsl_parts: tuple[bool, bool, bool] = (False, False, False)
    patches: list[Patch] = field(default_factory=list)
    active: set[str] = field(default_factory=set)

    def amount(self, name: str, sampled: Tensor | None) -> Tensor:
        """An amount for a pass: the sampled field channel when it varies locally, else the global scalar."""
        if sampled is not None and name in self.field_names:
            i = self.field_names.index(name)
            return sampled[:, i:i + 1]
        return self.scalars[name]


def _wb_state(params: PlanParameters) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(reference mired, reference Duv, chosen mired, chosen Duv) of the global white balance."""
    v = params.vector
    if params.absolute_wb:
        ref_m = v.new_tensor(1e6 / params.as_shot[0])
        ref_d = v.new_tensor(params.as_shot[1] / TINT_SCALE)
        mired = 1e6 / params.global_value("Temperature").clamp(1e6 / MIRED_RANGE[1], 1e6 / MIRED_RANGE[0])
        duv = params.global_value("Tint") / TINT_SCALE
    else:
        ref_m = v.new_tensor(1e6 / REFERENCE_KELVIN)
        ref_d = v.new_tensor(0.0)
        mired = ref_m - params.global_value("IncrementalTemperature") * MIRED_PER_STEP
        duv = params.global_value("IncrementalTint") / TINT_SCALE
    return ref_m, ref_d, mired.clamp(*MIRED_RANGE), duv


def _normalised_gains(ref_m, ref_d, mired, duv) -> Tensor:
    """Cone gains (*, 3) scaled so that white keeps its luminance."""
    g = cone_gains(ref_m, ref_d, mired, duv)
    to_rgb = torch.as_tensor(CONE_TO_RGB, dtype=g.dtype, device=g.device)
    to_cone = torch.as_tensor(RGB_TO_CONE, dtype=g.dtype, device=g.device)
    luma = torch.as_tensor((0.2126, 0.7152, 0.0722), dtype=g.dtype, device=g.device)
    weights = (luma @ to_rgb) * to_cone.sum(dim=1)
    return g / (g * weights).sum(dim=-1, keepdim=True)


def _is_active(params: PlanParameters, values: Tensor) -> bool:
    return params.requires_grad or bool((values.detach() != 0).any())


def prepare(params: PlanParameters, pooled: Tensor, size: tuple[int, int], factor: int,
            masks: Mapping[str, Any] | None, patches: list[Patch]) -> Prepared:
    """Resolve the plan for one image from its working-grid image `pooled` (N, 3, gh, gw)."""
    plan = params.plan
    dtype, device = pooled.dtype, pooled.device
    prep = Prepared(params=params, size=size, factor=factor, patches=patches)
    regions = [i for i, e in enumerate(plan.regions) if e.active]
    amounts = params.amounts()

    # global amounts
    for plan_name, name in _SLIDERS.items():
        value = params.global_value(plan_name)
        prep.scalars[name] = value if name == "exposure" else value / 100.0
    ref_m, ref_d, mired, duv = _wb_state(params)

    # local edits: masks on the working grid, then one field per slider that some edit changes
    weights = None
    local_names = []
    if regions:
        gh, gw = pooled.shape[-2:]
        ys, xs = grid_centres((gh, gw), factor, size, dtype, device)
        weights = torch.stack([edit_mask(plan.regions[i], ys, xs, size, masks or {}, f"regions[{i}]")
                               for i in regions])  # (K, gh, gw)
        weights = weights * amounts[regions].view(-1, 1, 1)
        for plan_name in list(_SLIDERS) + list(_LOCAL_WB):
            if plan_name == "Vibrance":
                continue
            if _is_active(params, params.local_values(plan_name)[regions]):
                local_names.append(plan_name)

    def local_sum(plan_name: str, scale: float) -> Tensor:
        v = params.local_values(plan_name)[regions] * scale
        return torch.einsum("khw,k->hw", weights, v)[None, None]

    field_maps: list[Tensor] = []
    names: list[str] = []
    local_wb = any(n in _LOCAL_WB for n in local_names)
    exposure_global = prep.scalars["exposure"]
    if local_wb:
        mired_map = mired - local_sum("Temperature", MIRED_PER_STEP) if "Temperature" in local_names else \
            mired.expand(1, 1, *weights.shape[-2:])
        duv_map = duv + local_sum("Tint", 1.0 / TINT_SCALE) if "Tint" in local_names else \
            duv.expand(1, 1, *weights.shape[-2:])
        gains = _normalised_gains(ref_m, ref_d, mired_map.clamp(*MIRED_RANGE), duv_map)
        gains = gains[:, 0].permute(0, 3, 1, 2)  # (1, 3, gh, gw)
        if "Exposure2012" in local_names:
            gains = gains * torch.exp2(local_sum("Exposure2012", 1.0))
        field_maps.append(gains)
        names += ["gain_l", "gain_m", "gain_s"]
        to_cone = torch.as_tensor(RGB_TO_CONE, dtype=dtype, device=device)
        prep.matrix = to_cone * torch.exp2(exposure_global)
        prep.cone_to_rgb = torch.as_tensor(CONE_TO_RGB, dtype=dtype, device=device)
    else:
        prep.matrix = wb_matrix(_normalised_gains(ref_m, ref_d, mired, duv)) * torch.exp2(exposure_global)
        if "Exposure2012" in local_names:
            field_maps.append(torch.exp2(local_sum("Exposure2012", 1.0)))
            names.append("exposure_gain")
    for plan_name in local_names:
        name = _SLIDERS.get(plan_name)
        if name is None or name == "exposure":
            continue
        summed = prep.scalars[name] + local_sum(plan_name, 0.01)
        field_maps.append(summed.clamp(-_CLAMPS[name], _CLAMPS[name]) if name in _CLAMPS else summed)
        names.append(name)
    if field_maps:
        prep.fields = Grid(torch.cat([m.expand(pooled.shape[0], -1, -1, -1) for m in field_maps], dim=1), factor)
        prep.field_names = tuple(names)

    # which stages run (a stage whose amounts are all zero is skipped unless gradients are wanted)
    for name in ("contrast", "highlights", "shadows", "whites", "blacks", "texture", "clarity", "dehaze",
                 "saturation", "vibrance"):
        if name in prep.field_names or _is_active(params, prep.scalars[name]):
            prep.active.add(name)
    for name in prep.active & set(_CLAMPS):
        prep.scalars[name] = prep.scalars[name].clamp(-_CLAMPS[name], _CLAMPS[name])

    _prepare_colour(prep)
    # measure the coarse statistics (bases, haze) by running the pipeline on the working grid
    view = _View(prep, 0, 0, pooled.shape[-2], pooled.shape[-1], level=factor, measure=True)
    _develop(pooled, prep, view, stats_only=True)
    return prep


def _prepare_colour(prep: Prepared) -> None:
    """HSL table and tone-curve tables (global, pixel-wise parts baked into look-up tables)."""
    params, plan = prep.params, prep.params.plan
    hsl = torch.stack([torch.stack([params.global_value(f"{what}Adjustment{band}") for band in HSL_BANDS])
                       for what in ("Hue", "Saturation", "Luminance")], dim=1) / 100.0  # (8, 3)
    parts = tuple(_is_active(params, hsl[:, j]) for j in range(3))
    if any(parts):
        weights = _hsl_weights(HSL_TABLE_SIZE, hsl.dtype, hsl.device)  # (n, 8)
        scale = hsl.new_tensor([ops.HSL_HUE_SHIFT_DEG, 1.0, ops.HSL_LUMINANCE_EV])
        prep.hsl_table = weights @ (hsl * scale)
        prep.hsl_parts = parts
    regions = torch.stack([params.global_value(n) for n in
                           ("ParametricShadows", "ParametricDarks", "ParametricLights", "ParametricHighlights")]) / 100
    splits = torch.stack([params.global_value(n) for n in
                          ("ParametricShadowSplit", "ParametricMidtoneSplit", "ParametricHighlightSplit")]) / 100
    splits = torch.cummax(splits.clamp(0.01, 0.99), dim=0).values
    master = _curve_points(plan, "ToneCurvePV2012")
    channels = [_curve_points(plan, f"ToneCurvePV2012{c}") for c in ("Red", "Green", "Blue")]
    parametric = _is_active(params, regions)
    if parametric or master is not None or any(c is not None for c in channels):
        prep.curves = curve_tables(master, channels, regions if parametric else None, splits,
                                   dtype=regions.dtype, device=regions.device)


def _curve_points(plan: RetouchPlan, name: str):
    points = plan.global_.get(name)
    if not points or all(int(x) == int(y) for x, y in points):
        return None
    return points


def _hsl_weights(n: int, dtype, device) -> Tensor:
    """(n, 8): smooth (cosine) interpolation weights of the 8 band centres at hues 0..360 (n steps)."""
    centres = torch.tensor([HSL_CENTRES[b] for b in HSL_BANDS], dtype=torch.float64)
    hue = torch.arange(n, dtype=torch.float64) * (360.0 / n)
    w = torch.zeros(n, len(centres), dtype=torch.float64)
    for k in range(len(centres)):
        nxt = (k + 1) % len(centres)
        span = (centres[nxt] - centres[k]) % 360.0
        t = ((hue - centres[k]) % 360.0) / span
        inside = t <= 1.0
        w[inside, k] += (0.5 + 0.5 * torch.cos(math.pi * t[inside]))
        w[inside, nxt] += (0.5 - 0.5 * torch.cos(math.pi * t[inside]))
    return w.to(dtype=dtype, device=device)


# ---------------------------------------------------------------------------------------------------------
# one pass: the pipeline on some pixels (the working grid, or a full-resolution tile)
# ---------------------------------------------------------------------------------------------------------
class _View:
    """Where a pass runs (crop in `level` pixels) and whether it measures the coarse maps or reads them."""

    def __init__(self, prep: Prepared, top: int, left: int, height: int, width: int, level: int, measure: bool):
        self.prep, self.top, self.left, self.height, self.width = prep, top, left, height, width
        self.level, self.measure = level, measure
        self.fields = prep.fields.sample(top, left, height, width, at=level) if prep.fields is not None else None

    def amount(self, name: str) -> Tensor:
        return self.prep.amount(name, self.fields)

    def _sample(self, key: str) -> Tensor:
        return self.prep.grids[key].sample(self.top, self.left, self.height, self.width, at=self.level)

    def base(self, key: str, light: Tensor) -> Tensor:
        """Edge-aware smoothed lightness at the scale of `key` (texture or clarity)."""
        if self.measure:
            radius, eps = (TEXTURE_RADIUS, TEXTURE_EPS) if key == "texture" else (CLARITY_RADIUS, CLARITY_EPS)
            factor, cells = level_for(radius * max(self.prep.size), self.prep.factor)
            guide = pool(light, factor // self.prep.factor)
            a, b = guided_coefficients(guide, guide, cells, eps)
            self.prep.grids[key] = Grid(torch.cat([a, b], dim=1), factor)
        ab = self._sample(key)
        return ab[:, :1] * light + ab[:, 1:]

    def haze(self, light: Tensor, rgb: Tensor) -> Tensor:
        """Haze density 0..1 (refined dark channel), measuring the airlight on the way."""
        if self.measure:
            factor, cells = level_for(HAZE_RADIUS * max(self.prep.size), self.prep.factor)
            step = factor // self.prep.factor
            coarse = pool(rgb, step)
            dark = box_min(coarse.amin(dim=1, keepdim=True), cells)
            flat = dark.flatten(1)
            k = max(1, int(flat.shape[1] * AIRLIGHT_SHARE))
            idx = flat.topk(k, dim=1).indices  # (N, k)
            colours = coarse.flatten(2).gather(2, idx[:, None, :].expand(-1, 3, -1))
            airlight = colours.mean(dim=2).clamp(min=0.05)[..., None, None]  # (N, 3, 1, 1)
            raw = box_min((coarse / airlight).amin(dim=1, keepdim=True), cells).clamp(0.0, 1.0)
            a, b = guided_coefficients(pool(light, step), raw, 2 * cells, HAZE_EPS)
            self.prep.airlight = airlight
            self.prep.grids["haze"] = Grid(torch.cat([a, b], dim=1), factor)
        ab = self._sample("haze")
        return (ab[:, :1] * light + ab[:, 1:]).clamp(0.0, 1.0)


def _develop(rgb: Tensor, prep: Prepared, view: _View, stats_only: bool = False) -> Tensor | None:
    """The ordered develop operations on linear rgb (N, 3, h, w); returns clipped linear rgb."""
    act = prep.active
    # white balance and exposure
    rgb = apply_matrix(rgb, prep.matrix)
    if prep.cone_to_rgb is not None:
        rgb = apply_matrix(rgb * view.fields[:, :3], prep.cone_to_rgb)
    elif "exposure_gain" in prep.field_names:
        rgb = rgb * prep.amount("exposure_gain", view.fields)
    # dehaze
    if "dehaze" in act:
        haze = view.haze(lightness(luminance(rgb)), rgb)
        rgb = ops.dehaze(rgb, prep.airlight, haze, view.amount("dehaze"))
    # tone
    tone_active = act & {"contrast", "highlights", "shadows", "whites", "blacks", "texture", "clarity"}
    y = None
    if tone_active:
        y = luminance(rgb)
        light = lightness(y)
        gain = extra = None
        if act & {"highlights", "shadows", "clarity"}:
            base = view.base("clarity", light)
            if act & {"highlights", "shadows"}:
                gain = ops.tone_gain(base, view.amount("highlights"), view.amount("shadows"))
            if "clarity" in act:
                extra = ops.detail_boost(light, base, view.amount("clarity"), ops.CLARITY_GAIN, ops.CLARITY_SIGMA)
        if "texture" in act:
            fine = ops.detail_boost(light, view.base("texture", light), view.amount("texture"),
                                    ops.TEXTURE_GAIN, ops.TEXTURE_SIGMA)
            extra = fine if extra is None else extra + fine
        if stats_only:
            return None
        rgb, y = ops.tone(rgb, y, light, gain, extra,
                          view.amount("whites") if "whites" in act else None,
                          view.amount("blacks") if "blacks" in act else None,
                          view.amount("contrast") if "contrast" in act else None)
    if stats_only:
        return None
    # colour
    if act & {"saturation", "vibrance"} or prep.hsl_table is not None:
        if y is None:
            y = luminance(rgb)
        factor = None
        if "vibrance" in act:
            factor = ops.vibrance_factor(rgb, prep.scalars["vibrance"])
        if "saturation" in act:
            sat = 1.0 + view.amount("saturation")
            factor = sat if factor is None else factor * sat
        if factor is not None:
            rgb = ops.chroma_scale(rgb, y, factor.clamp(min=0.0))
        if prep.hsl_table is not None:
            hue, sat_, lum = prep.hsl_parts
            rgb = ops.hsl(rgb, y, prep.hsl_table, hue=hue, sat=sat_, lum=lum)
    # tone curves, output
    if prep.curves is not None:
        rgb = apply_tables(rgb, prep.curves)
    return ops.clip(rgb)


# ---------------------------------------------------------------------------------------------------------
# sources: numpy (H, W, 3), tensors (*, 3, H, W), objects with .pixels
# ---------------------------------------------------------------------------------------------------------
class _Source:
    """Reads crops of the input as (N, 3, h, w) tensors on the working device."""

    def __init__(self, pixels: Any, device):
        if hasattr(pixels, "pixels") and not isinstance(pixels, (np.ndarray, torch.Tensor)):
            pixels = pixels.pixels
        self.numpy = not torch.is_tensor(pixels)
        if self.numpy:
            arr = np.asarray(pixels)
            if arr.ndim != 3 or arr.shape[-1] != 3:
                raise ValueError(f"expected linear pixels of shape (height, width, 3), got {arr.shape}")
            if not np.issubdtype(arr.dtype, np.floating):
                raise ValueError(f"expected linear float pixels, got {arr.dtype}")
            self.array = arr
            self.height, self.width = arr.shape[:2]
            self.lead: tuple[int, ...] = ()
            self.batch = 1
            self.dtype = torch.float64 if arr.dtype == np.float64 else torch.float32
            self.in_device = torch.device("cpu")
        else:
            if pixels.dim() < 3 or pixels.shape[-3] != 3:
                raise ValueError(f"expected a tensor of shape (*, 3, H, W), got {tuple(pixels.shape)}")
            self.lead = tuple(pixels.shape[:-3])
            self.tensor = pixels.reshape(-1, 3, *pixels.shape[-2:])
            self.height, self.width = pixels.shape[-2:]
            self.batch = self.tensor.shape[0]
            self.dtype = pixels.dtype if pixels.is_floating_point() else torch.float32
            self.in_device = pixels.device
        self.device = torch.device(device) if device is not None else (
            torch.device("cuda") if self.numpy and torch.cuda.is_available() else self.in_device)

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width

    def read(self, top: int, left: int, height: int, width: int) -> Tensor:
        if self.numpy:
            crop = torch.from_numpy(self.array[top:top + height, left:left + width])
            return crop.permute(2, 0, 1)[None].to(self.device, self.dtype).contiguous()
        crop = self.tensor[..., top:top + height, left:left + width]
        return crop.to(self.device, self.dtype)

    def whole(self) -> Tensor:
        return self.read(0, 0, self.height, self.width)

    def output(self, out: Tensor):
        """A rendered (N, 3, H, W) tensor in the caller's form."""
        if self.numpy:
            return out[0].permute(1, 2, 0).cpu().numpy()
        return out.to(self.in_device).reshape(*self.lead, 3, self.height, self.width)


def _parameters(plan, as_shot, dtype, device) -> PlanParameters:
    if isinstance(plan, PlanParameters):
        if plan.vector.device != device or plan.vector.dtype != dtype:
            moved = plan.vector.to(device=device, dtype=dtype)
            return PlanParameters(plan.plan, plan.keys, moved, plan.absolute_wb, plan.as_shot)
        return plan
    return PlanParameters.from_plan(plan, as_shot=as_shot, dtype=dtype, device=device)


def _heal(read, spots, size) -> list[Patch]:
    """Heal patches in plan order; each spot sees the result of the spots before it."""
    patches: list[Patch] = []

    def current(top, left, h, w):
        return paste(read(top, left, h, w), top, left, patches)

    for spot in spots:
        patch = heal_spot(current, spot, size)
        if patch is not None:
            patches.append(patch)
    return patches


# ---------------------------------------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------------------------------------
def render(pixels, plan: RetouchPlan | PlanParameters, masks: Mapping[str, Any] | None = None, *,
           device=None, as_shot: tuple[float, float] | None = None, srgb: bool = False):
    """Develop linear pixels with a plan in one differentiable pass.

    pixels: linear-light float Rec.709 RGB, a numpy array (H, W, 3), a tensor (*, 3, H, W) or an object with
    `.pixels` (a DecodedImage). plan: a RetouchPlan, or `PlanParameters` (for gradients w.r.t. its vector).
    masks: region key -> (H', W') array 0..1 for the plan's AI regions ("person:0", "person:1"... for people).
    as_shot: (kelvin, tint) the decoder balanced a raw for; absolute Temperature/Tint are relative to it.
    Returns linear light clipped to [0, 1] (sRGB-encoded if `srgb`) in the input's form. Memory grows with
    the image: use `render_tiled` for full-size photos.
    """
    src = _Source(pixels, device)
    x = src.whole()
    params = _parameters(plan, as_shot, src.dtype, src.device)
    patches = _heal(lambda t, l, h, w: x[..., t:t + h, l:l + w], params.plan.spots, src.size)
    x = paste(x, 0, 0, patches)
    factor = working_factor(*src.size)
    prep = prepare(params, pool(x, factor), src.size, factor, masks, patches)
    out = _develop(x, prep, _View(prep, 0, 0, src.height, src.width, level=1, measure=False))
    return src.output(encode_srgb(out) if srgb else out)


def render_tiled(pixels, plan: RetouchPlan | PlanParameters, masks: Mapping[str, Any] | None = None, *,
                 tile: int = 1024, device=None, as_shot: tuple[float, float] | None = None,
                 srgb: bool = False):
    """`render` at full resolution in bounded memory: tiles of `tile` x `tile` pixels, no gradients.

    The coarse statistics are computed once for the whole image, so tiles need no overlap and the result
    equals `render`'s (to float rounding). Memory: the input, the output, the working grid and a few tiles.
    """
    src = _Source(pixels, device)
    height, width = src.size
    factor = working_factor(height, width)
    tile = max(factor, (int(tile) // factor) * factor)
    with torch.no_grad():
        params = _parameters(plan, as_shot, src.dtype, src.device)
        patches = _heal(src.read, params.plan.spots, src.size)
        pooled = torch.cat([pool(paste(src.read(top, 0, min(tile, height - top), width), top, 0, patches), factor)
                            for top in range(0, height, tile)], dim=-2)
        prep = prepare(params, pooled, src.size, factor, masks, patches)
        if src.numpy:
            out_np = np.empty((height, width, 3), dtype=np.float64 if src.dtype == torch.float64 else np.float32)
        else:
            out_t = torch.empty((src.batch, 3, height, width), dtype=src.dtype, device=src.in_device)
        for top in range(0, height, tile):
            for left in range(0, width, tile):
                h, w = min(tile, height - top), min(tile, width - left)
                x = paste(src.read(top, left, h, w), top, left, patches)
                y = _develop(x, prep, _View(prep, top, left, h, w, level=1, measure=False))
                if srgb:
                    y = encode_srgb(y)
                if src.numpy:
                    out_np[top:top + h, left:left + w] = y[0].permute(1, 2, 0).cpu().numpy()
                else:
                    out_t[..., top:top + h, left:left + w] = y.to(src.in_device)
    if src.numpy:
        return out_np
    return out_t.reshape(*src.lead, 3, height, width)
