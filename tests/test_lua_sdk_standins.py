"""The Lightroom SDK stand-ins (tests/lrsdk) behave as the SDK documents, so that the plug-in tests mean
something: writes only inside withWriteAccessDo, no yield inside a write, network and sleeps only in tasks,
LrHttp's header and answer shapes, preferences that keep copies, strict globals."""
from __future__ import annotations

import pytest
from lupa.lua51 import LuaError

from lrsdk.fixtures import free_port
from lrsdk.harness import Lightroom, to_py


@pytest.fixture
def lr(isolated_home) -> Lightroom:
    return Lightroom(home=isolated_home)


def run_in_task(lr: Lightroom, body: str):
    """Runs Lua `body` (with `sdk`, `photo`, `catalog`, Lr* locals) in a task; returns what it reported."""
    results = []
    source = ("local sdk, report, photo = ...; local ns = sdk.namespaces; local LrTasks = ns.LrTasks; "
              "local LrHttp = ns.LrHttp; local catalog = ns.LrApplication.activeCatalog(); "
              "LrTasks.startAsyncTask(function() " + body + " end)")
    photo = lr.add_photo("/photos/a.jpg")
    lr.lua.execute(source.encode(), lr.sdk, lambda *v: results.append([to_py(x) for x in v]), photo)
    lr.run_tasks()
    return results, photo


def test_apply_develop_settings_outside_a_write_raises(lr):
    results, _ = run_in_task(lr, "report(pcall(function() "
                                 "photo:applyDevelopSettings({Exposure2012 = 1}, 'x') end))")
    ok, message = results[0]
    assert ok is False and "must be called from within catalog:withWriteAccessDo" in message


def test_apply_inside_a_write_records_one_history_step(lr):
    results, photo = run_in_task(lr, "report(catalog:withWriteAccessDo('t', function() "
                                     "photo:applyDevelopSettings({Exposure2012 = 1}, 'AI Retouch') end))")
    assert results == [["executed"]]
    assert lr.history(photo) == ["Import", "AI Retouch"]
    assert lr.develop_settings(photo)["Exposure2012"] == 1


def test_yielding_inside_a_write_raises(lr):
    results, _ = run_in_task(lr, "report(LrTasks.pcall(function() catalog:withWriteAccessDo('t', function() "
                                 "LrTasks.yield() end) end))")
    ok, message = results[0]
    assert ok is False and "Yielding is not allowed" in message


def test_writes_do_not_nest(lr):
    results, _ = run_in_task(lr, "report(LrTasks.pcall(function() catalog:withWriteAccessDo('a', function() "
                                 "catalog:withWriteAccessDo('b', function() end) end) end))")
    assert results[0][0] is False and "cannot be nested" in results[0][1]


def test_network_sleep_and_writes_need_a_task(lr):
    ns = lr.sdk.namespaces
    with pytest.raises(LuaError, match="LrHttp.get must be called from within a task"):
        ns[b"LrHttp"][b"get"](b"http://127.0.0.1:1/", lr.lua.table(), 1)
    with pytest.raises(LuaError, match="LrTasks.sleep must be called from within a task"):
        ns[b"LrTasks"][b"sleep"](1)
    catalog = ns[b"LrApplication"][b"activeCatalog"]()
    with pytest.raises(LuaError, match="withWriteAccessDo must be called from within a task"):
        catalog[b"withWriteAccessDo"](catalog, b"x", lr.lua.eval(b"function() end"))


def test_tasks_pcall_can_yield_where_lua51_pcall_cannot(lr):
    results, _ = run_in_task(lr, "report(LrTasks.pcall(function() LrTasks.sleep(1); return 'slept' end)); "
                                 "report(pcall(function() LrTasks.sleep(1) end))")
    assert results[0] == [True, "slept"]
    assert results[1][0] is False and "yield across" in results[1][1]


def test_http_headers_must_be_field_value_pairs(lr):
    results, _ = run_in_task(lr, "report(LrTasks.pcall(LrHttp.get, 'http://127.0.0.1:1/', {Accept = 'x'}))")
    assert results[0][0] is False and "array of {field=string, value=string}" in results[0][1]


def test_http_network_failure_answers_nil_and_an_error_table(lr):
    port = free_port()
    results, _ = run_in_task(lr, f"local body, headers = LrHttp.get('http://127.0.0.1:{port}/', {{}}, 2); "
                                 "report(body == nil, headers.status == nil, headers.error.errorCode)")
    assert results == [[True, True, "cannotConnectToHost"]]


def test_preferences_keep_copies_like_lightroom(lr):
    lr.lua.execute(b"local sdk = ...; local prefs = sdk.namespaces.LrPrefs.prefsForPlugin(); "
                   b"prefs.ids = {a = 1}; local t = prefs.ids; t.b = 2", lr.sdk)
    assert lr.prefs["ids"] == {"a": 1}  # changing the nested table without assigning it again is not saved
    with pytest.raises(LuaError, match="cannot hold a function"):
        lr.lua.execute(b"local sdk = ...; sdk.namespaces.LrPrefs.prefsForPlugin().f = print", lr.sdk)


