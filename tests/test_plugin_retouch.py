"""Library › Plug-in Extras › AI Retouch…, end to end: the plug-in's Lua code under real Lua 5.1 with the SDK
stand-ins, talking real HTTP to the real bridge server on 127.0.0.1."""
from __future__ import annotations

import json
import shutil

import pytest

from lrsdk.fixtures import bridge, lightroom, offline_lightroom  # noqa: F401
from lrsdk.flows import closing, retouch
from lrsdk.harness import IMPORT_SETTINGS, as_lua_holds

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


# -- the whole flow ------------------------------------------------------------------------------------------
def test_retouch_applies_the_servers_settings_to_each_photo_as_one_ai_retouch_step(lightroom, bridge,
                                                                                    sample_photos):
    lr = lightroom
    chosen = sample_photos[:3]
    photos = [lr.add_photo(p, uuid_=f"UUID-{i}") for i, p in enumerate(chosen)]
    retouch(lr, photos)

    applied = lr.applied
    assert [a["path"] for a in applied] == [str(p) for p in chosen]
    assert {a["historyName"] for a in applied} == {"AI Retouch"}
    catalog = lr.prefs["catalogIds"]
    sent = lr.posted("/v1/plan")
    assert len(sent) == 3
    for i, (body, done, photo) in enumerate(zip(sent, applied, photos)):
        assert body["photo"]["path"] == str(chosen[i])
        assert body["photo"]["photo_id"] == f"UUID-{i}"
        assert body["photo"]["is_raw"] is False
        assert body["photo"]["settings"]["ToneCurvePV2012"] == IMPORT_SETTINGS["ToneCurvePV2012"]
        assert body["catalog"]["id"] == next(iter(catalog.values()))
        assert body["strength"] == 1
        assert "instruction" not in body
        status, reference = bridge.call("POST", "/v1/plan", body)  # ask the server directly
        assert status == 200, reference
        assert done["settings"] == as_lua_holds(reference["settings"])
        assert as_lua_holds(json.loads(lr.plugin_property(photo, "proposedPlan"))) == as_lua_holds(reference["plan"])
        assert lr.history(photo) == ["Import", "AI Retouch"]  # exactly one history step
    assert len(lr.writes) == 1 and lr.writes[0]["count"] == 3
    with_ai_masks = [a["path"] for a in applied if any(
        m.get("What") == "Mask/Image" for c in a["settings"].get("MaskGroupBasedCorrections", [])
        for m in c.get("CorrectionMasks", []))]
    assert lr.ai_updates == with_ai_masks
    message = closing(lr)
    assert message["message"] == "AI Retouch: 3 photos retouched"
    scope = lr.scopes[0]
    assert scope["portions"][-1] == [3, 3] and scope["finished"]
    assert [c.split(": ", 1)[1] for c in scope["captions"]] == [f"{p.name} ({i} of 3)"
                                                                for i, p in enumerate(chosen, 1)]


def test_instruction_and_strength_reach_the_server(lightroom, bridge, sample_photos):
    lr = lightroom
    photo = lr.add_photo(sample_photos[0])
    retouch(lr, [photo], instruction="  brighter faces, calmer sky  ", strength=150)
    body = lr.posted("/v1/plan")[0]
    assert body["instruction"] == "brighter faces, calmer sky"
    assert body["strength"] == 1.5
    status, reference = bridge.call("POST", "/v1/plan", body)
    assert status == 200
    assert lr.applied[0]["settings"] == as_lua_holds(reference["settings"])
    assert lr.prefs["lastStrength"] == 150 and lr.prefs["lastInstruction"] == "brighter faces, calmer sky"


def test_cancel_after_the_first_photo_leaves_the_rest_untouched(lightroom, bridge, sample_photos):
    lr = lightroom
    photos = [lr.add_photo(p) for p in sample_photos[:3]]
    before = [lr.develop_settings(p) for p in photos]
    lr.cancel_after(1)
    retouch(lr, photos)

    assert [a["path"] for a in lr.applied] == [str(sample_photos[0])]
    assert len(lr.posted("/v1/plan")) == 1  # no request for the photos after Cancel
    for photo, settings in zip(photos[1:], before[1:]):
        assert lr.history(photo) == ["Import"]
        assert lr.develop_settings(photo) == settings
    message = closing(lr)
    assert message["message"] == "AI Retouch cancelled: 1 photo retouched, 2 not processed"


def test_chunks_of_photos_are_written_in_separate_short_catalog_writes(lightroom, bridge, sample_photos):
    lr = lightroom
    lr.set_prefs(chunkSize=2)
    photos = [lr.add_photo(sample_photos[0]) for _ in range(5)]
    retouch(lr, photos)
    assert [w["count"] for w in lr.writes] == [2, 2, 1]
    assert all(lr.history(p) == ["Import", "AI Retouch"] for p in photos)
    assert closing(lr)["message"] == "AI Retouch: 5 photos retouched"


