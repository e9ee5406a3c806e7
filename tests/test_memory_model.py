"""Behaviour of the style memory: no history, learning in one scene, shrinkage, locality, bounds, presets."""
from __future__ import annotations

import time

import pytest

from bridge_server.core.errors import PlanError
from bridge_server.core.params import GLOBAL_PARAMS, LOCAL_PARAMS
from bridge_server.core.plan import RetouchPlan
from catalog.memory import MemorySettings, StyleMemory, plan_slots
from catalog.store import FeedbackEvent, MemoryStores

NOW = 1_750_000_000.0
INDOOR = [0.9, 0.1, 0.2, 0.8, 0.3, 0.1]
INDOOR_NEAR = [0.88, 0.12, 0.22, 0.8, 0.28, 0.1]
OUTDOOR = [0.1, 0.9, 0.9, 0.1, 0.8, 0.7]
INDOOR_TAGS = ["indoor", "portrait"]
OUTDOOR_TAGS = ["outdoor", "landscape", "golden_hour"]


def proposal(exposure: float = 0.2, face: float = 0.1, sky_temp: float | None = None) -> RetouchPlan:
    regions = [{"region": "face_skin", "values": {"Exposure2012": face}}]
    if sky_temp is not None:
        regions.append({"region": "sky", "values": {"Temperature": sky_temp}})
    return RetouchPlan.build({"Exposure2012": exposure, "Contrast2012": 10}, regions)


def feedback(key, vector, tags, *, exposure_offset=0.0, face_offset=0.0, contrast=10, when=NOW,
             base: RetouchPlan | None = None, sky_temp=None) -> FeedbackEvent:
    proposed = base or proposal()
    final = proposed.copy()
    final.global_["Exposure2012"] = proposed.global_["Exposure2012"] + exposure_offset
    final.global_["Contrast2012"] = contrast
    final.region_edits("face_skin")[0].values["Exposure2012"] += face_offset
    if sky_temp is not None:
        final.regions.append(RetouchPlan.build(regions=[{"region": "sky", "values": {"Temperature": sky_temp}}]
                                               ).regions[0])
    final.validate()
    return FeedbackEvent(photo_key=key, proposed=proposed, final=final, scene_vector=vector, scene_tags=tags,
                         time=when, source="plugin")


def indoor_history(n: int, face_offset: float = 0.4, exposure_offset: float = 0.3) -> list[FeedbackEvent]:
    return [feedback(f"in{i}", INDOOR, INDOOR_TAGS, exposure_offset=exposure_offset, face_offset=face_offset)
            for i in range(n)]


def face(plan: RetouchPlan) -> float:
    return plan.region_edits("face_skin")[0].values["Exposure2012"]


def test_no_history_leaves_the_plan_identical():
    base = proposal()
    result = StyleMemory().adjust(base, INDOOR, INDOOR_TAGS, now=NOW)
    assert result.plan.to_dict() == base.to_dict()
    assert result.plan is not base
    assert result.confidence == 0.0 and "no history" in result.note
    assert result.adjustments == []


def test_consistent_feedback_moves_toward_it_and_is_shrunk_with_few_examples():
    base = proposal()
    moved = []
    for n in (1, 2, 5, 20):
        result = StyleMemory(events=indoor_history(n)).adjust(base, INDOOR, INDOOR_TAGS, now=NOW)
        moved.append(result.plan.global_["Exposure2012"] - base.global_["Exposure2012"])
        assert 0 < moved[-1] < 0.3 + 1e-9  # toward what was kept, never past it
        assert 0 < face(result.plan) - face(base) <= 0.4 + 1e-9
    assert moved == sorted(moved)  # more evidence, closer to the habit
    # One example keeps (1 + k * 1/(1 + k_prior)) / (1 + k) of its offset: 5/6 with the defaults (k=1, 0.5).
    cfg = MemorySettings()
    one = (1 + cfg.shrink / (1 + cfg.prior_shrink)) / (1 + cfg.shrink)
    assert one < 0.9 and moved[0] == pytest.approx(0.3 * one, abs=0.011)
    assert moved[-1] > 0.3 * 0.9  # twenty agreeing examples nearly all of it
    one = StyleMemory(events=indoor_history(1)).adjust(base, INDOOR, INDOOR_TAGS, now=NOW)
    many = StyleMemory(events=indoor_history(20)).adjust(base, INDOOR, INDOOR_TAGS, now=NOW)
    assert one.confidence < many.confidence < 1


