"""Face mesh: 468 landmarks per face from MediaPipe's face_landmark model, on a rotated crop per face.

The crop follows MediaPipe's detection-to-ROI rule: a square of 1.5x the longer side of the face box, centred
on the box, rotated so that the eye keypoints lie on a horizontal line; it is resampled to 192x192 (values
0..1), and the landmarks (crop pixels) are mapped back through the same affine transform to image pixels.
Faces whose face-presence score is low keep `landmarks = None` (and the masks fall back to an ellipse).
"""
from __future__ import annotations

import math

import numpy as np

from . import runtime
from .faces import Face, as_srgb_float

MODEL = "face_landmark"
INPUT = 192
ROI_SCALE = 1.5
PRESENCE_THRESHOLD = 0.5
MIN_FACE_PX = 20  # below this the mesh adds nothing over the ellipse mask


def roi_transform(face: Face, size: int = INPUT, scale: float = ROI_SCALE) -> np.ndarray:
    """2x3 affine matrix mapping crop pixels (u, v) to image pixels (x, y) for this face."""
    x0, y0, x1, y1 = face.box
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    side = max(x1 - x0, y1 - y0) * scale
    kp = np.asarray(face.keypoints, np.float64)
    dx, dy = kp[1, 0] - kp[0, 0], kp[1, 1] - kp[0, 1]  # right eye (image left) -> left eye
    angle = math.atan2(dy, dx) if (dx or dy) else 0.0
    c, s = math.cos(angle), math.sin(angle)
    k = side / size
    # image = centre + k * R @ (u - size/2, v - size/2)
    return np.array([[k * c, -k * s, cx - k * (c - s) * size / 2.0],
                     [k * s, k * c, cy - k * (s + c) * size / 2.0]], np.float64)


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:, :2].T + m[:, 2]


def crop_face(img: np.ndarray, face: Face) -> tuple[np.ndarray, np.ndarray]:
    """(192x192x3 float crop, 2x3 crop->image matrix)."""
    import cv2

    m = roi_transform(face)
    crop = cv2.warpAffine(img, m, (INPUT, INPUT), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return crop, m


def add_landmarks(srgb: np.ndarray, faces: list[Face], *, min_face_px: float = MIN_FACE_PX,
                  presence_threshold: float = PRESENCE_THRESHOLD, use_models: bool = True
                  ) -> tuple[list[Face], list[str]]:
    """Fill `landmarks` (468x2 image pixels), `landmarks_z` and `landmark_score` of each face, in place.

    Returns the same list and notes (model missing -> a note containing "fallback", faces skipped)."""
    notes: list[str] = []
    if not faces:
        return faces, notes
    model = runtime.load(MODEL) if use_models else None
    if model is None:
        reason = runtime.load_reason(MODEL) if use_models else "models not used on request"
        notes.append(f"landmarks: face mesh unavailable ({reason}); fallback: face parts are approximated "
                     "by ellipses")
        return faces, notes
    img = as_srgb_float(srgb)
    skipped_small = skipped_low = 0
    for face in faces:
        if max(face.width, face.height) < min_face_px:
            skipped_small += 1
            continue
        crop, m = crop_face(img, face)
        outs = model.run(crop)
        mesh = next(o for o in outs if o.size == 1404).reshape(468, 3)
        raw = float(next(o for o in outs if o.size == 1).reshape(()))
        presence = 1.0 / (1.0 + math.exp(-max(-100.0, min(100.0, raw))))
        face.landmark_score = presence
        if presence < presence_threshold:
            skipped_low += 1
            continue
        face.landmarks = _apply(m, mesh[:, :2].astype(np.float64)).astype(np.float32)
        face.landmarks_z = (mesh[:, 2] * (m[0, 0] ** 2 + m[1, 0] ** 2) ** 0.5).astype(np.float32)
    if skipped_small:
        notes.append(f"landmarks: {skipped_small} face(s) under {min_face_px:g} px left without a mesh")
    if skipped_low:
        notes.append(f"landmarks: {skipped_low} face(s) with a low face-presence score left without a mesh")
    return faces, notes
