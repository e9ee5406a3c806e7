"""Tone curves: point curves (monotone spline through the points), the parametric curve, 1D look-up tables.

Lightroom draws its curves on gamma-encoded values (0..255 on both axes); we apply them to sRGB-encoded
values, per channel, and bake "encode -> parametric -> point curve -> channel curve -> decode" into one table
per channel, indexed by sqrt(linear) so that shadows get as many entries as highlights.
"""
from __future__ import annotations

import numpy as np
import torch

from .color import decode_srgb, encode_srgb

Tensor = torch.Tensor

TABLE_SIZE = 1024
PARAMETRIC_REACH = 0.12  # curve offset (encoded units) of one region slider at +-100, before the end taper


def monotone_spline(points, x: np.ndarray) -> np.ndarray:
    """Fritsch-Carlson monotone cubic through `points` [(x, y)] in 0..255, evaluated at x (0..1) -> y (0..1).

    Outside the first/last point the curve is flat (Lightroom clamps there). Never overshoots between
    points, so a monotone set of points gives a monotone curve.
    """
    pts = np.asarray(sorted({int(px): py for px, py in points}.items()), dtype=np.float64) / 255.0
    xs, ys = pts[:, 0], pts[:, 1]
    if len(xs) == 1:
        return np.full_like(x, ys[0])
    h = np.diff(xs)
    delta = np.diff(ys) / h
    m = np.empty_like(xs)
    m[0], m[-1] = delta[0], delta[-1]
    if len(xs) > 2:  # interior slopes: weighted harmonic mean of the two secants, 0 at a local extremum
        w1 = 2 * h[1:] + h[:-1]
        w2 = h[1:] + 2 * h[:-1]
        same_sign = delta[:-1] * delta[1:] > 0
        safe_l = np.where(same_sign, delta[:-1], 1.0)
        safe_r = np.where(same_sign, delta[1:], 1.0)
        m[1:-1] = np.where(same_sign, (w1 + w2) / (w1 / safe_l + w2 / safe_r), 0.0)
    xc = np.clip(x, xs[0], xs[-1])
    k = np.clip(np.searchsorted(xs, xc, side="right") - 1, 0, len(xs) - 2)
    t = (xc - xs[k]) / h[k]
    t2, t3 = t * t, t * t * t
    return ((2 * t3 - 3 * t2 + 1) * ys[k] + (t3 - 2 * t2 + t) * h[k] * m[k]
            + (-2 * t3 + 3 * t2) * ys[k + 1] + (t3 - t2) * h[k] * m[k + 1])


def _smooth(t: Tensor) -> Tensor:
    t = t.clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def parametric_curve(x: Tensor, regions: Tensor, splits: Tensor) -> Tensor:
    """Lightroom's parametric curve on encoded values x (any shape) -> same shape.

    `regions` (4,): Shadows, Darks, Lights, Highlights in -1..1 (slider/100); `splits` (3,) in 0..1. Each
    region slider moves the curve most at its region's centre, blending smoothly into its neighbours (the
    weights sum to one), tapered to zero at black and white so the end points stay put.
    """
    s1, s2, s3 = splits.unbind()
    centres = torch.stack([s1 / 2, (s1 + s2) / 2, (s2 + s3) / 2, (s3 + 1) / 2])
    weights = []
    for i in range(4):  # cosine-smoothed hat functions on the region centres, flat beyond the outer ones
        w = torch.ones_like(x)
        if i > 0:
            w = w * _smooth((x - centres[i - 1]) / (centres[i] - centres[i - 1]).clamp(min=1e-3))
        if i < 3:
            w = w * (1.0 - _smooth((x - centres[i]) / (centres[i + 1] - centres[i]).clamp(min=1e-3)))
        weights.append(w)
    offset = sum(w * r for w, r in zip(weights, regions.unbind()))
    return x + PARAMETRIC_REACH * offset * 4.0 * x.clamp(0, 1) * (1.0 - x.clamp(0, 1))


def curve_tables(master_points, channel_points, regions: Tensor | None, splits: Tensor | None,
                 size: int = TABLE_SIZE, dtype: torch.dtype = torch.float32, device=None) -> Tensor:
    """Per-channel tables (3, size): linear value at sqrt-index i/(size-1) -> linear output.

    master_points: ToneCurvePV2012 points or None; channel_points: three lists (or None) for R, G, B;
    regions/splits: parametric curve values (see `parametric_curve`) or None. Differentiable in regions/splits.
    The result is made non-decreasing (a running maximum) whatever the sliders do.
    """
    t = torch.linspace(0.0, 1.0, size, dtype=torch.float64)
    enc = encode_srgb(t * t)
    y = enc.to(dtype=dtype, device=device)
    if regions is not None:
        y = parametric_curve(y, regions, splits)
    if master_points is not None:
        y = _spline_tensor(master_points, y)
    tables = []
    for pts in channel_points:
        yc = _spline_tensor(pts, y) if pts is not None else y
        yc = torch.cummax(yc.clamp(0.0, 1.0), dim=0).values
        tables.append(decode_srgb(yc))
    return torch.stack(tables)


def _spline_tensor(points, y: Tensor) -> Tensor:
    """A point curve applied to a tensor of encoded values (not differentiable in the points)."""
    grid = np.linspace(0.0, 1.0, 4096)
    table = torch.as_tensor(monotone_spline(points, grid), dtype=y.dtype, device=y.device)
    return lookup(y.clamp(0.0, 1.0), table)


def lookup(x: Tensor, table: Tensor) -> Tensor:
    """Linear interpolation of a uniform table (n,) over [0, 1] at x in [0, 1] (any shape)."""
    n = table.shape[-1]
    pos = x.clamp(0.0, 1.0) * (n - 1)
    i0 = pos.detach().floor().clamp(max=n - 2).long()
    frac = pos - i0.to(pos.dtype)
    return torch.lerp(table[i0], table[i0 + 1], frac)


def apply_tables(rgb: Tensor, tables: Tensor) -> Tensor:
    """Per-channel tables (3, n) from `curve_tables` on linear rgb (N, 3, H, W) -> (N, 3, H, W)."""
    n = tables.shape[-1]
    pos = (rgb.clamp(0.0, 1.0) + 1e-12).sqrt() * (n - 1)  # + eps: finite slope at 0
    i0 = pos.detach().floor().clamp(max=n - 2).long()
    frac = pos - i0.to(pos.dtype)
    i0 += torch.arange(3, device=rgb.device).view(3, 1, 1) * n
    flat = tables.reshape(-1)
    return torch.lerp(flat.take(i0), flat.take(i0 + 1), frac)
