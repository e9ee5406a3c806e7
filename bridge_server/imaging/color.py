"""Colour conversions written once for numpy arrays and torch tensors (torch paths stay differentiable).

Conventions: RGB means linear-light RGB with sRGB/Rec.709 primaries and a D65 white unless a function says
otherwise; the channel axis is the last one unless `axis` says otherwise (torch code often uses NCHW, axis=1).
CIELAB uses the D65 white by default so that linear sRGB white is L*=100, a*=b*=0 exactly.
Matrices are derived from the published primaries and white points (IEC 61966-2-1 sRGB, Adobe RGB (1998),
ROMM/ProPhoto) with Bradford chromatic adaptation, not typed in as rounded tables.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

Array = Any  # np.ndarray | torch.Tensor: every public function returns the type it was given

SPACES = ("srgb", "adobe_rgb", "prophoto")

D65_XY = (0.3127, 0.3290)
D50_XY = (0.3457, 0.3585)
SRGB_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
ADOBE_RGB_PRIMARIES = ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06))
PROPHOTO_PRIMARIES = ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001))

BRADFORD = np.array([[0.8951, 0.2664, -0.1614],
                     [-0.7502, 1.7135, 0.0367],
                     [0.0389, -0.0685, 1.0296]])

ADOBE_RGB_GAMMA = 563.0 / 256.0  # 2.19921875, the value Adobe RGB (1998) specifies
PROPHOTO_GAMMA = 1.8
REC709_LUMA = (0.2126, 0.7152, 0.0722)

_LAB_DELTA = 6.0 / 29.0


# --------------------------------------------------------------------------------------------------------
# white points and matrices (numpy float64, computed once)
# --------------------------------------------------------------------------------------------------------
def xy_to_xyz(x: float, y: float) -> np.ndarray:
    """XYZ with Y=1 of a chromaticity (x, y)."""
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


D65 = xy_to_xyz(*D65_XY)
D50 = xy_to_xyz(*D50_XY)
ICC_D50 = np.array([0.9642, 1.0, 0.8249])  # the ICC profile connection space illuminant (ICC.1 7.2.16)


def primaries_matrix(primaries, white_xyz: np.ndarray) -> np.ndarray:
    """RGB->XYZ matrix: columns are the primaries, scaled so that RGB (1, 1, 1) lands on the white."""
    p = np.stack([xy_to_xyz(*xy) for xy in primaries], axis=1)
    return p * np.linalg.solve(p, np.asarray(white_xyz, dtype=float))


def bradford(src_white: np.ndarray, dst_white: np.ndarray) -> np.ndarray:
    """Bradford chromatic adaptation matrix (XYZ->XYZ) from one white to another."""
    cone_src = BRADFORD @ np.asarray(src_white, dtype=float)
    cone_dst = BRADFORD @ np.asarray(dst_white, dtype=float)
    return np.linalg.inv(BRADFORD) @ np.diag(cone_dst / cone_src) @ BRADFORD


SRGB_TO_XYZ = primaries_matrix(SRGB_PRIMARIES, D65)
XYZ_TO_SRGB = np.linalg.inv(SRGB_TO_XYZ)
ADOBE_RGB_TO_XYZ = primaries_matrix(ADOBE_RGB_PRIMARIES, D65)
PROPHOTO_TO_XYZ_D50 = primaries_matrix(PROPHOTO_PRIMARIES, ICC_D50)
D65_TO_D50 = bradford(D65, ICC_D50)
D50_TO_D65 = bradford(ICC_D50, D65)


@lru_cache(maxsize=None)
def _space_to_xyz_d50(space: str) -> np.ndarray:
    if space == "srgb":
        return D65_TO_D50 @ SRGB_TO_XYZ
    if space == "adobe_rgb":
        return D65_TO_D50 @ ADOBE_RGB_TO_XYZ
    if space == "prophoto":
        return PROPHOTO_TO_XYZ_D50
    raise ValueError(f"unknown colour space {space!r}; expected one of {', '.join(SPACES)}")


def rgb_to_xyz_d50_matrix(space: str) -> np.ndarray:
    """Linear RGB of `space` -> XYZ relative to the ICC D50 white (the colorants an ICC profile stores)."""
    return _space_to_xyz_d50(space).copy()


def srgb_to_space_matrix(space: str) -> np.ndarray:
    """Matrix taking linear sRGB to linear RGB of `space` (via XYZ, Bradford-adapted to D50 where needed)."""
    return np.linalg.inv(_space_to_xyz_d50(space)) @ _space_to_xyz_d50("srgb")


def space_to_srgb_matrix(space: str) -> np.ndarray:
    """Matrix taking linear RGB of `space` back to linear sRGB."""
    return np.linalg.inv(srgb_to_space_matrix(space))


# --------------------------------------------------------------------------------------------------------
# numpy / torch dispatch helpers
# --------------------------------------------------------------------------------------------------------
def is_torch(x: Any) -> bool:
    """True for a torch tensor; checked by type so that numpy-only callers never import torch."""
    return type(x).__module__.split(".", 1)[0] == "torch"


def _float(x: Array) -> Array:
    """The input as a floating array/tensor (integers become float32)."""
    if is_torch(x):
        return x if x.is_floating_point() else x.float()
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float32)


def _where(cond, a, b):
    if is_torch(a) or is_torch(b):
        import torch
        return torch.where(cond, a, b)
    return np.where(cond, a, b)


def _clamp_min(x: Array, lo: float) -> Array:
    return x.clamp(min=lo) if is_torch(x) else np.maximum(x, lo)


_FAST_POW_MIN = 1 << 16  # below this many values numpy's pow is fast enough


def _pow(x: Array, p: float) -> Array:
    """x ** p for x >= 0; large float32 numpy arrays use OpenCV's vectorised pow (about 5x faster)."""
    if is_torch(x) or x.dtype != np.float32 or x.size < _FAST_POW_MIN:
        return x ** p
    import cv2
    flat = np.ascontiguousarray(x).reshape(-1, 1)
    return cv2.pow(flat, p).reshape(x.shape)


