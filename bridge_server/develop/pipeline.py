"""The develop operations in Lightroom's order, as one function of pixels and coarse maps.

Order: white balance and exposure (global and local) -> dehaze -> tone (highlights and shadows on an
edge-aware base, texture and clarity as added detail, whites, blacks, contrast) -> vibrance, saturation ->
HSL -> tone curves -> clip to [0, 1].

Slider amounts and local statistics come from a "maps" object: `TileMaps` reads them from the prepared coarse
grids (upsampled to the pixels at hand), `MeasureMaps` (prepare.py) computes them on the working grid. The same
`develop` runs in both, so what is measured is exactly what is applied. `tile_kernel` is the entry point for
full-resolution pixels: tensors in, tensors out, with `Features` (which stages run) fixed per kernel, so that
it can be compiled once per feature set.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from . import ops
from .color import apply_matrix, lightness, lightness_from_root, luminance, luminance_root
from .curves import apply_tables
from .filters import upsample_rows

Tensor = torch.Tensor

# Amounts that a local edit can make vary over the image, in the channel order of the fields grid (after the
# white-balance/exposure gain channels), and the order of the global amounts in `consts`.
FIELD_ORDER = ("contrast", "highlights", "shadows", "whites", "blacks", "texture", "clarity", "dehaze", "saturation")
CONST_ORDER = FIELD_ORDER + ("vibrance",)


class Features(NamedTuple):
    """Which stages run and how local edits reach them; one compiled kernel per distinct value."""

    gains: str  # "matrix": global WB/exposure only; "exposure": + a local exposure gain map; "cone": local WB
    fields: tuple[str, ...]  # amounts that vary over the image (channels of the fields grid after the gains)
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
    hwc: bool = False  # tile kernel takes and returns (H, W, 3) instead of (N, 3, H, W)

    @property
    def gain_channels(self) -> int:
        return {"matrix": 0, "exposure": 1, "cone": 3}[self.gains]

    @property
    def tone(self) -> bool:
        return self.tone_gain or self.clarity or self.texture or self.whites_blacks or self.contrast


class Maps:
    """Amounts (global scalars or local fields) and local statistics for the pixels of one pass."""

    def __init__(self, features: Features, consts: Tensor, fields: Tensor | None, airlight: Tensor | None):
        self.features, self.consts, self.fields, self.airlight = features, consts, fields, airlight

    def amount(self, name: str) -> Tensor:
        """0-d global amount, or (N, 1, h, w) where a local edit changes it."""
        if name in self.features.fields:
            i = self.features.gain_channels + self.features.fields.index(name)
            return self.fields[:, i:i + 1]
        i = CONST_ORDER.index(name)
        return self.consts[i]

    def gains(self) -> Tensor:
        return self.fields[:, :self.features.gain_channels]

    def base(self, key: str, light: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def haze(self, light: Tensor, rgb: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError


class TileMaps(Maps):
    """Maps read from grid windows: each argument is (block, rows) for `filters.upsample_rows`, or None."""

    def __init__(self, features, consts, fields, clarity, texture, haze, airlight):
        super().__init__(features, consts, upsample_rows(*fields) if fields is not None else None, airlight)
        self.windows = {"clarity": clarity, "texture": texture, "haze": haze}

    def base(self, key: str, light: Tensor) -> Tensor:
        ab = upsample_rows(*self.windows[key])
        return ab[:, :1] * light + ab[:, 1:]

    def haze(self, light: Tensor, rgb: Tensor) -> Tensor:
        ab = upsample_rows(*self.windows["haze"])
        return (ab[:, :1] * light + ab[:, 1:]).clamp(0.0, 1.0)


def develop(rgb: Tensor, features: Features, pre: Tensor, post: Tensor | None, maps: Maps,
            curves: Tensor | None, hsl_table: Tensor | None, stats_only: bool = False) -> Tensor | None:
    """Develop linear rgb (N, 3, h, w) -> clipped linear rgb. `pre`/`post`: global 3x3 matrices (white balance
    and exposure; with local white balance `pre` goes to cones and `post` back). With `stats_only` the pass
    stops once every local statistic has been asked for (the measuring pass) and returns None."""
    f = features
    rgb = apply_matrix(rgb, pre)
    if f.gains == "cone":
        rgb = apply_matrix(rgb * maps.gains(), post)
    elif f.gains == "exposure":
        rgb = rgb * maps.gains()
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


def tile_kernel(x: Tensor, consts: Tensor, pre: Tensor, post: Tensor | None, airlight: Tensor | None,
                fields, clarity, texture, haze, curves: Tensor | None, hsl_table: Tensor | None, *,
                features: Features) -> Tensor:
    """Develop a crop of the image: x (N, 3, h, w), or (h, w, 3) when `features.hwc`; the grid windows
    (block, rows) are cut for this crop. Returns the developed crop in the same layout."""
    if features.hwc:
        x = x.permute(2, 0, 1)[None]
    maps = TileMaps(features, consts, fields, clarity, texture, haze, airlight)
    out = develop(x, features, pre, post, maps, curves, hsl_table)
    if features.hwc:
        out = out[0].permute(1, 2, 0).contiguous()
    return out
