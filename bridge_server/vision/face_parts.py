"""Soft masks of face parts (skin, eyes, lips, eyebrows, mouth opening) from the 468-point face mesh.

The index rings below are MediaPipe face-mesh vertex numbers, each ordered around its outline; they were
checked by drawing them on the test portraits (tests/test_vision_faces.py checks the geometry too):
"right" is the subject's right, i.e. the eye on the image's left. Faces without a mesh (Haar fallback,
tiny or doubtful faces) get an ellipse for the skin and small ellipses at the eye and mouth keypoints, with
lower confidence. Masks are float32 HxW in 0..1, feathered by a blur proportional to the face size.
"""
from __future__ import annotations

import math

import numpy as np

from .faces import Face

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
RIGHT_EYE = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
LEFT_EYE = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
RIGHT_EYEBROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)  # upper edge outward->inward, lower edge back
LEFT_EYEBROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)

PARTS = ("face_skin", "eyes", "lips", "eyebrows", "mouth_inner")

MESH_CONFIDENCE = 0.9
ELLIPSE_CONFIDENCE = {"face_skin": 0.5, "eyes": 0.3, "lips": 0.3, "eyebrows": 0.0, "mouth_inner": 0.0}


def _fill(canvas: np.ndarray, pts: np.ndarray, origin: tuple[int, int], value: float = 1.0) -> None:
    import cv2

    shift = 4  # sub-pixel vertex precision
    p = np.round((pts - np.asarray(origin, np.float32)) * (1 << shift)).astype(np.int32)
    cv2.fillPoly(canvas, [p], float(value), lineType=cv2.LINE_AA, shift=shift)


def _ellipse(canvas: np.ndarray, centre, axes, angle_deg: float, origin: tuple[int, int]) -> None:
    import cv2

    shift = 4
    c = (int(round((centre[0] - origin[0]) * 16)), int(round((centre[1] - origin[1]) * 16)))
    a = (max(1, int(round(axes[0] * 16))), max(1, int(round(axes[1] * 16))))
    cv2.ellipse(canvas, c, a, angle_deg, 0, 360, 1.0, -1, lineType=cv2.LINE_AA, shift=shift)