def _matrix(m: np.ndarray, x: Array, axis: int = -1) -> Array:
    """Apply a 3x3 matrix to the channel axis of x."""
    if is_torch(x):
        import torch
        mt = torch.as_tensor(m, dtype=x.dtype, device=x.device)
        return torch.movedim(torch.movedim(x, axis, -1) @ mt.T, -1, axis)
    out = np.moveaxis(x, axis, -1) @ m.T.astype(x.dtype)
    return np.moveaxis(out, -1, axis)


def _vector(v, x: Array, axis: int) -> Array:
    """A length-3 vector shaped to broadcast along the channel axis of x."""
    ndim = x.dim() if is_torch(x) else x.ndim
    shape = [1] * ndim
    shape[axis] = 3
    if is_torch(x):
        import torch
        return torch.as_tensor(np.asarray(v), dtype=x.dtype, device=x.device).reshape(shape)
    return np.asarray(v, dtype=x.dtype).reshape(shape)


def _channels(x: Array, axis: int) -> tuple:
    if is_torch(x):
        return tuple(x.select(axis, i) for i in range(3))
    return tuple(np.take(x, i, axis=axis) for i in range(3))


def _stack(parts, axis: int, like: Array) -> Array:
    if is_torch(like):
        import torch
        return torch.stack(parts, dim=axis)
    return np.stack(parts, axis=axis)


def _check_channels(x: Array, axis: int) -> None:
    if x.shape[axis] != 3:
        raise ValueError(f"expected 3 colour channels on axis {axis}, got shape {tuple(x.shape)}")


# --------------------------------------------------------------------------------------------------------
# transfer curves
# --------------------------------------------------------------------------------------------------------
def srgb_to_linear(x: Array) -> Array:
    """sRGB-encoded values (0..1) -> linear light (IEC 61966-2-1 piecewise curve)."""
    x = _float(x)
    curved = _pow((_clamp_min(x, 0.04045) + 0.055) / 1.055, 2.4)
    return _where(x <= 0.04045, x / 12.92, curved)


def linear_to_srgb(x: Array) -> Array:
    """Linear light -> sRGB-encoded values (inverse of srgb_to_linear)."""
    x = _float(x)
    curved = 1.055 * _pow(_clamp_min(x, 0.0031308), 1.0 / 2.4) - 0.055
    return _where(x <= 0.0031308, x * 12.92, curved)


_SRGB8_LEVELS = 65536


@lru_cache(maxsize=1)
def _srgb8_table() -> np.ndarray:
    levels = np.arange(_SRGB8_LEVELS, dtype=np.float64) / (_SRGB8_LEVELS - 1)
    return np.clip(np.round(np.asarray(linear_to_srgb(levels)) * 255.0), 0, 255).astype(np.uint8)


def linear_to_srgb8(linear: np.ndarray) -> np.ndarray:
    """Linear light (clipped to 0..1) -> 8-bit sRGB through a 16-bit table: the models' input, fast."""
    index = np.clip(np.asarray(linear, np.float32), 0.0, 1.0) * np.float32(_SRGB8_LEVELS - 1) + np.float32(0.5)
    return _srgb8_table()[index.astype(np.uint16)]


