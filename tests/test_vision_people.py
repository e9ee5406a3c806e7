"""Person masks and per-person instances on real photos with the real models."""
from __future__ import annotations

import time

import numpy as np
import pytest

from bridge_server.vision import faces, people

from test_vision_faces import _image, _require_models  # noqa: F401 (shared photo cache)


@pytest.fixture(scope="module")
def photos(sample_photos) -> dict[str, np.ndarray]:
    out = {"astronaut": _image("astronaut")}
    for p in sample_photos:
        out[p.stem] = _image(str(p))
    return out


_CACHE: dict = {}


@pytest.fixture
def analysed(photos):
    _require_models("face_detection_short_range", "face_detection_full_range_sparse", "selfie_segmentation")
    if not _CACHE:
        for name, img in photos.items():
            found, _ = faces.detect_faces(img)
            mask, conf, notes = people.person_mask(img, found)
            _CACHE[name] = (found, mask, conf, notes)
    return _CACHE


def _at(mask, x, y):
    h, w = mask.shape
    return float(mask[int(np.clip(y, 0, h - 1)), int(np.clip(x, 0, w - 1))])


def test_mask_shape_and_faces_covered(photos, analysed):
    for name, (found, mask, conf, notes) in analysed.items():
        h, w = photos[name].shape[:2]
        assert mask.shape == (h, w) and mask.dtype == np.float32
        assert 0.0 <= float(mask.min()) and float(mask.max()) <= 1.0
        for f in found:
            assert _at(mask, *f.center) > 0.8, (name, f.to_dict())
        if found:
            assert conf >= 0.6, (name, conf, notes)


def test_headshot_mask(analysed):
    found, mask, conf, notes = analysed["portrait_headshot"]
    h, w = mask.shape
    assert mask[int(0.3 * h):int(0.8 * h), int(0.3 * w):int(0.7 * w)].mean() > 0.95  # the face
    c = max(8, int(0.06 * min(h, w)))
    assert mask[:c, :c].mean() < 0.1 and mask[:c, -c:].mean() < 0.1  # background at the top corners
    assert 0.3 < mask.mean() < 0.9
    assert notes == []


def test_no_face_means_unconfirmed(analysed):
    found, mask, conf, notes = analysed["fivek_a1629_input"]  # a goose: segmented, but not a person
    assert found == []
    assert conf < 0.4
    assert any("no face" in n for n in notes)


def test_faceless_regions_are_dropped(photos):
    """The goose next to a person: with that person's face known, the goose leaves the mask."""
    _require_models("selfie_segmentation", "face_detection_full_range_sparse", "face_detection_short_range")
    goose = photos["fivek_a1629_input"]
    head = photos["two_women_indoor"]
    gh, gw = goose.shape[:2]
    hh, hw = head.shape[:2]
    H = max(gh, hh)
    canvas = np.concatenate([np.pad(goose, ((0, H - gh), (0, 0), (0, 0))),
                             np.pad(head, ((0, H - hh), (0, 0), (0, 0)))], axis=1)
    found, _ = faces.detect_faces(canvas)
    assert len(found) == 2
    mask, conf, notes = people.person_mask(canvas, found)
    assert mask[:, :gw].mean() < 0.02  # the goose half
    assert mask[:, gw:].mean() > 0.2
    assert any("without a face" in n for n in notes)


def test_crops_for_small_people(photos):
    _require_models("selfie_segmentation", "face_detection_full_range_sparse", "face_detection_short_range")
    img = photos["costume_group"]
    h, w = img.shape[:2]
    canvas = np.full((768, 1024, 3), 0.5, np.float32)
    y0, x0 = (768 - h) // 2, (1024 - w) // 2
    canvas[y0:y0 + h, x0:x0 + w] = img
    found, _ = faces.detect_faces(canvas)
    mask, conf, notes = people.person_mask(canvas, found)
    assert any("crop" in n for n in notes)
    assert all(_at(mask, *f.center) > 0.8 for f in found)
    assert mask[:y0].mean() < 0.01 and mask[:, :x0].mean() < 0.01  # the grey border is not a person


def test_person_mask_detects_faces_itself(photos, analysed):
    mask, conf, _ = people.person_mask(photos["three_men_closeup"])
    assert np.allclose(mask, analysed["three_men_closeup"][1], atol=1e-5)


