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


def axis_window(start: int, length: int, factor: int, cells: int, *, dtype=torch.float32, device=None
                ) -> tuple[Tensor, Tensor, Tensor]:
    """Bilinear sampling of pixels start..start+length-1 of one axis from a grid of `cells` nodes at `factor`
    (align_corners=False, clamped at the ends): (node indices of a window of ceil(length/f) + 2 nodes,
    each pixel's lower node within that window (long), its weight toward the next node)."""
    i = torch.arange(start, start + length, dtype=torch.float64, device=device)
    u = (i + 0.5) / factor - 0.5
    j0 = torch.floor(u)
    base = int(j0[0])
    span = -(-length // factor) + 2
    nodes = torch.arange(base, base + span, device=device).clamp_(0, cells - 1)
    return nodes, (j0 - base).long(), (u - j0).to(dtype)


def upsample(block: Tensor, rows: tuple[Tensor, Tensor] | None, cols: tuple[Tensor, Tensor] | None) -> Tensor:
    """A window of a grid (N, C, by, bx) bilinearly upsampled with `axis_window` indices -> (N, C, h, w).
    rows/cols None: the block is already at pixel resolution."""
    if rows is None:
        return block
    iy, wy = rows
    ix, wx = cols
    r = torch.lerp(block[..., iy, :], block[..., iy + 1, :], wy[:, None])
    return torch.lerp(r[..., ix], r[..., ix + 1], wx)


@dataclass
class Grid:
    """A coarse map aligned with the full image: `data` (N, C, gh, gw), one cell per `factor` x `factor` pixels."""

    data: Tensor
    factor: int

    def window(self, top: int, left: int, height: int, width: int, at: int = 1):
        """(block, rows, cols) to `upsample` the map onto a crop given in pixels of level `at` (1 = full)."""
        f = self.factor // at
        if f == 1:
            return self.data[..., top:top + height, left:left + width], None, None
        gh, gw = self.data.shape[-2:]
        kw = {"dtype": self.data.dtype, "device": self.data.device}
        ny, iy, wy = axis_window(top, height, f, gh, **kw)
        nx, ix, wx = axis_window(left, width, f, gw, **kw)
        block = self.data.index_select(-2, ny).index_select(-1, nx)
        return block, (iy, wy), (ix, wx)

    def sample(self, top: int, left: int, height: int, width: int, at: int = 1) -> Tensor:
        """The map upsampled onto a crop in pixels of level `at`: (N, C, height, width)."""
        return upsample(*self.window(top, left, height, width, at))