def adobe_rgb_to_linear(x: Array) -> Array:
    """Adobe RGB (1998) encoded -> linear (pure gamma 563/256; negatives clamp to 0)."""
    return _pow(_clamp_min(_float(x), 0.0), ADOBE_RGB_GAMMA)


def linear_to_adobe_rgb(x: Array) -> Array:
    """Linear -> Adobe RGB (1998) encoded (gamma 256/563; a tiny floor keeps torch gradients finite)."""
    x = _float(x)
    return _where(x > 1e-10, _pow(_clamp_min(x, 1e-10), 1.0 / ADOBE_RGB_GAMMA), x * 0.0)


def prophoto_to_linear(x: Array) -> Array:
    """ROMM/ProPhoto encoded -> linear: gamma 1.8 with the linear toe below 1/32 (slope 1/16)."""
    x = _float(x)
    return _where(x < 1.0 / 32.0, x / 16.0, _pow(_clamp_min(x, 1.0 / 32.0), PROPHOTO_GAMMA))


def linear_to_prophoto(x: Array) -> Array:
    """Linear -> ROMM/ProPhoto encoded: 16*E below 1/512, else E^(1/1.8) (continuous at 1/32)."""
    x = _float(x)
    return _where(x < 1.0 / 512.0, x * 16.0, _pow(_clamp_min(x, 1.0 / 512.0), 1.0 / PROPHOTO_GAMMA))


_ENCODE = {"srgb": linear_to_srgb, "adobe_rgb": linear_to_adobe_rgb, "prophoto": linear_to_prophoto}
_DECODE = {"srgb": srgb_to_linear, "adobe_rgb": adobe_rgb_to_linear, "prophoto": prophoto_to_linear}


def encode_transfer(x: Array, space: str) -> Array:
    """Apply the transfer curve of `space` (linear -> encoded)."""
    if space not in _ENCODE:
        raise ValueError(f"unknown colour space {space!r}; expected one of {', '.join(SPACES)}")
    return _ENCODE[space](x)


def decode_transfer(x: Array, space: str) -> Array:
    """Remove the transfer curve of `space` (encoded -> linear)."""
    if space not in _DECODE:
        raise ValueError(f"unknown colour space {space!r}; expected one of {', '.join(SPACES)}")
    return _DECODE[space](x)


def convert_linear(rgb: Array, dst: str, src: str = "srgb", *, axis: int = -1) -> Array:
    """Linear RGB of one space -> linear RGB of another (values are not clipped)."""
    rgb = _float(rgb)
    _check_channels(rgb, axis)
    m = np.linalg.inv(_space_to_xyz_d50(dst)) @ _space_to_xyz_d50(src)
    return _matrix(m, rgb, axis)


# --------------------------------------------------------------------------------------------------------
# XYZ, CIELAB, luminance, ΔE
# --------------------------------------------------------------------------------------------------------
def _white(white: str | np.ndarray) -> np.ndarray:
    if isinstance(white, str):
        key = white.upper()
        if key == "D65":
            return D65
        if key == "D50":
            return ICC_D50
        raise ValueError(f"unknown white {white!r}; use 'D65', 'D50' or an XYZ triple")
    return np.asarray(white, dtype=float)


def rgb_to_xyz(rgb: Array, *, axis: int = -1) -> Array:
    """Linear sRGB -> CIE XYZ (D65, Y of white = 1)."""
    rgb = _float(rgb)
    _check_channels(rgb, axis)
    return _matrix(SRGB_TO_XYZ, rgb, axis)


def xyz_to_rgb(xyz: Array, *, axis: int = -1) -> Array:
    """CIE XYZ (D65) -> linear sRGB (not clipped)."""
    xyz = _float(xyz)
    _check_channels(xyz, axis)
    return _matrix(XYZ_TO_SRGB, xyz, axis)


def _lab_f(t: Array) -> Array:
    eps = _LAB_DELTA ** 3
    cube_root = _clamp_min(t, eps) ** (1.0 / 3.0) if is_torch(t) else np.cbrt(np.maximum(t, eps))
    return _where(t > eps, cube_root, t / (3.0 * _LAB_DELTA ** 2) + 4.0 / 29.0)


def _lab_f_inv(f: Array) -> Array:
    return _where(f > _LAB_DELTA, _clamp_min(f, _LAB_DELTA) ** 3, 3.0 * _LAB_DELTA ** 2 * (f - 4.0 / 29.0))


