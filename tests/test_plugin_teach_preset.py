"""Teach AI Retouch from these edits, and Save my style as a preset: the plug-in's Lua code under real Lua 5.1
against the real bridge server."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lrsdk.fixtures import bridge, lightroom, offline_lightroom  # noqa: F401
from lrsdk.flows import closing
from lrsdk.harness import Lightroom, as_lua_holds

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def catalog_id(lr: Lightroom) -> str:
    return next(iter(lr.prefs["catalogIds"].values()))


def retouch_then_edit(lr: Lightroom, paths) -> list:
    """AI Retouch the photos, then the photographer changes them in Develop."""
    photos = [lr.add_photo(p) for p in paths]
    lr.select(photos)
    lr.answer_dialog("ok", instruction="", strength=100, mode="apply")
    lr.run_menu("RetouchAction.lua")
    assert lr.uncaught == [] and len(lr.applied) == len(photos)
    for i, photo in enumerate(photos):
        settings = lr.develop_settings(photo)
        lr.set_develop_settings(photo, Exposure2012=float(settings.get("Exposure2012", 0)) + 0.3 + i / 10,
                                Vibrance=12, Clarity2012=-5)
    lr.sdk.dialogs = lr.lua.table()
    return photos


# -- Teach ---------------------------------------------------------------------------------------------------
def test_teach_sends_what_was_kept_and_the_catalogs_memory_receives_it(lightroom, bridge, sample_photos):
    lr = lightroom
    photos = retouch_then_edit(lr, sample_photos[:3])
    lr.run_menu("TeachAction.lua")
    assert lr.uncaught == []

    sent = lr.posted("/v1/feedback")
    assert len(sent) == 3
    for body, photo in zip(sent, photos):
        assert body["catalog"]["id"] == catalog_id(lr)
        assert as_lua_holds(body["photo"]["settings"]) == lr.develop_settings(photo)  # what was kept
        assert as_lua_holds(body["proposed"]) == as_lua_holds(json.loads(lr.plugin_property(photo, "proposedPlan")))
    status, memory = bridge.call("GET", f"/v1/catalogs/{catalog_id(lr)}/memory")
    assert status == 200 and memory["events"] == 3
    message = closing(lr)
    assert message["message"] == "Teach AI Retouch: 3 photos learned from"
    assert message["info"] == 'The style memory of "Test Catalog" now holds 3 edit(s).'
    assert lr.applied and len(lr.applied) == 3  # teaching changed nothing in the catalog


def test_teach_asks_first_and_sends_nothing_when_cancelled(lightroom, sample_photos):
    lr = lightroom
    lr.select([lr.add_photo(sample_photos[0])])
    lr.confirm_with("cancel")
    lr.run_menu("TeachAction.lua")
    assert [d["kind"] for d in lr.dialogs] == ["confirm"]
    assert "Teach AI Retouch from this photo?" == lr.dialogs[0]["message"]
    assert lr.posted("/v1/feedback") == []


def test_teach_with_the_server_down_says_so_once_and_sends_nothing(offline_lightroom, sample_photos):
    lr = offline_lightroom
    lr.select([lr.add_photo(p) for p in sample_photos[:3]])
    lr.run_menu("TeachAction.lua")
    assert lr.uncaught == []
    assert len(lr.dialogs) == 1 and "not running" in lr.dialogs[0]["info"]
    assert [m for m, _, _ in lr.requests] == ["GET"]


def test_teach_without_a_previous_retouch_sends_no_proposal(lightroom, sample_photos):
    lr = lightroom
    photo = lr.add_photo(sample_photos[0], settings={"Exposure2012": 0.5})
    lr.select([photo])
    lr.run_menu("TeachAction.lua")
    assert lr.uncaught == []
    body = lr.posted("/v1/feedback")[0]
    assert "proposed" not in body and body["photo"]["settings"]["Exposure2012"] == 0.5
    assert len(lr.messages) == 1  # done or the server's reason, in one dialog


# -- Save my style as a preset -------------------------------------------------------------------------------
def test_save_preset_writes_it_from_the_catalogs_memory_and_says_where_and_to_restart(lightroom, bridge,
                                                                                       sample_photos):
    lr = lightroom
    retouch_then_edit(lr, sample_photos[:2])
    lr.run_menu("TeachAction.lua")
    lr.sdk.dialogs = lr.lua.table()
    lr.answer_dialog("ok", name="  Wedding warm  ", group="Mine")
    lr.run_menu("PresetAction.lua")
    assert lr.uncaught == []
    body = lr.posted("/v1/presets")[0]
    assert body == {"catalog": body["catalog"], "name": "Wedding warm", "group": "Mine"}
    assert body["catalog"]["id"] == catalog_id(lr)
    message = closing(lr)
    assert message["message"] == 'Saved the preset "Wedding warm"'
    paths = message["info"].split("\n\n")[0].split("\n")[1:]
    assert paths and all(Path(p).is_file() for p in paths)
    assert "Lightroom Classic reads presets when it starts" in message["info"]
    assert lr.prefs["lastPresetName"] == "Wedding warm"


def test_save_preset_name_dialog_cancel_sends_nothing(lightroom):
    lightroom.answer_dialog("cancel")
    lightroom.run_menu("PresetAction.lua")
    assert [d["kind"] for d in lightroom.dialogs] == ["modal"]
    assert lightroom.posted("/v1/presets") == []


def test_save_preset_with_the_server_down_says_so_once(offline_lightroom):
    offline_lightroom.run_menu("PresetAction.lua")
    assert len(offline_lightroom.dialogs) == 1
    assert "not running" in offline_lightroom.dialogs[0]["info"]


def test_a_preset_the_server_refuses_is_reported_with_its_reason(lightroom):
    lightroom.answer_dialog("ok", name="x", group="y")
    lightroom.set_prefs(token="wrong")
    lightroom.run_menu("PresetAction.lua")
    message = closing(lightroom)
    assert message["message"] == "Save my style as a preset"
    assert message["info"].startswith("The preset was not saved. The AI Retouch server refused")
