"""The four attribute sliders: one lever table, sane magnitudes, global and per-region deltas, white balance by
file kind, clamping with notes, composition with regions and holding protected regions."""
from __future__ import annotations

import math

import pytest

from bridge_server.core.params import GLOBAL, GLOBAL_PARAMS, LOCAL, LOCAL_PARAMS, NUMBER
from bridge_server.core.plan import RegionEdit, RetouchPlan
from bridge_server.retouch import attributes as attrs
from bridge_server.retouch.attributes import (
    ATTRIBUTES, LEVERS, PlanEditor, apply_attributes, attribute_name, contains, describe_levers,
    effective_value, family, slider_unit, statistic,
)


def notes(plan: RetouchPlan) -> str:
    return "\n".join(n.text for n in plan.notes)


def test_every_lever_is_a_numeric_slider_of_its_scope_and_every_attribute_has_levers_in_both_scopes():
    for lever in LEVERS:
        table = GLOBAL_PARAMS if lever.scope == GLOBAL else LOCAL_PARAMS
        assert table[lever.param].kind == NUMBER
    for attribute in ATTRIBUTES:
        for raw in (True, False):
            assert attrs.levers(attribute, GLOBAL, is_raw=raw), (attribute, raw)
            assert attrs.levers(attribute, LOCAL, is_raw=raw), (attribute, raw)


def test_the_documented_table_matches_the_lever_table():
    doc = attrs.__doc__
    for lever in LEVERS:
        assert lever.param in doc and f"{lever.per_unit:g}" in doc, lever
    text = describe_levers()
    assert text.count("\n") == len(ATTRIBUTES) - 1
    assert "local Temperature 40 slider" in text  # a local lever is described with its local unit


@pytest.mark.parametrize("is_raw", [False, True])
def test_plus_and_minus_one_are_strong_but_inside_every_slider_range(is_raw):
    plan = RetouchPlan.build({"Temperature": 5500} if is_raw else {})
    for sign in (1, -1):
        for target in ("global", "sky"):
            values = {a: sign * 1.0 for a in ATTRIBUTES}
            out = apply_attributes(plan, {target: values}, is_raw=is_raw)
            assert "outside" not in notes(out), notes(out)
            moved = out.global_ if target == "global" else out.region_edits("sky")[0].values
            exposure = moved["Exposure2012"]
            assert 1.0 <= abs(exposure) <= 1.5  # about a stop: strong, not absurd
            assert 40 <= abs(moved["Contrast2012"]) <= 80


def test_global_attributes_move_the_documented_sliders_for_a_rendered_file():
    out = apply_attributes(RetouchPlan(), {"global": {"brightness": 0.5, "colorfulness": 0.5, "temperature": -0.5,
                                                      "contrast": 0.25}}, is_raw=False)
    g = out.global_
    assert g["Exposure2012"] == pytest.approx(0.6)
    assert g["Shadows2012"] == 12 and g["Whites2012"] == 5  # 12.5 and 5: whole slider units
    assert g["Vibrance"] == 30 and g["Saturation"] == 10
    assert g["IncrementalTemperature"] == -20 and "Temperature" not in g
    assert g["Contrast2012"] == 15 and g["Clarity2012"] == 5
    assert "brightness +0.50 -> Exposure2012 +0.60 EV" in notes(out)


def test_region_attributes_add_a_region_edit_with_local_sliders():
    out = apply_attributes(RetouchPlan(), {"sky": {"brightness": -0.5, "temperature": -0.25},
                                           "face": {"colourfulness": 0.2}}, is_raw=False)
    sky = out.region_edits("sky")[0]
    assert sky.values["Exposure2012"] == pytest.approx(-0.6)
    assert sky.values["Temperature"] == -10  # local Temperature, never the global kelvin
    assert out.region_edits("face_skin")[0].values["Saturation"] == 10
    assert out.global_ == {}


