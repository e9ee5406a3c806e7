"""Face detection: BlazeFace (MediaPipe's short- and full-range models) with an OpenCV Haar fallback.

Passes, all merged by one weighted non-maximum suppression in image pixels:
  * the full-range model (192x192) on the whole image, letterboxed to a square;
  * the short-range model (128x128) on the whole image (large, close faces);
  * the short-range model on overlapping tiles, so that the small faces of group photos are seen at a size
    the model was trained on. Tiles are used only when the image is large enough for faces to be small.
Detections cut by a tile edge are dropped (the neighbouring, overlapping tile sees the whole face).

When the models are not provisioned, OpenCV's Haar cascades (frontal + profile, with an eye check and size
filters) stand in, with lower scores, and the notes say so.

Coordinates are image pixels of the array passed in; keypoints are (right eye, left eye, nose tip, mouth
centre, right ear tragion, left ear tragion), "right" meaning the subject's right (the image's left).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import runtime

SCORE_THRESHOLD = 0.5
NMS_IOU = 0.3
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")


@dataclass
class Face:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels
    score: float
    keypoints: np.ndarray  # (6, 2) image pixels, order KEYPOINT_NAMES
    landmarks: np.ndarray | None = None  # (468, 2) image pixels, from landmarks.add_landmarks
    source: str = "blazeface"  # "blazeface" | "haar"
    landmark_score: float | None = None  # face-presence score of the landmark model, when it ran
    landmarks_z: np.ndarray | None = field(default=None, repr=False)  # (468,) relative depth, pixels

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def center(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2

    def to_dict(self) -> dict:
        return {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 3),
            "keypoints": {n: [round(float(x), 1), round(float(y), 1)]
                          for n, (x, y) in zip(KEYPOINT_NAMES, self.keypoints)},
            "landmarks": self.landmarks is not None,
            "source": self.source,
        }


# --------------------------------------------------------------------------------------------- helpers

def as_srgb_float(srgb: np.ndarray) -> np.ndarray:
    """HxWx3 sRGB-encoded uint8/uint16/float(0..1) -> float32 0..1 (grey and alpha handled)."""
    a = np.asarray(srgb)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] < 3:
        raise ValueError(f"expected an HxWx3 image, got shape {a.shape}")
    a = a[..., :3]
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 65535.0
    return np.clip(a.astype(np.float32), 0.0, 1.0)


def as_srgb_uint8(srgb: np.ndarray) -> np.ndarray:
    a = np.asarray(srgb)
    if a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3:
        return a
    return (as_srgb_float(a) * 255.0 + 0.5).astype(np.uint8)


@lru_cache(maxsize=4)
def ssd_anchors(input_size: int, strides: tuple[int, ...], per_cell: tuple[int, ...]) -> np.ndarray:
    """Anchor centres (N, 2) in 0..1 for MediaPipe's SSD layout (fixed anchor size 1)."""
    out = []
    for stride, n in zip(strides, per_cell):
        grid = int(np.ceil(input_size / stride))
        ys, xs = np.mgrid[0:grid, 0:grid]
        centres = np.stack([(xs + 0.5) / grid, (ys + 0.5) / grid], axis=-1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, n, axis=1).reshape(-1, 2))
    return np.concatenate(out).astype(np.float32)


def _merge_layers(strides: list[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Consecutive layers with the same stride share a grid: each contributes 2 anchors per cell."""
    merged_s, merged_n = [], []
    for s in strides:
        if merged_s and merged_s[-1] == s:
            merged_n[-1] += 2
        else:
            merged_s.append(s)
            merged_n.append(2)
    return tuple(merged_s), tuple(merged_n)


SHORT_RANGE = {"name": "face_detection_short_range", "size": 128, "anchors": _merge_layers([8, 16, 16, 16])}
FULL_RANGE = {"name": "face_detection_full_range_sparse", "size": 192, "anchors": ((4,), (1,))}


def decode_blazeface(regressors: np.ndarray, scores: np.ndarray, cfg: dict,
                     threshold: float = SCORE_THRESHOLD) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw outputs -> (boxes (K,4) x0y0x1y1, scores (K,), keypoints (K,6,2)), all in 0..1 of the input."""
    size = cfg["size"]
    anchors = ssd_anchors(size, *cfg["anchors"])
    reg = regressors.reshape(-1, 16)
    raw = scores.reshape(-1)
    if reg.shape[0] != anchors.shape[0]:
        raise ValueError(f"{cfg['name']}: {reg.shape[0]} regressors for {anchors.shape[0]} anchors")
    prob = 1.0 / (1.0 + np.exp(-np.clip(raw, -100.0, 100.0)))
    keep = np.nonzero(prob >= threshold)[0]
    reg, anc, prob = reg[keep] / size, anchors[keep], prob[keep]
    cx, cy = anc[:, 0] + reg[:, 0], anc[:, 1] + reg[:, 1]
    w, h = reg[:, 2], reg[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = reg[:, 4:16].reshape(-1, 6, 2) + anc[:, None, :]
    return boxes.astype(np.float32), prob.astype(np.float32), kps.astype(np.float32)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def _containment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over the smaller box's area."""
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(np.minimum(area_a[:, None], area_b[None, :]), 1e-9)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, kps: np.ndarray, iou: float = NMS_IOU,
                 containment: float | None = 0.7) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe-style weighted NMS: each cluster (IoU > iou with its best member) becomes the score-weighted
    mean of its boxes and keypoints, with the best score. With `containment`, a box mostly inside a better one
    joins its cluster too (a face found again as a part of itself). Returns boxes, scores, kps, cluster sizes."""
    if len(scores) == 0:
        return boxes, scores, kps, np.zeros(0, np.int32)
    order = np.argsort(-scores)
    boxes, scores, kps = boxes[order], scores[order], kps[order]
    ious = iou_matrix(boxes, boxes)
    if containment is not None:
        cont = _containment(boxes, boxes)
    alive = np.ones(len(scores), bool)
    out_b, out_s, out_k, out_n = [], [], [], []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        member = alive & (ious[i] > iou)
        if containment is not None:
            member |= alive & (cont[i] > containment)
        member[i] = True
        w = scores[member][:, None]
        out_b.append((boxes[member] * w).sum(0) / w.sum())
        out_k.append((kps[member] * w[:, :, None]).sum(0) / w.sum())
        out_s.append(scores[i])
        out_n.append(int(member.sum()))
        alive &= ~member
    return np.array(out_b, np.float32), np.array(out_s, np.float32), np.array(out_k, np.float32), \
        np.array(out_n, np.int32)