@pytest.mark.parametrize("name,count", [("three_men_closeup", 3), ("three_people_outdoor", 3),
                                        ("two_women_indoor", 2), ("costume_group", 7), ("portrait_headshot", 1)])
def test_instances_are_separate_and_ordered(analysed, name, count):
    found, mask, _conf, _notes = analysed[name]
    inst = people.person_instances(mask, found)
    assert len(inst) == len(found) and abs(len(found) - count) <= (1 if count > 3 else 0)
    total = np.zeros_like(mask)
    cores = []
    for m_i, box in inst:
        assert m_i.shape == mask.shape and m_i.dtype == np.float32
        x0, y0, x1, y1 = box
        assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0
        total += m_i
        cores.append(m_i > 0.5)
    assert np.allclose(total, mask, atol=1e-3)  # the instances share out the mask
    for i in range(len(cores)):
        for j in range(i + 1, len(cores)):
            assert not (cores[i] & cores[j]).any()  # separate
    h, w = mask.shape
    faces_lr = sorted(found, key=lambda f: f.center[0])
    centres = [((b[0] + b[2]) / 2) for _m, b in inst]
    for (m_i, box), f in zip(inst, faces_lr):
        assert _at(m_i, *f.center) > 0.8  # each instance holds its own face
        cx, cy = f.center
        assert box[0] * w <= cx <= box[2] * w and box[1] * h <= cy <= box[3] * h
    if name in ("three_men_closeup", "three_people_outdoor", "two_women_indoor"):
        assert [f.center[0] for f in faces_lr] == sorted(f.center[0] for f in found)
    if name in ("three_men_closeup", "three_people_outdoor"):
        assert centres == sorted(centres)  # side by side: the boxes run left to right too


def test_instances_without_faces_or_mask():
    assert people.person_instances(np.ones((20, 30), np.float32), []) == []
    f = faces.Face(box=(10.0, 5.0, 20.0, 15.0), score=0.9, keypoints=np.zeros((6, 2), np.float32))
    ((m, box),) = people.person_instances(np.zeros((40, 60), np.float32), [f])
    assert not m.any() and box == pytest.approx((10 / 60, 5 / 40, 20 / 60, 15 / 40))


def test_fallback_without_models(monkeypatch, tmp_path, photos):
    monkeypatch.setenv("AIRETOUCH_MODELS_DIR", str(tmp_path))
    img = photos["astronaut"]
    mask, conf, notes = people.person_mask(img)
    assert conf <= 0.3
    assert any("fallback" in n for n in notes) and any("extrapolated" in n for n in notes)
    found, _ = faces.detect_faces(img)
    (face,) = found
    assert _at(mask, *face.center) > 0.9
    assert _at(mask, face.center[0], face.box[3] + 2 * face.height) > 0.9  # the body below the face
    h, w = mask.shape
    assert mask[:20, :20].max() < 0.05 and mask[:20, -20:].max() < 0.05
    inst = people.person_instances(mask, found)
    assert len(inst) == 1
    none_mask, none_conf, _ = people.person_mask(np.zeros((64, 64, 3), np.uint8))
    assert not none_mask.any() and none_conf == 0.0


def test_timings(photos, analysed):
    """Printed, not asserted: segmentation (+ crops) and instance split per photo at <= 1024 px."""
    print()
    for name, img in photos.items():
        found = analysed[name][0]
        people.person_mask(img, found)
        t0 = time.perf_counter()
        mask, _conf, _ = people.person_mask(img, found)
        t1 = time.perf_counter()
        people.person_instances(mask, found)
        t2 = time.perf_counter()
        print(f"{name:24s} {img.shape[1]}x{img.shape[0]} people={len(found)} mask={1e3 * (t1 - t0):.1f} ms "
              f"instances={1e3 * (t2 - t1):.1f} ms")


def test_use_models_false(photos, analysed):
    found = analysed["three_men_closeup"][0]
    mask, conf, notes = people.person_mask(photos["three_men_closeup"], found, use_models=False)
    assert conf <= 0.3 and any("fallback" in n for n in notes)
    assert all(_at(mask, *f.center) > 0.9 for f in found)
