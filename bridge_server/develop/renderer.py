"""The renderer's entry points: develop linear pixels with a `RetouchPlan`, in one pass or in tiles.

`render` is one differentiable pass (gradients through `PlanParameters`). `render_tiled` is the full-size path:
bounded memory, no gradients, and on CPU the tile function is compiled once per feature set (torch.compile /
inductor fuses the whole per-pixel pipeline into a few loops; several times faster than eager torch). Local
statistics are measured once per image on the working grid (see prepare.py) and reach each pixel by exact
bilinear upsampling in global coordinates, so tiles need no overlap and both paths give the same result.
"""
from __future__ import annotations

import functools
import os
import shutil
import warnings
from typing import Any, Mapping

import numpy as np
import torch

from ..core.plan import RetouchPlan
from .color import encode_srgb
from .filters import pool, pool_hwc
from .heal import Patch, heal_spot, paste
from .parameters import PlanParameters
from .pipeline import Features, tile_kernel
from .prepare import Prepared, prepare, working_factor

Tensor = torch.Tensor

COMPILE_MIN_PIXELS = 4_000_000  # below this a compile (seconds, once per feature set) does not pay off
_COMPILE_ENV = "AIRETOUCH_RENDER_COMPILE"  # "0" turns compilation off, "1" forces it
_kernels: dict[tuple[Features, bool], Any] = {}
_compile_broken: list[str] = []


