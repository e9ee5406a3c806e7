"""The develop-settings table of Lightroom's SDK (applyDevelopSettings / getDevelopSettings / catalog text).

Round trips for every Adobe preset, the table's shape (flat curves, correction tables, Lua-typed values,
JSON), white-balance rules, ownership handed to the plugin, and real Lua: tables evaluated by Lua 5.1
(lupa) and the develop `text` of a real Lightroom 5 catalog.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from bridge_server.core.errors import PlanError
from bridge_server.core.plan import RetouchPlan
from bridge_server.lightroom import (
    complete_plan, develop_settings_to_plan, develop_settings_with_ownership, plan_to_develop_settings, read_plan,
)

PRESET_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "lightroom" / "presets"
PRESET_NAMES = sorted(p.name for p in PRESET_DIR.glob("*.xmp"))
lupa = pytest.importorskip("lupa.lua51")


def plan_key(plan) -> dict:
    data = plan.to_dict()
    return {k: data.get(k) for k in ("global", "regions", "spots", "other")}


def to_lua(value) -> str:
    """Python (JSON-like) -> Lua 5.1 table constructor text, as the plugin's JSON decoder would build it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "{ " + ", ".join(to_lua(v) for v in value) + " }"
    return "{ " + ", ".join(f'["{k}"] = {to_lua(v)}' for k, v in value.items()) + " }"