_LAB_FROM_F = np.array([[0.0, 116.0, 0.0], [500.0, -500.0, 0.0], [0.0, 200.0, -200.0]])
_F_FROM_LAB = np.linalg.inv(_LAB_FROM_F)


def xyz_to_lab(xyz: Array, *, white: str | np.ndarray = "D65", axis: int = -1) -> Array:
    """CIE XYZ -> CIELAB (CIE 15 formulas) relative to `white`."""
    xyz = _float(xyz)
    _check_channels(xyz, axis)
    f = _lab_f(_matrix(np.diag(1.0 / _white(white)), xyz, axis))
    return _matrix(_LAB_FROM_F, f, axis) + _vector((-16.0, 0.0, 0.0), f, axis)


def lab_to_xyz(lab: Array, *, white: str | np.ndarray = "D65", axis: int = -1) -> Array:
    """CIELAB -> CIE XYZ relative to `white` (inverse of xyz_to_lab)."""
    lab = _float(lab)
    _check_channels(lab, axis)
    f = _matrix(_F_FROM_LAB, lab + _vector((16.0, 0.0, 0.0), lab, axis), axis)
    return _matrix(np.diag(_white(white)), _lab_f_inv(f), axis)


def rgb_linear_to_lab(rgb: Array, *, axis: int = -1) -> Array:
    """Linear sRGB -> CIELAB (D65 white)."""
    return xyz_to_lab(rgb_to_xyz(rgb, axis=axis), axis=axis)


def lab_to_rgb_linear(lab: Array, *, axis: int = -1) -> Array:
    """CIELAB (D65 white) -> linear sRGB (not clipped)."""
    return xyz_to_rgb(lab_to_xyz(lab, axis=axis), axis=axis)


def luminance(rgb: Array, *, axis: int = -1) -> Array:
    """Relative luminance Y of linear Rec.709/sRGB (the channel axis is removed)."""
    rgb = _float(rgb)
    _check_channels(rgb, axis)
    r, g, b = _channels(rgb, axis)
    return REC709_LUMA[0] * r + REC709_LUMA[1] * g + REC709_LUMA[2] * b


def delta_e76(lab1: Array, lab2: Array, *, axis: int = -1) -> Array:
    """CIE 1976 colour difference: Euclidean distance in CIELAB (channel axis removed)."""
    diff = _float(lab1) - _float(lab2)
    if is_torch(diff):
        import torch
        return torch.linalg.vector_norm(diff, dim=axis)  # its gradient at 0 is 0, not NaN
    return np.sqrt(np.sum(diff * diff, axis=axis))


# --------------------------------------------------------------------------------------------------------
# HSV (hue in 0..1), used for saturation statistics and hue-band masks
# --------------------------------------------------------------------------------------------------------
def rgb_to_hsv(rgb: Array, *, axis: int = -1) -> Array:
    """RGB (any encoding, 0..1) -> HSV with hue in [0, 1), saturation and value in 0..1."""
    rgb = _float(rgb)
    _check_channels(rgb, axis)
    r, g, b = _channels(rgb, axis)
    if is_torch(rgb):
        import torch
        v = torch.maximum(torch.maximum(r, g), b)
        lo = torch.minimum(torch.minimum(r, g), b)
    else:
        v = np.maximum(np.maximum(r, g), b)
        lo = np.minimum(np.minimum(r, g), b)
    delta = v - lo
    safe_delta = _where(delta > 0, delta, delta * 0 + 1)
    safe_v = _where(v > 0, v, v * 0 + 1)
    s = _where(v > 0, delta / safe_v, v * 0)
    hr = ((g - b) / safe_delta) % 6.0
    hg = (b - r) / safe_delta + 2.0
    hb = (r - g) / safe_delta + 4.0
    h = _where(v == r, hr, _where(v == g, hg, hb)) / 6.0
    h = _where(delta > 0, h, h * 0)
    return _stack([h % 1.0, s, v], axis, rgb)


def hsv_to_rgb(hsv: Array, *, axis: int = -1) -> Array:
    """HSV (hue in 0..1) -> RGB, inverse of rgb_to_hsv."""
    hsv = _float(hsv)
    _check_channels(hsv, axis)
    h, s, v = _channels(hsv, axis)
    parts = []
    for n in (5.0, 3.0, 1.0):
        k = (n + h * 6.0) % 6.0
        if is_torch(hsv):
            import torch
            ramp = torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)
        else:
            ramp = np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
        parts.append(v - v * s * ramp)
    return _stack(parts, axis, hsv)