def test_raw_temperature_moves_kelvin_in_mired_from_the_as_shot_value():
    warm = apply_attributes(RetouchPlan(), {"global": {"temperature": 0.5}}, is_raw=True,
                            as_shot={"Temperature": 5000})
    kelvin = warm.global_["Temperature"]
    assert 1e6 / 5000 - 1e6 / kelvin == pytest.approx(20, abs=0.2)  # 0.5 x 40 mired toward warm
    assert warm.global_["WhiteBalance"] == "Custom"
    assert "IncrementalTemperature" not in warm.global_
    cool = apply_attributes(RetouchPlan(), {"global": {"temperature": -0.5}}, is_raw=True,
                            as_shot={"Temperature": 5000})
    assert cool.global_["Temperature"] < 5000 < kelvin


def test_raw_temperature_without_an_as_shot_value_is_not_guessed_and_says_so():
    out = apply_attributes(RetouchPlan(), {"global": {"temperature": 0.5, "brightness": 0.1}}, is_raw=True)
    assert "Temperature" not in out.global_ and "IncrementalTemperature" not in out.global_
    assert "as-shot white balance of this raw file is unknown" in notes(out)
    assert out.global_["Exposure2012"] == pytest.approx(0.12)


def test_the_plan_s_own_white_balance_kind_wins_over_the_file_flag():
    plan = RetouchPlan.build({"IncrementalTemperature": 5})
    out = apply_attributes(plan, {"global": {"temperature": 0.25}}, is_raw=True)
    assert out.global_["IncrementalTemperature"] == 15 and "Temperature" not in out.global_
    assert "treated as a rendered file" in notes(out)


def test_values_outside_minus_one_to_one_are_clamped_with_a_note():
    out = apply_attributes(RetouchPlan(), {"global": {"brightness": 3}, "sky": {"contrast": -7}}, is_raw=False)
    assert out.global_["Exposure2012"] == pytest.approx(1.2)
    assert out.region_edits("sky")[0].values["Contrast2012"] == -60
    text = notes(out)
    assert "brightness limited to +1" in text and "contrast limited to -1" in text


def test_unknown_regions_attributes_and_values_are_reported_not_applied():
    out = apply_attributes(RetouchPlan(), {"car": {"brightness": 0.2}, "sky": {"sparkle": 1, "brightness": "x"},
                                           "hair": 0.3}, is_raw=False)
    text = notes(out)
    assert "unknown region 'car'" in text
    assert "unknown attribute 'sparkle'" in text
    assert "must be a number" in text
    assert "attributes must be given as" in text
    assert out.regions == [] and out.global_ == {}


def test_a_person_instance_gets_its_own_edit():
    out = apply_attributes(RetouchPlan(), {"person#1": {"brightness": 0.25}}, is_raw=False)
    edit = out.regions[0]
    assert (edit.region, edit.person) == ("person", 1)
    assert edit.values["Exposure2012"] == pytest.approx(0.3)


def test_a_global_delta_reaches_regions_that_set_the_same_slider_exactly_once():
    """PerTouch passes a global delta on to regions that set the same attribute. Lightroom's local sliders are
    offsets on top of the global ones, so the region's effective value must move by exactly the delta."""
    plan = RetouchPlan.build({"Exposure2012": 0.3, "Contrast2012": 10},
                             [{"region": "sky", "values": {"Exposure2012": -0.5, "Contrast2012": 20},
                               "amount": 0.8}])
    before = {p: effective_value(plan, "sky", p) for p in ("Exposure2012", "Contrast2012")}
    out = apply_attributes(plan, {"global": {"brightness": 0.5, "contrast": 0.5}}, is_raw=False)
    assert effective_value(out, "sky", "Exposure2012") - before["Exposure2012"] == pytest.approx(0.6)
    assert effective_value(out, "sky", "Contrast2012") - before["Contrast2012"] == pytest.approx(30)
    assert out.region_edits("sky")[0].values == {"Exposure2012": -0.5, "Contrast2012": 20}