def _blur(m: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    if sigma <= 0.3:
        return m
    return cv2.GaussianBlur(m, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)


def _eye_angle(face: Face) -> float:
    kp = np.asarray(face.keypoints, np.float64)
    return math.degrees(math.atan2(kp[1, 1] - kp[0, 1], kp[1, 0] - kp[0, 0]))


def _extended_oval(pts: np.ndarray, forehead: float) -> np.ndarray:
    """The face-oval ring with the points above the eye line pushed up by `forehead` of their height above
    it (the mesh stops mid-forehead)."""
    oval = pts[list(FACE_OVAL)].astype(np.float64)
    if forehead <= 0:
        return oval
    r = pts[list(RIGHT_EYE)].mean(0)
    l = pts[list(LEFT_EYE)].mean(0)
    mid = (r + l) / 2.0
    axis = l - r
    norm = float(np.hypot(*axis))
    if norm < 1e-6:
        return oval
    ex = axis / norm
    ey = np.array([-ex[1], ex[0]])  # points down the face
    v = (oval - mid) @ ey
    up = v < 0
    oval[up] += np.outer(v[up] * forehead, ey)
    return oval


def _face_parts_local(face: Face, h: int, w: int, forehead: float = 0.15, max_px: float = 160.0
                      ) -> tuple[tuple[int, int, int, int], dict[str, np.ndarray], bool]:
    """Masks of one face in a window (x0, y0, x1, y1) of the image; (window, masks, has mesh).

    Drawn at a reduced scale (the face at most `max_px` across), feathered there, then resized up."""
    import cv2

    fw, fh = face.width, face.height
    size = max(fw, fh, 1.0)
    pad = 0.5 * size
    pts = face.landmarks
    if pts is not None:
        lo = pts.min(0) - pad
        hi = pts.max(0) + pad
    else:
        lo = np.array([face.box[0], face.box[1]]) - pad
        hi = np.array([face.box[2], face.box[3]]) + pad
    x0, y0 = int(max(0, math.floor(lo[0]))), int(max(0, math.floor(lo[1])))
    x1, y1 = int(min(w, math.ceil(hi[0]))), int(min(h, math.ceil(hi[1])))
    if x1 <= x0 or y1 <= y0:
        return (0, 0, 0, 0), {}, pts is not None
    sc = min(1.0, max_px / size)
    shape = (max(1, int(round((y1 - y0) * sc))), max(1, int(round((x1 - x0) * sc))))
    o = (x0 * sc, y0 * sc)
    m = {k: np.zeros(shape, np.float32) for k in ("oval", "eyes", "lips_outer", "mouth_inner", "eyebrows")}
    if pts is not None:
        p = pts.astype(np.float64) * sc
        _fill(m["oval"], _extended_oval(p, forehead), o)
        for ring in (RIGHT_EYE, LEFT_EYE):
            _fill(m["eyes"], p[list(ring)], o)
        _fill(m["lips_outer"], p[list(LIPS_OUTER)], o)
        _fill(m["mouth_inner"], p[list(LIPS_INNER)], o)
        for ring in (RIGHT_EYEBROW, LEFT_EYEBROW):
            _fill(m["eyebrows"], p[list(ring)], o)
    else:
        kp = np.asarray(face.keypoints, np.float64) * sc
        ang = _eye_angle(face)
        cx, cy = (face.box[0] + face.box[2]) / 2.0 * sc, (face.box[1] + face.box[3]) / 2.0 * sc
        _ellipse(m["oval"], (cx, cy - 0.02 * fh * sc), (0.44 * fw * sc, 0.53 * fh * sc), ang, o)
        eye_dist = float(np.hypot(*(kp[1] - kp[0]))) or 0.4 * fw * sc
        for e in kp[:2]:
            _ellipse(m["eyes"], e, (0.22 * eye_dist, 0.1 * eye_dist), ang, o)
        _ellipse(m["lips_outer"], kp[3], (0.42 * eye_dist, 0.18 * eye_dist), ang, o)
    ssize = size * sc
    soft = max(0.6, 0.015 * ssize)
    fine = max(0.5, 0.006 * ssize)
    eyes = _blur(m["eyes"], fine)
    brows = _blur(m["eyebrows"], fine)
    mouth_inner = _blur(m["mouth_inner"], fine)
    lips = np.clip(_blur(m["lips_outer"], fine) - mouth_inner, 0.0, 1.0)
    # skin excludes the parts with a small margin (lashes, the lip line)
    k = max(1, int(round(0.015 * ssize))) * 2 + 1
    holes = np.maximum(np.maximum(m["eyes"], m["eyebrows"]), m["lips_outer"])
    holes = cv2.dilate(holes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    skin = np.clip(_blur(m["oval"], soft) - _blur(holes, fine), 0.0, 1.0)
    parts = {"face_skin": skin, "eyes": eyes, "lips": lips, "eyebrows": brows, "mouth_inner": mouth_inner}
    if sc < 1.0:
        full = (x1 - x0, y1 - y0)
        parts = {k: cv2.resize(v, full, interpolation=cv2.INTER_LINEAR) for k, v in parts.items()}
    return (x0, y0, x1, y1), parts, pts is not None


def face_part_masks(faces: list[Face], shape: tuple[int, ...]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Masks (float32 HxW, 0..1) for PARTS over all faces, merged by maximum, and a confidence per part.

    `shape` is the image's (H, W[, C]); face coordinates must be pixels of that image. A part's confidence is
    the mean over faces of the face score times 0.9 with a mesh, or the ellipse confidence without one; 0.0
    with no face."""
    h, w = int(shape[0]), int(shape[1])
    masks = {p: np.zeros((h, w), np.float32) for p in PARTS}
    conf_sum = {p: 0.0 for p in PARTS}
    n = 0
    drawn: list[tuple[int, int, int, int]] = []
    for face in faces:
        (x0, y0, x1, y1), parts, has_mesh = _face_parts_local(face, h, w)
        n += 1
        fresh = not any(x0 < bx1 and bx0 < x1 and y0 < by1 and by0 < y1 for bx0, by0, bx1, by1 in drawn)
        for p in PARTS:
            if has_mesh:
                conf_sum[p] += MESH_CONFIDENCE * float(min(1.0, face.score / 0.9))
            else:
                conf_sum[p] += ELLIPSE_CONFIDENCE[p] * float(min(1.0, face.score / 0.9))
            if p in parts and x1 > x0:
                view = masks[p][y0:y1, x0:x1]
                if fresh:
                    view[...] = parts[p]
                else:
                    np.maximum(view, parts[p], out=view)
        drawn.append((x0, y0, x1, y1))
    conf = {p: (round(conf_sum[p] / n, 3) if n else 0.0) for p in PARTS}
    return masks, conf
