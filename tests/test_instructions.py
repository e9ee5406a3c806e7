"""The offline interpreter's behaviour: intensity ordering, negation and protection, clear answers for what it
cannot do, person selection, and how an interpretation changes a plan (tests/test_instructions_phrasings.py
holds the phrasing set)."""
from __future__ import annotations

import pytest

from bridge_server.core.params import GLOBAL_PARAMS, LOCAL_PARAMS
from bridge_server.core.plan import RetouchPlan
from bridge_server.retouch import instructions as ins
from bridge_server.retouch.attributes import ATTRIBUTES, effective_value
from bridge_server.retouch.instructions import (
    OPTIMISE, STYLES, Statistic, apply_interpretation, interpret, unsatisfied,
)


def amounts(text: str, **kw) -> dict[tuple[str, str], float]:
    return {(e.where, e.name): e.amount for e in interpret(text, **kw).edits}


def plan_notes(plan: RetouchPlan) -> str:
    return "\n".join(n.text for n in plan.notes)


# -- intensity -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("phrase, key", [
    ("{} brighter", ("global", "brightness")),
    ("make the sky {} darker", ("sky", "brightness")),
    ("{} warmer skin", ("face_skin", "temperature")),
    ("{} more contrast", ("global", "contrast")),
    ("lift the shadows {}", ("global", "Shadows2012")),
    ("{} less saturation in the background", ("background", "Saturation")),
    ("{} more exposure", ("global", "Exposure2012")),
])
def test_intensity_words_order_slightly_below_plain_below_very(phrase, key):
    slight = abs(amounts(phrase.format("slightly"))[key])
    plain = abs(amounts(phrase.format("").strip())[key])
    very = abs(amounts(phrase.format("very"))[key])
    tiny = abs(amounts(phrase.format("a tiny bit"))[key])
    assert tiny < slight < plain < very


def test_intensity_steps_follow_pertouch_in_attribute_units():
    assert amounts("slightly brighter")[("global", "brightness")] == pytest.approx(0.1)
    assert amounts("brighter")[("global", "brightness")] == pytest.approx(0.2)
    assert amounts("very much brighter")[("global", "brightness")] == pytest.approx(0.4)
    assert amounts("a little more clarity")[("global", "Clarity2012")] == pytest.approx(10)


def test_explicit_numbers_and_units_win_over_intensity_words():
    assert amounts("brighten the sky by 0.3 EV")[("sky", "Exposure2012")] == pytest.approx(0.3)
    assert amounts("darken it by 1 stop")[("global", "Exposure2012")] == pytest.approx(-1)
    assert amounts("underexpose by half a stop")[("global", "Exposure2012")] == pytest.approx(-0.5)
    assert amounts("reduce saturation by 20%")[("global", "Saturation")] == pytest.approx(-20)
    assert amounts("clarity +15 on the hair")[("hair", "Clarity2012")] == pytest.approx(15)
    assert amounts("warmer by 30%")[("global", "temperature")] == pytest.approx(0.3)
    edit = interpret("set exposure to -0.7").edits[0]
    assert (edit.op, edit.amount, edit.direction, edit.explicit) == ("set", -0.7, -1, True)


def test_a_recipe_scales_with_intensity():
    plain = amounts("moody")[("global", "brightness")]
    assert amounts("slightly moody")[("global", "brightness")] == pytest.approx(plain / 2)
    assert amounts("very moody")[("global", "brightness")] == pytest.approx(plain * 2)


# -- negation and protection -----------------------------------------------------------------------------------

def test_negation_forbids_instead_of_reversing():
    interp = interpret("don't brighten the face")
    assert interp.edits == [] and interp.unmet == []
    assert [(c.target, c.family, c.direction) for c in interp.constraints] == [("face_skin", "brightness", 1)]
    interp = interpret("make it pop but no more saturation")
    assert not any(e.family == "colourfulness" and e.direction > 0 for e in interp.edits)
    assert any("left out ('no more saturation')" in n for n in interp.notes)


def test_not_too_limits_the_edit_to_a_gentle_one():
    capped = amounts("much brighter but not too bright")[("global", "brightness")]
    assert capped == pytest.approx(0.1)
    assert amounts("a lot warmer, but don't overdo it")[("global", "temperature")] == pytest.approx(0.1)
    assert interpret("don't make it too dark").edits == []


def test_protected_regions_get_no_edits_and_are_held_against_global_changes():
    interp = interpret("brighten everything except the sky")
    assert interp.protected == ["sky"]
    plan = RetouchPlan.build({}, [{"region": "sky", "values": {"Exposure2012": -0.3}}])
    out = apply_interpretation(plan, interp, is_raw=False)
    assert out.global_["Exposure2012"] > 0
    assert effective_value(out, "sky", "Exposure2012") == pytest.approx(effective_value(plan, "sky", "Exposure2012"))
    assert "sky held" in plan_notes(out)


def test_protection_without_global_changes_leaves_the_region_without_any_edit():
    out = apply_interpretation(RetouchPlan(), interpret("warmer skin, don't touch the sky"), is_raw=False)
    assert out.region_edits("sky") == []
    assert out.region_edits("face_skin") and out.region_edits("body_skin")
    assert "sky left alone" in plan_notes(out)


