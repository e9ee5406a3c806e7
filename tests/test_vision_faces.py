"""Faces, landmarks and face-part masks on real photos with the real models.

Expected counts come from looking at the photos: the astronaut, the headshot and the bride are single
portraits; three_men_closeup and three_people_outdoor show three people, two_women_indoor two; the group
photos show 7 (costume_group: cardboard cut-outs and record sleeves in the back do not count), 7
(family_indoor_group) and 6 (party_group_flash) people; fivek_a1629_input is a goose on grass.
"""
from __future__ import annotations

import copy
import time
from functools import lru_cache

import numpy as np
import pytest

from bridge_server.imaging.color import linear_to_srgb
from bridge_server.imaging.decode import decode
from bridge_server.vision import face_parts, faces, landmarks, models

EXPECTED = {
    "astronaut": 1, "portrait_headshot": 1, "bride_flowers_ppr10k": 1, "three_men_closeup": 3,
    "three_people_outdoor": 3, "two_women_indoor": 2, "costume_group": 7, "family_indoor_group": 7,
    "party_group_flash": 6, "fivek_a1629_input": 0,
}
GROUP_TOLERANCE = 1  # group photos: within one face; photos of up to three people: exact


@lru_cache(maxsize=None)
def _image(path: str) -> np.ndarray:
    if path == "astronaut":
        from skimage import data

        return data.astronaut().astype(np.float32) / 255.0
    d = decode(path, purpose="analysis", max_edge=1024)
    return np.clip(linear_to_srgb(d.pixels), 0.0, 1.0).astype(np.float32)


@pytest.fixture(scope="module")
def photos(sample_photos) -> dict[str, np.ndarray]:
    out = {"astronaut": _image("astronaut")}
    for p in sample_photos:
        out[p.stem] = _image(str(p))
    return out


def _require_models(*names):
    missing = [n for n in names if models.model_path(n) is None]
    if missing:
        pytest.skip(f"vision models not provisioned: {missing} (python -m bridge_server.vision.models)")


@pytest.fixture
def detected(photos):
    _require_models("face_detection_short_range", "face_detection_full_range_sparse", "face_landmark")
    return _detected(photos)


_CACHE: dict = {}


def _detected(photos):
    if not _CACHE:
        for name, img in photos.items():
            found, notes = faces.detect_faces(img)
            landmarks.add_landmarks(img, found)
            _CACHE[name] = (found, notes)
    return _CACHE


def _grow(box, f, w, h):
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * f, (y1 - y0) * f
    return max(0, x0 - dx), max(0, y0 - dy), min(w, x1 + dx), min(h, y1 + dy)


def test_expected_photos_are_there(photos):
    assert set(EXPECTED) <= set(photos), sorted(photos)


def test_face_counts(photos, detected):
    for name, expected in EXPECTED.items():
        found, notes = detected[name]
        tol = GROUP_TOLERANCE if expected > 3 else 0
        assert abs(len(found) - expected) <= tol, (name, len(found), [f.to_dict() for f in found], notes)
        assert notes == [], (name, notes)
        assert all(f.source == "blazeface" and f.score >= 0.5 for f in found)


def test_faces_are_ordered_and_inside(photos, detected):
    for name, (found, _notes) in detected.items():
        h, w = photos[name].shape[:2]
        xs = [f.center[0] for f in found]
        assert xs == sorted(xs), name
        for f in found:
            x0, y0, x1, y1 = f.box
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            assert f.keypoints.shape == (6, 2)
            # eyes, nose and mouth keypoints lie in the (slightly grown) box; the right eye is image-left
            gx0, gy0, gx1, gy1 = _grow(f.box, 0.1, w, h)
            kp = f.keypoints[:4]
            assert ((kp[:, 0] >= gx0) & (kp[:, 0] <= gx1) & (kp[:, 1] >= gy0) & (kp[:, 1] <= gy1)).all()
            assert f.keypoints[0, 0] < f.keypoints[1, 0]
            assert kp[:2, 1].mean() < f.keypoints[3, 1]  # eyes above the mouth


def test_astronaut_face_location(detected):
    (face,), _ = detected["astronaut"]
    # her face spans roughly x 175..275, y 70..175 in the 512x512 image
    cx, cy = face.center
    assert 200 < cx < 250 and 100 < cy < 150
    assert 80 < face.width < 130