def test_similar_scene_gets_nearly_the_same_shift():
    memory = StyleMemory(events=indoor_history(10))
    same = memory.adjust(proposal(), INDOOR, INDOOR_TAGS, now=NOW)
    near = memory.adjust(proposal(), INDOOR_NEAR, INDOOR_TAGS, now=NOW)
    assert near.plan.global_["Exposure2012"] == pytest.approx(same.plan.global_["Exposure2012"], abs=0.03)


def test_dissimilar_scene_is_not_affected_much():
    memory = StyleMemory(events=indoor_history(20))
    base = proposal()
    here = memory.adjust(base, INDOOR, INDOOR_TAGS, now=NOW)
    there = memory.adjust(base, OUTDOOR, OUTDOOR_TAGS, now=NOW)
    shift_here = here.plan.global_["Exposure2012"] - base.global_["Exposure2012"]
    shift_there = there.plan.global_["Exposure2012"] - base.global_["Exposure2012"]
    assert shift_here > 0.25
    assert abs(shift_there) < 0.1 * shift_here
    assert abs(face(there.plan) - face(base)) < 0.1 * 0.4
    assert there.confidence < 0.05 < 0.9 < here.confidence


def test_each_scene_learns_its_own_habit():
    history = indoor_history(10, face_offset=0.5) + [
        feedback(f"out{i}", OUTDOOR, OUTDOOR_TAGS, face_offset=-0.3) for i in range(10)]
    memory = StyleMemory(events=history)
    base = proposal()
    assert face(memory.adjust(base, INDOOR, INDOOR_TAGS, now=NOW).plan) - face(base) > 0.4
    assert face(memory.adjust(base, OUTDOOR, OUTDOOR_TAGS, now=NOW).plan) - face(base) < -0.2


def test_recent_edits_count_more_than_old_ones():
    year = 365 * 86400.0
    old = [feedback(f"old{i}", INDOOR, INDOOR_TAGS, face_offset=-0.4, when=NOW - 3 * year) for i in range(5)]
    new = [feedback(f"new{i}", INDOOR, INDOOR_TAGS, face_offset=0.4, when=NOW) for i in range(5)]
    result = StyleMemory(events=old + new).adjust(proposal(), INDOOR, INDOOR_TAGS, now=NOW)
    assert face(result.plan) - 0.1 > 0.2  # the recent habit wins (old edits weigh 1/8)


def test_values_stay_inside_the_photographers_own_range():
    # They always kept Exposure2012 at 0.5 (proposals were lower). A proposal of 0.48 plus the learned
    # +0.4 would give 0.88: it stops at their range plus the margin instead.
    history = [feedback(f"p{i}", INDOOR, INDOOR_TAGS, base=proposal(exposure=0.1), exposure_offset=0.4)
               for i in range(20)]
    memory = StyleMemory(events=history)
    result = memory.adjust(proposal(exposure=0.48), INDOOR, INDOOR_TAGS, now=NOW)
    margin = max(0.1 * 0.0, 0.02 * (GLOBAL_PARAMS["Exposure2012"].hi - GLOBAL_PARAMS["Exposure2012"].lo))
    assert result.plan.global_["Exposure2012"] == pytest.approx(0.5 + margin, abs=0.011)
    # A value already outside their range is not pushed further out.
    result = memory.adjust(proposal(exposure=1.5), INDOOR, INDOOR_TAGS, now=NOW)
    assert result.plan.global_["Exposure2012"] == 1.5


