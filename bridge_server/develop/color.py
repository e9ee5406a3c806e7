"""Colour models the renderer needs in torch: luminance, CIE lightness, white points and white-balance gains.

Pixels are linear-light RGB with sRGB/Rec.709 primaries and a D65 white (what `imaging.decode` gives).
Functions are differentiable and written with clamps instead of branches (a `where` costs a full pass).
"""
from __future__ import annotations

import numpy as np
import torch

from ..imaging.color import BRADFORD, REC709_LUMA, SRGB_TO_XYZ

Tensor = torch.Tensor

# CIE L* (scaled to 0..1): a cube root above (6/29)^3, a straight line below, joined with the same slope.
_LAB_EPS = (6.0 / 29.0) ** 3
_LAB_KAPPA = (29.0 / 3.0) ** 3 / 100.0  # L*/100 per unit Y on the straight part: 9.033
_LAB_L_EPS = _LAB_KAPPA * _LAB_EPS  # 0.08

# Rec.709 RGB -> Bradford cone responses, and back.
RGB_TO_CONE = BRADFORD @ SRGB_TO_XYZ
CONE_TO_RGB = np.linalg.inv(RGB_TO_CONE)

REFERENCE_KELVIN = 6504.0  # the white a rendered (JPEG/TIFF) file is taken to be balanced for
MIRED_PER_STEP = 1.0  # IncrementalTemperature/LocalTemperature: one slider step = 1 mired bluer light assumed
TINT_SCALE = 3000.0  # Tint/IncrementalTint/LocalTint: one step = 1/3000 Duv (the DNG SDK's tint scale)
MIRED_RANGE = (1e6 / 50000.0, 1e6 / 1500.0)  # 1500..50000 K


def luminance(rgb: Tensor) -> Tensor:
    """Relative luminance Y of linear Rec.709: (*, 3, H, W) -> (*, 1, H, W)."""
    r, g, b = rgb.split(1, dim=-3)
    return r * REC709_LUMA[0] + g * REC709_LUMA[1] + b * REC709_LUMA[2]


def cube_root(x: Tensor) -> Tensor:
    """x^(1/3) for x > 0 (exp/log: several times faster than pow on CPU)."""
    return torch.exp(torch.log(x) * (1.0 / 3.0))


def luminance_root(y: Tensor) -> Tensor:
    """Cube root of Y (floored at 1e-12): what `lightness_from_root` needs; a gain g on Y is g^(1/3) on it."""
    return cube_root(y.clamp(min=1e-12))


def lightness_from_root(root: Tensor, y: Tensor) -> Tensor:
    """CIE L*/100 from Y and its cube root (see `luminance_root`)."""
    return root.clamp(min=6.0 / 29.0) * 1.16 - 0.16 + (y - _LAB_EPS).clamp(max=0.0) * _LAB_KAPPA


def lightness(y: Tensor) -> Tensor:
    """CIE L*/100 of relative luminance Y (any shape): 0.5 is mid-grey (Y = 0.184), 1 is white."""
    return lightness_from_root(luminance_root(y), y)


def lightness_to_luminance(lightness_: Tensor) -> Tensor:
    """Inverse of `lightness`: L*/100 -> Y (negative lightness gives negative Y, clipped at output)."""
    f = (lightness_.clamp(min=_LAB_L_EPS) + 0.16) * (1.0 / 1.16)
    return f * f * f + (lightness_ - _LAB_L_EPS).clamp(max=0.0) * (1.0 / _LAB_KAPPA)


def encode_srgb(x: Tensor) -> Tensor:
    """Linear -> sRGB-encoded (IEC 61966-2-1) for x >= 0, branch-free; values above 1 follow the power law."""
    lo = 0.0031308
    return torch.exp(torch.log(x.clamp(min=lo)) * (1.0 / 2.4)) * 1.055 - 0.055 + (x - lo).clamp(max=0.0) * 12.92


def decode_srgb(v: Tensor) -> Tensor:
    """sRGB-encoded -> linear (inverse of `encode_srgb`)."""
    lo = 0.04045
    return torch.exp(torch.log((v.clamp(min=lo) + 0.055) * (1.0 / 1.055)) * 2.4) + (v - lo).clamp(max=0.0) / 12.92


