"""Spatial building blocks: pooling to a coarse grid, box and guided filters, exact bilinear upsampling of a crop.

Every local operator of the renderer measures its statistics on a coarse grid (a power-of-two block average of
the image) and is applied at full resolution through bilinear upsampling of that grid, in global coordinates.
So a tile needs no overlap: a pixel's result depends only on its own value and on the grids, which are computed
once for the whole image. Shapes: images (N, C, H, W); grids (N, C, gh, gw) with cell (i, j) covering the
full-resolution pixels [i*f, (i+1)*f) x [j*f, (j+1)*f).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def pool(x: Tensor, factor: int) -> Tensor:
    """Block mean (N, C, H, W) -> (N, C, ceil(H/f), ceil(W/f)); partial edge blocks average their own pixels."""
    if factor == 1:
        return x
    return F.avg_pool2d(x, factor, stride=factor, ceil_mode=True)


def pool_hwc(x: Tensor, factor: int) -> Tensor:
    """`pool` for an (H, W, C) image (e.g. a numpy array's view) -> (1, C, ceil(H/f), ceil(W/f)), without a
    transposed copy of the image: whole blocks are summed in place, partial edge blocks averaged apart."""
    h, w, c = x.shape
    hf, wf = h // factor, w // factor
    out = torch.empty((-(-h // factor), -(-w // factor), c), dtype=x.dtype, device=x.device)
    if hf and wf:
        body = x[:hf * factor, :wf * factor].unflatten(0, (hf, factor)).sum(1)
        out[:hf, :wf] = body.unflatten(1, (wf, factor)).sum(2) / (factor * factor)
    if h % factor:
        tail = x[hf * factor:].mean(dim=0, keepdim=True)  # (1, w, c)
        out[hf:, :wf] = tail[:, :wf * factor].unflatten(1, (wf, factor)).mean(2)
    if w % factor:
        right = x[:hf * factor, wf * factor:].mean(dim=1)  # (hf*f, c)
        out[:hf, wf:] = right.unflatten(0, (hf, factor)).mean(1)[:, None]
        if h % factor:
            out[hf:, wf:] = x[hf * factor:, wf * factor:].mean(dim=(0, 1))
    return out.permute(2, 0, 1)[None]


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


def upsample_columns(grid: Tensor, factor: int, width: int) -> Tensor:
    """Bilinear upsampling (align_corners=False, clamped at the ends) of the last axis of `grid` by `factor`
    (a power of two), to `width` samples: (..., gw) -> (..., width).

    Pixel x lies at grid coordinate (x + 0.5) / f - 0.5: between nodes j-1 and j lie the f pixels from
    j*f - f/2 on, with the same weights (r + 0.5) / f in every such segment, so all segments are one
    broadcast lerp (no gather).
    """
    if factor == 1:
        return grid[..., :width]
    half = factor // 2
    nodes = F.pad(grid.flatten(0, -2)[:, None], (1, 1), mode="replicate")[:, 0]  # node j-1 at index j
    a, b = nodes[:, :-1, None], nodes[:, 1:, None]
    w = (torch.arange(factor, device=grid.device, dtype=grid.dtype) + 0.5) / factor
    out = torch.lerp(a, b, w).flatten(1)  # pixel x at index x + half
    return out[:, half:half + width].reshape(*grid.shape[:-1], width)


def row_weights(top: int, height: int, factor: int, *, dtype=torch.float32, device=None
                ) -> tuple[int, Tensor, Tensor]:
    """Bilinear sampling of rows top..top+height-1 from grid rows at `factor`: (first grid row used, each
    row's lower node counted from it (long), its weight toward the next node)."""
    i = torch.arange(top, top + height, dtype=torch.float64, device=device)
    u = (i + 0.5) / factor - 0.5
    j0 = torch.floor(u)
    base = int(j0[0])
    return base, (j0 - base).long(), (u - j0).to(dtype)


def upsample_rows(block: Tensor, rows: tuple[Tensor, Tensor] | None) -> Tensor:
    """Rows of a column-upsampled window (N, C, by, w) -> (N, C, h, w); rows None: already full size.
    Each output row reads two whole input rows, so compiled code loads them contiguously."""
    if rows is None:
        return block
    iy, wy = rows
    return torch.lerp(block[..., iy, :], block[..., iy + 1, :], wy[:, None])


ROW_PAD = (1, 3)  # replicate rows above/below a column-upsampled grid: every window of rows stays inside


@dataclass
class Grid:
    """A coarse map aligned with the full image: `data` (N, C, gh, gw), one cell per `factor` x `factor` pixels.

    Crops of the map at pixel resolution are bilinear upsampling in global coordinates: the columns are
    upsampled once per image width (`columns`), the rows per crop (`window` + `upsample_rows`)."""

    data: Tensor
    factor: int
    _columns: dict = field(default_factory=dict, repr=False)

    def columns(self, width: int, at: int = 1) -> Tensor:
        """The map with its columns upsampled to `width` pixels of level `at`, rows padded by ROW_PAD."""
        key = (width, at)
        if key not in self._columns:
            data = self.data
            if self.factor // at > 1:
                n, c, h, w = data.shape
                data = F.pad(data.reshape(n * c, 1, h, w), (0, 0, *ROW_PAD), mode="replicate").reshape(n, c, -1, w)
            self._columns[key] = upsample_columns(data, self.factor // at, width)
        return self._columns[key]

    def window(self, top: int, left: int, height: int, width: int, at: int = 1, image_width: int | None = None):
        """(block, rows) for `upsample_rows`: the crop's columns, and the rows it needs (a view)."""
        f = self.factor // at
        cols = self.columns(image_width if image_width is not None else left + width, at)
        if f == 1:
            return cols[..., top:top + height, left:left + width], None
        kw = {"dtype": self.data.dtype, "device": self.data.device}
        base, iy, wy = row_weights(top, height, f, **kw)
        span = -(-height // f) + 2
        return cols[..., base + ROW_PAD[0]:base + ROW_PAD[0] + span, left:left + width], (iy, wy)

    def sample(self, top: int, left: int, height: int, width: int, at: int = 1,
               image_width: int | None = None) -> Tensor:
        """The map upsampled onto a crop in pixels of level `at`: (N, C, height, width)."""
        return upsample_rows(*self.window(top, left, height, width, at, image_width))
