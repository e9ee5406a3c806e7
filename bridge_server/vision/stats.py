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
    """CIELAB of a linear image (clipped to the displayable range first)."""
    return np.asarray(rgb_linear_to_lab(np.clip(linear, 0.0, 1.0)), dtype=np.float32)


def noise_map(light: np.ndarray) -> np.ndarray:
    """Absolute Laplacian of L*: high where there is fine detail or noise."""
    import cv2
    return np.abs(cv2.Laplacian(light.astype(np.float32), cv2.CV_32F, ksize=3))


def region_stats(lab: np.ndarray, mask: np.ndarray | None, high_pass: np.ndarray | None = None) -> RegionStats | None:
    """Statistics of `lab` inside a soft mask (None = whole frame); None when the region is empty."""
    weights = np.ones(lab.shape[:2], np.float32) if mask is None else np.clip(mask, 0, 1).astype(np.float32)
    total = float(weights.sum())
    if total < 1.0:
        return None
    inside = weights > 0.5 if (weights > 0.5).sum() >= 16 else weights > 0
    light = lab[..., 0][inside]
    if light.size == 0:
        return None
    p = np.percentile(light, [1, 5, 50, 95, 99])
    mean = tuple(float((lab[..., c] * weights).sum() / total) for c in range(3))
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    l_mean = mean[0]
    contrast = float(np.sqrt(((lab[..., 0] - l_mean) ** 2 * weights).sum() / total))
    hp = noise_map(lab[..., 0]) if high_pass is None else high_pass
    noise = float(1.4826 * np.median(hp[inside]))
    return RegionStats(
        share=total / weights.size, l_p01=float(p[0]), l_p05=float(p[1]), l_p50=float(p[2]), l_p95=float(p[3]),
        l_p99=float(p[4]), clipped_high=float((light >= CLIP_HIGH_L).mean()),
        clipped_low=float((light <= CLIP_LOW_L).mean()), lab=mean,
        chroma=float((chroma * weights).sum() / total), contrast=contrast, noise=noise)


def all_region_stats(lab: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, RegionStats]:
    """Statistics for the whole frame ("frame") and every non-empty mask."""
    hp = noise_map(lab[..., 0])
    out = {"frame": region_stats(lab, None, hp)}
    for key, mask in masks.items():
        stats = region_stats(lab, mask, hp)
        if stats is not None:
            out[key] = stats
    return out
