"""The develop operations in Lightroom's order, as one function of pixels and coarse maps.

Order: white balance and exposure (global and local) -> dehaze -> tone (highlights and shadows on an
edge-aware base, texture and clarity as added detail, whites, blacks, contrast) -> vibrance, saturation ->
HSL -> tone curves -> clip to [0, 1].

Slider amounts and local statistics come from a "maps" object (local edits reach the pixels as their mask
weights, and every slider they change is computed per pixel from those): `TileMaps` reads them from the prepared coarse
grids (upsampled to the pixels at hand), `MeasureMaps` (prepare.py) computes them on the working grid. The same
`develop` runs in both, so what is measured is exactly what is applied. `tile_kernel` is the entry point for
full-resolution pixels: tensors in, tensors out, with `Features` (which stages run) fixed per kernel, so that
it can be compiled once per feature set.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from . import ops
from .color import (
    CONE_TO_RGB, MIRED_RANGE, apply_matrix, cone_gains, lightness, lightness_from_root, luminance, luminance_root,
)
from .curves import apply_tables
from .filters import upsample_rows

Tensor = torch.Tensor

# Global amounts, in the order of `consts` (internal units: slider/100; exposure is folded into `pre`).
CONST_ORDER = ("contrast", "highlights", "shadows", "whites", "blacks", "texture", "clarity", "dehaze",
               "saturation", "vibrance")
# What local edits can change, in the row order of `coef` (internal units per unit of edit weight:
# exposure in EV, temperature as the mired shift of the assumed light, tint as Duv, the others slider/100).
LOCAL_ORDER = ("exposure", "temperature", "tint") + CONST_ORDER[:-1]
CLAMPS = {  # safe ranges of summed (global + local) amounts; the operations stay monotone within them
    "contrast": 1.5, "highlights": 2.0, "shadows": 2.0, "whites": 1.5, "blacks": 1.5, "texture": 2.0,
    "clarity": 2.0, "dehaze": 1.0, "saturation": 2.0, "vibrance": 1.0,
}


class Features(NamedTuple):
    """Which stages run and which amounts local edits change; one compiled kernel per distinct value."""

    local: tuple[str, ...]  # names of LOCAL_ORDER that vary over the image
    dehaze: bool
    tone_gain: bool  # highlights / shadows
    clarity: bool
    texture: bool
    whites_blacks: bool
    contrast: bool
    saturation: bool
    vibrance: bool
    hsl: tuple[bool, bool, bool]  # hue, saturation, luminance parts
    curves: bool

    @property
    def local_wb(self) -> bool:
        return "temperature" in self.local or "tint" in self.local

    @property
    def tone(self) -> bool:
        return self.tone_gain or self.clarity or self.texture or self.whites_blacks or self.contrast


class Maps:
    """Slider amounts and local statistics for the pixels of one pass.

    consts: global amounts (CONST_ORDER); wb: (reference mired, reference Duv, chosen mired, chosen Duv);
    coef (len(LOCAL_ORDER), K): each edit's local values; weights (1, K, h, w): each edit's mask x amount."""

    def __init__(self, features: Features, consts: Tensor, wb: Tensor, coef: Tensor | None,
                 weights: Tensor | None, airlight: Tensor | None):
        self.features, self.consts, self.wb, self.coef = features, consts, wb, coef
        self.weights, self.airlight = weights, airlight

    def local(self, name: str) -> Tensor:
        """What the local edits add to `name` here: (1, 1, h, w)."""
        row = self.coef[LOCAL_ORDER.index(name)]
        w = self.weights
        total = w[:, :1] * row[0]
        for k in range(1, w.shape[1]):  # written out: fuses into one loop in compiled code
            total = total + w[:, k:k + 1] * row[k]
        return total

    def amount(self, name: str) -> Tensor:
        """A 0-d global amount, or (N, 1, h, w) where local edits change it."""
        value = self.consts[CONST_ORDER.index(name)]
        if name in self.features.local:
            value = (value + self.local(name)).clamp(-CLAMPS[name], CLAMPS[name])
        return value

    def base(self, key: str, light: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def haze(self, light: Tensor, rgb: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError


class TileMaps(Maps):
    """Maps read from grid windows: each window is (block, rows) for `filters.upsample_rows`, or None."""

    def __init__(self, features, consts, wb, coef, weights, clarity, texture, haze, airlight):
        super().__init__(features, consts, wb, coef, upsample_rows(*weights) if weights is not None else None,
                         airlight)
        self.windows = {"clarity": clarity, "texture": texture, "haze": haze}

    def base(self, key: str, light: Tensor) -> Tensor:
        ab = upsample_rows(*self.windows[key])
        return ab[:, :1] * light + ab[:, 1:]

    def haze(self, light: Tensor, rgb: Tensor) -> Tensor:
        ab = upsample_rows(*self.windows["haze"])
        return (ab[:, :1] * light + ab[:, 1:]).clamp(0.0, 1.0)


def local_white_balance(rgb_cone: Tensor, maps: Maps) -> Tensor:
    """Cone responses (N, 3, h, w) -> linear RGB, with the white balance (and exposure) of the local edits:
    the assumed light moves by the edits' temperature (mired) and tint (Duv) at each pixel."""
    wb, f = maps.wb, maps.features
    mired = wb[2] - maps.local("temperature") if "temperature" in f.local else wb[2]
    duv = wb[3] + maps.local("tint") if "tint" in f.local else wb[3]
    gains = cone_gains(wb[0], wb[1], mired.clamp(*MIRED_RANGE), duv)
    if "exposure" in f.local:
        ev = torch.exp2(maps.local("exposure"))
        gains = [g * ev for g in gains]
    return apply_matrix(rgb_cone * torch.stack(torch.broadcast_tensors(*gains), dim=1)[:, :, 0],
                        torch.as_tensor(CONE_TO_RGB, dtype=rgb_cone.dtype, device=rgb_cone.device))


