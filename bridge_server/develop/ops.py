"""The develop operations, one small pure function each, on linear-light tensors.

Images are (N, 3, H, W) linear Rec.709 RGB; single-channel maps are (N, 1, H, W); "amount" arguments are
either 0-d tensors or (N, 1, H, W) maps (a local edit makes a slider vary over the image) in internal units:
slider/100 unless stated. Every function is differentiable in its image and its amounts.
Lightness is CIE L*/100 (0.5 = mid-grey); "base" is an edge-aware smoothed lightness (see `filters`).
"""
from __future__ import annotations

import math

import torch

from .color import apply_matrix, lightness_from_root, lightness_to_luminance, luminance

Tensor = torch.Tensor

# How far each slider goes at +-100 (internal amount 1). Chosen to resemble Lightroom's visible strength.
HIGHLIGHTS_REACH = 0.12  # Highlights -100 lowers bright base tones (around L* 75) by up to 12 L*; white stays
SHADOWS_EV = 1.5  # Shadows +100 lifts the darkest base tones by 1.5 EV (black stays black)
WHITES_REACH = 0.15  # Whites/Blacks +-100 move white/black by 0.15 L (15 L*) and fade toward mid-grey
BLACKS_REACH = 0.15
CONTRAST_SLOPE = 0.3  # Contrast +100 raises the slope at mid-grey by 30%
CLARITY_GAIN = 0.6  # Clarity +100 multiplies medium-scale detail by 1.6
TEXTURE_GAIN = 0.8  # Texture +100 multiplies fine detail by 1.8
CLARITY_SIGMA = 0.04  # detail larger than this (L units) is boosted less: no ringing at strong edges
TEXTURE_SIGMA = 0.03
DEHAZE_STRENGTH = 0.9  # Dehaze +100 removes 90% of the estimated haze
HAZE_ADDED = 0.6  # Dehaze -100 veils the image toward the haze colour by up to 60%
VIBRANCE_GAIN = 1.0  # Vibrance +100 doubles the chroma of fully muted colours
SKIN_HUE_DEG = 18.0  # skin hue on the hexagonal hue circle of linear RGB (sRGB skin tones lie at 10..30)
SKIN_PROTECTION = 0.75  # share of the vibrance change that skin is spared
HSL_HUE_SHIFT_DEG = 30.0  # an HSL hue slider at +-100 turns its colour by 30 degrees
HSL_LUMINANCE_EV = 1.0  # an HSL luminance slider at +-100 moves its colour by 1 EV
_SKIN_COS = math.cos(math.radians(35.0))  # skin hues lie within 35 degrees of SKIN_HUE_DEG

_SQRT3_2 = math.sqrt(3.0) / 2.0


def _tracked(x: Tensor) -> bool:
    """Whether a backward pass may go through x (eager autograd): only then are the safe forms below needed."""
    return x.requires_grad and torch.is_grad_enabled() and not torch.compiler.is_compiling()


def safe_sqrt(x: Tensor) -> Tensor:
    """sqrt(x) for x >= 0, with gradient 0 (not inf, which turns into NaN) where x is 0. Forward values are
    exactly sqrt's; the unused branch of the `where` sees 1, so no inf enters the backward pass. Without
    autograd it is a plain sqrt (no extra passes when rendering)."""
    if not _tracked(x):
        return x.sqrt()
    pos = x > 0.0
    return torch.where(pos, torch.where(pos, x, 1.0).sqrt(), 0.0)


def safe_atan2(y: Tensor, x: Tensor) -> Tensor:
    """atan2(y, x) with gradient 0 (not NaN) at the origin, where the angle is undefined (and 0 forward)."""
    if not (_tracked(x) or _tracked(y)):
        return torch.atan2(y, x)
    some = (x != 0.0) | (y != 0.0)
    return torch.where(some, torch.atan2(torch.where(some, y, 0.0), torch.where(some, x, 1.0)), 0.0)


def smoothstep(t: Tensor) -> Tensor:
    """3t^2 - 2t^3 on t clamped to [0, 1]."""
    t = t.clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# -- white balance and exposure -------------------------------------------------------------------------------
def white_balance_exposure(rgb: Tensor, matrix: Tensor) -> Tensor:
    """Global white balance and exposure as one 3x3 matrix: von Kries gains of the Bradford cones times 2^EV
    (`color.wb_matrix`). With local white balance the matrix stops at the cone responses (`local_gains`)."""
    return apply_matrix(rgb, matrix)


def local_gains(rgb: Tensor, gains: Tensor, cone_to_rgb: Tensor | None) -> Tensor:
    """Local white balance and exposure: cone responses times per-pixel cone gains (N, 3, H, W), back to RGB;
    or, without local white balance, rgb times a per-pixel exposure gain 2^EV (N, 1, H, W)."""
    if cone_to_rgb is None:
        return rgb * gains
    return apply_matrix(rgb * gains, cone_to_rgb)


