"""The automatic predictor on real photos with known faults: it proposes the edit a retoucher would, says why,
and is deterministic. Faults are rendered by our renderer with the photo's own masks."""
from __future__ import annotations

import numpy as np
import pytest

from bridge_server.core.plan import RegionEdit, RetouchPlan
from bridge_server.develop import render
from bridge_server.imaging.color import srgb_to_linear
from bridge_server.imaging.decode import decode
from bridge_server.retouch.predictor import PREDICTOR_VERSION, predict
from bridge_server.vision.regions import analyse


@pytest.fixture(scope="module")
def headshot(shared_data):
    image = decode(shared_data / "photos" / "portrait_headshot.jpg", "analysis").pixels
    return image, analyse(image)


def _fault(image, analysis, plan: RetouchPlan):
    return analyse(np.asarray(render(image, plan, analysis.masks), np.float32))


def test_the_same_photo_gives_the_same_plan(headshot):
    _, analysis = headshot
    assert predict(analysis).to_dict() == predict(analysis).to_dict()
    assert predict(analysis).provenance["predictor"] == PREDICTOR_VERSION


def test_an_underexposed_portrait_is_brightened_with_a_reason(headshot):
    image, analysis = headshot
    plan = predict(_fault(image, analysis, RetouchPlan.build({"Exposure2012": -1.5})))
    assert plan.global_["Exposure2012"] > 0.3
    assert any("faces" in n.text and "under target" in n.text for n in plan.notes)


def test_an_overexposed_portrait_is_darkened(headshot):
    image, analysis = headshot
    plan = predict(_fault(image, analysis, RetouchPlan.build({"Exposure2012": 1.2})))
    assert plan.global_["Exposure2012"] < -0.3


def test_a_dark_subject_before_a_bright_background_is_lifted_locally(shared_data):
    # Human-region priority: the people get their own lift instead of blowing out the whole frame.
    image = decode(shared_data / "photos" / "family_indoor_group.jpg", "analysis").pixels
    analysis = analyse(image)
    fault = RetouchPlan.build({"Exposure2012": 0.4}, [RegionEdit("subject", {"Exposure2012": -2.0})])
    plan = predict(_fault(image, analysis, fault))
    subject = [e for e in plan.regions if e.region == "subject"]
    assert subject and subject[0].values["Exposure2012"] > 0.2
    assert plan.global_.get("Exposure2012", 0) < subject[0].values["Exposure2012"] + 1.0
    assert any(n.region == "subject" for n in plan.notes)


def test_a_colour_cast_on_skin_gets_a_local_correction(headshot):
    image, analysis = headshot
    fault = RetouchPlan.build({}, [RegionEdit("face_skin", {"Temperature": -70, "Tint": 40})])
    plan = predict(_fault(image, analysis, fault))
    skin = [e for e in plan.regions if e.region == "face_skin"]
    assert skin, plan.summary()
    assert skin[0].values["Temperature"] > 10  # the cast was cool: the fix is warm


def test_a_global_colour_cast_is_neutralised_in_the_right_direction():
    from skimage import data  # a grey studio backdrop: the greys tell the cast
    image = np.asarray(srgb_to_linear(data.astronaut().astype(np.float32) / 255), np.float32)
    analysis = analyse(image)
    cool = predict(_fault(image, analysis, RetouchPlan.build({"IncrementalTemperature": -80})))
    warm = predict(_fault(image, analysis, RetouchPlan.build({"IncrementalTemperature": 80})))
    assert cool.global_.get("IncrementalTemperature", 0) > warm.global_.get("IncrementalTemperature", 0)
    assert cool.global_.get("IncrementalTemperature", 0) > 0 > warm.global_.get("IncrementalTemperature", 0)


def test_a_blown_sky_is_recovered_with_a_sky_edit():
    from sklearn.datasets import load_sample_images
    image = np.asarray(srgb_to_linear(load_sample_images().images[0].astype(np.float32) / 255), np.float32)
    analysis = analyse(image)
    assert "sky" in analysis.masks
    blown = _fault(image, analysis, RetouchPlan.build({}, [RegionEdit("sky", {"Exposure2012": 1.2})]))
    plan = predict(blown)
    sky = [e for e in plan.regions if e.region == "sky"]
    assert sky, plan.summary()
    assert sky[0].values["Exposure2012"] < 0 and sky[0].values["Highlights2012"] < 0
    assert any("sky" in n.text for n in plan.notes)


def test_raw_files_never_get_relative_white_balance(headshot):
    image, analysis = headshot
    plan = predict(_fault(image, analysis, RetouchPlan.build({"IncrementalTemperature": -60})), is_raw=True)
    assert "IncrementalTemperature" not in plan.global_ and "IncrementalTint" not in plan.global_


def test_every_local_edit_is_explained_and_within_range(sample_photos):
    for path in sample_photos:
        plan = predict(analyse(decode(path, "analysis")))
        assert not [n for n in plan.notes if n.stage == "validation"], f"{path.name}: a value had to be clamped"
        for edit in plan.regions:
            assert any(n.region == edit.region for n in plan.notes), f"{path.name}: {edit.region} unexplained"
            assert 0.3 <= edit.amount <= 1.0


def test_fallbacks_are_named_in_the_plan(monkeypatch, tmp_path, headshot):
    image, _ = headshot
    monkeypatch.setenv("AIRETOUCH_MODELS_DIR", str(tmp_path / "empty"))
    plan = predict(analyse(image))
    assert any(n.stage == "vision" and "fallback" in n.text for n in plan.notes)