def test_plugin_files_run_with_strict_globals(lr, tmp_path):
    plugin = tmp_path / "P.lrplugin"
    plugin.mkdir()
    (plugin / "Reads.lua").write_text("return undefinedThing")
    (plugin / "Writes.lua").write_text("someGlobal = 1")
    (plugin / "Libraries.lua").write_text("return type(io.open), type(os.time), type(string.format)")
    strict = Lightroom(home=tmp_path, plugin_dir=plugin)
    with pytest.raises(LuaError, match='undeclared global "undefinedThing"'):
        strict.load("Reads.lua")
    with pytest.raises(LuaError, match='assign to undeclared global "someGlobal"'):
        strict.load("Writes.lua")
    # the standard libraries Lightroom gives plug-ins (io included: plug-ins write their own files with it)
    assert strict.load("Libraries.lua") == (b"function", b"function", b"function")


def test_temp_folder_files_and_base64_follow_the_sdk(lr):
    temp = to_py(lr.lua.execute(b"local sdk = ...; return sdk.namespaces.LrPathUtils.getStandardFilePath('temp')",
                                lr.sdk))
    assert temp == str(lr.temp_dir) and lr.temp_dir.is_dir()
    ns = lr.sdk.namespaces
    files, strings = ns[b"LrFileUtils"], ns[b"LrStringUtils"]
    folder = str(lr.temp_dir / "a" / "b").encode()
    assert files[b"createAllDirectories"](folder) is True and files[b"createAllDirectories"](folder) is False
    assert strings[b"decodeBase64"](strings[b"encodeBase64"](b"\xff\xd8 jpeg")) == b"\xff\xd8 jpeg"
    (lr.temp_dir / "a" / "b" / "x.jpg").write_bytes(b"x")
    assert files[b"delete"](folder + b"/x.jpg") is True and files[b"exists"](folder + b"/x.jpg") is False
    assert files[b"delete"](folder + b"/x.jpg")[0] is False  # nothing there: false and why


def test_jpeg_thumbnail_shows_the_develop_settings_and_the_crop(lr, shared_data):
    """requestJpegThumbnail: the callback (run later, from a task) gets the JPEG of the photo as developed."""
    import io

    import numpy as np
    from PIL import Image
    source = shared_data / "photos" / "portrait_headshot.jpg"
    plain = lr.add_photo(source)
    brighter = lr.add_photo(source, settings={"Exposure2012": 1.0})
    cropped = lr.add_photo(source, settings={"Exposure2012": 1.0, "HasCrop": True, "CropLeft": 0.0,
                                             "CropRight": 0.5, "CropTop": 0.0, "CropBottom": 1.0})
    got = lr.lua.table()
    for name, photo in ((b"plain", plain), (b"brighter", brighter), (b"cropped", cropped)):
        lr.lua.execute(b"local photo, got, name = ...; local request = photo:requestJpegThumbnail(256, 256, "
                       b"function(data, err) got[name] = data end)", photo, got, name)
        assert got[name] is None  # not yet: Lightroom answers later
    lr.run_tasks()
    images = {k.decode(): Image.open(io.BytesIO(v)) for k, v in got.items()}
    assert all(im.format == "JPEG" and max(im.size) <= 256 for im in images.values())
    assert images["plain"].size == images["brighter"].size
    assert np.asarray(images["brighter"]).mean() > np.asarray(images["plain"]).mean() + 15
    w, h = images["brighter"].size
    assert abs(images["cropped"].size[0] / images["cropped"].size[1] - (w / 2) / h) < 0.05


def test_plugin_properties_must_be_declared_and_written_in_a_write(lr):
    results, photo = run_in_task(lr, "local P = {id = 'x'}; report(pcall(function() "
                                     "photo:setPropertyForPlugin(P, 'proposedPlan', 'a') end)); "
                                     "catalog:withWriteAccessDo('t', function() "
                                     "report(pcall(function() photo:setPropertyForPlugin(P, 'nope', 'a') end)); "
                                     "photo:setPropertyForPlugin(P, 'proposedPlan', '{}') end); "
                                     "report(photo:getPropertyForPlugin(P, 'proposedPlan'))")
    assert results[0][0] is False and "withWriteAccessDo" in results[0][1]
    assert results[1][0] is False and 'no metadata field "nope"' in results[1][1]
    assert results[2] == ["{}"]


def test_progress_cancel_is_seen_by_is_canceled(lr):
    lr.cancel_after(2)
    results, _ = run_in_task(lr, "local s = ns.LrProgressScope({title = 't'}); s:setPortionComplete(1, 3); "
                                 "report(s:isCanceled()); s:setPortionComplete(2, 3); report(s:isCanceled())")
    assert results == [[False], [True]]