def test_the_server_stopping_mid_batch_stops_with_one_dialog_and_keeps_finished_photos(lightroom, bridge,
                                                                                        sample_photos):
    lr = lightroom
    photos = [lr.add_photo(p) for p in sample_photos[:3]]
    stopped = []

    def stop_server(scope, done, total):
        if done == 1 and not stopped:
            bridge.stop()
            stopped.append(True)
    lr.sdk.onProgress = stop_server
    retouch(lr, photos)
    assert [a["path"] for a in lr.applied] == [str(sample_photos[0])]
    message = closing(lr)
    assert message["message"] == "AI Retouch stopped: 1 photo retouched, 2 not processed"
    assert "not running" in message["info"]


def test_sidecar_mode_writes_sidecars_and_changes_nothing_in_the_catalog(lightroom, bridge, sample_photos,
                                                                         tmp_path):
    lr = lightroom
    copies = []
    for p in sample_photos[:2]:
        copies.append(tmp_path / p.name)
        shutil.copy2(p, copies[-1])
    photos = [lr.add_photo(p) for p in copies]
    retouch(lr, photos, mode="sidecar")
    assert lr.applied == [] and lr.writes == []
    assert len(lr.posted("/v1/sidecar")) == 2 and lr.posted("/v1/plan") == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".xmp")  # sidecars beside the copies
    message = closing(lr)
    assert message["message"] == "AI Retouch: 2 photos with a sidecar written"
    assert "Read Metadata from Files" in message["info"]


def test_sidecar_mode_with_a_strength_plans_first_then_writes_that_plan(lightroom, bridge, sample_photos,
                                                                        tmp_path):
    lr = lightroom
    copy = tmp_path / sample_photos[0].name
    shutil.copy2(sample_photos[0], copy)
    retouch(lr, [lr.add_photo(copy)], mode="sidecar", strength=50)
    assert lr.posted("/v1/plan")[0]["strength"] == 0.5
    assert "plan" in lr.posted("/v1/sidecar")[0]
    assert lr.applied == []


def test_formats_the_server_cannot_read_go_with_a_lightroom_preview(lightroom, bridge, sample_photos,
                                                                    tmp_path):
    lr = lightroom
    psd = tmp_path / "layered.psd"
    shutil.copy2(sample_photos[0], psd)  # Lightroom renders it; the server gets the JPEG preview
    retouch(lr, [lr.add_photo(psd, file_format="PSD")])
    body = lr.posted("/v1/plan")[0]
    assert body["photo"]["preview"] and body["photo"]["path"] == str(psd)
    assert len(lr.applied) == 1


# -- failures: one clear dialog, nothing changed -------------------------------------------------------------
def test_server_not_running_says_so_in_one_dialog_and_changes_nothing(offline_lightroom, sample_photos):
    lr = offline_lightroom
    photos = [lr.add_photo(p) for p in sample_photos[:3]]
    lr.select(photos)
    lr.run_menu("RetouchAction.lua")
    assert lr.uncaught == []
    assert len(lr.dialogs) == 1  # not even the options dialog
    message = lr.dialogs[0]
    assert message["kind"] == "message" and message["message"] == "AI Retouch"
    assert "not running" in message["info"] and "Start server" in message["info"]
    assert lr.applied == [] and lr.writes == []
    assert [m for m, _, _ in lr.requests] == ["GET"]
    assert all(lr.history(p) == ["Import"] for p in photos)


def test_a_refused_token_says_so_in_one_dialog_and_changes_nothing(lightroom, sample_photos):
    lr = lightroom
    lr.set_prefs(token="not-the-token")
    photos = [lr.add_photo(p) for p in sample_photos[:2]]
    retouch(lr, photos)
    message = closing(lr)
    assert message["message"] == "AI Retouch stopped: 0 photos retouched, 2 not processed"
    assert "refused the plug-in's access token" in message["info"]
    assert lr.applied == [] and len(lr.posted("/v1/plan")) == 1


def test_no_token_file_says_where_it_looked(lightroom, bridge, sample_photos):
    bridge.token_file.unlink()
    lr = lightroom
    lr.select([lr.add_photo(sample_photos[0])])
    lr.run_menu("RetouchAction.lua")
    assert len(lr.dialogs) == 1
    info = lr.dialogs[0]["info"]
    assert "No access token" in info and str(bridge.token_file) in info
    assert lr.applied == []


def test_cancelling_the_options_dialog_sends_nothing(lightroom, sample_photos):
    lr = lightroom
    lr.select([lr.add_photo(sample_photos[0])])
    lr.answer_dialog("cancel", instruction="whatever")
    lr.run_menu("RetouchAction.lua")
    assert [d["kind"] for d in lr.dialogs] == ["modal"]
    assert lr.posted("/v1/plan") == [] and lr.applied == []
    assert "lastInstruction" not in lr.prefs


def test_no_selection_asks_for_one(lightroom):
    lightroom.select([])
    lightroom.run_menu("RetouchAction.lua")
    assert closing(lightroom)["info"] == "Select the photos to retouch first."
    assert lightroom.requests == []


