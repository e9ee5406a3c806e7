"""The develop operations in Lightroom's order, as one function of pixels and coarse maps.

Order: white balance and exposure (global and local) -> dehaze -> tone (highlights and shadows on an
edge-aware base, texture and clarity as added detail, whites, blacks, contrast) -> vibrance, saturation ->
HSL -> tone curves -> clip to [0, 1].

Slider amounts and local statistics come from a "maps" object (local edits reach the pixels as their mask
weights, and every slider they change is computed per pixel from those): `TileMaps` reads them from the
prepared coarse grids (upsampled to the pixels at hand), `MeasureMaps` (prepare.py) computes them on the
working grid. The same `develop` runs in both, so what is measured is exactly what is applied. `tile_kernel` is the entry point for
full-resolution pixels: tensors in, tensors out, with `Features` (which stages run) fixed per kernel, so that
it can be compiled once per feature set.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from . import ops
from .color import lightness, lightness_from_root, luminance, luminance_root
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
    "contrast": 1.5, "highlights": 1.5, "shadows": 2.0, "whites": 1.5, "blacks": 1.5, "texture": 2.0,
    "clarity": 2.0, "dehaze": 1.0, "saturation": 2.0, "vibrance": 1.0,
}


class Features(NamedTuple):
    """Which stages run and which amounts local edits change; one compiled kernel per distinct value."""

    local: tuple[str, ...]  # names of LOCAL_ORDER that vary over the image
    dehaze: bool
    highlights: bool
    shadows: bool
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
    def gain_channels(self) -> int:
        """Channels after the edit weights: cone gains (local white balance, with local exposure folded in),
        or one exposure gain, or none."""
        return 3 if self.local_wb else 1 if "exposure" in self.local else 0

    @property
    def tone(self) -> bool:
        return self.highlights or self.shadows or self.clarity or self.texture or self.whites_blacks or self.contrast


class Maps:
    """Slider amounts and local statistics for the pixels of one pass.

    consts: global amounts (CONST_ORDER); coef (len(LOCAL_ORDER), K): each edit's local values;
    weights (1, K + gain channels, h, w): each edit's mask x amount, then the local white-balance/exposure
    gains (computed on the grid: see `Features.gain_channels`)."""

    def __init__(self, features: Features, consts: Tensor, coef: Tensor | None, weights: Tensor | None,
                 airlight: Tensor | None):
        self.features, self.consts, self.coef = features, consts, coef
        self.weights, self.airlight = weights, airlight

    def local(self, name: str) -> Tensor:
        """What the local edits add to `name` here: (1, 1, h, w)."""
        row = self.coef[LOCAL_ORDER.index(name)]
        w = self.weights
        total = w[:, :1] * row[0]
        for k in range(1, row.shape[0]):  # written out: fuses into one loop in compiled code
            total = total + w[:, k:k + 1] * row[k]
        return total

    def gains(self) -> Tensor:
        """Local white-balance (cone) or exposure gains: (1, 3 or 1, h, w)."""
        return self.weights[:, self.coef.shape[1]:]

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

    def __init__(self, features, consts, coef, weights, clarity, texture, haze, airlight):
        super().__init__(features, consts, coef, upsample_rows(*weights) if weights is not None else None,
                         airlight)
        self.windows = {"clarity": clarity, "texture": texture, "haze": haze}

    def base(self, key: str, light: Tensor) -> Tensor:
        ab = upsample_rows(*self.windows[key])
        return ab[:, :1] * light + ab[:, 1:]

    def haze(self, light: Tensor, rgb: Tensor) -> Tensor:
        ab = upsample_rows(*self.windows["haze"])
        return (ab[:, :1] * light + ab[:, 1:]).clamp(0.0, 1.0)


def develop(rgb: Tensor, features: Features, pre: Tensor, post: Tensor | None, maps: Maps,
            curves: Tensor | None, hsl_table: Tensor | None, stats_only: bool = False) -> Tensor | None:
    """Develop linear rgb (N, 3, h, w) -> clipped linear rgb. `pre`: the global 3x3 matrix (white balance and
    exposure); with local white balance it gives cone responses, which the local gains scale and `post` turns
    back into RGB. With `stats_only` the pass stops once every local statistic has been asked for (the
    measuring pass) and returns None."""
    f = features
    rgb = ops.white_balance_exposure(rgb, pre)
    if f.gain_channels:
        rgb = ops.local_gains(rgb, maps.gains(), post)
    if f.dehaze:
        haze = maps.haze(lightness(luminance(rgb)), rgb)
        rgb = ops.dehaze(rgb, maps.airlight, haze, maps.amount("dehaze"))
    y = None
    if f.tone:
        y = luminance(rgb)
        root = luminance_root(y)
        light = lightness_from_root(root, y)
        gain = extra = None
        if f.highlights or f.shadows or f.clarity:
            base = maps.base("clarity", light)  # the edge-aware base at clarity's scale
            if f.shadows:
                gain = ops.shadows_gain(base, maps.amount("shadows"))
            if f.highlights:
                extra = ops.highlights_shift(base, maps.amount("highlights"))
            if f.clarity:
                extra = _plus(extra, ops.detail_boost(light, base, maps.amount("clarity"), ops.CLARITY_GAIN,
                                                      ops.CLARITY_SIGMA))
        if f.texture:
            extra = _plus(extra, ops.detail_boost(light, maps.base("texture", light), maps.amount("texture"),
                                                  ops.TEXTURE_GAIN, ops.TEXTURE_SIGMA))
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


def _plus(a: Tensor | None, b: Tensor) -> Tensor:
    return b if a is None else a + b


def tile_kernel(x: Tensor, consts: Tensor, coef: Tensor | None, pre: Tensor, post: Tensor | None,
                airlight: Tensor | None, weights, clarity, texture, haze, curves: Tensor | None,
                hsl_table: Tensor | None, *, features: Features) -> Tensor:
    """Develop a crop of the image, x (N, 3, h, w); the grid windows (block, rows) are cut for this crop."""
    maps = TileMaps(features, consts, coef, weights, clarity, texture, haze, airlight)
    return develop(x, features, pre, post, maps, curves, hsl_table)
