"""Person masks: MediaPipe selfie segmentation, checked against the faces, split into one mask per person.

`person_mask` runs the general (256x256) model on the whole image, stretched to its square input; when the
faces are small in the frame (group photos, wide shots) it also runs it on enlarged crops around groups of
faces and merges by maximum. Parts of the mask that touch no face (an animal, a statue, a person seen from
behind) are dropped when faces were found; with no face at all the mask is kept with a low confidence.
Without the model, a body region is extrapolated from the faces (head ellipse plus a torso below it), with a
low confidence, and the notes say so.

`person_instances` splits a person mask among the faces, left to right: each pixel goes to the nearest face
(in face sizes, with the distance below a face shrunk because a body hangs under its head) among the faces
inside the same connected part of the mask.
"""
from __future__ import annotations

import numpy as np

from . import runtime
from .faces import Face, as_srgb_float

MODEL = "selfie_segmentation"
INPUT = 256
SMALL_FACE = 0.07  # faces shorter than this share of the long edge get a crop pass
MAX_CROPS = 3
WORK_PX = 512  # long edge at which the mask is assembled before the final upsampling
MODEL_CONFIDENCE = 0.85
FALLBACK_CONFIDENCE = 0.25


def _segment(model: runtime.Model, img: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """Person probability of an image or crop, stretched to the model's square input, returned at
    out_size (w, h)."""
    import cv2

    h, w = img.shape[:2]
    interp = cv2.INTER_AREA if max(h, w) > INPUT else cv2.INTER_LINEAR
    x = as_srgb_float(cv2.resize(img, (INPUT, INPUT), interpolation=interp))
    prob = model.run(x)[0].reshape(INPUT, INPUT).astype(np.float32)
    prob = cv2.GaussianBlur(prob, (0, 0), 0.7)  # soften the 256-grid before the upsampling
    return np.clip(cv2.resize(prob, out_size, interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


def _scaled(face: Face, s: float) -> Face:
    return Face(box=tuple(v * s for v in face.box), score=face.score, keypoints=face.keypoints * s,
                source=face.source)


def _crop_boxes(faces: list[Face], h: int, w: int) -> list[tuple[int, int, int, int]]:
    """Square crops (x0, y0, x1, y1) around groups of small faces, covering heads and upper bodies."""
    long_edge = max(h, w)
    small = [f for f in faces if f.height < SMALL_FACE * long_edge]
    if not small:
        return []
    regions = []
    for f in small:
        fw, fh = f.width, f.height
        regions.append([f.box[0] - 2.0 * fw, f.box[1] - 1.0 * fh, f.box[2] + 2.0 * fw, f.box[3] + 5.0 * fh])
    groups = [list(r) for r in regions]
    merged = True
    while merged:  # merge overlapping regions until none overlap
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                a, b = groups[i], groups[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    groups[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del groups[j]
                    merged = True
                    break
            if merged:
                break
    boxes = []
    for g in groups:
        side = max(g[2] - g[0], g[3] - g[1])
        if side >= 0.8 * long_edge:
            continue  # about the whole image again
        cx, cy = (g[0] + g[2]) / 2.0, (g[1] + g[3]) / 2.0
        x0 = int(np.clip(cx - side / 2, 0, max(0, w - side)))
        y0 = int(np.clip(cy - side / 2, 0, max(0, h - side)))
        boxes.append((x0, y0, int(min(w, x0 + side)), int(min(h, y0 + side))))
    boxes.sort(key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
    return boxes[:MAX_CROPS]


def body_from_faces(faces: list[Face], h: int, w: int) -> np.ndarray:
    """A rough person region per face: a head ellipse (hair included) and a torso widening below the chin."""
    import cv2

    out = np.zeros((h, w), np.float32)
    for f in faces:
        fw, fh = f.width, f.height
        cx = (f.box[0] + f.box[2]) / 2.0
        chin = f.box[3]
        head_cy = (f.box[1] + f.box[3]) / 2.0 - 0.1 * fh
        layer = np.zeros((h, w), np.float32)
        cv2.ellipse(layer, (int(round(cx)), int(round(head_cy))),
                    (max(1, int(round(0.65 * fw))), max(1, int(round(0.8 * fh)))), 0, 0, 360, 1.0, -1)
        torso = np.array([[cx - 0.45 * fw, chin - 0.1 * fh], [cx + 0.45 * fw, chin - 0.1 * fh],
                          [cx + 0.6 * fw, chin + 0.45 * fh], [cx + 1.6 * fw, chin + 0.9 * fh],
                          [cx + 1.5 * fw, chin + 5.0 * fh], [cx - 1.5 * fw, chin + 5.0 * fh],
                          [cx - 1.6 * fw, chin + 0.9 * fh], [cx - 0.6 * fw, chin + 0.45 * fh]])
        cv2.fillPoly(layer, [np.round(torso).astype(np.int32)], 1.0)
        sigma = max(1.0, 0.15 * fw)
        layer = cv2.GaussianBlur(layer, (0, 0), sigma)
        np.maximum(out, layer, out=out)
    return out


def _face_heads(faces: list[Face], h: int, w: int, work_px: int = 256) -> np.ndarray:
    """Soft ellipses over the detected faces (a face found with confidence is part of a person), drawn
    small and upsampled."""
    import cv2

    s = min(1.0, work_px / max(h, w))
    sh, sw = max(1, int(round(h * s))), max(1, int(round(w * s)))
    out = np.zeros((sh, sw), np.float32)
    for f in faces:
        cx, cy = f.center
        c = (int(round(cx * s * 16)), int(round(cy * s * 16)))
        axes = (max(1, int(round(0.4 * f.width * s * 16))), max(1, int(round(0.5 * f.height * s * 16))))
        cv2.ellipse(out, c, axes, 0, 0, 360, float(min(1.0, f.score / 0.8)), -1, cv2.LINE_AA, 4)
    if faces:
        sigma = max(0.5, 0.08 * s * float(np.median([f.width for f in faces])))
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR) if s < 1 else out


def _drop_faceless(mask: np.ndarray, faces: list[Face]) -> tuple[np.ndarray, int]:
    """Zero the connected parts of the mask (> 0.5) that touch no face box; returns (mask, parts dropped)."""
    import cv2

    h, w = mask.shape
    n, labels = cv2.connectedComponents((mask > 0.5).astype(np.uint8), connectivity=8)
    if n <= 1:
        return mask, 0
    touched = set()
    for f in faces:
        x0, y0 = int(max(0, f.box[0])), int(max(0, f.box[1]))
        x1, y1 = int(min(w, np.ceil(f.box[2]))), int(min(h, np.ceil(f.box[3])))
        if x1 > x0 and y1 > y0:
            touched.update(np.unique(labels[y0:y1, x0:x1]).tolist())
    drop = [i for i in range(1, n) if i not in touched]
    if not drop:
        return mask, 0
    dropped = np.isin(labels, drop).astype(np.uint8)
    k = max(3, int(round(0.01 * max(h, w))) * 2 + 1)
    dropped = cv2.dilate(dropped, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return mask * (1.0 - dropped.astype(np.float32)), len(drop)


def _face_coverage(mask: np.ndarray, faces: list[Face]) -> float:
    h, w = mask.shape
    hits = 0
    for f in faces:
        cx, cy = f.center
        hits += mask[int(np.clip(cy, 0, h - 1)), int(np.clip(cx, 0, w - 1))] >= 0.5
    return hits / len(faces) if faces else 0.0


def person_mask(srgb: np.ndarray, faces: list[Face] | None = None, *, require_faces: bool = True,
                use_models: bool = True, out_size: tuple[int, int] | None = None
                ) -> tuple[np.ndarray, float, list[str]]:
    """(person probability float32 HxW 0..1, confidence 0..1, notes) for an sRGB-encoded image; the mask is
    HxW of the image, or `out_size` (w, h) when given (the mask is assembled at most 512 px anyway).

    `faces` from faces.detect_faces on the same image (detected here when None) guide the crops, the
    check against non-person subjects (`require_faces`) and the fallback (`use_models=False` forces it;
    its note contains "fallback")."""
    img = np.asarray(srgb)
    if img.dtype != np.uint8:  # 8-bit input is resized as it is and converted after (a quarter of the work)
        img = as_srgb_float(img)
    h, w = img.shape[:2]
    out_w, out_h = out_size or (w, h)
    notes: list[str] = []
    if faces is None:
        from .faces import detect_faces

        faces, fnotes = detect_faces(img, use_models=use_models)
        notes.extend(fnotes)
    model = runtime.load(MODEL) if use_models else None
    # everything below runs at a working size (the model sees 256 px anyway) and is upsampled once
    sc = min(1.0, WORK_PX / max(h, w))
    sh, sw = max(1, int(round(h * sc))), max(1, int(round(w * sc)))
    wfaces = [_scaled(f, sc) for f in faces]
    if model is None:
        reason = runtime.load_reason(MODEL) if use_models else "models not used on request"
        notes.append(f"people: segmentation model unavailable ({reason}); fallback: the person region is "
                     "extrapolated from the faces")
        if not faces:
            return np.zeros((h, w), np.float32), 0.0, notes
        return _upsample(body_from_faces(wfaces, sh, sw), out_w, out_h), FALLBACK_CONFIDENCE, notes

    mask = _segment(model, img, (sw, sh))
    crops = _crop_boxes(wfaces, sh, sw)
    for x0, y0, x1, y1 in crops:
        sub = img[int(y0 / sc):int(np.ceil(y1 / sc)), int(x0 / sc):int(np.ceil(x1 / sc))]
        view = mask[y0:y1, x0:x1]
        np.maximum(view, _segment(model, sub, (x1 - x0, y1 - y0)), out=view)
    if crops:
        notes.append(f"people: {len(crops)} crop(s) around small faces segmented as well")
    certainty = float(np.mean(np.abs(2.0 * mask - 1.0)))
    if faces:
        np.maximum(mask, _face_heads(wfaces, sh, sw), out=mask)
        if require_faces:
            mask, dropped = _drop_faceless(mask, wfaces)
            if dropped:
                notes.append(f"people: {dropped} segmented region(s) without a face left out (an animal, an "
                             "object, or a person seen from behind)")
        coverage = _face_coverage(mask, wfaces)
        if coverage < 1.0:
            notes.append(f"people: the segmentation covers {coverage:.0%} of the faces")
        confidence = MODEL_CONFIDENCE * (0.5 + 0.5 * certainty) * (0.3 + 0.7 * coverage)
    else:
        confidence = MODEL_CONFIDENCE * (0.5 + 0.5 * certainty) * 0.35
        if float(mask.mean()) > 0.01:
            notes.append("people: no face found; the person mask is unconfirmed (it may be an animal or an "
                         "object)")
    return _upsample(mask, out_w, out_h), round(float(confidence), 3), notes


def _upsample(mask: np.ndarray, w: int, h: int) -> np.ndarray:
    import cv2

    if mask.shape != (h, w):
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(mask, 0.0, 1.0).astype(np.float32)


BELOW_SCALE = 0.3  # a body hangs below its face: vertical distance below the face counts this much


def _body_distance(faces: list[Face], sh: int, sw: int, s: float) -> np.ndarray:
    """(n, sh, sw) distance of every pixel to each face, in face sizes, shrunk below the face."""
    ys = (np.arange(sh, dtype=np.float32) + 0.5) / s
    xs = (np.arange(sw, dtype=np.float32) + 0.5) / s
    out = np.empty((len(faces), sh, sw), np.float32)
    for i, f in enumerate(faces):
        cx, cy = f.center
        fw, fh = max(f.width, 1.0), max(f.height, 1.0)
        dx = (xs - cx) / fw
        dy = (ys - cy) / fh
        dy = np.where(dy > 0, dy * BELOW_SCALE, dy)
        out[i] = np.sqrt(dy[:, None] ** 2 + dx[None, :] ** 2)
    return out


def person_instances(mask: np.ndarray, faces: list[Face], *, work_px: int = 256
                     ) -> list[tuple[np.ndarray, tuple[float, float, float, float]]]:
    """Split a person mask among the faces: [(mask_i float32 HxW, (x0, y0, x1, y1) normalised 0..1)], one per
    face, ordered left to right. The masks sum to the input mask.

    Each pixel goes to the face nearest in face sizes, with distances below a face shrunk (a body hangs under
    its head), among the faces inside the same connected part of the mask (> 0.5); the labels are computed
    at about `work_px` on the long edge and upsampled softly, so neighbours share a feathered boundary."""
    import cv2

    mask = np.asarray(mask, np.float32)
    h, w = mask.shape
    if not faces:
        return []
    faces = sorted(faces, key=lambda f: f.center[0])
    n = len(faces)
    s = min(1.0, work_px / max(h, w))
    sh, sw = max(1, int(round(h * s))), max(1, int(round(w * s)))
    small = cv2.resize(mask, (sw, sh), interpolation=cv2.INTER_AREA) if s < 1 else mask
    dist = _body_distance(faces, sh, sw, s)
    if n > 1:
        ncomp, comp = cv2.connectedComponents((small > 0.5).astype(np.uint8), connectivity=8)
        if ncomp > 1:
            # faces outside a connected part of the mask cannot claim it
            member = np.zeros((ncomp, n), bool)
            for i, f in enumerate(faces):
                x0, y0 = int(np.clip(f.box[0] * s, 0, sw - 1)), int(np.clip(f.box[1] * s, 0, sh - 1))
                x1 = int(np.clip(np.ceil(f.box[2] * s), x0 + 1, sw))
                y1 = int(np.clip(np.ceil(f.box[3] * s), y0 + 1, sh))
                member[np.unique(comp[y0:y1, x0:x1]), i] = True
            member[0, :] = True  # outside the mask: any face (soft edges)
            member[~member.any(1), :] = True  # a part no face touches: nearest face
            dist[~member.T[:, comp]] = 1e6  # (n, sh, sw)
    labels = np.argmin(dist, axis=0)
    sigma = max(0.6, 0.004 * max(sh, sw))
    inds = np.stack([cv2.GaussianBlur((labels == i).astype(np.float32), (0, 0), sigma) for i in range(n)])
    inds /= np.maximum(inds.sum(0), 1e-6)
    result = []
    for ind, f in zip(inds, faces):
        core = (small * ind) > 0.5
        cols, rows = np.flatnonzero(core.any(0)), np.flatnonzero(core.any(1))
        if len(cols):
            box = (cols[0] / sw, rows[0] / sh, (cols[-1] + 1) / sw, (rows[-1] + 1) / sh)
        else:
            box = (f.box[0] / w, f.box[1] / h, f.box[2] / w, f.box[3] / h)
        if s < 1:
            ind = cv2.resize(ind, (w, h), interpolation=cv2.INTER_LINEAR)
        m_i = mask * ind
        result.append((m_i, tuple(float(np.clip(v, 0.0, 1.0)) for v in box)))
    return result
