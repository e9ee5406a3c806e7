"""Heal and clone spots: copy the source area's texture into the destination ellipse.

Healing is a membrane (gradient-domain) blend: healed = source + u, where u is the smooth (harmonic)
interpolation, inside the ellipse, of the colour difference between destination and source measured on a thin
ring just outside it. The source's own texture (its high frequencies) survives untouched while its colour and
brightness meet the destination seamlessly at the boundary. For an ellipse the harmonic interpolation has a
closed form: the Poisson kernel of the disc in ellipse-normalised coordinates. Cloning copies without u.
Works on linear pixels (N, 3, H, W); each spot yields a small patch, so large images stay cheap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from ..core.plan import Spot

Tensor = torch.Tensor

RING = (1.0, 1.25)  # ring (in ellipse radii) where the destination/source difference is measured
SECTORS = 48


@dataclass
class Patch:
    """Healed pixels (N, 3, h, w) to paste at (top, left) of the full image."""

    top: int
    left: int
    pixels: Tensor


@dataclass
class SpotGeometry:
    """A spot in pixels: destination centre, radii, source centre."""

    cx: float
    cy: float
    rx: float
    ry: float
    sx: float
    sy: float


def spot_geometry(spot: Spot, size: tuple[int, int]) -> SpotGeometry:
    """Pixels from the plan's normalised spot: size_x is the radius as a share of the width, size_y of the
    height (a circle when size_y is missing); a missing source is chosen by `auto_source` later."""
    height, width = size
    rx = max(float(spot.size_x) * width, 1.0)
    ry = max(float(spot.size_y) * height, 1.0) if spot.size_y is not None else rx
    cx, cy = float(spot.x) * width - 0.5, float(spot.y) * height - 0.5
    sx = float(spot.source_x) * width - 0.5 if spot.source_x is not None else math.nan
    sy = float(spot.source_y) * height - 0.5 if spot.source_y is not None else math.nan
    return SpotGeometry(cx, cy, rx, ry, sx, sy)


def _box(g: SpotGeometry, cx: float, cy: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Pixel box (top, left, h, w) around an ellipse and its ring, clipped to the image."""
    height, width = size
    reach_x, reach_y = g.rx * RING[1] + 2, g.ry * RING[1] + 2
    top = max(int(math.floor(cy - reach_y)), 0)
    left = max(int(math.floor(cx - reach_x)), 0)
    bottom = min(int(math.ceil(cy + reach_y)) + 1, height)
    right = min(int(math.ceil(cx + reach_x)) + 1, width)
    return top, left, bottom - top, right - left


def _polar(g: SpotGeometry, top: int, left: int, h: int, w: int, dtype, device) -> tuple[Tensor, Tensor]:
    """Ellipse-normalised radius and angle of the box's pixels: (h, w) each."""
    yy = torch.arange(top, top + h, dtype=dtype, device=device)[:, None] - g.cy
    xx = torch.arange(left, left + w, dtype=dtype, device=device)[None, :] - g.cx
    u, v = xx / g.rx, yy / g.ry
    return torch.sqrt(u * u + v * v + 1e-12), torch.atan2(v, u)


def ring_difference(dst: Tensor, src: Tensor, rho: Tensor, phi: Tensor) -> tuple[Tensor, Tensor]:
    """Mean destination - source difference per angular sector of the ring: (N, 3, S) and sector angles (S,).
    Empty sectors (tiny spots) take the mean of the whole ring."""
    ring = (rho >= RING[0]) & (rho <= RING[1])
    sector = ((phi + math.pi) / (2 * math.pi) * SECTORS).long().clamp(0, SECTORS - 1)[ring]
    diff = (dst - src)[..., ring]  # (N, 3, M)
    sums = torch.zeros(*diff.shape[:-1], SECTORS, dtype=diff.dtype, device=diff.device)
    sums = sums.index_add(-1, sector, diff)
    counts = torch.bincount(sector, minlength=SECTORS).to(diff.dtype)
    overall = diff.mean(dim=-1, keepdim=True) if diff.shape[-1] else torch.zeros_like(sums[..., :1])
    means = torch.where(counts > 0, sums / counts.clamp(min=1), overall)
    angles = (torch.arange(SECTORS, dtype=diff.dtype, device=diff.device) + 0.5) / SECTORS * 2 * math.pi - math.pi
    return means, angles


