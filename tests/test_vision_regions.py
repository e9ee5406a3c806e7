"""Whole-photo analysis on real photos: people, faces, skin, sky, background, statistics and scene.

Face counts were written from looking at the photos (the small Elvis cut-outs on the costume photo's wall are
not people). None of the shared photos shows sky; skimage's rocket (dusk) and sklearn's china (hazy) do.
"""
from __future__ import annotations

import numpy as np
import pytest

from bridge_server.imaging.color import srgb_to_linear
from bridge_server.imaging.decode import decode
from bridge_server.vision import models
from bridge_server.vision.regions import analyse
from bridge_server.vision.scene import DIM

FACES = {
    "costume_group": 7, "family_indoor_group": 7, "party_group_flash": 6, "three_men_closeup": 3,
    "three_people_outdoor": 3, "two_women_indoor": 2, "portrait_headshot": 1, "bride_flowers_ppr10k": 1,
    "fivek_a1629_input": 0,
}



@pytest.fixture(autouse=True)
def needs_models_when_marked(request):
    """Tests marked `needs_models` skip with a message where the models are not provisioned."""
    if request.node.get_closest_marker("needs_models") and not all(
            m["present"] and m["verified"] for m in models.status()):
        pytest.skip("vision models not provisioned: run `airetouch models --fetch`")


needs_models = pytest.mark.needs_models


@pytest.fixture(scope="module")
def analyses(shared_data):
    return {p.stem: analyse(decode(p, "analysis")) for p in sorted((shared_data / "photos").glob("*.*"))}


def _sample(name: str) -> np.ndarray:
    from skimage import data
    from sklearn.datasets import load_sample_images
    if name == "china":
        img = load_sample_images().images[0]
    else:
        img = getattr(data, name)()
    return np.asarray(srgb_to_linear(img.astype(np.float32) / 255.0), np.float32)


@needs_models
@pytest.mark.parametrize("stem,count", sorted(FACES.items()))
def test_faces_are_found_where_people_are(analyses, stem, count):
    assert len(analyses[stem].faces) == count


@needs_models
def test_face_skin_lies_inside_the_faces(analyses):
    for stem, a in analyses.items():
        if not a.faces:
            assert "face_skin" not in a.masks
            continue
        boxes = np.zeros(a.masks["face_skin"].shape, bool)
        for f in a.faces:
            x0, y0, x1, y1 = (int(round(v)) for v in f.box)
            pad = int(0.15 * (x1 - x0))
            boxes[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad] = True
        skin = a.masks["face_skin"] > 0.5
        assert skin.sum() > 0, stem
        assert (skin & boxes).sum() / skin.sum() > 0.97, stem


@needs_models
def test_people_cover_their_faces_and_each_person_has_an_instance(analyses):
    for stem, a in analyses.items():
        if not a.faces:
            continue
        subject = a.masks["subject"]
        for f in a.faces:
            cx, cy = int((f.box[0] + f.box[2]) / 2), int((f.box[1] + f.box[3]) / 2)
            assert subject[cy, cx] > 0.5, f"{stem}: face at {cx},{cy} outside the people mask"
        instances = [k for k in a.masks if k.startswith("person:")]
        assert len(instances) == len(a.faces), stem
        centres = [(p["face_box"][0] + p["face_box"][2]) / 2 for p in a.people]
        assert centres == sorted(centres), f"{stem}: people not numbered left to right (by their faces)"


@needs_models
def test_background_is_everything_but_the_people(analyses):
    a = analyses["portrait_headshot"]
    assert np.allclose(a.masks["background"] + a.masks["subject"], 1.0, atol=1e-5)


@needs_models
def test_no_sky_is_found_in_photos_without_sky(analyses):
    for stem, a in analyses.items():
        assert "sky" not in a.masks, f"{stem}: sky found ({a.notes})"


def test_no_sky_behind_the_astronaut():
    # A smooth grey studio backdrop that touches the top edge: the classic false sky.
    assert "sky" not in analyse(_sample("astronaut")).masks


@pytest.mark.parametrize("name,kind", [("rocket", "dusk blue"), ("china", "hazy")])
def test_sky_is_found_in_outdoor_photos_that_show_it(name, kind):
    a = analyse(_sample(name))
    assert "sky" in a.masks, kind
    sky = a.masks["sky"]
    h = sky.shape[0]
    assert sky[: h // 10].mean() > 0.4, "the sky touches the top of the frame"
    assert sky[-h // 10:].mean() < 0.1, "the sky is not at the bottom"
    assert "outdoor" in a.scene.tags and "sky" in a.scene.tags


@needs_models
def test_statistics_describe_each_region(analyses):
    a = analyses["party_group_flash"]
    face, back = a.stats["face_skin"], a.stats["background"]
    assert 0 < face.share < back.share < 1
    assert face.l_p01 <= face.l_p50 <= face.l_p99
    # A flash lights the faces far more than the room behind them.
    assert face.l_p50 > back.l_p50 + 10
    assert "flash" in a.scene.tags


@needs_models
def test_scene_descriptor_is_fixed_length_and_tells_groups_from_portraits(analyses):
    for a in analyses.values():
        assert len(a.scene.vector) == DIM
        assert all(-1e-6 <= v <= 1 + 1e-6 for v in a.scene.vector)
    assert "group" in analyses["family_indoor_group"].scene.tags
    assert "portrait" in analyses["portrait_headshot"].scene.tags
    assert "indoor" in analyses["party_group_flash"].scene.tags


def test_without_models_the_fallbacks_are_used_and_said(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRETOUCH_MODELS_DIR", str(tmp_path / "empty"))
    a = analyse(_sample("astronaut"))
    assert a.fallbacks, "the analysis must say it used fallbacks"
    assert len(a.faces) >= 1
    assert "face_skin" in a.masks


def test_fallback_face_detection_is_safe_from_several_threads(monkeypatch, tmp_path):
    # The server analyses photos in a worker pool; OpenCV cascades must not be shared between threads.
    from concurrent.futures import ThreadPoolExecutor

    from bridge_server.vision.faces import detect_faces
    monkeypatch.setenv("AIRETOUCH_MODELS_DIR", str(tmp_path / "empty"))
    from skimage import data
    image = data.astronaut()
    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda _: len(detect_faces(image, use_models=False)[0]), range(24)))
    assert counts == [counts[0]] * 24 and counts[0] >= 1