class _Source:
    """The input pixels: numpy (H, W, 3), a tensor (*, 3, H, W) or an object with `.pixels` (DecodedImage)."""

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
            self.array = np.ascontiguousarray(arr, dtype=np.float64 if arr.dtype == np.float64 else np.float32)
            self.tensor = torch.from_numpy(self.array)  # (H, W, 3) view, no copy
            self.height, self.width = arr.shape[:2]
            self.lead: tuple[int, ...] = ()
            self.batch = 1
            self.dtype = self.tensor.dtype
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
        if device is None:
            device = "cuda" if self.numpy and torch.cuda.is_available() else self.in_device
        self.device = torch.device(device)

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width

    def pooled(self, factor: int, patches: list[Patch]) -> Tensor:
        """The working grid (N, 3, gh, gw): block means of the image with the heal patches pasted in."""
        if self.numpy:
            grid = pool_hwc(self.tensor, factor).to(self.device, self.dtype)
        else:
            grid = torch.cat([pool(self.read(t, 0, min(1024, self.height - t), self.width), factor)
                              for t in range(0, self.height, max(factor, 1024 // factor * factor))], dim=-2)
        for p in patches:  # re-pool the cells a patch touches
            ph, pw = p.pixels.shape[-2:]
            t0, l0 = p.top // factor * factor, p.left // factor * factor
            t1 = min(-(-(p.top + ph) // factor) * factor, self.height)
            l1 = min(-(-(p.left + pw) // factor) * factor, self.width)
            cells = pool(paste(self.read(t0, l0, t1 - t0, l1 - l0), t0, l0, [p]), factor)
            grid[..., t0 // factor:t0 // factor + cells.shape[-2], l0 // factor:l0 // factor + cells.shape[-1]] = cells
        return grid

    def read(self, top: int, left: int, height: int, width: int) -> Tensor:
        """A crop as (N, 3, h, w) on the working device."""
        if self.numpy:
            crop = self.tensor[top:top + height, left:left + width].permute(2, 0, 1)[None]
        else:
            crop = self.tensor[..., top:top + height, left:left + width]
        return crop.to(self.device, self.dtype).contiguous()


def _parameters(plan, as_shot, dtype, device) -> PlanParameters:
    if isinstance(plan, PlanParameters):
        if plan.vector.device != device or plan.vector.dtype != dtype:
            return PlanParameters(plan.plan, plan.keys, plan.vector.to(device=device, dtype=dtype),
                                  plan.absolute_wb, plan.as_shot)
        return plan
    if not isinstance(plan, RetouchPlan):
        raise TypeError(f"plan must be a RetouchPlan or PlanParameters, not {type(plan).__name__}")
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


def _kernel_args(prep: Prepared, top: int, left: int, height: int, width: int) -> dict[str, Any]:
    return dict(consts=prep.consts, coef=prep.coef, pre=prep.pre, post=prep.post, airlight=prep.airlight,
                curves=prep.curves, hsl_table=prep.hsl_table, **prep.windows(top, left, height, width))


# ---------------------------------------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------------------------------------
def render(pixels, plan: RetouchPlan | PlanParameters, masks: Mapping[str, Any] | None = None, *,
           device=None, as_shot: tuple[float, float] | None = None, srgb: bool = False):
    """Develop linear pixels with a plan in one differentiable pass.

    pixels: linear-light float Rec.709 RGB as numpy (H, W, 3), a tensor (*, 3, H, W), or an object with
    `.pixels` (a DecodedImage). plan: a RetouchPlan, or `PlanParameters` to differentiate w.r.t. its vector.
    masks: region key -> (H', W') array 0..1 for the plan's AI regions ("person:0", "person:1"... for people),
    any resolution. as_shot: (kelvin, tint) the decoder balanced a raw for (absolute Temperature/Tint are
    relative to it; default 6504 K, 0). Returns linear light clipped to [0, 1] (sRGB-encoded when `srgb`) in
    the input's form. Memory grows with the image: use `render_tiled` for full-size photos.
    """
    src = _Source(pixels, device)
    x = src.read(0, 0, src.height, src.width)
    params = _parameters(plan, as_shot, src.dtype, src.device)
    patches = _heal(lambda t, l, h, w: x[..., t:t + h, l:l + w], params.plan.spots, src.size)
    x = paste(x, 0, 0, patches)
    factor = working_factor(*src.size)
    prep = prepare(params, pool(x, factor), src.size, factor, masks, patches)
    out = tile_kernel(x, **_kernel_args(prep, 0, 0, src.height, src.width), features=prep.features)
    if srgb:
        out = encode_srgb(out)
    if src.numpy:
        return out[0].permute(1, 2, 0).detach().cpu().numpy()
    return out.to(src.in_device).reshape(*src.lead, 3, src.height, src.width)


def render_tiled(pixels, plan: RetouchPlan | PlanParameters, masks: Mapping[str, Any] | None = None, *,
                 tile: int = 1024, device=None, as_shot: tuple[float, float] | None = None,
                 srgb: bool = False, compile: bool | None = None):
    """`render` at full resolution in bounded memory, without gradients, in tiles of `tile` x `tile` pixels.

    Local statistics are computed once for the whole image, so tiles need no overlap and the result equals
    `render`'s to float rounding. Memory: input, output, the working grid and a few tiles. `compile`: fuse the
    tile function with torch.compile (None: on CPU for images of 4 MP and more, when a C++ compiler is found;
    the environment variable AIRETOUCH_RENDER_COMPILE=0/1 overrides). The first compile of a feature set
    takes seconds to a minute and is cached on disk by torch.
    """
    src = _Source(pixels, device)
    height, width = src.size
    factor = working_factor(height, width)
    tile = max(64, int(tile))
    th, tw = min(tile, height), min(tile, width)
    with torch.no_grad():
        params = _parameters(plan, as_shot, src.dtype, src.device)
        patches = _heal(src.read, params.plan.spots, src.size)
        prep = prepare(params, src.pooled(factor, patches), src.size, factor, masks, patches)
        kernel = _kernel(prep.features, _use_compile(compile, src, height * width))
        if src.numpy:
            out = torch.empty((height, width, 3), dtype=src.dtype)
        else:
            out = torch.empty((src.batch, 3, height, width), dtype=src.dtype, device=src.in_device)
        for top in range(0, height, th):
            for left in range(0, width, tw):
                # the last tile of a row or column is moved back inside the image: every tile has one shape
                t0, l0 = min(top, height - th), min(left, width - tw)
                x = paste(src.read(t0, l0, th, tw), t0, l0, patches)
                y = kernel(x, **_kernel_args(prep, t0, l0, th, tw))[..., top - t0:, left - l0:]
                if srgb:
                    y = encode_srgb(y)
                if src.numpy:
                    out[top:t0 + th, left:l0 + tw].copy_(y[0].permute(1, 2, 0))
                else:
                    out[..., top:t0 + th, left:l0 + tw] = y.to(src.in_device)
    if src.numpy:
        return out.numpy()
    return out.reshape(*src.lead, 3, height, width)


# ---------------------------------------------------------------------------------------------------------
# tiles
# ---------------------------------------------------------------------------------------------------------
def _use_compile(choice: bool | None, src: _Source, pixels: int) -> bool:
    env = os.environ.get(_COMPILE_ENV)
    if env in ("0", "1"):
        choice = env == "1"
    if choice is None:
        choice = src.device.type == "cpu" and pixels >= COMPILE_MIN_PIXELS and _have_compiler()
    return bool(choice) and not _compile_broken


@functools.lru_cache(maxsize=1)
def _have_compiler() -> bool:
    return any(shutil.which(c) for c in (os.environ.get("CXX") or "g++", "g++", "clang++", "c++", "cl"))


def _kernel(features: Features, compiled: bool):
    """The tile function for a feature set, compiled on first use when asked (falls back to eager torch)."""
    key = (features, compiled)
    if key not in _kernels:
        eager = functools.partial(tile_kernel, features=features)
        if not compiled:
            _kernels[key] = eager
        else:
            # every feature set is one more compiled entry of tile_kernel: keep more than dynamo's default 8
            config = torch._dynamo.config
            for name in ("recompile_limit", "cache_size_limit"):
                if getattr(config, name, 64) < 64:
                    setattr(config, name, 64)
            fused = torch.compile(eager, dynamic=False, fullgraph=True)

            def run(*args, **kwargs):
                if not _compile_broken:
                    try:
                        return fused(*args, **kwargs)
                    except Exception as exc:  # no compiler, unsupported platform: eager is correct, slower
                        _compile_broken.append(repr(exc))
                        warnings.warn(f"render_tiled: torch.compile failed ({exc!r:.200}); using eager torch",
                                      RuntimeWarning, stacklevel=2)
                return eager(*args, **kwargs)

            _kernels[key] = run
    return _kernels[key]
