"""Spatial building blocks: pooling to a coarse grid, box and guided filters, exact bilinear upsampling of a crop.

Every local operator of the renderer measures its statistics on a coarse grid (a power-of-two block average of
the image) and is applied at full resolution through bilinear upsampling of that grid, in global coordinates.
So a tile needs no overlap: a pixel's result depends only on its own value and on the grids, which are computed
once for the whole image. Shapes: images (N, C, H, W); grids (N, C, gh, gw) with cell (i, j) covering the
full-resolution pixels [i*f, (i+1)*f) x [j*f, (j+1)*f).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def pool(x: Tensor, factor: int) -> Tensor:
    """Block mean (N, C, H, W) -> (N, C, ceil(H/f), ceil(W/f)); partial edge blocks average their own pixels."""
    if factor == 1:
        return x
    return F.avg_pool2d(x, factor, stride=factor, ceil_mode=True)


def box_mean(x: Tensor, radius: int) -> Tensor:
    """Mean over a (2r+1)^2 window (N, C, H, W) -> same; windows are cut at the border (mean of what is there)."""
    if radius <= 0:
        return x
    k = 2 * radius + 1
    x = F.avg_pool2d(x, (1, k), stride=1, padding=(0, radius), count_include_pad=False)
    return F.avg_pool2d(x, (k, 1), stride=1, padding=(radius, 0), count_include_pad=False)


def box_min(x: Tensor, radius: int) -> Tensor:
    """Minimum over a (2r+1)^2 window (erosion), (N, C, H, W) -> same."""
    if radius <= 0:
        return x
    k = 2 * radius + 1
    x = -F.max_pool2d(-x, (1, k), stride=1, padding=(0, radius))
    return -F.max_pool2d(-x, (k, 1), stride=1, padding=(radius, 0))


def guided_coefficients(guide: Tensor, src: Tensor, radius: int, eps: float) -> tuple[Tensor, Tensor]:
    """Guided filter (He et al. 2010) with a one-channel guide: (N, 1, h, w) x2 -> smoothed (a, b).

    The filtered output is `a * guide + b`; a is near 1 across edges stronger than sqrt(eps), so the output
    follows them (no halo), and near 0 in flat or weakly textured areas, where it is the local mean.
    """
    mean_i = box_mean(guide, radius)
    mean_p = mean_i if src is guide else box_mean(src, radius)
    cov = box_mean(guide * src, radius) - mean_i * mean_p
    var = cov if src is guide else box_mean(guide * guide, radius) - mean_i * mean_i
    a = cov / (var.clamp(min=0.0) + eps)
    b = mean_p - a * mean_i
    return box_mean(a, radius), box_mean(b, radius)


def _upsample_axis(g: Tensor, factor: int, start: int, length: int, dim: int) -> Tensor:
    """Bilinear (align_corners=False, edge-clamped) samples start..start+length of one axis of g at `factor`.

    Pixel i maps to grid coordinate (i + 0.5) / f - 0.5. Between grid nodes j-1 and j (a "segment") lie the f
    pixels from j*f - f/2 on, with the same fractional weights (r + 0.5) / f in every segment, so a whole
    segment row is one broadcast lerp. `factor` must be a power of two >= 2.
    """
    n = g.shape[dim]
    half = factor // 2
    j_lo = (start + half) // factor
    j_hi = (start + length - 1 + half) // factor
    idx = torch.arange(j_lo - 1, j_hi + 1, device=g.device).clamp_(0, n - 1)
    nodes = g.index_select(dim, idx)  # nodes j-1 .. j_hi (clamped at the edges)
    a = nodes.narrow(dim, 0, j_hi - j_lo + 1)
    b = nodes.narrow(dim, 1, j_hi - j_lo + 1)
    w = (torch.arange(factor, device=g.device, dtype=g.dtype) + 0.5) / factor
    d = dim % g.dim()
    # insert the within-segment axis right after `dim` and interpolate the whole block at once
    a = a.unsqueeze(d + 1)
    b = b.unsqueeze(d + 1)
    w = w.view([factor] + [1] * (g.dim() - d - 1))
    out = torch.lerp(a, b, w)
    shape = list(g.shape)
    shape[d] = (j_hi - j_lo + 1) * factor
    out = out.reshape(shape)
    return out.narrow(d, start + half - j_lo * factor, length)


def upsample(grid: Tensor, factor: int, top: int, left: int, height: int, width: int) -> Tensor:
    """Bilinear upsampling of a grid (N, C, gh, gw) by `factor`, only for the crop at (top, left) of the
    upsampled image: (N, C, height, width). Identical values whatever crop is asked for (global coordinates)."""
    if factor == 1:
        return grid[..., top:top + height, left:left + width]
    rows = _upsample_axis(grid, factor, top, height, -2)
    return _upsample_axis(rows, factor, left, width, -1)


@dataclass
class Grid:
    """A coarse map aligned with the full image: `data` (N, C, gh, gw), one cell per `factor` x `factor` pixels."""

    data: Tensor
    factor: int

    def sample(self, top: int, left: int, height: int, width: int, at: int = 1) -> Tensor:
        """The map at the resolution of level `at` (1 = full), for the crop given in that level's pixels."""
        return upsample(self.data, self.factor // at, top, left, height, width)

    def to(self, device) -> "Grid":
        return Grid(self.data.to(device), self.factor)
