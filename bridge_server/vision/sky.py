"""Sky: colour, brightness, position and smoothness, connected to the top of the frame.

Three kinds of sky are recognised: blue (clear or dusk), grey-white (overcast, hazy) and warm (sunset). A
grey-white candidate must also be among the brightest areas of the frame, because smooth grey walls and ceilings
look the same in colour; indoor cues (flash on faces, no blue at all) make it stricter still.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MIN_SKY_SHARE = 0.02


@dataclass
class SkyResult:
    mask: np.ndarray  # float32 HxW 0..1
    confidence: float
    kind: str  # "none" | "blue" | "overcast" | "sunset" | "mixed"
    notes: list[str] = field(default_factory=list)


def _smoothness(light: np.ndarray) -> np.ndarray:
    """Local texture: blurred gradient magnitude of L* (sky is smooth)."""
    import cv2
    gx = cv2.Sobel(light, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(light, cv2.CV_32F, 0, 1, ksize=3)
    size = max(3, (min(light.shape) // 64) | 1)
    return cv2.blur(np.hypot(gx, gy), (size, size))


def _classes(lab: np.ndarray, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Pixels whose colour and brightness could be sky, by kind."""
    light, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    chroma = np.hypot(a, b)
    return {
        "blue": (b < -6) & (a < 12) & (a > -18) & (-b > 0.6 * np.abs(a)) & ((light > 15) | (b < -12)),
        "overcast": (chroma < 10) & (light > 72),
        "sunset": (light > 55) & (b > 12) & (a > -5) & (rows < 0.55),
    }


def detect_sky(lab: np.ndarray, person: np.ndarray | None = None, *, indoor_cues: float = 0.0) -> SkyResult:
    """Find the sky in an L*a*b* working image; `indoor_cues` (0..1) makes grey candidates stricter."""
    import cv2
    h, w = lab.shape[:2]
    rows = np.broadcast_to(np.linspace(0, 1, h, dtype=np.float32)[:, None], (h, w))
    light = lab[..., 0]
    classes = _classes(lab, rows)
    smooth = _smoothness(light) < 4.0
    not_person = (person < 0.3) if person is not None else np.ones((h, w), bool)
    candidate = (classes["blue"] | classes["overcast"] | classes["sunset"]) & smooth & not_person
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    candidate = cv2.morphologyEx(candidate.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate, connectivity=8)
    bright = float(np.percentile(light, 75))
    keep = np.zeros((h, w), bool)
    kinds: set[str] = set()
    notes: list[str] = []
    for i in range(1, count):
        x, y, cw, ch, area = stats[i]
        if area < MIN_SKY_SHARE * h * w or y > 0.03 * h or cw < 0.15 * w:
            continue  # too small, not touching the top, or a sliver
        comp = labels == i
        centroid = float(rows[comp].mean())
        share = {k: float(v[comp].mean()) for k, v in classes.items()}
        kind = max(share, key=share.get)
        if centroid > 0.5:
            continue
        if kind == "overcast" or share["blue"] < 0.3:
            mean_l = float(light[comp].mean())
            strict = 90.0 if indoor_cues > 0.5 else 85.0
            if mean_l < max(strict, min(bright - 3.0, 95.0)):
                notes.append(f"grey area at the top (L* {mean_l:.0f}) is not bright enough to be sky")
                continue
        keep |= comp
        kinds.add(kind)
    if not keep.any():
        return SkyResult(np.zeros((h, w), np.float32), 0.0, "none", notes)
    # Fill holes (clouds, birds) inside the sky region, then feather the edge.
    filled = cv2.morphologyEx(keep.astype(np.uint8), cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))).astype(np.float32)
    if person is not None:
        filled *= (1.0 - np.clip(person, 0, 1))
    soft = cv2.GaussianBlur(filled, (0, 0), sigmaX=max(1.0, min(h, w) / 300))
    soft = np.clip(np.maximum(soft, filled * 0.0), 0, 1).astype(np.float32)
    share = float(keep.mean())
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    confidence = float(np.clip(0.55 + 3.0 * share, 0.55, 0.95) * (0.85 if kind == "overcast" else 1.0))
    return SkyResult(soft, round(confidence, 2), kind, notes)