def develop(rgb: Tensor, features: Features, pre: Tensor, maps: Maps, curves: Tensor | None,
            hsl_table: Tensor | None, stats_only: bool = False) -> Tensor | None:
    """Develop linear rgb (N, 3, h, w) -> clipped linear rgb. `pre`: the global 3x3 matrix (white balance and
    exposure; with local white balance it goes to cone responses and exposure only). With `stats_only` the
    pass stops once every local statistic has been asked for (the measuring pass) and returns None."""
    f = features
    rgb = apply_matrix(rgb, pre)
    if f.local_wb:
        rgb = local_white_balance(rgb, maps)
    elif "exposure" in f.local:
        rgb = rgb * torch.exp2(maps.local("exposure"))
    if f.dehaze:
        haze = maps.haze(lightness(luminance(rgb)), rgb)
        rgb = ops.dehaze(rgb, maps.airlight, haze, maps.amount("dehaze"))
    y = None
    if f.tone:
        y = luminance(rgb)
        root = luminance_root(y)
        light = lightness_from_root(root, y)
        gain = extra = None
        if f.tone_gain or f.clarity:
            base = maps.base("clarity", light)
            if f.tone_gain:
                gain = ops.tone_gain(base, maps.amount("highlights"), maps.amount("shadows"))
            if f.clarity:
                extra = ops.detail_boost(light, base, maps.amount("clarity"), ops.CLARITY_GAIN, ops.CLARITY_SIGMA)
        if f.texture:
            fine = ops.detail_boost(light, maps.base("texture", light), maps.amount("texture"),
                                    ops.TEXTURE_GAIN, ops.TEXTURE_SIGMA)
            extra = fine if extra is None else extra + fine
        if stats_only:
            return None
        rgb, y = ops.tone(rgb, y, root, light, gain, extra,
                          maps.amount("whites") if f.whites_blacks else None,
                          maps.amount("blacks") if f.whites_blacks else None,
                          maps.amount("contrast") if f.contrast else None)
    if stats_only:
        return None
    if f.saturation or f.vibrance or any(f.hsl):
        if y is None:
            y = luminance(rgb)
        factor = None
        if f.vibrance:
            factor = ops.vibrance_factor(rgb, maps.amount("vibrance"))
        if f.saturation:
            sat = 1.0 + maps.amount("saturation")
            factor = sat if factor is None else factor * sat
        if factor is not None:
            rgb = ops.chroma_scale(rgb, y, factor.clamp(min=0.0))
        if any(f.hsl):
            rgb = ops.hsl(rgb, y, hsl_table, hue=f.hsl[0], sat=f.hsl[1], lum=f.hsl[2])
    if f.curves:
        rgb = apply_tables(rgb, curves)
    return ops.clip(rgb)


def tile_kernel(x: Tensor, consts: Tensor, wb: Tensor, coef: Tensor | None, pre: Tensor,
                airlight: Tensor | None, weights, clarity, texture, haze, curves: Tensor | None,
                hsl_table: Tensor | None, *, features: Features) -> Tensor:
    """Develop a crop of the image, x (N, 3, h, w); the grid windows (block, rows) are cut for this crop."""
    maps = TileMaps(features, consts, wb, coef, weights, clarity, texture, haze, airlight)
    return develop(x, features, pre, maps, curves, hsl_table)
