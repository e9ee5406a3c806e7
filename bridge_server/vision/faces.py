"""Face detection: BlazeFace (MediaPipe's short- and full-range models) with an OpenCV Haar fallback.

Passes, all merged by one weighted non-maximum suppression in image pixels:
  * the full-range model (192x192) on the whole image, letterboxed to a square;
  * the short-range model (128x128) on the whole image (large, close faces);
  * the short-range model on overlapping tiles, only where faces may be small: when the full-range pass
    found faces (or weak candidates) narrower than a fifth of the short edge, tiles about five times the
    smallest such face cover the area around them (at most 8), so that the small faces of group photos are
    seen at a size the model was trained on. A face seen only in a tile needs a higher score (0.8), and
    detections cut by a tile edge are dropped (the neighbouring, overlapping tile sees the whole face).

When the models are not provisioned, OpenCV's Haar cascades (frontal + profile, with an eye check and size
filters) stand in, with lower scores, and the notes say so.

Coordinates are image pixels of the array passed in; keypoints are (right eye, left eye, nose tip, mouth
centre, right ear tragion, left ear tragion), "right" meaning the subject's right (the image's left).
"""
from __future__ import annotations

from dataclasses import dataclass, field
import threading
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
    prob = 1.0 / (1.0 + np.exp(-np.clip(raw.astype(np.float64), -100.0, 100.0)))
    keep = np.nonzero(prob >= threshold)[0]
    reg, anc, prob = reg[keep] / size, anchors[keep], prob[keep]
    cx, cy = anc[:, 0] + reg[:, 0], anc[:, 1] + reg[:, 1]
    w, h = reg[:, 2], reg[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = reg[:, 4:16].reshape(-1, 6, 2) + anc[:, None, :]
    return boxes.astype(np.float32), prob.astype(np.float32), kps.astype(np.float32)


def _overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise intersection areas of boxes a (N, 4) and b (M, 4), and each side's own areas."""
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter, area_a[:, None], area_b[None, :]


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union, pairwise."""
    inter, area_a, area_b = _overlaps(a, b)
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def _containment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over the smaller box's area."""
    inter, area_a, area_b = _overlaps(a, b)
    return inter / np.maximum(np.minimum(area_a, area_b), 1e-9)


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


# ----------------------------------------------------------------------------------------- model passes

def _square_input(img: np.ndarray, sx0: float, sy0: float, side: float, size: int) -> np.ndarray:
    """The square [sx0, sx0+side) x [sy0, sy0+side) of img (float 0..1), resized to size x size, black
    outside the image, scaled to [-1, 1]."""
    import cv2

    h, w = img.shape[:2]
    scale = size / side
    x0, y0 = max(0, int(np.floor(sx0))), max(0, int(np.floor(sy0)))
    x1, y1 = min(w, int(np.ceil(sx0 + side))), min(h, int(np.ceil(sy0 + side)))
    canvas = np.zeros((size, size, 3), np.float32)
    if x1 <= x0 or y1 <= y0:
        return canvas - 1.0
    crop = img[y0:y1, x0:x1]
    ox, oy = max(0, int(round((x0 - sx0) * scale))), max(0, int(round((y0 - sy0) * scale)))
    cw = max(1, min(size - ox, int(round((x1 - x0) * scale))))
    ch = max(1, min(size - oy, int(round((y1 - y0) * scale))))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas[oy:oy + ch, ox:ox + cw] = cv2.resize(crop, (cw, ch), interpolation=interp)
    return canvas * 2.0 - 1.0


def _run_pass(model: runtime.Model, cfg: dict, img: np.ndarray, sx0: float, sy0: float, side: float,
              threshold: float, drop_cut: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = _square_input(img, sx0, sy0, side, cfg["size"])
    outs = model.run(x)
    reg = next(o for o in outs if o.shape[-1] == 16)
    sc = next(o for o in outs if o.shape[-1] == 1)
    boxes, scores, kps = decode_blazeface(reg, sc, cfg, threshold)
    if drop_cut and len(scores):
        # a face cut by a tile edge that is not an image edge is seen whole by a neighbouring tile
        h, w = img.shape[:2]
        margin = 0.01
        cut = np.zeros(len(scores), bool)
        if sx0 > 0:
            cut |= boxes[:, 0] < margin
        if sy0 > 0:
            cut |= boxes[:, 1] < margin
        if sx0 + side < w:
            cut |= boxes[:, 2] > 1 - margin
        if sy0 + side < h:
            cut |= boxes[:, 3] > 1 - margin
        boxes, scores, kps = boxes[~cut], scores[~cut], kps[~cut]
    boxes = boxes * side + np.array([sx0, sy0, sx0, sy0], np.float32)
    kps = kps * side + np.array([sx0, sy0], np.float32)
    return boxes, scores, kps


def _span(lo: float, hi: float, side: float, length: float, step: float) -> list[float]:
    """Tile starts covering lo..hi (clipped to 0..length) with tiles of `side`."""
    lo, hi = max(0.0, lo), min(length, hi)
    if hi - lo <= side:
        return [float(np.clip((lo + hi - side) / 2.0, 0.0, max(0.0, length - side)))]
    n = int(np.ceil((hi - lo - side) / step)) + 1
    return [float(v) for v in np.linspace(lo, hi - side, n)]


def _tiles(h: int, w: int, side: float, region: tuple[float, float, float, float] | None = None,
           overlap: float = 0.25, max_tiles: int = 8) -> list[tuple[float, float, float]]:
    """Overlapping square tiles (x0, y0, side) covering `region` (x0, y0, x1, y1; default the image)."""
    rx0, ry0, rx1, ry1 = region if region is not None else (0.0, 0.0, float(w), float(h))
    side = float(min(side, min(h, w)))
    while True:
        step = side * (1.0 - overlap)
        xs = _span(rx0, rx1, side, w, step)
        ys = _span(ry0, ry1, side, h, step)
        if len(xs) * len(ys) <= max_tiles or side >= min(h, w):
            break
        side = min(side * 1.15, float(min(h, w)))
    return [(x, y, side) for y in ys for x in xs]


TILE_ONLY_THRESHOLD = 0.8  # a face seen only in a tile must be surer: tiles see more face-like texture
SMALL_FACE_FRACTION = 0.2  # faces (or weak candidates) narrower than this share of the short edge trigger tiles
WEAK_THRESHOLD = 0.3  # full-range candidates from here on mark where small faces may be
WHOLE_PX = 384  # long edge of the copy the whole-image passes read (2x the full-range input)
TILE_FACE_FRACTION = 0.2  # smallest face found / tile side (full-range boxes of small faces run large)


def _plan_tiles(h: int, w: int, boxes: np.ndarray, weak: np.ndarray) -> list[tuple[float, float, float]]:
    """Tiles where faces may be small: sized from the smallest candidate, over the rows that hold them."""
    short_edge = float(min(h, w))
    cands = np.concatenate([boxes, weak]) if len(weak) else boxes
    if len(cands) == 0:
        return []
    widths = cands[:, 2] - cands[:, 0]
    small = widths < SMALL_FACE_FRACTION * short_edge
    if not small.any():
        return []
    sizes = (boxes[:, 2] - boxes[:, 0]) if len(boxes) else widths
    small_found = sizes[sizes < SMALL_FACE_FRACTION * short_edge]
    face = float(np.min(small_found)) if len(small_found) else float(np.median(widths[small]))
    side = float(np.clip(face / TILE_FACE_FRACTION, 128.0, short_edge))
    if side > 0.6 * max(h, w):
        return []  # the whole-image short-range pass already sees faces at this scale
    group = cands[small]
    region = (float(group[:, 0].min()) - 3.0 * face, float(group[:, 1].min()) - 1.5 * face,
              float(group[:, 2].max()) + 3.0 * face, float(group[:, 3].max()) + 1.5 * face)
    return _tiles(h, w, side, region)


def _blazeface(img: np.ndarray, threshold: float, notes: list[str], tiles: bool = True) -> list[Face] | None:
    full = runtime.load(FULL_RANGE["name"])
    short = runtime.load(SHORT_RANGE["name"])
    if full is None and short is None:
        return None
    import cv2

    h, w = img.shape[:2]
    # the whole-image passes read one downsampled copy (resizing the full image twice costs more)
    ds = min(1.0, WHOLE_PX / max(h, w))
    small = cv2.resize(img, (max(1, round(w * ds)), max(1, round(h * ds))), interpolation=cv2.INTER_AREA) \
        if ds < 1 else img
    sh, sw = small.shape[:2]
    side = float(max(sh, sw))
    sx0, sy0 = (sw - side) / 2.0, (sh - side) / 2.0

    def whole(model, cfg, thr):
        b, s, k = _run_pass(model, cfg, small, sx0, sy0, side, thr, False)
        return b / ds, s, k / ds

    parts = []
    weak = np.zeros((0, 4), np.float32)
    if full is not None:
        b, s, k = whole(full, FULL_RANGE, min(threshold, WEAK_THRESHOLD))
        ok = s >= threshold
        weak = b[~ok]
        parts.append((b[ok], s[ok], k[ok]))
    else:
        notes.append(f"faces: full-range model unavailable ({runtime.load_reason(FULL_RANGE['name'])})")
    if short is not None:
        parts.append(whole(short, SHORT_RANGE, threshold))
    else:
        notes.append(f"faces: short-range model unavailable ({runtime.load_reason(SHORT_RANGE['name'])}); "
                     "small faces may be missed")
    boxes = np.concatenate([p[0] for p in parts])
    scores = np.concatenate([p[1] for p in parts])
    kps = np.concatenate([p[2] for p in parts])
    boxes, scores, kps, _ = weighted_nms(boxes, scores, kps)

    tiles = _plan_tiles(h, w, boxes, weak) if (short is not None and tiles) else []
    if tiles:
        tb, ts, tk = [], [], []
        for tx, ty, tside in tiles:
            b, s, k = _run_pass(short, SHORT_RANGE, img, tx, ty, tside, threshold, True)
            tb.append(b), ts.append(s), tk.append(k)
        tb, ts, tk = np.concatenate(tb), np.concatenate(ts), np.concatenate(tk)
        if len(ts):
            tb, ts, tk, _ = weighted_nms(tb, ts, tk)
            if len(scores):
                seen = (iou_matrix(tb, boxes).max(1) > NMS_IOU) | (_containment(tb, boxes).max(1) > 0.7)
            else:
                seen = np.zeros(len(ts), bool)
            keep = seen | (ts >= TILE_ONLY_THRESHOLD)
            boxes = np.concatenate([boxes, tb[keep]])
            scores = np.concatenate([scores, ts[keep]])
            kps = np.concatenate([kps, tk[keep]])
            boxes, scores, kps, _ = weighted_nms(boxes, scores, kps)
    out = []
    for b, s, k in zip(boxes, scores, kps):
        b = np.clip(b, [0, 0, 0, 0], [w, h, w, h])
        if b[2] - b[0] < 4 or b[3] - b[1] < 4:
            continue
        out.append(Face(box=tuple(float(v) for v in b), score=float(s), keypoints=k.astype(np.float32),
                        source="blazeface"))
    return out


def detect_faces(srgb: np.ndarray, threshold: float = SCORE_THRESHOLD, *, tiles: bool = True,
                 use_models: bool = True) -> tuple[list[Face], list[str]]:
    """Faces in an sRGB-encoded image (HxWx3 uint8, or float 0..1), sorted left to right, and notes.

    `tiles=False` skips the short-range tiles (faster; small faces in group photos may then be missed);
    `use_models=False` goes straight to the Haar fallback. Notes about the fallback contain "fallback"."""
    img = as_srgb_float(srgb)
    notes: list[str] = []
    found = _blazeface(img, threshold, notes, tiles) if use_models else None
    if found is None:
        reason = (runtime.load_reason(FULL_RANGE["name"]) or "face models unavailable") if use_models \
            else "models not used on request"
        notes.append(f"faces: BlazeFace models unavailable ({reason}); using the OpenCV Haar fallback, "
                     "which misses turned and small faces and finds some false ones")
        found = detect_faces_haar(img)
    found.sort(key=lambda f: (f.center[0], f.center[1]))
    return found, notes


# ------------------------------------------------------------------------------------- Haar fallback

# Keypoints relative to a Haar frontal box (x, y in 0..1): right eye (image left), left eye, nose, mouth, ears.
_HAAR_KEYPOINTS = np.array([[0.32, 0.40], [0.68, 0.40], [0.50, 0.60], [0.50, 0.78], [0.06, 0.48], [0.94, 0.48]],
                           np.float32)


_THREAD = threading.local()


def _cascade(name: str):
    """One OpenCV cascade per thread and file: a CascadeClassifier must not be shared between threads."""
    import cv2

    cache = _THREAD.__dict__.setdefault("cascades", {})
    if name not in cache:
        c = cv2.CascadeClassifier(str(cv2.data.haarcascades) + "/" + name)
        if c.empty():
            raise RuntimeError(f"OpenCV cascade {name} not found in {cv2.data.haarcascades}")
        cache[name] = c
    return cache[name]


def detect_faces_haar(srgb: np.ndarray, max_edge: int = 640) -> list[Face]:
    """OpenCV Haar faces (frontal, then profile both ways), checked for eyes; image pixels, unsorted."""
    import cv2

    img = as_srgb_uint8(srgb)
    h, w = img.shape[:2]
    scale = min(1.0, max_edge / max(h, w))
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    if scale < 1:
        gray = cv2.resize(gray, (int(round(w * scale)), int(round(h * scale))), interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    gh, gw = gray.shape
    min_side = max(24, int(0.04 * min(gh, gw)))
    eyes = _cascade("haarcascade_eye.xml")

    def eye_count(x, y, fw, fh) -> int:
        roi = gray[y + fh // 6: y + fh // 2 + fh // 10, x: x + fw]
        if roi.size == 0:
            return 0
        found = eyes.detectMultiScale(roi, scaleFactor=1.1, minNeighbors=3,
                                      minSize=(max(6, fw // 10), max(6, fw // 10)), maxSize=(fw // 2, fw // 2))
        return len(found)

    cands: list[tuple[np.ndarray, float]] = []
    frontal = _cascade("haarcascade_frontalface_default.xml")
    for (x, y, fw, fh) in frontal.detectMultiScale(gray, scaleFactor=1.15, minNeighbors=5,
                                                   minSize=(min_side, min_side)):
        n = eye_count(x, y, fw, fh)
        large = fw >= 0.15 * min(gh, gw)
        if n == 0 and not large:
            continue
        cands.append((np.array([x, y, x + fw, y + fh], np.float32), 0.7 if n else 0.55))
    profile = _cascade("haarcascade_profileface.xml")
    ps = 0.6  # profiles at a reduced scale: the profile cascade is the slow one, and small profiles rare
    pgray = cv2.resize(gray, (max(1, int(gw * ps)), max(1, int(gh * ps))), interpolation=cv2.INTER_AREA)
    for flip in (False, True):
        g = pgray[:, ::-1].copy() if flip else pgray
        for (x, y, fw, fh) in profile.detectMultiScale(g, scaleFactor=1.15, minNeighbors=5, minSize=(24, 24)):
            if flip:
                x = g.shape[1] - x - fw
            x, y, fw, fh = (int(round(v / ps)) for v in (x, y, fw, fh))
            if eye_count(x, y, fw, fh) == 0:
                continue
            cands.append((np.array([x, y, x + fw, y + fh], np.float32), 0.5))
    if not cands:
        return []
    boxes = np.stack([c[0] for c in cands]) / scale
    scores = np.array([c[1] for c in cands], np.float32)
    sizes = (boxes[:, 2:] - boxes[:, :2])[:, None, :]
    kps = boxes[:, None, :2] + _HAAR_KEYPOINTS[None] * sizes
    boxes, scores, kps, _ = weighted_nms(boxes, scores, kps)
    return [Face(box=tuple(float(v) for v in b), score=float(s), keypoints=k.astype(np.float32), source="haar")
            for b, s, k in zip(boxes, scores, kps)]
