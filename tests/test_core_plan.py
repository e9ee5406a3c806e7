"""The central type: plan validation, JSON round trip, the parameter table's conversions."""
import json

import pytest

from bridge_server.core import PlanError, RetouchPlan
from bridge_server.core.params import GLOBAL_PARAMS, LOCAL_PARAMS, PARAMS, param
from bridge_server.core.regions import REGIONS, region, region_for_codes
from bridge_server.core.schema import plan_json_schema
from bridge_server.retoucher import apply_sets, parse_set


def test_every_parameter_is_described_once_per_scope():
    keys = [(p.name, p.scope) for p in PARAMS]
    assert len(keys) == len(set(keys))
    assert len({p.xmp_name for p in PARAMS}) == len(PARAMS)


def test_local_exposure_is_stored_as_a_quarter_of_the_ev():
    # Lightroom stores +1 EV of a mask's exposure as LocalExposure2012="0.25".
    p = LOCAL_PARAMS["Exposure2012"]
    assert p.xmp_name == "LocalExposure2012"
    assert p.to_stored(1.0) == pytest.approx(0.25)
    assert p.format_xmp(0.3) == "0.075"
    assert p.from_stored(0.0375) == pytest.approx(0.15)


def test_other_local_sliders_are_stored_as_hundredths():
    p = LOCAL_PARAMS["Highlights2012"]
    assert p.format_xmp(-30) == "-0.3"
    assert p.from_stored(-0.6) == pytest.approx(-60)


def test_global_values_are_formatted_as_lightroom_writes_them():
    assert param("Exposure2012").format_xmp(0.35) == "+0.35"
    assert param("Exposure2012").format_xmp(-1) == "-1.00"
    assert param("Contrast2012").format_xmp(10) == "+10"
    assert param("Contrast2012").format_xmp(0) == "0"
    assert param("ParametricShadowSplit").format_xmp(25) == "25"
    assert param("SharpenRadius").format_xmp(1.0) == "+1.0"


def test_out_of_range_values_are_clamped_with_a_note():
    plan = RetouchPlan.build({"Highlights2012": -130}, [{"region": "sky", "values": {"Exposure2012": 5}}])
    assert plan.global_["Highlights2012"] == -100
    assert plan.regions[0].values["Exposure2012"] == 4
    texts = " ".join(n.text for n in plan.notes)
    assert "clamped to -100" in texts and "clamped to 4" in texts


def test_unknown_names_are_errors_naming_the_field():
    with pytest.raises(PlanError) as err:
        RetouchPlan.build({"Brightness9000": 1})
    assert "Brightness9000" in err.value.field
    with pytest.raises(PlanError):
        RetouchPlan.build({}, [{"region": "moon", "values": {}}])
    with pytest.raises(PlanError):
        RetouchPlan.build({"Exposure2012": "a lot"})


def test_white_balance_is_absolute_or_incremental_never_both():
    with pytest.raises(PlanError):
        RetouchPlan.build({"Temperature": 5500, "IncrementalTemperature": 10})


def test_aliases_resolve_to_lightroom_names():
    plan = RetouchPlan.build({"Exposure": 0.4, "highlights": -20}, [{"region": "face", "values": {"Shadows": 10}}])
    assert set(plan.global_) == {"Exposure2012", "Highlights2012"}
    assert plan.regions[0].region == "face_skin"
    assert plan.regions[0].values == {"Shadows2012": 10}


def test_json_round_trip_keeps_everything():
    plan = RetouchPlan.build(
        {"Exposure2012": 0.35, "WhiteBalance": "Auto", "ToneCurvePV2012": [0, 0, 128, 140, 255, 255]},
        [{"region": "sky", "values": {"Highlights2012": -30}, "amount": 0.8},
         {"region": "radial", "values": {"Exposure2012": -0.2},
          "masks": [{"kind": "radial", "geometry": {"top": 0.1, "left": 0.2, "bottom": 0.9, "right": 0.8},
                     "inverted": True}]}],
        [{"x": 0.5, "y": 0.4, "size_x": 0.02, "source_x": 0.6, "source_y": 0.4}],
        provenance={"predictor": "test"})
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["schema_version"] == 1
    again = RetouchPlan.from_dict(data)
    assert again.to_dict() == plan.to_dict()
    assert again.global_["ToneCurvePV2012"] == [(0, 0), (128, 140), (255, 255)]


def test_future_schema_versions_are_refused():
    with pytest.raises(PlanError):
        RetouchPlan.from_dict({"schema_version": 99})


def test_strength_scales_edits_toward_the_defaults():
    plan = RetouchPlan.build({"Exposure2012": 1.0, "Contrast2012": 20}, [{"region": "sky", "values": {"Dehaze": 10}}])
    half = plan.scaled(0.5)
    assert half.global_["Exposure2012"] == pytest.approx(0.5)
    assert half.global_["Contrast2012"] == 10
    assert half.regions[0].amount == pytest.approx(0.5)
    assert plan.scaled(0.0).changed_globals() == {}


def test_region_codes_match_adobe_presets():
    assert (region("subject").subtype, region("sky").subtype) == (1, 2)
    assert (region("background").subtype, region("background").subcategory) == (0, 22)
    assert (region("face_skin").subtype, region("face_skin").subcategory) == (3, 2)
    assert region_for_codes(3, 4).key == "body_skin"
    assert region_for_codes(3, 99) is None
    assert len({r.key for r in REGIONS}) == len(REGIONS)


def test_set_expressions_parse_global_and_regional_values():
    assert parse_set("Exposure2012=+0.4") == ("global", "Exposure2012", 0.4)
    assert parse_set("sky:Highlights=-30") == ("sky", "Highlights", -30.0)
    plan = apply_sets(RetouchPlan(), {"global": {"Exposure": 0.4}, "sky": {"Highlights": -30}})
    assert plan.global_ == {"Exposure2012": 0.4}
    assert plan.regions[0].region == "sky" and plan.regions[0].values == {"Highlights2012": -30}
    with pytest.raises(PlanError):
        parse_set("Exposure")


def test_schema_is_derived_from_the_table():
    schema = plan_json_schema()
    assert set(schema["properties"]["global"]["properties"]) == set(GLOBAL_PARAMS)
    local = schema["properties"]["regions"]["items"]["properties"]["values"]["properties"]
    assert set(local) == set(LOCAL_PARAMS)
    assert local["Exposure2012"]["maximum"] == 4