def test_videos_are_skipped_with_a_reason(lightroom, tmp_path):
    lr = lightroom
    clip = tmp_path / "clip.mov"
    clip.write_bytes(b"\x00" * 64)
    retouch(lr, [lr.add_photo(clip)])
    message = closing(lr)
    assert message["message"] == "AI Retouch: 0 photos retouched, 1 skipped"
    assert "clip.mov: skipped, videos are not retouched" in message["info"]
    assert lr.posted("/v1/plan") == []


def test_thousands_of_photos_run_to_the_end_with_a_short_summary(lightroom, tmp_path):
    """1,500 photos whose files are gone: each gets the server's own 404, nothing crashes, the summary lists
    ten reasons and counts the rest, and the progress bar reaches the end."""
    lr = lightroom
    photos = [lr.add_photo(tmp_path / f"gone/IMG_{i:05d}.CR3") for i in range(1500)]
    retouch(lr, photos)
    assert len(lr.posted("/v1/plan")) == 1500
    message = closing(lr)
    assert message["message"] == "AI Retouch: 0 photos retouched, 1500 failed"
    lines = message["info"].split("\n")
    assert len(lines) == 11 and lines[-1] == "… and 1490 more (see AIRetouch.log)."
    assert lines[0].startswith("• IMG_00000.CR3: file not found")
    assert lr.scopes[0]["portions"][-1] == [1500, 1500]
    assert lr.applied == [] and lr.writes == []
    assert lr.posted("/v1/plan")[0]["photo"]["is_raw"] is True


def test_a_server_error_for_one_photo_does_not_stop_the_others(lightroom, bridge, sample_photos, tmp_path):
    lr = lightroom
    photos = [lr.add_photo(tmp_path / "missing.jpg"), lr.add_photo(sample_photos[0])]
    retouch(lr, photos)
    assert [a["path"] for a in lr.applied] == [str(sample_photos[0])]
    message = closing(lr)
    assert message["message"] == "AI Retouch: 1 photo retouched, 1 failed"
    assert f"missing.jpg: file not found ({tmp_path / 'missing.jpg'})" in message["info"]


def test_a_busy_catalog_is_reported_per_photo(lightroom, bridge, sample_photos):
    lr = lightroom
    lr.sdk.writeBusy = True  # another write holds the catalog past our timeout
    retouch(lr, [lr.add_photo(sample_photos[0])])
    message = closing(lr)
    assert message["message"] == "AI Retouch: 0 photos retouched, 1 failed"
    assert "the catalog was busy" in message["info"]
    assert lr.applied == []


def test_the_catalog_keeps_one_id_across_runs(lightroom, sample_photos, tmp_path):
    lr = lightroom
    clip = tmp_path / "clip.mov"
    clip.write_bytes(b"")
    for _ in range(2):
        retouch(lr, [lr.add_photo(clip)])
    ids = lr.prefs["catalogIds"]
    assert list(ids) == ["/Users/me/Pictures/Lightroom/Test Catalog.lrcat"]
    assert ids[next(iter(ids))].startswith("lrc-")


def test_the_options_dialog_offers_instruction_strength_0_to_200_and_mode(lightroom, sample_photos):
    lr = lightroom
    lr.select([lr.add_photo(sample_photos[0])])
    lr.answer_dialog("cancel")
    lr.run_menu("RetouchAction.lua")
    contents = lr.dialogs[0]["_raw"][b"contents"]
    views = []

    def walk(view):
        views.append(view)
        for i in range(1, len(view) + 1):
            if hasattr(view[i], "keys"):
                walk(view[i])
    walk(contents)
    slider = next(v for v in views if v[b"viewType"] == b"slider")
    assert (slider[b"min"], slider[b"max"], slider[b"value"][b"bind"]) == (0, 200, b"strength")
    popup = next(v for v in views if v[b"viewType"] == b"popup_menu")
    assert [popup[b"items"][i][b"value"] for i in (1, 2)] == [b"apply", b"sidecar"]
    assert any(v[b"viewType"] == b"edit_field" and v[b"value"][b"bind"] == b"instruction" for v in views)


def test_a_photo_whose_settings_cannot_be_sent_fails_alone(lightroom, tmp_path):
    lr = lightroom
    broken = lr.add_photo(tmp_path / "a.jpg", settings={"CameraProfile": b"Adobe \xff"})  # not UTF-8
    gone = lr.add_photo(tmp_path / "b.jpg")
    retouch(lr, [broken, gone])
    message = closing(lr)
    assert message["message"] == "AI Retouch: 0 photos retouched, 2 failed"
    first, second = message["info"].split("\n")
    assert first == ("• a.jpg: The plug-in could not send this request (JSON: string at "
                     "$.photo.settings.CameraProfile is not valid UTF-8 (byte 7)).")
    assert second.startswith("• b.jpg: file not found")
    assert len(lr.posted("/v1/plan")) == 1