def test_values_stay_inside_the_table_range():
    history = [feedback(f"p{i}", INDOOR, INDOOR_TAGS, base=proposal(exposure=-4.5), exposure_offset=9.3)
               for i in range(30)]
    memory = StyleMemory(events=history, settings=MemorySettings(margin=1.0, min_margin=0.5))
    result = memory.adjust(proposal(exposure=4.9), INDOOR, INDOOR_TAGS, now=NOW)
    assert result.plan.global_["Exposure2012"] <= GLOBAL_PARAMS["Exposure2012"].hi
    local_hi = LOCAL_PARAMS["Exposure2012"].hi
    big = [feedback(f"f{i}", INDOOR, INDOOR_TAGS, base=proposal(face=-3.9), face_offset=7.9) for i in range(30)]
    result = StyleMemory(events=big, settings=MemorySettings(margin=1.0, min_margin=0.5)).adjust(
        proposal(face=3.9), INDOOR, INDOOR_TAGS, now=NOW)
    assert face(result.plan) <= local_hi


def test_local_offsets_respect_the_edit_amount():
    memory = StyleMemory(events=indoor_history(20, face_offset=0.4))
    base = proposal(face=0.1)
    base.region_edits("face_skin")[0].amount = 0.5
    result = memory.adjust(base, INDOOR, INDOOR_TAGS, now=NOW)
    edit = result.plan.region_edits("face_skin")[0]
    assert edit.amount == 0.5
    assert edit.values["Exposure2012"] * 0.5 - 0.05 == pytest.approx(0.4 * 20 / 21, abs=0.03)


def test_learned_region_the_plan_lacks_is_added_only_where_present():
    history = [feedback(f"s{i}", OUTDOOR, OUTDOOR_TAGS, sky_temp=-25) for i in range(10)]
    memory = StyleMemory(events=history)
    added = memory.adjust(proposal(), OUTDOOR, OUTDOOR_TAGS, now=NOW)
    assert added.plan.region_edits("sky")[0].values["Temperature"] <= -20
    absent = memory.adjust(proposal(), OUTDOOR, OUTDOOR_TAGS, present_regions={"face_skin"}, now=NOW)
    assert absent.plan.region_edits("sky") == []
    assert "skies cooler" in added.note


def test_note_names_the_habit_and_the_photos_behind_it():
    result = StyleMemory(events=indoor_history(14)).adjust(proposal(), INDOOR, INDOOR_TAGS, now=NOW)
    assert "faces +0.4 EV" in result.note
    assert "your 14 indoor portraits" in result.note
    assert result.plan.notes[-1].stage == "memory" and result.plan.notes[-1].text == result.note
    assert result.plan.provenance["memory"]["events"] == 14


def test_white_balance_offsets_follow_the_file_kind():
    raw = RetouchPlan.build({"Exposure2012": 0.0, "Temperature": 5000, "Tint": 0})
    raw_final = RetouchPlan.build({"Exposure2012": 0.0, "Temperature": 5600, "Tint": 0})
    history = [FeedbackEvent(photo_key=f"r{i}", proposed=raw, final=raw_final, scene_vector=INDOOR,
                             scene_tags=INDOOR_TAGS, time=NOW) for i in range(10)]
    memory = StyleMemory(events=history)
    on_raw = memory.adjust(raw, INDOOR, INDOOR_TAGS, now=NOW).plan
    assert on_raw.global_["Temperature"] > 5400
    on_jpeg = memory.adjust(RetouchPlan.build({"IncrementalTemperature": 0}), INDOOR, INDOOR_TAGS, now=NOW).plan
    assert "Temperature" not in on_jpeg.global_  # never both white-balance pairs
    assert on_jpeg.global_["IncrementalTemperature"] == 0


def test_feedback_through_the_store_counts_at_once(tmp_path):
    stores = MemoryStores(tmp_path)
    memory = StyleMemory.for_catalog({"id": "CAT-1", "path": "/c/Main.lrcat"}, stores=stores)
    base = proposal()
    assert memory.adjust(base, INDOOR, INDOOR_TAGS, now=NOW).plan.to_dict() == base.to_dict()
    for ev in indoor_history(5):
        memory.add(ev)
    assert face(memory.adjust(base, INDOOR, INDOOR_TAGS, now=NOW).plan) > face(base) + 0.2
    # Another handle on the same catalog (another request) sees it too, and learns its feedback at once.
    other = StyleMemory.for_catalog({"path": "/c/Main.lrcat"}, stores=stores)
    assert len(other) == 5
    other.add(feedback("late", INDOOR, INDOOR_TAGS, face_offset=-2.0))
    assert len(memory) == 6
    stores.close()