# -- dehaze --------------------------------------------------------------------------------------------------
def dehaze(rgb: Tensor, airlight: Tensor, haze: Tensor, amount: Tensor) -> Tensor:
    """Remove (amount > 0) or add (amount < 0) haze with the scattering model I = J t + A (1 - t).

    airlight A (N, 3, 1, 1); haze (N, 1, H, W) in 0..1 is the estimated haze density 1 - t (dark channel).
    Removing divides the distance to A by the transmission left after taking away `amount` of the haze.
    """
    pos = amount.clamp(0.0, 1.0)
    neg = amount.clamp(-1.0, 0.0)
    gain = (1.0 + HAZE_ADDED * neg * (0.3 + 0.7 * haze)) / (1.0 - DEHAZE_STRENGTH * pos * haze)
    return (airlight + (rgb - airlight) * gain).clamp(min=0.0)


# -- tone: on lightness --------------------------------------------------------------------------------------
def shadows_gain(base: Tensor, shadows: Tensor) -> Tensor:
    """Shadows as an exposure change (EV) chosen by the base lightness: full at black, none from L* 60 on.
    Working on the base (not the pixel) keeps local detail; as a gain, black stays black. (N, 1, H, W)."""
    return (shadows * SHADOWS_EV) * (1.0 - smoothstep(base * (1.0 / 0.6)))


def highlights_shift(base: Tensor, highlights: Tensor) -> Tensor:
    """Highlights as a lightness change chosen by the base lightness: bright tones (from L* 30, most around
    L* 75) move, white itself stays (the white point is the Whites slider's). Monotone for |amount| <= 1.5."""
    return (highlights * HIGHLIGHTS_REACH) * smoothstep((base - 0.3) * (1.0 / 0.45)) \
        * smoothstep((1.0 - base) * (1.0 / 0.3))


def detail_boost(light: Tensor, base: Tensor, amount: Tensor, gain: float, sigma: float) -> Tensor:
    """Lightness to add for local contrast: the detail (light - base) times amount*gain, softly limited to
    about `sigma` so that strong edges (where the guided base already follows the edge) get no halo."""
    d = light - base
    return d * (amount * gain) * torch.rsqrt(1.0 + (d * (1.0 / sigma)) ** 2)


def whites_blacks(light: Tensor, whites: Tensor, blacks: Tensor) -> Tensor:
    """Whites move the top of the range (weight L^4), Blacks the bottom (weight (1-L)^4): monotone for
    amounts within +-1.5."""
    lc = light.clamp(0.0, 1.0)
    w = lc * lc
    b = (1.0 - lc) * (1.0 - lc)
    return light + (whites * WHITES_REACH) * (w * w) + (blacks * BLACKS_REACH) * (b * b)


def contrast(light: Tensor, amount: Tensor) -> Tensor:
    """S-curve around mid-grey (L* 50) that keeps black and white: slope at mid-grey 1 + 0.3*amount."""
    lc = light.clamp(0.0, 1.0)
    return light + (amount * (2.0 * CONTRAST_SLOPE)) * (2.0 * lc - 1.0) * lc * (1.0 - lc)


def apply_luminance(rgb: Tensor, y: Tensor, y_new: Tensor, eps: float = 1e-4) -> Tensor:
    """Give rgb the luminance y_new, keeping its chromaticity; below `eps` the change is added neutrally
    (so black can be lifted). y, y_new (N, 1, H, W)."""
    ratio = y_new / y.clamp(min=eps)
    return rgb * ratio + (y_new - y * ratio)


def tone(rgb: Tensor, y: Tensor, root: Tensor, light: Tensor, gain_ev: Tensor | None, extra: Tensor | None,
         whites: Tensor | None, blacks: Tensor | None, contrast_amount: Tensor | None) -> tuple[Tensor, Tensor]:
    """The lightness stage as one step: exposure-like gain (shadows), added lightness (highlights, detail),
    whites/blacks, contrast; returns (rgb, new luminance). root is the cube root of y (`color.luminance_root`)."""
    if gain_ev is not None:
        g3 = torch.exp2(gain_ev * (1.0 / 3.0))
        light = lightness_from_root(root * g3, y * (g3 * g3 * g3))
    if extra is not None:
        light = light + extra
    if whites is not None or blacks is not None:
        light = whites_blacks(light, whites if whites is not None else 0.0, blacks if blacks is not None else 0.0)
    if contrast_amount is not None:
        light = contrast(light, contrast_amount)
    y_new = lightness_to_luminance(light)
    return apply_luminance(rgb, y, y_new), y_new


# -- colour --------------------------------------------------------------------------------------------------
def chroma_scale(rgb: Tensor, y: Tensor, factor: Tensor) -> Tensor:
    """Scale chroma around the pixel's own grey (same luminance): factor 0 gives neutral grey."""
    return rgb * factor + y * (1.0 - factor)


