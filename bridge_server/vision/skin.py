"""Body skin: pixels of the people whose colour matches this photo's own face skin."""
from __future__ import annotations

import numpy as np


def body_skin(lab: np.ndarray, person: np.ndarray, face_skin: np.ndarray, face_area: np.ndarray) -> tuple[np.ndarray, float]:
    """Skin outside the faces: a colour model learned from the face skin (a*, b*, L*), inside the people."""
    import cv2
    sample = face_skin > 0.6
    if sample.sum() < 50:
        return _generic_skin(lab) * np.clip(person, 0, 1) * (1 - np.clip(face_area, 0, 1)), 0.3
    feats = lab[sample][:, [1, 2]].astype(np.float64)
    mean = feats.mean(axis=0)
    cov = np.cov(feats.T) + np.eye(2) * 4.0  # a floor: faces are small, lighting varies over the body
    inv = np.linalg.inv(cov).astype(np.float32)
    floor = np.percentile(lab[..., 0][sample], 2) - 15
    mask = np.zeros(lab.shape[:2], np.float32)
    rows = np.flatnonzero((person > 0).any(axis=1))
    cols = np.flatnonzero((person > 0).any(axis=0))
    if rows.size:  # only inside the people's bounding box: the rest is zero anyway
        box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
        part = lab[box]
        d0 = part[..., 1] - np.float32(mean[0])
        d1 = part[..., 2] - np.float32(mean[1])
        dist = inv[0, 0] * d0 * d0 + (inv[0, 1] + inv[1, 0]) * d0 * d1 + inv[1, 1] * d1 * d1
        likelihood = np.exp(-0.5 * np.maximum(dist - 1.0, 0.0)) * (part[..., 0] > floor)
        mask[box] = likelihood * np.clip(person[box], 0, 1) * (1 - np.clip(face_area[box], 0, 1))
    mask = cv2.GaussianBlur(mask, (0, 0), 1.0)
    return np.where(mask > 0.35, mask, 0).astype(np.float32), 0.6


def _generic_skin(lab: np.ndarray) -> np.ndarray:
    """A broad skin-colour rule (hue between red and yellow, moderate chroma) for when no face was measured."""
    a, b = lab[..., 1], lab[..., 2]
    hue = np.degrees(np.arctan2(b, a))
    chroma = np.hypot(a, b)
    return ((hue > 25) & (hue < 80) & (chroma > 8) & (chroma < 45) & (lab[..., 0] > 20)).astype(np.float32)