def test_a_protected_sky_is_held_when_the_background_that_covers_it_changes():
    out = apply_interpretation(RetouchPlan(), interpret("darken the background but leave the sky alone"),
                               is_raw=False)
    assert effective_value(out, "sky", "Exposure2012") + effective_value(out, "background", "Exposure2012") \
        == pytest.approx(0)


def test_without_brightening_a_region_holds_only_that_attribute():
    interp = interpret("warmer and brighter without brightening the sky")
    out = apply_interpretation(RetouchPlan(), interp, is_raw=False)
    sky = out.region_edits("sky")[0].values
    assert sky["Exposure2012"] == pytest.approx(-out.global_["Exposure2012"])
    assert "Temperature" not in sky  # the warming still reaches the sky


def test_asking_to_change_and_to_protect_the_same_region_is_a_contradiction():
    interp = interpret("brighten the sky but don't touch the sky")
    assert interp.edits == [] and [u.reason for u in interp.unmet] == ["contradiction"]
    assert "leave alone" in interp.unmet[0].message


def test_opposite_requests_cancel_with_an_explanation():
    interp = interpret("brighter and darker")
    assert interp.edits == []
    assert interp.unmet[0].reason == "contradiction" and "both up and down" in interp.unmet[0].message
    ok = interpret("more contrast in the sky and less in the background")
    assert {(e.where, e.direction) for e in ok.edits} == {("sky", 1), ("background", -1)}


def test_an_explicit_request_wins_over_a_style_recipe():
    interp = interpret("moody but brighter")
    brightness = [e for e in interp.edits if e.where == "global" and e.family == "brightness"]
    assert [(e.origin, e.direction) for e in brightness] == [("strong", 1)]


# -- what it cannot do -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, reason, words", [
    ("make it taste better", "not_understood", "I don't know how to 'make it taste better'"),
    ("brighten the car", "unknown_region", "I can't select 'car'"),
    ("brighten the mountains", "unsupported_region", "mask cannot be written"),
    ("make the sky more", "ambiguous", "does not say"),
    ("remove the people", "unsupported", "not something develop settings can do"),
    ("", "empty", "no instruction"),
])
def test_what_cannot_be_done_gets_a_clear_answer_not_a_silent_no_op(text, reason, words):
    interp = interpret(text)
    assert interp.edits == []
    assert [u.reason for u in interp.unmet] == [reason]
    assert words in interp.unmet[0].message
    out = apply_interpretation(RetouchPlan(), interp, is_raw=False)
    assert "not done: " + interp.unmet[0].message in plan_notes(out)
    assert out.global_ == {} and out.regions == []


def test_regions_missing_from_the_photo_are_reported_and_the_rest_is_done():
    interp = interpret("brighten the faces and darken the sky", regions_present={"subject", "face_skin",
                                                                                  "background"})
    assert [(e.where, e.name) for e in interp.edits] == [("face_skin", "brightness")]
    assert interp.unmet[0].reason == "absent_region" and "no sky in this photo" in interp.unmet[0].message
    skin = interpret("warmer skin", regions_present={"face_skin", "sky"})
    assert [e.where for e in skin.edits] == ["face_skin"]
    assert any("no body skin" in n for n in skin.notes)


def test_people_count_and_person_instances_in_the_regions_present():
    assert interpret("brighten the faces", people=0).unmet[0].reason == "absent_region"
    interp = interpret("brighten the person on the right", regions_present={"subject", "person#0", "person#1",
                                                                             "person#2"})
    assert [(e.target, e.person) for e in interp.edits] == [("person", 2)]


def test_person_selection_hints_resolve_left_to_right():
    def who(text: str, n: int | None):
        interp = interpret(text, people=n)
        return [(e.target, e.person) for e in interp.edits], [u.reason for u in interp.unmet]

    assert who("brighten the man on the left", 3) == ([("person", 0)], [])
    assert who("brighten the woman on the right", 3) == ([("person", 2)], [])
    assert who("brighten the girl in the middle", 3) == ([("person", 1)], [])
    assert who("brighten the second person from the right", 3) == ([("person", 1)], [])
    assert who("brighten the man on the left", 1) == ([("subject", None)], [])
    assert who("brighten the man on the left", None) == ([], ["person_unresolved"])
    assert who("brighten the fourth person from the left", 3) == ([], ["absent_region"])