def test_small_faces_in_a_wide_frame(photos, detected):
    """The costume group pasted small into a 1024 px frame (faces ~3.5% of the long edge): the tiles find
    what the full-range pass alone cannot."""
    img = photos["costume_group"]
    h, w = img.shape[:2]
    canvas = np.full((768, 1024, 3), 0.5, np.float32)
    y0, x0 = (768 - h) // 2, (1024 - w) // 2
    canvas[y0:y0 + h, x0:x0 + w] = img
    found, _ = faces.detect_faces(canvas)
    assert 6 <= len(found) <= 7, [f.to_dict() for f in found]
    assert all(x0 <= f.center[0] <= x0 + w and y0 <= f.center[1] <= y0 + h for f in found)


def test_uint8_and_float_inputs_agree(photos, detected):
    img = photos["three_men_closeup"]
    found8, _ = faces.detect_faces((img * 255 + 0.5).astype(np.uint8))
    found, _ = detected["three_men_closeup"]
    assert len(found8) == len(found)
    for a, b in zip(found8, found):
        assert np.allclose(a.box, b.box, atol=3)


def test_landmarks_inside_face_boxes(photos, detected):
    n_mesh = n_faces = 0
    for name, (found, _notes) in detected.items():
        h, w = photos[name].shape[:2]
        for f in found:
            n_faces += 1
            if f.landmarks is None:
                # a small face turned towards profile (the old man on the right of the family photo):
                # the mesh model doubts it, and the masks fall back to an ellipse
                assert f.landmark_score is not None and f.landmark_score < 0.5
                continue
            n_mesh += 1
            assert f.landmarks.shape == (468, 2) and f.landmark_score > 0.5
            gx0, gy0, gx1, gy1 = _grow(f.box, 0.3, w, h)
            L = f.landmarks
            inside = (L[:, 0] >= gx0) & (L[:, 0] <= gx1) & (L[:, 1] >= gy0) & (L[:, 1] <= gy1)
            assert inside.mean() > 0.95, (name, inside.mean())
            # mesh eyes agree with the detector's eye keypoints (within a fifth of the face width)
            r_eye = L[list(face_parts.RIGHT_EYE)].mean(0)
            l_eye = L[list(face_parts.LEFT_EYE)].mean(0)
            assert np.hypot(*(r_eye - f.keypoints[0])) < 0.2 * f.width, name
            assert np.hypot(*(l_eye - f.keypoints[1])) < 0.2 * f.width, name
            lips = L[list(face_parts.LIPS_OUTER)].mean(0)
            assert lips[1] > max(r_eye[1], l_eye[1])
    assert n_mesh >= 0.9 * n_faces and n_mesh >= 28, (n_mesh, n_faces)


def test_index_rings_are_closed_outlines(photos, detected):
    """The rings drawn on the headshot: the oval encloses eyes, brows and lips; eyes sit under brows."""
    import cv2

    (face,), _ = detected["portrait_headshot"]
    L = face.landmarks
    oval = L[list(face_parts.FACE_OVAL)].astype(np.float32)
    for ring in (face_parts.RIGHT_EYE, face_parts.LEFT_EYE, face_parts.LIPS_OUTER, face_parts.LIPS_INNER,
                 face_parts.RIGHT_EYEBROW, face_parts.LEFT_EYEBROW):
        for p in L[list(ring)]:
            assert cv2.pointPolygonTest(oval, (float(p[0]), float(p[1])), False) > 0
        area = cv2.contourArea(L[list(ring)].astype(np.float32))
        assert area > 30  # not a degenerate (self-crossing or collapsed) outline
    assert cv2.contourArea(oval) > 0.5 * face.width * face.height
    for eye, brow in ((face_parts.RIGHT_EYE, face_parts.RIGHT_EYEBROW), (face_parts.LEFT_EYE, face_parts.LEFT_EYEBROW)):
        assert L[list(brow)][:, 1].mean() < L[list(eye)][:, 1].mean()
    assert L[list(face_parts.RIGHT_EYE)][:, 0].mean() < L[list(face_parts.LEFT_EYE)][:, 0].mean()
    inner = cv2.contourArea(L[list(face_parts.LIPS_INNER)].astype(np.float32))
    outer = cv2.contourArea(L[list(face_parts.LIPS_OUTER)].astype(np.float32))
    assert 0 < inner < outer  # he smiles with his teeth showing