def from_lua(value):
    """A lupa table -> dict (keys as Lua has them: 1..n integers for arrays)."""
    if lupa.lua_type(value) == "table":
        return {k: from_lua(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_adobe_preset_round_trips_through_the_table(name, shared_data):
    plan = read_plan(shared_data / "lightroom" / "presets" / name)
    table = plan_to_develop_settings(plan, is_raw=True)
    text = json.dumps(table, allow_nan=False)  # the plugin decodes JSON
    back = develop_settings_to_plan(json.loads(text))
    assert plan_key(back) == plan_key(plan)
    assert back.provenance["crs"]["ProcessVersion"] == table["ProcessVersion"]


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_table_survives_real_lua(name, shared_data):
    plan = read_plan(shared_data / "lightroom" / "presets" / name)
    table = plan_to_develop_settings(plan, is_raw=True)
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    evaluated = from_lua(lua.execute("return " + to_lua(table)))
    assert plan_key(develop_settings_to_plan(evaluated)) == plan_key(plan)


def test_table_shape(shared_data):
    plan = read_plan(shared_data / "lightroom" / "presets" / "mask-exmaple.xmp")
    table = plan_to_develop_settings(plan, is_raw=True)
    assert table["EnableMaskGroupBasedCorrections"] is True and table["ProcessVersion"] == "15.4"
    sky, background, subject = table["MaskGroupBasedCorrections"]
    assert sky["What"] == "Correction" and sky["CorrectionActive"] is True and sky["CorrectionAmount"] == 1
    assert sky["LocalExposure2012"] == 0.25  # stored scale: +1 EV / 4
    assert sky["LocalCurveRefineSaturation"] == 100
    mask = background["CorrectionMasks"][0]
    assert mask["What"] == "Mask/Image" and (mask["MaskSubType"], mask["MaskSubCategoryID"]) == (0, 22)
    assert mask["MaskInverted"] is False and mask["MaskValue"] == 1 and mask["MaskBlendMode"] == 0
    curves = plan_to_develop_settings(read_plan(shared_data / "lightroom" / "presets" / "gradiationcurve.xmp"),
                                      is_raw=True)
    assert curves["ToneCurvePV2012"] == [0, 0, 69, 87, 255, 255]  # flat {x1, y1, x2, y2, ...}
    assert curves["ParametricDarks"] == 16 and isinstance(curves["ParametricDarks"], int)


def test_generated_plan_and_ownership_for_the_plugin():
    plan = RetouchPlan.build(
        {"Exposure2012": 0.25, "IncrementalTemperature": 6},
        [{"region": "face_skin", "values": {"Texture": -20}},
         {"region": "person", "person": 2, "values": {"Exposure2012": 0.3},
          "masks": [{"kind": "radial", "geometry": {"top": 0.1, "left": 0.1, "bottom": 0.9, "right": 0.5}}]}],
        [{"x": 0.4, "y": 0.3, "size_x": 0.02}])
    done = complete_plan(plan)  # ids and names fixed once, as the Retoucher does before emitting
    assert plan_key(complete_plan(done)) == plan_key(done)
    table, record = develop_settings_with_ownership(done, is_raw=False)
    assert table["IncrementalTemperature"] == 6 and "Temperature" not in table
    assert table["WhiteBalance"] == "Custom" and table["EnableRetouch"] is True
    assert table["MaskGroupBasedCorrections"][0]["LocalTexture"] == -0.2
    radial = table["MaskGroupBasedCorrections"][1]["CorrectionMasks"][0]
    assert radial["What"] == "Mask/CircularGradient" and radial["Flipped"] is True and radial["Version"] == 2
    assert table["RetouchAreas"][0]["Masks"][0]["What"] == "Mask/Ellipse"
    wire = json.loads(json.dumps({"settings": table, "ownership": record}))
    back = develop_settings_to_plan(wire["settings"], ownership=wire["ownership"])
    expected, got = plan_key(done), plan_key(back)
    assert back.regions[1].region == "person" and back.regions[1].person == 2
    assert back.regions[1].origin == back.spots[0].origin == "airetouch"
    assert got == expected
    assert got["spots"][0]["source_x"] == pytest.approx(0.45)  # no source given: a nearby one is chosen
    assert develop_settings_to_plan(wire["settings"]).regions[1].origin == "user"  # no record: not ours


def test_white_balance_rules():
    with pytest.raises(PlanError):
        plan_to_develop_settings(RetouchPlan.build({"Temperature": 5000}), is_raw=False)
    with pytest.raises(PlanError):
        plan_to_develop_settings(RetouchPlan.build({"IncrementalTint": 5}), is_raw=True)
    assert "IncrementalTint" not in plan_to_develop_settings(RetouchPlan.build({"IncrementalTint": 0}), is_raw=True)


def test_lightroom_5_catalog_text_through_lua(shared_data, tmp_path):
    catalog = tmp_path / "catalog.lrcat"
    shutil.copy(shared_data / "lightroom" / "catalogs" / "lightroom5_test_catalog.lrcat", catalog)
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True) as db:
        texts = [row[0] for row in db.execute("SELECT text FROM Adobe_imageDevelopSettings ORDER BY id_local")]
    assert texts
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    plans = [develop_settings_to_plan(from_lua(lua.execute(text + "\nreturn s"))) for text in texts]
    first = plans[0]
    # `Temperature = 2900, Tint = 4, WhiteBalance = "As Shot", ToneCurvePV2012 = { 0, 0, 255, 255 }` in the text
    assert first.global_["Temperature"] == 2900 and first.global_["Tint"] == 4
    assert first.global_["WhiteBalance"] == "As Shot" and first.global_["ToneCurvePV2012"] == [(0, 0), (255, 255)]
    assert first.provenance["crs"]["ProcessVersion"] == "6.7"
    assert first.other["ToneCurve"] == [0, 0, 32, 22, 64, 56, 128, 128, 192, 196, 255, 255]  # PV2010, kept
    assert first.other["CameraProfile"] == "Adobe Standard" and first.other["AutoGrayscaleMix"] is True
    assert plans[1].global_["Temperature"] == 3450
    # and back: the table carries what the catalog held
    table = plan_to_develop_settings(first, is_raw=True)
    assert table["Temperature"] == 2900 and table["ToneCurve"] == first.other["ToneCurve"]
    assert table["ProcessVersion"] == "6.7"


def test_lua_array_tables_as_dicts_are_accepted():
    table = {"Exposure2012": 0.5, "ToneCurvePV2012": {1: 0, 2: 10, 3: 255, 4: 250},
             "MaskGroupBasedCorrections": {1: {"What": "Correction", "CorrectionAmount": 1, "CorrectionActive": True,
                                               "LocalExposure2012": 0.125,
                                               "CorrectionMasks": {1: {"What": "Mask/Image", "MaskSubType": 2,
                                                                       "MaskBlendMode": 0, "MaskValue": 1}}}}}
    plan = develop_settings_to_plan(table)
    assert plan.global_["ToneCurvePV2012"] == [(0, 10), (255, 250)]
    assert plan.regions[0].region == "sky" and plan.regions[0].values["Exposure2012"] == 0.5