def membrane(values: Tensor, angles: Tensor, rho: Tensor, phi: Tensor) -> Tensor:
    """Harmonic interpolation inside the unit disc of boundary `values` (N, 3, S) at `angles` (S,), evaluated
    at (rho, phi) (h, w) with the Poisson kernel; outside the disc it takes the boundary value. -> (N, 3, h, w)."""
    r = rho.clamp(max=0.97)[..., None]
    kernel = (1.0 - r * r) / (1.0 - 2.0 * r * torch.cos(phi[..., None] - angles) + r * r)  # (h, w, S)
    kernel = kernel / kernel.sum(dim=-1, keepdim=True)
    return torch.einsum("hws,ncs->nchw", kernel, values)


def auto_source(read: Callable[[int, int, int, int], Tensor], g: SpotGeometry, size: tuple[int, int]
                ) -> tuple[float, float]:
    """A source centre for a spot without one: of eight places 2.5 radii away, the one whose surrounding
    ring matches the destination's ring best (mean colour)."""
    height, width = size
    top, left, h, w = _box(g, g.cx, g.cy, size)
    dst = read(top, left, h, w)
    rho, _ = _polar(g, top, left, h, w, dst.dtype, dst.device)
    ring = (rho >= RING[0]) & (rho <= RING[1])
    target = dst[..., ring].mean(dim=-1)
    best, best_cost = (g.cx, g.cy), math.inf
    for k in range(8):
        a = k * math.pi / 4
        sx, sy = g.cx + 2.5 * g.rx * math.cos(a), g.cy + 2.5 * g.ry * math.sin(a)
        if not (g.rx * RING[1] <= sx <= width - 1 - g.rx * RING[1]
                and g.ry * RING[1] <= sy <= height - 1 - g.ry * RING[1]):
            continue
        t2, l2, h2, w2 = _box(g, sx, sy, size)
        cand = read(t2, l2, h2, w2)
        moved = SpotGeometry(sx, sy, g.rx, g.ry, sx, sy)
        rho2, _ = _polar(moved, t2, l2, h2, w2, cand.dtype, cand.device)
        cost = float((cand[..., (rho2 >= RING[0]) & (rho2 <= RING[1])].mean(dim=-1) - target).abs().sum())
        if cost < best_cost:
            best, best_cost = (sx, sy), cost
    return best


def heal_spot(read: Callable[[int, int, int, int], Tensor], spot: Spot, size: tuple[int, int]) -> Patch | None:
    """The healed (or cloned) destination box of one spot; `read(top, left, h, w)` gives current pixels."""
    g = spot_geometry(spot, size)
    if math.isnan(g.sx) or math.isnan(g.sy):
        g.sx, g.sy = auto_source(read, g, size)
    top, left, h, w = _box(g, g.cx, g.cy, size)
    if h <= 0 or w <= 0:
        return None
    height, width = size
    # the source box is the destination box moved by the source offset, kept inside the image
    dy = int(round(g.sy - g.cy))
    dx = int(round(g.sx - g.cx))
    dy = min(max(dy, -top), height - h - top)
    dx = min(max(dx, -left), width - w - left)
    dst = read(top, left, h, w)
    src = read(top + dy, left + dx, h, w)
    rho, phi = _polar(g, top, left, h, w, dst.dtype, dst.device)
    healed = src
    if spot.kind == "heal":
        values, angles = ring_difference(dst, src, rho, phi)
        healed = src + membrane(values, angles, rho, phi)
    feather = min(max(float(spot.feather), 0.0), 1.0)
    inner = 1.0 - max(feather, 0.05)  # a few per cent of the radius always blend, so no hard rim
    t = ((rho - inner) / (1.0 - inner)).clamp(0.0, 1.0)
    alpha = (1.0 - t * t * (3.0 - 2.0 * t)) * float(spot.opacity)
    return Patch(top, left, torch.lerp(dst, healed.clamp(min=0.0), alpha.to(dst.dtype)))


def paste(pixels: Tensor, top: int, left: int, patches: list[Patch]) -> Tensor:
    """`pixels` (N, 3, h, w) located at (top, left) with the patches that overlap it pasted in (a new tensor
    when any does; patches later in the list win)."""
    h, w = pixels.shape[-2:]
    out = pixels
    for p in patches:
        ph, pw = p.pixels.shape[-2:]
        y0, x0 = max(top, p.top), max(left, p.left)
        y1, x1 = min(top + h, p.top + ph), min(left + w, p.left + pw)
        if y0 >= y1 or x0 >= x1:
            continue
        if out is pixels:
            out = pixels.clone()
        out[..., y0 - top:y1 - top, x0 - left:x1 - left] = p.pixels[..., y0 - p.top:y1 - p.top,
                                                                    x0 - p.left:x1 - p.left]
    return out