def test_a_region_delta_respects_the_edit_amount():
    plan = RetouchPlan.build({}, [{"region": "sky", "values": {"Exposure2012": -0.4}, "amount": 0.5}])
    out = apply_attributes(plan, {"sky": {"brightness": 0.25}}, is_raw=False)
    assert effective_value(out, "sky", "Exposure2012") == pytest.approx(-0.2 + 0.3)


def test_edits_made_by_the_user_are_left_alone_and_a_new_edit_is_added():
    plan = RetouchPlan.build({}, [RegionEdit("sky", {"Exposure2012": -1.0}, origin="user")])
    out = apply_attributes(plan, {"sky": {"brightness": 0.5}}, is_raw=False)
    assert out.regions[0].values == {"Exposure2012": -1.0}
    assert len(out.region_edits("sky")) == 2


def test_the_input_plan_is_not_changed():
    plan = RetouchPlan.build({"Exposure2012": 0.1})
    apply_attributes(plan, {"global": {"brightness": 1}, "sky": {"contrast": 1}}, is_raw=False)
    assert plan.global_ == {"Exposure2012": 0.1} and plan.regions == [] and plan.notes == []


def test_holding_a_protected_region_cancels_global_changes_there():
    editor = PlanEditor(RetouchPlan(), is_raw=False)
    editor.add_attribute("global", "brightness", 0.5)
    editor.add_attribute("global", "colourfulness", 0.5)
    editor.hold([("sky", None)])
    plan = editor.result()
    for slider in ("Exposure2012", "Shadows2012", "Whites2012"):
        assert effective_value(plan, "sky", slider) == pytest.approx(0.0, abs=1e-9), slider
    sky = plan.region_edits("sky")[0].values
    assert sky["Saturation"] == -(plan.global_["Saturation"] + 0.5 * plan.global_["Vibrance"])


def test_holding_a_region_also_cancels_local_changes_on_a_region_that_covers_it():
    editor = PlanEditor(RetouchPlan(), is_raw=False)
    editor.add_attribute("background", "brightness", -0.5)
    editor.add_attribute("hair", "brightness", 0.5)
    editor.hold([("sky", None)])
    plan = editor.result()
    assert effective_value(plan, "sky", "Exposure2012") + effective_value(plan, "background", "Exposure2012") \
        == pytest.approx(0.0)
    assert contains("background", "sky") and contains("subject", "face_skin")
    assert not contains("sky", "background") and not contains("background", "face_skin")


def test_holding_a_raw_temperature_change_uses_the_mired_shift():
    editor = PlanEditor(RetouchPlan(), is_raw=True, as_shot={"Temperature": 5000})
    editor.add_attribute("global", "temperature", 0.5)
    editor.hold([("sky", None)])
    assert editor.result().region_edits("sky")[0].values["Temperature"] == -20


def test_a_slider_with_no_local_equivalent_is_not_held_and_says_so():
    editor = PlanEditor(RetouchPlan(), is_raw=False)
    editor.add_param("global", "PostCropVignetteAmount", -20)
    editor.hold([("sky", None)])
    assert "cannot be held for PostCropVignetteAmount" in notes(editor.result())


def test_attribute_names_families_statistics_and_units():
    assert attribute_name("Colorfulness") == "colourfulness" and attribute_name("warmth") == "temperature"
    with pytest.raises(KeyError):
        attribute_name("sparkle")
    assert family("Exposure2012") == "brightness" and family("Vibrance") == "colourfulness"
    assert family("Shadows2012") == "Shadows2012"  # a secondary lever is its own thing
    assert statistic("temperature") == "b*" and statistic("Highlights2012") == "luminance"
    assert statistic("GrainAmount") is None
    assert slider_unit("Exposure2012", GLOBAL) == pytest.approx(1.2)
    assert slider_unit("Clarity2012", LOCAL) == 100 and slider_unit("GrainAmount", GLOBAL) == 100
    assert not math.isnan(slider_unit("Sharpness", GLOBAL))
