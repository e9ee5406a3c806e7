"""Local-edit masks: radial, linear and brush components from their geometry, AI-region arrays, and how the
components of one edit combine (Lightroom's add / subtract / intersect, MaskValue, inverted).

Masks are evaluated on a grid of cell centres given as normalised coordinates: `ys` (h, 1) and `xs` (1, w)
in 0..1 (x across the width, y down the height); `size` = (height, width) of the full image in pixels.
Every function returns an (h, w) map in 0..1: how strongly the edit applies there.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from ..core.plan import Mask, RegionEdit
from ..core.regions import REGION_BY_KEY

Tensor = torch.Tensor


def _smooth(t: Tensor) -> Tensor:
    t = t.clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def radial_mask(ys: Tensor, xs: Tensor, size: tuple[int, int], geometry: Mapping[str, Any]) -> Tensor:
    """Lightroom radial gradient: an ellipse with normalised box top/left/bottom/right, turned by `angle`
    degrees (counter-clockwise on screen) about its centre; `feather` 0..100 is the share of the radius over
    which the effect fades (from the ellipse inward). `flipped` (Lightroom's default for new radials) puts the
    effect inside the ellipse; unflipped, outside. Midpoint and roundness are not modelled."""
    height, width = size
    top, left = float(geometry.get("top", 0.25)), float(geometry.get("left", 0.25))
    bottom, right = float(geometry.get("bottom", 0.75)), float(geometry.get("right", 0.75))
    ax = max(abs(right - left) * width / 2.0, 1e-6)
    ay = max(abs(bottom - top) * height / 2.0, 1e-6)
    dx = (xs - (left + right) / 2.0) * width
    dy = (ys - (top + bottom) / 2.0) * height
    theta = math.radians(float(geometry.get("angle", 0.0)))
    u = dx * math.cos(theta) - dy * math.sin(theta)  # y points down: a positive angle turns counter-clockwise
    v = dx * math.sin(theta) + dy * math.cos(theta)
    rho = torch.sqrt((u / ax) ** 2 + (v / ay) ** 2 + 1e-12)  # + eps: finite slope at the centre
    feather = min(max(float(geometry.get("feather", 50.0)) / 100.0, 1e-3), 1.0)
    inside = 1.0 - _smooth((rho - (1.0 - feather)) / feather)
    return inside if _flag(geometry.get("flipped", True)) else 1.0 - inside


def linear_mask(ys: Tensor, xs: Tensor, size: tuple[int, int], geometry: Mapping[str, Any]) -> Tensor:
    """Lightroom linear gradient: 0 at and beyond the zero point, 1 at and beyond the full point, smooth between
    (measured along the line joining them, in pixels)."""
    height, width = size
    zx, zy = float(geometry.get("zero_x", 0.5)), float(geometry.get("zero_y", 0.0))
    fx, fy = float(geometry.get("full_x", 0.5)), float(geometry.get("full_y", 0.5))
    vx, vy = (fx - zx) * width, (fy - zy) * height
    length2 = max(vx * vx + vy * vy, 1e-9)
    t = ((xs - zx) * width * vx + (ys - zy) * height * vy) / length2
    return _smooth(t)


def brush_mask(ys: Tensor, xs: Tensor, size: tuple[int, int], geometry: Mapping[str, Any]) -> Tensor:
    """Brush strokes: each dab [x, y] or [x, y, radius] is a soft disc (radius normalised to the image width;
    full strength inside `center_weight` of it); dabs build up like paint: 1 - prod(1 - flow * dab)."""
    height, width = size
    radius = float(geometry.get("radius", 0.05))
    flow = float(geometry.get("flow", 1.0))
    flow = flow / 100.0 if flow > 1.0 else flow
    hard = min(max(float(geometry.get("center_weight", 0.5)), 0.0), 0.999)
    clear = torch.ones(ys.shape[0], xs.shape[1], dtype=xs.dtype, device=xs.device)  # 1 - coverage
    x_min, x_max = float(xs.min()), float(xs.max())
    y_min, y_max = float(ys.min()), float(ys.max())
    step_x = (x_max - x_min) / max(xs.shape[1] - 1, 1) or 1.0
    step_y = (y_max - y_min) / max(ys.shape[0] - 1, 1) or 1.0
    for dab in geometry.get("dabs") or []:
        cx, cy = float(dab[0]), float(dab[1])
        r = float(dab[2]) if len(dab) > 2 else radius
        rx, ry = r, r * width / height  # a round dab in pixels
        # only the cells the dab can reach
        j0 = max(int((cx - rx - x_min) / step_x) - 1, 0)
        j1 = min(int((cx + rx - x_min) / step_x) + 2, xs.shape[1])
        i0 = max(int((cy - ry - y_min) / step_y) - 1, 0)
        i1 = min(int((cy + ry - y_min) / step_y) + 2, ys.shape[0])
        if j0 >= j1 or i0 >= i1:
            continue
        dist = torch.sqrt(((xs[:, j0:j1] - cx) / rx) ** 2 + ((ys[i0:i1] - cy) / ry) ** 2 + 1e-12)
        dab_value = 1.0 - _smooth((dist - hard) / (1.0 - hard))
        clear[i0:i1, j0:j1] = clear[i0:i1, j0:j1] * (1.0 - flow * dab_value)
    return 1.0 - clear


def resample_mask(mask, shape: tuple[int, int], dtype: torch.dtype, device) -> Tensor:
    """An AI-region mask (H', W') array or tensor, 0..1 (uint8 0..255 accepted) -> (h, w) on the grid."""
    m = torch.as_tensor(np.asarray(mask) if not torch.is_tensor(mask) else mask)
    if m.dtype == torch.uint8:
        m = m.to(torch.float32) / 255.0
    m = m.to(device=device, dtype=dtype).squeeze()
    if m.dim() != 2:
        raise ValueError(f"a region mask must be 2-D (height, width), got shape {tuple(m.shape)}")
    if tuple(m.shape) != tuple(shape):
        shrink = m.shape[0] > shape[0] or m.shape[1] > shape[1]
        m = F.interpolate(m[None, None], size=shape, mode="bilinear", align_corners=False, antialias=shrink)[0, 0]
    return m.clamp(0.0, 1.0)


def combine(components: list[tuple[str, Tensor]]) -> Tensor:
    """Combine component coverages in order, as Lightroom does: add = union (max), subtract removes the
    component's area (m * (1 - c)), intersect keeps only its area (m * c). The first component should add."""
    m = torch.zeros_like(components[0][1])
    for mode, c in components:
        if mode == "add":
            m = torch.maximum(m, c)
        elif mode == "subtract":
            m = m * (1.0 - c)
        elif mode == "intersect":
            m = m * c
        else:
            raise ValueError(f"unknown mask mode {mode!r}")
    return m


def component_coverage(mask: Mask, edit: RegionEdit, ys: Tensor, xs: Tensor, size: tuple[int, int],
                       region_masks: Mapping[str, Any], where: str) -> Tensor | None:
    """One component's map with `inverted` applied and MaskValue for added components; None when it cannot
    be rendered (an AI region without a mask array: warned, treated as selecting nothing)."""
    shape = (ys.shape[0], xs.shape[1])
    kind = mask.kind
    if kind == "radial" and not mask.geometry:
        kind = "ai"  # a person edit written as a radial: render it from the person's own mask
    if kind == "ai":
        key = _ai_key(mask, edit)
        if key not in region_masks:
            warnings.warn(f"{where}: no mask for region {key!r} was given to the renderer; this component "
                          f"selects nothing", stacklevel=3)
            c = torch.zeros(shape, dtype=xs.dtype, device=xs.device)
        else:
            c = resample_mask(region_masks[key], shape, xs.dtype, xs.device)
    elif kind == "radial":
        c = radial_mask(ys, xs, size, mask.geometry)
    elif kind == "linear":
        c = linear_mask(ys, xs, size, mask.geometry)
    elif kind == "brush":
        c = brush_mask(ys, xs, size, mask.geometry)
    else:  # range and other masks are kept in the plan but not modelled by the renderer
        warnings.warn(f"{where}: {kind} mask components are not rendered; ignored", stacklevel=3)
        return None
    if mask.inverted:
        c = 1.0 - c
    if mask.mode == "add":
        c = c * float(mask.value)
    return c


def _ai_key(mask: Mask, edit: RegionEdit) -> str:
    region = mask.region or edit.region
    if region == "person" or (REGION_BY_KEY.get(region) is not None and REGION_BY_KEY[region].key == "person"):
        return f"person:{edit.person if edit.person is not None else 0}"
    return region


def edit_mask(edit: RegionEdit, ys: Tensor, xs: Tensor, size: tuple[int, int],
              region_masks: Mapping[str, Any], where: str = "edit") -> Tensor:
    """The combined mask of one local edit (without its amount): (h, w) in 0..1."""
    parts = []
    for i, mask in enumerate(edit.mask_components()):
        c = component_coverage(mask, edit, ys, xs, size, region_masks, f"{where}.masks[{i}]")
        if c is not None:
            parts.append((mask.mode, c))
    if not parts:
        return torch.zeros(ys.shape[0], xs.shape[1], dtype=xs.dtype, device=xs.device)
    return combine(parts).clamp(0.0, 1.0)


def grid_centres(grid_shape: tuple[int, int], factor: int, size: tuple[int, int], dtype, device
                 ) -> tuple[Tensor, Tensor]:
    """Normalised centres of the cells of a grid with `factor` pixels per cell: ys (h, 1), xs (1, w)."""
    height, width = size
    gh, gw = grid_shape
    ys = (torch.arange(gh, dtype=dtype, device=device) + 0.5) * (factor / height)
    xs = (torch.arange(gw, dtype=dtype, device=device) + 0.5) * (factor / width)
    return ys[:, None], xs[None, :]


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


__all__ = ["brush_mask", "combine", "edit_mask", "grid_centres", "linear_mask", "radial_mask", "resample_mask"]