def _encoded(rgb: Tensor) -> Tensor:
    """A gamma-2 encoding (sqrt): close enough to sRGB for judging hue, and cheap."""
    return safe_sqrt(rgb.clamp(min=0.0))


def hue_plane(rgb: Tensor) -> tuple[Tensor, Tensor]:
    """Coordinates in the hexagonal hue plane: red at 0, yellow 60, green 120... degrees. (N, 1, H, W) each."""
    r, g, b = rgb.split(1, dim=-3)
    return r - 0.5 * (g + b), _SQRT3_2 * (g - b)


def saturation_of(rgb: Tensor) -> Tensor:
    """HSV-style saturation (max - min) / max of the gamma-2 encoded colour, from linear rgb:
    1 - sqrt(min / max). 0 for greys, 1 for pure colours. (N, 1, H, W)."""
    r, g, b = rgb.split(1, dim=-3)  # element-wise max/min: a reduction over channels would not fuse
    hi = torch.maximum(torch.maximum(r, g), b)
    lo = torch.minimum(torch.minimum(r, g), b).clamp(min=0.0)
    return 1.0 - safe_sqrt(lo / hi.clamp(min=1e-6)).clamp(max=1.0)


def skin_likeness(rgb: Tensor, sat: Tensor) -> Tensor:
    """0..1: how much a colour looks like skin: hue near orange (measured on linear values, where sRGB skin
    tones lie at 10..30 degrees), moderate saturation."""
    alpha, beta = hue_plane(rgb)
    h = math.radians(SKIN_HUE_DEG)
    cos_dist = (alpha * math.cos(h) + beta * math.sin(h)) * torch.rsqrt(alpha * alpha + beta * beta + 1e-12)
    near_hue = smoothstep((cos_dist - _SKIN_COS) * (1.0 / (1.0 - _SKIN_COS)))
    return near_hue * smoothstep(sat * (1.0 / 0.12)) * (1.0 - smoothstep((sat - 0.45) * (1.0 / 0.3)))


def vibrance_factor(rgb: Tensor, amount: Tensor) -> Tensor:
    """Chroma factor for Vibrance: muted colours move most ((1 - saturation)^2), skin is largely spared."""
    sat = saturation_of(rgb)
    muted = (1.0 - sat) * (1.0 - sat)
    return 1.0 + (amount * VIBRANCE_GAIN) * muted * (1.0 - SKIN_PROTECTION * skin_likeness(rgb, sat))


def hsl(rgb: Tensor, y: Tensor, table: Tensor, *, hue: bool, sat: bool, lum: bool) -> Tensor:
    """Per-colour-band Hue/Saturation/Luminance. table (n, 3) over hue 0..360 degrees: hue shift (degrees),
    chroma factor - 1, luminance change (EV), already interpolated smoothly between the 8 band centres.
    Greys (no hue) are left alone; the flags skip parts that are all zero."""
    alpha, beta = hue_plane(_encoded(rgb))
    deg = safe_atan2(beta, alpha) * (180.0 / math.pi) % 360.0
    n = table.shape[0]
    pos = deg * (n / 360.0)
    i0 = pos.detach().floor().long()
    frac = pos - i0.to(pos.dtype)
    i0 = i0 % n
    rows0 = table.index_select(0, i0.reshape(-1))
    rows1 = table.index_select(0, ((i0 + 1) % n).reshape(-1))
    vals = torch.lerp(rows0, rows1, frac.reshape(-1, 1)).T.reshape(3, *deg.shape)
    defined = smoothstep(saturation_of(rgb) * (1.0 / 0.2))
    out = rgb
    if lum:
        gain = torch.exp2(vals[2] * defined)
        out, y = out * gain, y * gain
    if sat:
        out = chroma_scale(out, y, 1.0 + vals[1] * defined)
    if hue:
        out = rotate_hue(out, y, torch.deg2rad(vals[0] * defined))
    return out


def rotate_hue(rgb: Tensor, y: Tensor, angle: Tensor) -> Tensor:
    """Turn colours about the grey axis by `angle` (radians, map; positive turns red toward yellow), in the
    gamma-2 encoding (so saturated colours stay in gamut), then restore each pixel's luminance y."""
    r, g, b = _encoded(rgb).unbind(dim=-3)
    c, s = torch.cos(angle[..., 0, :, :]), torch.sin(angle[..., 0, :, :])
    k = 1.0 / math.sqrt(3.0)
    grey = (r + g + b) * (1.0 / 3.0) * (1.0 - c)
    turned = torch.stack([r * c + (b - g) * k * s + grey, g * c + (r - b) * k * s + grey,
                          b * c + (g - r) * k * s + grey], dim=-3).clamp(min=0.0)
    turned = turned * turned
    return turned * (y / luminance(turned).clamp(min=1e-6))


def clip(rgb: Tensor) -> Tensor:
    """Output transform, first half: clip linear light to the displayable [0, 1]."""
    return rgb.clamp(0.0, 1.0)
