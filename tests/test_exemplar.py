"""Match a look: fit a plan to a before/after pair with the real renderer on real photos, then transfer it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bridge_server.core.errors import DecodeError
from bridge_server.core.plan import RegionEdit, RetouchPlan
from bridge_server.develop import render
from bridge_server.imaging.color import delta_e76, rgb_linear_to_lab
from bridge_server.imaging.decode import decode
from bridge_server.retouch.exemplar import ExemplarError, fit_plan, prepare_pair, transfer
from bridge_server.retoucher import PhotoRequest, Retoucher
from bridge_server.vision.regions import analyse

torch.set_num_threads(2)
FAST = dict(size=96, steps=90)


@pytest.fixture(scope="module")
def portrait(shared_data):
    return analyse(decode(shared_data / "photos" / "portrait_headshot.jpg", "analysis", max_edge=512))


@pytest.fixture(scope="module")
def outdoor(shared_data):
    return analyse(decode(shared_data / "photos" / "three_people_outdoor.jpg", "analysis", max_edge=512))


@pytest.fixture(scope="module")
def warm_bright_fit(portrait):
    known = RetouchPlan.build({"Exposure2012": 0.4, "IncrementalTemperature": 25})
    after = render(portrait.working, known, portrait.masks)
    return fit_plan(portrait.working, after, portrait.masks, **FAST)


def test_fit_recovers_a_known_global_plan(warm_bright_fit):
    fit = warm_bright_fit
    assert fit.baseline_delta_e > 3  # the pair really differs
    assert fit.delta_e < 2
    # the fit starts from the closed-form exposure/white-balance estimate, already close here: the loss ends
    # far below the unedited pair's ΔE, not necessarily below its own first value
    assert fit.loss_history[-1] < fit.baseline_delta_e / 4
    g = fit.plan.global_
    assert g.get("Exposure2012", 0) > 0.1 and g.get("IncrementalTemperature", 0) > 5  # right sign, globally
    # subject and background cover the frame, so part of a global shift may sit in their local sliders:
    # the size is checked on what the subject receives
    subject = {k: v for e in fit.plan.regions if e.region == "subject" for k, v in e.values.items()}
    assert 0.25 <= g.get("Exposure2012", 0) + subject.get("Exposure2012", 0) <= 0.6
    assert 10 <= g.get("IncrementalTemperature", 0) + subject.get("Temperature", 0) <= 45
    assert fit.plan.provenance["exemplar"]["fit_delta_e"] == pytest.approx(fit.delta_e, abs=1e-3)


def test_fit_recovers_a_regional_plan(portrait):
    known = RetouchPlan.build({"IncrementalTint": 10},
                              [RegionEdit("background", {"Exposure2012": -0.6, "Saturation": -30})])
    after = render(portrait.working, known, portrait.masks)
    fit = fit_plan(portrait.working, after, portrait.masks, **FAST)
    assert fit.delta_e < 2 < fit.baseline_delta_e
    # darker background relative to the subject: background exposure (with the global) below the subject's
    ev = {e.region: e.values.get("Exposure2012", 0.0) for e in fit.plan.regions}
    assert ev.get("background", 0.0) - ev.get("subject", 0.0) < -0.2


def _mean_lab(pixels):
    return np.asarray(rgb_linear_to_lab(np.clip(pixels, 0, 1))).reshape(-1, 3).mean(axis=0)


def test_transfer_moves_another_photo_the_same_way(warm_bright_fit, outdoor):
    plan = transfer(warm_bright_fit.plan, outdoor, exemplar={"before": "b.jpg", "after": "a.jpg"})
    before = _mean_lab(outdoor.working)
    after = _mean_lab(render(outdoor.working, plan, outdoor.masks))
    assert after[0] > before[0] + 2  # brighter
    assert after[2] > before[2] + 1  # warmer: b* rises
    assert plan.provenance["exemplar"]["before"] == "b.jpg"
    assert any("matched the exemplar" in n.text for n in plan.notes)


def test_transfer_drops_regions_the_target_lacks(portrait):
    assert "sky" not in portrait.masks
    plan = RetouchPlan.build({"Exposure2012": 0.2}, [RegionEdit("sky", {"Saturation": 20}),
                                                     RegionEdit("subject", {"Exposure2012": 0.3})])
    out = transfer(plan, portrait)
    assert [e.region for e in out.regions] == ["subject"]
    assert any(n.region == "sky" and "left out" in n.text for n in out.notes)


def test_pair_sizes_and_mismatches(portrait):
    b = portrait.working
    import cv2
    big = cv2.resize(b, (b.shape[1] * 2, b.shape[0] * 2))
    pb, pa = prepare_pair(b, big, 64)
    assert pb.shape == pa.shape and max(pb.shape[:2]) == 64
    assert float(np.mean(delta_e76(rgb_linear_to_lab(np.clip(pb, 0, 1)), rgb_linear_to_lab(np.clip(pa, 0, 1))))) < 2
    with pytest.raises(ExemplarError):
        prepare_pair(b, b[: b.shape[0] // 2], 64)
    with pytest.raises(ExemplarError):
        prepare_pair(b, (b * 255).astype(np.uint8), 64)


def test_match_reports_bad_files(tmp_path, shared_data):
    photo = shared_data / "photos" / "portrait_headshot.jpg"
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + b"not a jpeg at all" * 20)
    (tmp_path / "out").mkdir()
    retoucher = Retoucher()
    with pytest.raises(DecodeError):
        retoucher.match(PhotoRequest(path=photo), PhotoRequest(path=corrupt), [PhotoRequest(path=photo)], steps=2)
    answer = retoucher.match(PhotoRequest(path=photo), PhotoRequest(path=photo),
                             [PhotoRequest(path=corrupt), PhotoRequest(path=photo)], steps=3,
                             out_dir=tmp_path / "out")
    bad, good = answer["results"]
    assert not bad["ok"] and bad["error"]["code"] in ("corrupt_image", "truncated_image", "decode_failed")
    assert good["ok"] and good["sidecar"].endswith(".xmp")
    assert answer["fit"]["baseline_delta_e"] < 0.5  # the same photo twice: nothing to match


@pytest.fixture(scope="module")
def family(shared_data):
    return analyse(decode(shared_data / "photos" / "family_indoor_group.jpg", "analysis", max_edge=512))


def test_fits_that_used_to_stall(family):
    # bench/match.py's family_indoor_group + "warm+bright" ended where it started (ΔE76 7.61): exact-zero
    # channels gave NaN gradients and every step was thrown away. The same photo with black borders, a
    # channel at 0 and clipped white must fit as well (no flooring of black before the fit).
    known = RetouchPlan.build({"Exposure2012": 0.4, "IncrementalTemperature": 25})
    framed = family.working.copy()
    framed[:40], framed[:, :30] = 0.0, 0.0
    framed[100:140, 200:260, 2] = 0.0
    framed[200:230, 300:360] = 1.0
    for before in (family.working, framed):
        fit = fit_plan(before, render(before, known, family.masks), family.masks, **FAST)
        assert fit.baseline_delta_e > 5
        assert fit.delta_e < 2.5
        g = fit.plan.global_
        assert g.get("Exposure2012") == pytest.approx(0.4, abs=0.1)
        assert g.get("IncrementalTemperature") == pytest.approx(25, abs=8)


def test_initial_exposure_and_white_balance_are_read_off_the_pair(portrait):
    from bridge_server.retouch.exemplar import initial_wb_exposure
    known = RetouchPlan.build({"Exposure2012": -1.5, "IncrementalTemperature": -60, "IncrementalTint": 25})
    b, a = prepare_pair(portrait.working, render(portrait.working, known, portrait.masks), 96)
    init = initial_wb_exposure(b, np.clip(a, 0, 1))
    assert init["Exposure2012"] == pytest.approx(-1.5, abs=0.05)
    assert init["IncrementalTemperature"] == pytest.approx(-60, abs=3)
    assert init["IncrementalTint"] == pytest.approx(25, abs=3)
    assert initial_wb_exposure(np.zeros_like(b), np.zeros_like(a)) == {}  # nothing to read: no start


def test_a_region_covering_the_whole_exemplar_is_fitted_as_global(shared_data, outdoor):
    # Without people the background is the whole frame: the look is global there and must reach the target's
    # people as well, not only their background.
    image = decode(shared_data / "photos" / "fivek_a1629_input.jpg", "analysis").pixels
    scene = analyse(image)
    assert "subject" not in scene.masks and float(np.mean(scene.masks["background"])) > 0.97
    known = RetouchPlan.build({"Exposure2012": -0.3, "Contrast2012": 25, "Saturation": -25,
                               "IncrementalTemperature": -15})
    fit = fit_plan(scene.working, render(scene.working, known, scene.masks), scene.masks, **FAST)
    assert not [e for e in fit.plan.regions if e.region == "background"]
    assert fit.delta_e < 2.0
    # on a photo with people, the transferred look reaches the people as it reaches the rest
    people = outdoor.masks["subject"] > 0.5
    lab = [rgb_linear_to_lab(np.clip(render(outdoor.working, p, outdoor.masks), 0, 1))
           for p in (known, transfer(fit.plan, outdoor))]
    assert float(delta_e76(lab[0], lab[1])[people].mean()) < 1.5
