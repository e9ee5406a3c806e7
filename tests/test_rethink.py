"""The rethink loop (render, measure, correct): the asked statistic ends up moved by about the asked amount, in at
most three rounds, and a protected region stays within 1 ΔE. Real photos, real models, the real renderer."""
from __future__ import annotations

import numpy as np
import pytest

from bridge_server.develop.renderer import render
from bridge_server.imaging.color import srgb_to_linear
from bridge_server.imaging.decode import decode
from bridge_server.retouch.instructions import apply_interpretation, interpret
from bridge_server.retouch.predictor import predict
from bridge_server.retouch.rethink import asked, measure, region_weights, rethink
from bridge_server.retoucher import PhotoRequest, PlanRequest, Retoucher
from bridge_server.vision.regions import analyse
from bridge_server.vision.stats import lab_image


@pytest.fixture(scope="module")
def china():
    from sklearn.datasets import load_sample_image
    image = srgb_to_linear(load_sample_image("china.jpg").astype(np.float32) / 255.0)
    analysis = analyse(np.asarray(image, np.float32))
    assert "sky" in analysis.masks
    return analysis


def run(analysis, text):
    base = predict(analysis, is_raw=False)
    interp = interpret(text, regions_present=set(analysis.masks))
    first = apply_interpretation(base, interp, is_raw=False)
    out = rethink(first, analysis, interp, is_raw=False, base=base)
    return base, interp, first, out


def moved(analysis, base, plan, region, stat):
    weights = region_weights(analysis, region)
    lab_a = lab_image(render(analysis.working, base, analysis.masks))
    lab_b = lab_image(render(analysis.working, plan, analysis.masks))
    return measure(lab_b, weights)[stat] - measure(lab_a, weights)[stat]


def test_much_cooler_sky_reaches_the_asked_amount(china):
    base, interp, first, out = run(china, "make the sky much cooler")
    (edit,) = interp.edits
    want = asked(edit)
    assert want < -4  # "much" cooler: several b* units
    got = moved(china, base, out, "sky", "b*")
    assert got <= 0.9 * want, (got, want)
    rounds = out.provenance["rethink"]["rounds"]
    assert 1 <= rounds <= 3
    print("sky b*", round(moved(china, base, first, "sky", "b*"), 2), "->", round(got, 2), "asked", want,
          "rounds", rounds)
    notes = [n.text for n in out.notes if n.stage == "rethink"]
    assert len(notes) == rounds and notes[0].startswith("round 1")


def test_brighter_faces_reach_the_asked_amount(shared_data):
    analysis = analyse(decode(shared_data / "photos" / "two_women_indoor.jpg", purpose="analysis"))
    base, interp, first, out = run(analysis, "brighten the faces a little")
    (edit,) = interp.edits
    want = asked(edit)
    got = moved(analysis, base, out, "face_skin", "luminance")
    assert 0.9 * want <= got <= 2.5 * want, (got, want)
    print("face L*", round(moved(analysis, base, first, "face_skin", "luminance"), 2), "->", round(got, 2),
          "asked", want, "rounds", out.provenance["rethink"]["rounds"])


def test_protected_sky_moves_less_than_one_delta_e_while_the_rest_warms(china):
    base, interp, first, out = run(china, "make it much warmer without changing the sky")
    assert interp.protected == ["sky"]
    lab_a = lab_image(render(china.working, base, china.masks))
    lab_b = lab_image(render(china.working, out, china.masks))
    de = np.sqrt(((lab_b - lab_a) ** 2).sum(-1))
    sky = china.masks["sky"] > 0.5
    assert float(de[sky].mean()) < 1.0
    rest = china.masks["sky"] < 0.1
    assert float((lab_b[..., 2] - lab_a[..., 2])[rest].mean()) >= 0.9 * asked(interp.edits[0])
    print("protected sky ΔE", round(float(de[sky].mean()), 3), "rounds", out.provenance["rethink"]["rounds"])


def test_retoucher_plan_runs_the_loop_for_an_instruction(shared_data):
    result = Retoucher().plan(PhotoRequest(path=shared_data / "photos" / "two_women_indoor.jpg"),
                              PlanRequest(instruction="brighten the faces a little"))
    assert "rethink" in result.plan.provenance
    assert any(n.stage == "rethink" for n in result.plan.notes)