def test_record_takes_a_lightroom_settings_table(tmp_path):
    stores = MemoryStores(tmp_path)
    memory = StyleMemory.for_catalog("CAT-1", stores=stores)
    proposed = RetouchPlan.build({"Exposure2012": 0.2})
    kept = {"Exposure2012": 0.6, "Contrast2012": 15, "Sharpness": 25, "WhiteBalance": "As Shot",
            "MaskGroupBasedCorrections": [{
                "What": "Correction", "CorrectionAmount": 1, "CorrectionActive": True, "LocalExposure2012": 0.1,
                "CorrectionMasks": [{"What": "Mask/Image", "MaskSubType": 3, "MaskSubCategoryID": 2}]}]}
    before = {"Exposure2012": 0, "Contrast2012": 0, "Sharpness": 25}
    count = memory.record(INDOOR, INDOOR_TAGS, kept=kept, proposed=proposed, before=before, is_raw=False,
                          photo_id="UUID-1", when=NOW)
    assert count == 1
    stored = memory.store.events()[0]
    assert stored.final.global_["Exposure2012"] == 0.6
    assert stored.final.region_edits("face_skin")[0].values["Exposure2012"] == pytest.approx(0.4)  # EV/4 stored
    assert stored.proposed.global_["Sharpness"] == 25  # what Lightroom already had, not a learned change
    slots, _ = plan_slots(stored.final)
    assert slots[("global", "Sharpness")] == plan_slots(stored.proposed)[0][("global", "Sharpness")]
    with pytest.raises(PlanError):
        memory.record(INDOOR, INDOOR_TAGS, kept=kept, proposed=None)
    stores.close()


def test_summary_lists_habits_and_reset_forgets(tmp_path):
    stores = MemoryStores(tmp_path)
    memory = StyleMemory.for_catalog("CAT-1", stores=stores)
    for ev in indoor_history(6):
        memory.add(ev)
    summary = memory.summary()
    assert summary["events"] == 6 and summary["sources"] == {"plugin": 6}
    assert {"tag": "indoor", "events": 6} in summary["scene_groups"]
    assert summary["habits"][0]["region"] in ("face_skin", "global")
    backup = memory.reset()
    assert backup and len(memory) == 0
    base = proposal()
    assert memory.adjust(base, INDOOR, INDOOR_TAGS, now=NOW).plan.to_dict() == base.to_dict()
    stores.close()


def test_style_presets_give_one_plan_per_scene_group():
    history = indoor_history(6, face_offset=0.5) + [
        feedback(f"out{i}", OUTDOOR, OUTDOOR_TAGS, contrast=30, sky_temp=-20) for i in range(4)]
    presets = {p.group: p for p in StyleMemory(events=history).style_preset_plans(min_events=3, now=NOW)}
    assert {"all", "indoor", "portrait", "outdoor", "landscape", "golden_hour"} <= set(presets)
    indoor = presets["indoor"].plan
    assert indoor.region_edits("face_skin")[0].values["Exposure2012"] == pytest.approx(0.6)
    assert indoor.global_["Exposure2012"] == pytest.approx(0.5)
    outdoor = presets["outdoor"].plan
    assert outdoor.global_["Contrast2012"] == 30
    assert outdoor.region_edits("sky")[0].values["Temperature"] == -20
    assert indoor.region_edits("sky") == []  # never kept indoors
    assert presets["indoor"].n_events == 6 and presets["indoor"].name == "My style: indoor photos"
    names = [label for label, _ in StyleMemory(events=history).preset_plans("Anna")]
    assert names[0] == "Anna" and "Anna: landscapes" in names
    # Two kept edits already make an overall style; scene groups need three photos each.
    assert [p.group for p in StyleMemory(events=history[:2]).style_preset_plans(min_events=3)] == ["all"]
    assert StyleMemory(events=[]).style_preset_plans() == []


def test_model_is_not_rebuilt_without_changes(tmp_path):
    stores = MemoryStores(tmp_path)
    memory = StyleMemory.for_catalog("CAT-1", stores=stores)
    memory.add(indoor_history(1)[0])
    first = memory._model()
    assert memory._model() is first
    memory.add(feedback("x", INDOOR, INDOOR_TAGS))
    assert memory._model() is not first
    stores.close()