# ---------------------------------------------------------------------------------------------------------
# white points: blackbody (Planckian) locus, tint as a distance from it, Bradford cone gains
# ---------------------------------------------------------------------------------------------------------
def planck_uv(mired: Tensor) -> tuple[Tensor, Tensor]:
    """CIE 1960 (u, v) of a blackbody at 1e6/mired kelvin (Krystek 1985 rational fit, 1000 K and up)."""
    t = 1e6 / mired
    u = (0.860117757 + 1.54118254e-4 * t + 1.28641212e-7 * t * t) / (1.0 + 8.42420235e-4 * t + 7.08145163e-7 * t * t)
    v = (0.317398726 + 4.22806245e-5 * t + 4.20481691e-8 * t * t) / (1.0 - 2.89741816e-5 * t + 1.61456053e-7 * t * t)
    return u, v


def illuminant_xyz(mired: Tensor, duv: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """XYZ (Y = 1) of the light at `mired` on the blackbody locus, moved `duv` along its normal toward green.
    Any (broadcasting) shapes; returns X, Y, Z of that shape."""
    u, v = planck_uv(mired)
    u1, v1 = planck_uv(mired + 0.5)
    u0, v0 = planck_uv(mired - 0.5)
    du, dv = u1 - u0, v1 - v0  # along the locus, toward warmer light
    scale = duv * torch.rsqrt(du * du + dv * dv)
    u = u - dv * scale  # the tangent turned by +90 degrees points to higher v: the green side
    v = v + du * scale
    denom = 2.0 * u - 8.0 * v + 4.0
    x = 3.0 * u / denom
    y = 2.0 * v / denom
    return x / y, torch.ones_like(x), (1.0 - x - y) / y


def _mix(m: np.ndarray, a: Tensor, b: Tensor, c: Tensor) -> list[Tensor]:
    """A constant 3x3 matrix on three same-shape tensors (written out: fuses in compiled code)."""
    rows = m.tolist()
    return [rows[i][0] * a + rows[i][1] * b + rows[i][2] * c for i in range(3)]


_WHITE_PER_GAIN = ((np.asarray(REC709_LUMA) @ CONE_TO_RGB) * RGB_TO_CONE.sum(axis=1)).tolist()


def cone_gains(ref_mired: Tensor, ref_duv: Tensor, mired: Tensor, duv: Tensor) -> list[Tensor]:
    """Von Kries gains of the three Bradford cones that make light of the chosen white neutral in an image
    balanced for the reference white, scaled so that white keeps its luminance. Choosing a bluer light than
    the reference (fewer mired) warms the image."""
    ref = _mix(BRADFORD, *illuminant_xyz(ref_mired, ref_duv))
    chosen = _mix(BRADFORD, *illuminant_xyz(mired, duv))
    gains = [ref[i] / chosen[i] for i in range(3)]
    white = _WHITE_PER_GAIN[0] * gains[0] + _WHITE_PER_GAIN[1] * gains[1] + _WHITE_PER_GAIN[2] * gains[2]
    return [g / white for g in gains]


def wb_matrix(gains: Tensor) -> Tensor:
    """Linear-RGB 3x3 matrix applying cone gains (3,)."""
    to_cone = torch.as_tensor(RGB_TO_CONE, dtype=gains.dtype, device=gains.device)
    to_rgb = torch.as_tensor(CONE_TO_RGB, dtype=gains.dtype, device=gains.device)
    return to_rgb @ torch.diag(gains) @ to_cone


def apply_matrix(rgb: Tensor, m: Tensor) -> Tensor:
    """A 3x3 matrix on the channel axis: (*, 3, H, W) -> (*, 3, H, W)."""
    if torch.compiler.is_compiling():  # written out (and stacked, not concatenated): fuses with its neighbours
        r, g, b = rgb.unbind(dim=-3)
        return torch.stack([m[i, 0] * r + m[i, 1] * g + m[i, 2] * b for i in range(3)], dim=-3)
    return torch.einsum("ij,...jhw->...ihw", m.to(rgb.dtype), rgb)


__all__ = [
    "CONE_TO_RGB", "RGB_TO_CONE", "apply_matrix", "cone_gains", "cube_root", "decode_srgb",
    "encode_srgb", "illuminant_xyz", "lightness", "lightness_from_root", "lightness_to_luminance", "luminance",
    "luminance_root", "planck_uv",
    "wb_matrix",
]
