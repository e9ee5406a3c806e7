"""Click guidance: clicks pick person instances; the chosen person is emphasised, the avoided held back.

Real group photos, real models, the real renderer: the emphasised face changes at least 3x more (mean ΔE76 over
the face box, plan with emphasis vs the plan without) than every other face.
"""
from __future__ import annotations

import numpy as np
import pytest

from bridge_server.core.errors import PlanError
from bridge_server.develop.renderer import render
from bridge_server.imaging.decode import decode
from bridge_server.retouch.predictor import predict
from bridge_server.retouch.selection import emphasise, select_people
from bridge_server.retoucher import PhotoRequest, PlanRequest, Retoucher
from bridge_server.vision.regions import analyse
from bridge_server.vision.stats import lab_image

GROUPS = ["family_indoor_group.jpg", "party_group_flash.jpg", "three_men_closeup.jpg", "three_people_outdoor.jpg",
          "two_women_indoor.jpg"]
_CACHE: dict = {}


def analysis_of(shared_data, name):
    if name not in _CACHE:
        _CACHE[name] = analyse(decode(shared_data / "photos" / name, purpose="analysis"))
    return _CACHE[name]


def face_de(analysis, plan_a, plan_b) -> list[float]:
    de = np.sqrt(((lab_image(render(analysis.working, plan_a, analysis.masks))
                   - lab_image(render(analysis.working, plan_b, analysis.masks))) ** 2).sum(-1))
    out = []
    for person in analysis.people:
        x0, y0, x1, y1 = (int(round(v)) for v in person["face_box"])
        out.append(float(de[y0:y1, x0:x1].mean()))
    return out


def face_centre(analysis, index, *, pixels: bool):
    x0, y0, x1, y1 = analysis.people[index]["face_box"]
    h, w = analysis.working.shape[:2]
    x, y = (x0 + x1) / 2 / w, (y0 + y1) / 2 / h
    if pixels:
        sw, sh = analysis.source_size
        return {"x": x * sw, "y": y * sh}
    return {"x": x, "y": y}


@pytest.mark.parametrize("name", GROUPS)
def test_emphasised_face_changes_three_times_more_than_every_other(shared_data, name):
    analysis = analysis_of(shared_data, name)
    assert len(analysis.people) >= 2 and all(p["face_box"] for p in analysis.people)
    plan = predict(analysis, is_raw=False)
    ratios = []
    for index in range(len(analysis.people)):
        chosen, avoided = select_people(analysis, [dict(face_centre(analysis, index, pixels=True), positive=True)])
        assert chosen == [index] and avoided == []
        emphasised = emphasise(plan, analysis, chosen, avoided)
        edit = [e for e in emphasised.regions if e.region == "person" and e.person == index]
        assert len(edit) == 1 and edit[0].masks[0].kind == "radial"
        geometry = edit[0].masks[0].geometry
        assert 0 <= geometry["left"] < geometry["right"] <= 1 and 0 <= geometry["top"] < geometry["bottom"] <= 1
        assert any(f"person {index + 1} chosen" in n.text for n in emphasised.notes)
        per_face = face_de(analysis, emphasised, plan)
        own, others = per_face[index], [v for j, v in enumerate(per_face) if j != index]
        assert own > 1.5, f"person {index}: the emphasis barely shows (ΔE {own:.2f})"
        assert own >= 3 * max(others), f"person {index}: {per_face}"
        ratios.append(own / max(max(others), 1e-3))
    print(name, "min face-change ratio", min(ratios))


def test_clicks_in_normalised_and_pixel_coordinates_agree_and_are_limited(shared_data):
    analysis = analysis_of(shared_data, "family_indoor_group.jpg")
    for index in range(len(analysis.people)):
        a = select_people(analysis, [dict(face_centre(analysis, index, pixels=False), positive=True)])
        b = select_people(analysis, [dict(face_centre(analysis, index, pixels=True), positive=True)])
        assert a == b == ([index], [])
    clicks = [dict(face_centre(analysis, i, pixels=False), positive=False) for i in range(7)]
    notes: list[str] = []
    chosen, avoided = select_people(analysis, clicks, notes)
    assert chosen == [] and avoided == [0, 1, 2, 3, 4]  # at most five of each kind
    assert sum("ignored" in n for n in notes) == 2
    with pytest.raises(PlanError):
        select_people(analysis, [{"x": 5000, "y": 10, "positive": True}])


def test_a_click_beside_everyone_picks_the_nearest_person(shared_data):
    analysis = analysis_of(shared_data, "three_men_closeup.jpg")
    notes: list[str] = []
    chosen, _ = select_people(analysis, [{"x": 0.99, "y": 0.02, "positive": True}], notes)
    rightmost = max(analysis.people, key=lambda p: p["face_box"][0])["index"]
    assert chosen == [rightmost]
    assert "nearest" in notes[0] or "mask" in notes[0]


def test_avoided_person_is_held_back_from_the_peoples_edit(shared_data):
    analysis = analysis_of(shared_data, "party_group_flash.jpg")
    plan = predict(analysis, is_raw=False)
    subject = [e for e in plan.regions if e.region == "subject"]
    assert subject, "this photo's plan lifts the people (a subject edit); the test needs one"
    without = plan.copy()
    without.regions = [e for e in without.regions if e.region != "subject"]
    avoided_index = 0
    clicks = [dict(face_centre(analysis, 3, pixels=False), positive=True),
              dict(face_centre(analysis, avoided_index, pixels=False), positive=False)]
    chosen, avoided = select_people(analysis, clicks)
    assert chosen == [3] and avoided == [avoided_index]
    out = emphasise(plan, analysis, chosen, avoided)
    hold = [e for e in out.regions if e.region == "person" and e.person == avoided_index]
    assert hold and all(v * subject[0].values[k] < 0 for k, v in hold[0].values.items())
    # the avoided face is closer to how it looks without the people's edit than the plan left it
    held = face_de(analysis, out, without)[avoided_index]
    before = face_de(analysis, plan, without)[avoided_index]
    assert held < 0.5 * before, (held, before)


def test_retoucher_plan_applies_clicks(shared_data):
    retoucher = Retoucher()
    analysis = analysis_of(shared_data, "three_people_outdoor.jpg")
    click = face_centre(analysis, 1, pixels=True)
    result = retoucher.plan(PhotoRequest(path=shared_data / "photos" / "three_people_outdoor.jpg"),
                            PlanRequest(clicks=[dict(click, positive=True)]))
    edits = [e for e in result.plan.regions if e.region == "person"]
    assert [e.person for e in edits] == [1]
    assert result.plan.provenance["clicks"] == {"chosen": [1], "avoided": []}
    corrections = result.settings.get("MaskGroupBasedCorrections") or []
    assert len(corrections) == len(result.plan.regions)
