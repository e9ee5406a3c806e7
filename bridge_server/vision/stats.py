"""Per-region statistics on the working image: tones, clipping, colour, contrast, noise, area."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..imaging.color import rgb_linear_to_lab

CLIP_HIGH_L = 98.0  # L* at which tones read as blown
CLIP_LOW_L = 2.0


@dataclass
class RegionStats:
    """Weighted statistics of one region (L*a*b*, D65)."""

    share: float  # of the frame, 0..1
    l_p01: float
    l_p05: float
    l_p50: float
    l_p95: float
    l_p99: float
    clipped_high: float  # share of the region's pixels at or above CLIP_HIGH_L
    clipped_low: float
    lab: tuple[float, float, float]  # weighted mean
    chroma: float  # weighted mean of sqrt(a*² + b*²)
    contrast: float  # weighted std of L*
    noise: float  # robust high-pass deviation of L* (MAD of a Laplacian)

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else round(float(v), 4)) for k, v in asdict(self).items()}


def lab_image(linear: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of a linear sRGB image, clipped to the displayable range first.

    OpenCV's linear-RGB conversion is used for speed; it agrees with imaging.color.rgb_linear_to_lab to
    within 0.05 (tested)."""
    import cv2
    clipped = np.clip(np.asarray(linear, np.float32), 0.0, 1.0)
    if clipped.ndim == 3 and clipped.shape[-1] == 3:
        return cv2.cvtColor(np.ascontiguousarray(clipped), cv2.COLOR_LRGB2Lab)
    return np.asarray(rgb_linear_to_lab(clipped), dtype=np.float32)


def noise_map(light: np.ndarray) -> np.ndarray:
    """Absolute Laplacian of L*: high where there is fine detail or noise."""
    import cv2
    return np.abs(cv2.Laplacian(light.astype(np.float32), cv2.CV_32F, ksize=3))


def _weighted_percentiles(values: np.ndarray, weights: np.ndarray, qs: tuple[float, ...], lo: float, hi: float,
                          bins: int = 1000) -> list[float]:
    """Percentiles of `values` under `weights` from a fine histogram (fast: no sort)."""
    idx = np.clip(((values - lo) * (bins / (hi - lo))).astype(np.int32), 0, bins - 1)
    hist = np.bincount(idx.ravel(), weights=weights.ravel(), minlength=bins)
    cdf = np.cumsum(hist)
    total = cdf[-1]
    return [lo + (hi - lo) * (float(np.searchsorted(cdf, q / 100 * total)) + 0.5) / bins for q in qs]


def _crop(mask: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding box of a mask's non-zero area (regions are often small: measure only there)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def region_stats(lab: np.ndarray, mask: np.ndarray | None, high_pass: np.ndarray | None = None,
                 chroma: np.ndarray | None = None) -> RegionStats | None:
    """Statistics of `lab` inside a soft mask (None = whole frame); None when the region is empty."""
    size = lab.shape[0] * lab.shape[1]
    hp = noise_map(lab[..., 0]) if high_pass is None else high_pass
    chroma = np.hypot(lab[..., 1], lab[..., 2]) if chroma is None else chroma
    if mask is None:
        weights = np.ones(lab.shape[:2], np.float32)
    else:
        box = _crop(np.asarray(mask) > 1e-3)
        if box is None:
            return None
        weights = np.clip(mask[box], 0, 1).astype(np.float32)
        lab, hp, chroma = lab[box], hp[box], chroma[box]
    total = float(weights.sum())
    if total < 1.0:
        return None
    light = lab[..., 0]
    core = (weights > 0.5).astype(np.float32) if (weights > 0.5).sum() >= 16 else (weights > 0).astype(np.float32)
    n_core = float(core.sum())
    if n_core == 0:
        return None
    p = _weighted_percentiles(light, core, (1, 5, 50, 95, 99), 0.0, 100.0)
    mean = tuple(float((lab[..., c] * weights).sum() / total) for c in range(3))
    contrast = float(np.sqrt(((light - mean[0]) ** 2 * weights).sum() / total))
    noise = 1.4826 * _weighted_percentiles(hp, core, (50,), 0.0, 50.0)[0]
    return RegionStats(
        share=total / size, l_p01=p[0], l_p05=p[1], l_p50=p[2], l_p95=p[3], l_p99=p[4],
        clipped_high=float((core * (light >= CLIP_HIGH_L)).sum() / n_core),
        clipped_low=float((core * (light <= CLIP_LOW_L)).sum() / n_core), lab=mean,
        chroma=float((chroma * weights).sum() / total), contrast=contrast, noise=float(noise))


class RegionMeasure:
    """Statistics of one CIELAB image for any number of masks, on every `step`-th pixel each way (the noise map
    first at full size): the same statistics for a quarter of the work. The image is prepared once; `stats`
    remembers what it measured, so asking again for a region costs nothing."""

    def __init__(self, lab: np.ndarray, step: int = 2):
        self.step = step
        self.hp = noise_map(lab[..., 0])[::step, ::step]
        self.lab = lab[::step, ::step]
        self.chroma = np.hypot(self.lab[..., 1], self.lab[..., 2])
        self.measured: dict[str, RegionStats] = {"frame": region_stats(self.lab, None, self.hp, self.chroma)}

    def stats(self, masks: dict[str, np.ndarray]) -> dict[str, RegionStats]:
        """The frame's statistics ("frame") and those of every non-empty mask."""
        for key, mask in masks.items():
            if key not in self.measured:
                found = region_stats(self.lab, np.asarray(mask)[::self.step, ::self.step], self.hp, self.chroma)
                if found is not None:
                    self.measured[key] = found
        return {k: v for k, v in self.measured.items() if k == "frame" or k in masks}