def test_holding_back_one_person_keeps_that_person():
    """'not the man on the left' names one person: the protection or constraint is on "person:N" (that person's
    mask), so it can be held, and it holds back that person only."""
    interp = interpret("don't brighten the man on the left", people=2)
    assert [(c.target, c.family, c.direction) for c in interp.constraints] == [("person:0", "brightness", 1)]
    assert not interp.unmet
    interp = interpret("brighten the photo but not the man on the left", people=2)
    assert interp.protected == ["person:0"]
    plan = apply_interpretation(RetouchPlan(), interp, is_raw=False)
    held = [r for r in plan.regions if r.region == "person"]
    assert [r.person for r in held] == [0] and held[0].values["Exposure2012"] < 0
    assert any("person#0 held" in n.text for n in plan.notes)
    interp = interpret("brighten the people but don't brighten the man on the left", people=3)
    assert [(e.target, e.person) for e in interp.edits] == [("subject", None)]
    plan = apply_interpretation(RetouchPlan(), interp, is_raw=False)
    held = [r for r in plan.regions if r.region == "person"]
    assert [r.person for r in held] == [0] and held[0].values["Exposure2012"] < 0  # the subject's mask covers him
    gentle = interpret("brighten the man on the left but not too much", people=2)
    assert [(e.where, round(e.amount, 4)) for e in gentle.edits] == [("person#0", 0.1)]


def test_typos_are_corrected_and_reported():
    interp = interpret("brigther bakground and more satuation")
    assert interp.corrections == {"brigther": "brighter", "bakground": "background", "satuation": "saturation"}
    assert any("read 'satuation' as 'saturation'" in n for n in interp.notes)
    assert ins.correct("pool") is None  # a real word is not turned into "cool"
    assert ins.correct("back") is None


def test_kinds_follow_pertouch_classes():
    assert interpret("brighten the face a little").kind == "strong"
    assert interpret("make it look better").kind == "weak_optimise"
    assert interpret("film look").kind == "weak_style"
    assert interpret("asdfgh").kind == "unknown"


# -- recipes and statistics ------------------------------------------------------------------------------------

def test_every_recipe_is_documented_and_names_only_table_sliders_or_attributes():
    for name, recipe in {**STYLES, **OPTIMISE}.items():
        assert len(recipe.description) > 10, name
        for step in recipe.steps:
            assert step.name in ATTRIBUTES or step.name in GLOBAL_PARAMS or step.name in LOCAL_PARAMS, (name, step)


def test_every_style_applies_cleanly_to_a_plan():
    for name in STYLES:
        word = name.replace("_", " ")
        for is_raw in (False, True):
            plan = RetouchPlan.build({"Temperature": 5200} if is_raw else {})
            out = apply_interpretation(plan, interpret(word), is_raw=is_raw)
            assert out.changed_globals() or out.regions, name
            assert "outside" not in plan_notes(out), (name, plan_notes(out))


def test_each_edit_names_the_statistic_it_should_move():
    interp = interpret("brighten the faces, cool the sky, more contrast, less saturation in the background")
    stats = {e.statistic for e in interp.edits}
    assert stats == {Statistic("face_skin", "luminance", 1), Statistic("sky", "b*", -1),
                     Statistic("global", "contrast", 1), Statistic("background", "chroma", -1)}


def test_unsatisfied_lists_edits_whose_statistic_did_not_move_enough():
    interp = interpret("brighten the faces and cool the sky")
    before = {"face_skin": {"luminance": 55.0}, "sky": {"b*": -5.0}}
    after = {"face_skin": {"luminance": 60.0}, "sky": {"b*": -4.0}}
    assert [(e.where, e.name) for e in unsatisfied(interp, before, after)] == [("sky", "temperature")]


# -- applying ----------------------------------------------------------------------------------------------------

def test_apply_adds_region_edits_and_notes_and_keeps_the_input_plan():
    plan = RetouchPlan.build({"Exposure2012": 0.2})
    out = apply_interpretation(plan, interpret("brighten the faces a little, cool down the sky"), is_raw=False)
    assert plan.regions == [] and plan.notes == []
    assert out.region_edits("face_skin")[0].values["Exposure2012"] == pytest.approx(0.12)
    assert out.region_edits("sky")[0].values["Temperature"] == -8
    text = plan_notes(out)
    assert "face_skin brightness +0.10 -> Exposure2012 +0.12 EV" in text
    assert out.provenance["instructions"][0]["kind"] == "strong"


def test_raw_files_get_kelvin_white_balance_from_the_as_shot_value():
    out = apply_interpretation(RetouchPlan(), interpret("warmer"), is_raw=True, as_shot={"Temperature": 5000})
    assert out.global_["Temperature"] > 5000 and "IncrementalTemperature" not in out.global_


def test_out_of_range_numbers_are_clamped_with_a_note():
    out = apply_interpretation(RetouchPlan(), interpret("brighten by 300%"), is_raw=False)
    assert out.global_["Exposure2012"] == pytest.approx(1.2)
    assert "limited to +1" in plan_notes(out)
    out = apply_interpretation(RetouchPlan(), interpret("exposure +9"), is_raw=False)
    assert out.global_["Exposure2012"] == 5 and "limited to 5" in plan_notes(out)


def test_the_retoucher_calls_keep_working():
    interp = interpret("darken the background", regions_present={"background", "subject"})
    plan = apply_interpretation(RetouchPlan(), interp, is_raw=False)
    assert plan.region_edits("background")
    assert interp.to_dict()["edits"][0]["statistic"] == {"region": "background", "measure": "luminance",
                                                          "direction": -1}
    assert "background" in interp.summary()