def test_adjusting_is_fast_enough_for_a_large_history():
    history = [feedback(f"p{i}", [((i * 7) % 10) / 10] * 6, INDOOR_TAGS, face_offset=0.1) for i in range(2000)]
    memory = StyleMemory(events=history)
    memory.adjust(proposal(), INDOOR, INDOOR_TAGS, now=NOW)  # builds the model once
    start = time.perf_counter()
    for _ in range(5):
        memory.adjust(proposal(), INDOOR, INDOOR_TAGS, now=NOW)
    assert (time.perf_counter() - start) / 5 < 1.0  # generous: a plan request must not stall on memory


def test_for_catalog_uses_the_data_folder(tmp_path, monkeypatch):
    from bridge_server.core.paths import data_dir
    memory = StyleMemory.for_catalog({"id": "CAT-9", "path": "/c/Nine.lrcat", "name": "Nine"})
    memory.add(indoor_history(1)[0])
    assert memory.store.path.parent == data_dir() / "catalogs"
    assert StyleMemory.for_catalog({"path": "/c/Nine.lrcat"}).store.path == memory.store.path
    monkeypatch.setenv("AIRETOUCH_DATA_DIR", str(tmp_path / "elsewhere"))
    fresh = StyleMemory.for_catalog({"id": "CAT-9"})
    assert fresh.store.path.parent == tmp_path / "elsewhere" / "catalogs" and len(fresh) == 0


def test_memory_edits_carry_nothing_lightroom_would_write_as_unknown_settings():
    from bridge_server.lightroom.sdk import develop_settings_to_plan, plan_to_develop_settings
    history = [feedback(f"s{i}", OUTDOOR, OUTDOOR_TAGS, sky_temp=-25) for i in range(10)]
    plan = StyleMemory(events=history).adjust(proposal(), OUTDOOR, OUTDOOR_TAGS, now=NOW).plan
    sky = plan.region_edits("sky")[0]
    assert sky.extra == {} and sky.origin == "airetouch"
    table = plan_to_develop_settings(plan, is_raw=False)
    back = develop_settings_to_plan(table)
    assert back.region_edits("sky")[0].values["Temperature"] == sky.values["Temperature"]


# Scene descriptors as vision made them for real photos (16 slots; see bridge_server/vision/scene.py).
HEADSHOT = ([0.95, 0.47, 0.43, 0.46, 1.0, 0.12, 1.0, 0.0, 1.0, 0.0, 0.0, 0.65, 0.5, 0.8, 0.0, 0.57],
            ["indoor", "normal light", "neutral light", "flash", "portrait"])
TWO_WOMEN = ([0.8, 0.13, 0.21, 0.43, 0.62, 0.25, 0.61, 0.0, 1.0, 0.0, 0.0, 0.5, 0.19, 0.41, 0.0, 0.4],
             ["indoor", "dark", "neutral light", "flash", "portrait"])
CHINA = ([0.15, 0.64, 0.59, 0.61, 0.0, 0.0, 0.0, 0.7, 0.0, 0.0, 1.0, 0.78, 0.29, 0.0, 0.0, 1.0],
         ["outdoor", "normal light", "neutral light", "landscape", "sky"])
ROCKET = ([0.15, 0.24, 0.26, 0.53, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.32, 0.45, 0.0, 0.0, 0.43],
          ["outdoor", "dark", "neutral light", "landscape", "sky"])


def test_real_descriptors_portrait_habit_reaches_portraits_not_landscapes():
    history = [feedback(f"h{i}", *HEADSHOT, exposure_offset=0.3) for i in range(10)]
    memory = StyleMemory(events=history)
    base = proposal()
    shift = {name: memory.adjust(base, *scene, now=NOW).plan.global_["Exposure2012"] - 0.2
             for name, scene in (("two_women", TWO_WOMEN), ("china", CHINA), ("rocket", ROCKET))}
    assert shift["two_women"] > 0.15  # another indoor flash portrait, though darker: most of the habit
    assert abs(shift["china"]) < 0.03 and abs(shift["rocket"]) < 0.03  # landscapes: untouched