def _check_parts(name, img, found, masks, conf):
    h, w = img.shape[:2]
    assert set(masks) == set(face_parts.PARTS)
    for m in masks.values():
        assert m.shape == (h, w) and m.dtype == np.float32
        assert float(m.min()) >= 0.0 and float(m.max()) <= 1.0
    skin = masks["face_skin"]
    assert skin.max() > 0.99
    inside = np.zeros((h, w), bool)
    for f in found:
        x0, y0, x1, y1 = (int(round(v)) for v in _grow(f.box, 0.3, w, h))
        inside[y0:y1, x0:x1] = True
    assert skin[~inside].max() < 0.05, name  # skin stays in (grown) face boxes
    for part in ("eyes", "lips"):
        core = masks[part] > 0.9
        assert core.any(), (name, part)
        assert skin[core].mean() < 0.1, (name, part)  # skin does not cover eyes and lips
    assert 0 < conf["face_skin"] <= 1


def test_face_part_masks_from_mesh(photos, detected):
    for name in ("portrait_headshot", "astronaut", "three_men_closeup", "costume_group"):
        found, _ = detected[name]
        masks, conf = face_parts.face_part_masks(found, photos[name].shape)
        _check_parts(name, photos[name], found, masks, conf)
        assert conf["face_skin"] >= 0.8 and conf["eyebrows"] >= 0.8
        assert (masks["eyebrows"] > 0.9).any()
    # the teeth of the smiling headshot are not lips
    found, _ = detected["portrait_headshot"]
    masks, _ = face_parts.face_part_masks(found, photos["portrait_headshot"].shape)
    teeth = masks["mouth_inner"] > 0.9
    assert teeth.sum() > 500 and masks["lips"][teeth].mean() < 0.1


def test_face_part_masks_without_mesh(photos, detected):
    found = copy.deepcopy(detected["portrait_headshot"][0])
    for f in found:
        f.landmarks = None
    masks, conf = face_parts.face_part_masks(found, photos["portrait_headshot"].shape)
    _check_parts("portrait_headshot (ellipse)", photos["portrait_headshot"], found, masks, conf)
    assert conf["face_skin"] <= 0.5 and conf["eyebrows"] == 0.0
    assert not masks["eyebrows"].any()
    empty, conf0 = face_parts.face_part_masks([], (10, 20, 3))
    assert all(m.shape == (10, 20) and not m.any() for m in empty.values())
    assert all(v == 0.0 for v in conf0.values())


def test_haar_fallback_when_models_are_missing(monkeypatch, tmp_path, photos):
    monkeypatch.setenv("AIRETOUCH_MODELS_DIR", str(tmp_path))
    found, notes = faces.detect_faces(photos["astronaut"])
    assert len(found) == 1 and found[0].source == "haar"
    assert any("fallback" in n for n in notes)
    cx, cy = found[0].center
    assert 200 < cx < 250 and 95 < cy < 150
    found2, notes2 = landmarks.add_landmarks(photos["astronaut"], found)
    assert found2[0].landmarks is None and any("unavailable" in n for n in notes2)
    masks, conf = face_parts.face_part_masks(found, photos["astronaut"].shape)
    assert masks["face_skin"].max() > 0.9 and conf["face_skin"] < 0.5
    # the three men are frontal enough for the cascades too
    found3, _ = faces.detect_faces(photos["three_men_closeup"])
    assert len(found3) == 3


def test_timings(photos, detected):
    """Printed, not asserted: detection + landmarks + part masks per photo (decoded at <= 1024 px)."""
    print()
    for name, img in photos.items():
        faces.detect_faces(img)
        t0 = time.perf_counter()
        found, _ = faces.detect_faces(img)
        t1 = time.perf_counter()
        landmarks.add_landmarks(img, found)
        t2 = time.perf_counter()
        face_parts.face_part_masks(found, img.shape)
        t3 = time.perf_counter()
        print(f"{name:24s} {img.shape[1]}x{img.shape[0]} faces={len(found)} detect={1e3 * (t1 - t0):.1f} ms "
              f"landmarks={1e3 * (t2 - t1):.1f} ms parts={1e3 * (t3 - t2):.1f} ms")


def test_use_models_false_forces_the_fallbacks(photos, detected):
    img = photos["astronaut"]
    found, notes = faces.detect_faces(img, use_models=False)
    assert [f.source for f in found] == ["haar"] and any("fallback" in n for n in notes)
    found_bf = copy.deepcopy(detected["astronaut"][0])
    found_bf[0].landmarks = None
    _, lnotes = landmarks.add_landmarks(img, found_bf, use_models=False)
    assert found_bf[0].landmarks is None and any("fallback" in n for n in lnotes)
    # tiles off: the single portrait is found all the same
    quick, _ = faces.detect_faces(img, tiles=False)
    assert len(quick) == 1
