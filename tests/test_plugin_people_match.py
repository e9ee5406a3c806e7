"""Two plug-in features end to end, the plug-in's Lua code under real Lua 5.1 with the SDK stand-ins talking real
HTTP to the real bridge server on 127.0.0.1, on real photos:

* the People section of the AI Retouch dialog: the people of the active photo (GET /v1/photos/faces), each with
  a thumbnail and "As the others / Emphasise / Leave alone"; the choices go to /v1/plan as clicks for that photo;
* Match a look from the active photo…: the exemplar's original and Lightroom's rendering of it go to /v1/match,
  the other selected photos get the fitted look, one "AI Retouch: match look" history step each."""
from __future__ import annotations

import io
import json
import shutil
import urllib.parse
from pathlib import Path

import pytest
from PIL import Image

from lrsdk.fixtures import bridge, lightroom, running_bridge  # noqa: F401
from lrsdk.flows import closing, retouch
from lrsdk.harness import Lightroom, text, to_py, views_of

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

GROUP = "three_men_closeup.jpg"  # three people, found by the fallback detectors too (the test server has no models)
NO_PEOPLE = "fivek_a1629_input.jpg"  # a scene without people
MATCH_HISTORY = "AI Retouch: match look"


class DialogAnswer:
    """Answers the AI Retouch dialog as the photographer: looks at its People section while it is open (are the
    pictures there, as JPEG files?), makes the choices {person number: 'emphasise' | 'avoid'} and presses OK."""

    def __init__(self, lr: Lightroom, choices: dict[int, str] | None = None):
        self.lr, self.choices = lr, choices or {}
        self.pictures: list[dict] = []
        self.texts: list[str] = []
        self.popups: dict[str, list[str]] = {}
        self.groups: list[str] = []
        lr.sdk.modalHandler = self

    def __call__(self, title, props, contents):
        for view in views_of(contents):
            kind = view[b"viewType"]
            if kind == b"picture":
                path = Path(text(view[b"value"]))
                seen = {"path": path, "exists": path.is_file(), "format": None}
                if seen["exists"]:
                    with Image.open(io.BytesIO(path.read_bytes())) as im:
                        seen["format"], seen["size"] = im.format, im.size
                self.pictures.append(seen)
            elif kind == b"static_text":
                self.texts.append(to_py(view[b"title"]))
            elif kind == b"group_box":
                self.groups.append(to_py(view[b"title"]))
            elif kind == b"popup_menu":
                key = to_py(view[b"value"][b"bind"])
                self.popups[key] = [to_py(item[b"value"]) for item in to_py_items(view[b"items"])]
        for number, choice in self.choices.items():
            props[f"person{number}".encode()] = choice.encode()
        return b"ok"


def to_py_items(table) -> list:
    return [table[i] for i in range(1, len(table) + 1)]


def faces_requests(lr: Lightroom) -> list[str]:
    """The paths the plug-in asked GET /v1/photos/faces about."""
    out = []
    for method, url, _status in lr.requests:
        parts = urllib.parse.urlsplit(url)
        if method == "GET" and parts.path == "/v1/photos/faces":
            out.append(urllib.parse.parse_qs(parts.query)["path"][0])
    return out


def temp_files(lr: Lightroom) -> list[Path]:
    return sorted(p for p in lr.temp_dir.rglob("*") if p.is_file())


# -- People ------------------------------------------------------------------------------------------------------
def test_the_people_of_the_active_photo_are_shown_and_the_choices_pick_exactly_them(lightroom, bridge,
                                                                                    shared_data):
    lr = lightroom
    group, other = shared_data / "photos" / GROUP, shared_data / "photos" / "portrait_headshot.jpg"
    photos = [lr.add_photo(group), lr.add_photo(other)]  # the first selected is the active photo
    dialog = DialogAnswer(lr, {2: "emphasise", 1: "avoid"})
    lr.select(photos)
    lr.run_menu("RetouchAction.lua")
    assert lr.uncaught == []

    # the dialog showed the three people as JPEG thumbnails, each with the three choices
    assert faces_requests(lr) == [str(group)]  # the active photo only
    status, found = bridge.call("GET", "/v1/photos/faces?path=" + urllib.parse.quote(str(group)))
    assert status == 200 and len(found["people"]) == 3
    assert len(dialog.pictures) == 3
    assert all(p["exists"] and p["format"] == "JPEG" for p in dialog.pictures)
    assert all(p["path"].parent.parent == lr.temp_dir for p in dialog.pictures)
    assert dialog.popups["person1"] == dialog.popups["person3"] == ["same", "emphasise", "avoid"]
    assert {"Person 1", "Person 2", "Person 3"} <= set(dialog.texts)
    assert dialog.groups == [f"People in {GROUP}"]
    assert any("(the active photo) only" in t for t in dialog.texts)

    # the choices went as clicks at the face centres, with the active photo's request only
    first, second = lr.posted("/v1/plan")
    assert first["photo"]["path"] == str(group) and "clicks" not in second

    def centre(person):
        x0, y0, x1, y1 = person["face_box"] or person["box"]
        return (x0 + x1) / 2, (y0 + y1) / 2
    by_index = {p["index"]: p for p in found["people"]}
    clicks = {(c["positive"]): (c["x"], c["y"]) for c in first["clicks"]}
    assert len(first["clicks"]) == 2
    assert clicks[True] == pytest.approx(centre(by_index[1]))
    assert clicks[False] == pytest.approx(centre(by_index[0]))

    # ... and the server took them as exactly those people: the applied plan emphasises person 2, avoids person 1
    plan = json.loads(lr.plugin_property(photos[0], "proposedPlan"))
    assert plan["provenance"]["clicks"] == {"chosen": [1], "avoided": [0]}
    emphasis = [r for r in plan["regions"] if r["region"] == "person" and r.get("name", "").startswith(
        "AI Retouch: emphasis")]
    assert [r["person"] for r in emphasis] == [1]
    notes = [n["text"] for n in plan["notes"]]
    assert any(n.startswith("positive click") and "person 2 (" in n for n in notes)
    assert any(n.startswith("negative click") and "person 1 (" in n for n in notes)
    assert any(n.startswith("person 1 left alone") for n in notes)
    assert "clicks" not in json.loads(lr.plugin_property(photos[1], "proposedPlan"))["provenance"]
    assert [a["path"] for a in lr.applied] == [str(group), str(other)]
    assert closing(lr)["message"] == "AI Retouch: 2 photos retouched"

    # the thumbnails were temporary
    assert not any(p["path"].exists() for p in dialog.pictures)
    assert temp_files(lr) == []


def test_as_the_others_sends_no_clicks(lightroom, bridge, shared_data):
    lr = lightroom
    photo = lr.add_photo(shared_data / "photos" / GROUP)
    dialog = DialogAnswer(lr)  # everyone left at "As the others"
    lr.select([photo])
    lr.run_menu("RetouchAction.lua")
    assert len(dialog.pictures) == 3
    assert not any("active photo" in t for t in dialog.texts)  # one photo: nothing to say about the others
    assert "clicks" not in lr.posted("/v1/plan")[0]
    assert len(lr.applied) == 1 and temp_files(lr) == []


def test_a_photo_without_people_says_so_and_retouches_as_usual(lightroom, bridge, shared_data):
    lr = lightroom
    photo = lr.add_photo(shared_data / "photos" / NO_PEOPLE)
    dialog = DialogAnswer(lr, {1: "emphasise"})  # no such person: nothing to choose
    lr.select([photo])
    lr.run_menu("RetouchAction.lua")
    assert lr.uncaught == []
    assert dialog.pictures == [] and not any(k.startswith("person") for k in dialog.popups)
    assert f"No people found in {NO_PEOPLE}." in dialog.texts
    assert "clicks" not in lr.posted("/v1/plan")[0]
    assert closing(lr)["message"] == "AI Retouch: 1 photo retouched"


def test_when_the_faces_route_fails_the_dialog_says_why_and_the_retouch_still_works(lightroom, bridge,
                                                                                   shared_data, tmp_path):
    lr = lightroom
    moved = tmp_path / "moved_away.jpg"  # Lightroom still lists it; the file is gone: the server answers 404
    good = shared_data / "photos" / "portrait_headshot.jpg"
    dialog = DialogAnswer(lr)
    lr.select([lr.add_photo(moved), lr.add_photo(good)])
    lr.run_menu("RetouchAction.lua")
    assert lr.uncaught == []
    assert faces_requests(lr) == [str(moved)]
    assert [d["kind"] for d in lr.dialogs][0] == "modal"  # the dialog opened all the same
    assert any(t.startswith("People could not be looked for: file not found") for t in dialog.texts)
    assert dialog.pictures == []
    assert [a["path"] for a in lr.applied] == [str(good)]
    assert closing(lr)["message"] == "AI Retouch: 1 photo retouched, 1 failed"


def test_files_the_server_cannot_read_get_no_people_section(lightroom, bridge, shared_data, tmp_path):
    lr = lightroom
    psd = tmp_path / "layered.psd"  # Lightroom reads it, the server gets a preview: no people to look for
    shutil.copy2(shared_data / "photos" / GROUP, psd)
    corrupt = tmp_path / "broken.jpg"  # the server cannot decode it: 422, and still no section
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + b"not a jpeg" * 50)
    for active in (lr.add_photo(psd, file_format="PSD"), lr.add_photo(corrupt)):
        lr.sdk.dialogs = lr.lua.table()
        dialog = DialogAnswer(lr)
        lr.select([active])
        lr.run_menu("RetouchAction.lua")
        assert lr.uncaught == []
        assert dialog.groups == [] and dialog.pictures == []
    assert faces_requests(lr) == [str(corrupt)]
    assert len(lr.applied) == 1  # the PSD, planned from Lightroom's preview


# -- Match a look ------------------------------------------------------------------------------------------------
EXEMPLAR_EDIT = {"Exposure2012": 0.7, "IncrementalTemperature": 25}  # brighter and warmer
MATCH_STEPS = 25  # enough for the direction of a clear edit, in a test's time on two CPU cores


@pytest.fixture
def matching(isolated_home):
    """The real bridge with its exemplar fits capped at MATCH_STEPS steps (`[match] steps` of config.toml)."""
    with running_bridge(match_steps=MATCH_STEPS) as server:
        yield server


@pytest.fixture
def match_lightroom(isolated_home, matching) -> Lightroom:
    lr = Lightroom(os_name="mac", home=isolated_home)
    lr.set_prefs(serverUrl=matching.url)
    return lr


def match(lr: Lightroom, photos) -> None:
    lr.select(photos)
    lr.run_menu("MatchAction.lua")
    assert lr.uncaught == []


def test_match_a_look_carries_the_exemplars_edit_over_to_the_other_photos(match_lightroom, shared_data):
    lr = match_lightroom
    paths = [shared_data / "photos" / n for n in ("portrait_headshot.jpg", "three_people_outdoor.jpg",
                                                  "two_women_indoor.jpg")]
    exemplar = lr.add_photo(paths[0], settings=EXEMPLAR_EDIT)
    targets = [lr.add_photo(p) for p in paths[1:]]
    before = [lr.develop_settings(t) for t in targets]
    match(lr, [exemplar, *targets])

    # the pair: the exemplar's original and Lightroom's rendering of it (a temporary JPEG, gone afterwards)
    (body,) = lr.posted("/v1/match")
    assert body["before"]["path"] == str(paths[0]) and body["write_sidecars"] is False
    after = Path(body["after"]["path"])
    assert after.parent.parent == lr.temp_dir and after.suffix == ".jpg" and not after.exists()
    assert [t["path"] for t in body["targets"]] == [str(p) for p in paths[1:]]
    assert temp_files(lr) == []
    confirm = next(d for d in lr.dialogs if d["kind"] == "confirm")
    assert confirm["message"] == "Match the look of portrait_headshot.jpg?"

    # each target: the server's settings in one "AI Retouch: match look" step; the exemplar untouched
    assert [a["path"] for a in lr.applied] == [str(p) for p in paths[1:]]
    assert {a["historyName"] for a in lr.applied} == {MATCH_HISTORY}
    assert [w["name"] for w in lr.writes] == [MATCH_HISTORY] and lr.writes[0]["count"] == 2
    assert lr.history(exemplar) == ["Import"]
    for target, was in zip(targets, before):
        assert lr.history(target) == ["Import", MATCH_HISTORY]
        now = lr.develop_settings(target)
        assert now["Exposure2012"] > was["Exposure2012"] + 0.1  # brighter, as the exemplar
        assert now["IncrementalTemperature"] > was["IncrementalTemperature"] + 5  # and warmer
        assert json.loads(lr.plugin_property(target, "proposedPlan"))["provenance"]["exemplar"]
    message = closing(lr)
    assert message["message"] == "Match a look: 2 photos matched"
    assert "The fitted look reproduces portrait_headshot.jpg within ΔE" in message["info"]


def test_a_cropped_exemplar_stops_with_a_clear_dialog_and_changes_nothing(match_lightroom, shared_data):
    lr = match_lightroom
    cropped = {**EXEMPLAR_EDIT, "HasCrop": True, "CropLeft": 0.0, "CropTop": 0.0, "CropRight": 0.7,
               "CropBottom": 1.0}
    exemplar = lr.add_photo(shared_data / "photos" / "portrait_headshot.jpg", settings=cropped)
    target = lr.add_photo(shared_data / "photos" / "two_women_indoor.jpg")
    match(lr, [exemplar, target])
    assert len(lr.posted("/v1/match")) == 1
    assert lr.applied == [] and lr.writes == [] and lr.history(target) == ["Import"]
    message = closing(lr)
    assert message["message"] == "Match a look" and message["style"] == "warning"
    info = message["info"]
    assert info.startswith("The look of portrait_headshot.jpg cannot be matched: ")
    assert "crops or rotates" in info and "Nothing was changed." in info
    assert temp_files(lr) == []


def test_match_needs_an_exemplar_and_a_target(lightroom, shared_data):
    lr = lightroom
    match(lr, [lr.add_photo(shared_data / "photos" / "portrait_headshot.jpg", settings=EXEMPLAR_EDIT)])
    message = closing(lr)
    assert message["message"] == "Match a look"
    assert message["info"].startswith("Select the exemplar and at least one target")
    assert lr.requests == [] and lr.applied == []


def test_the_server_refuses_a_pair_that_does_not_line_up(bridge, shared_data, tmp_path):
    """POST /v1/match itself: an "after" of another size is fine, one of another shape is 422 exemplar_mismatch."""
    original = shared_data / "photos" / "portrait_headshot.jpg"
    with Image.open(original) as im:
        w, h = im.size
        im.convert("RGB").crop((0, 0, int(w * 0.8), h)).save(tmp_path / "cropped.jpg")
    status, answer = bridge.call("POST", "/v1/match", {
        "before": {"path": str(original)}, "after": {"path": str(tmp_path / "cropped.jpg")},
        "targets": [{"path": str(original)}], "write_sidecars": False})
    assert status == 422 and answer["error"]["code"] == "exemplar_mismatch"
    assert "crops or rotates" in answer["error"]["message"]


def test_exemplar_frames_may_differ_in_size_not_in_shape():
    from bridge_server.retouch.exemplar import ExemplarError
    from bridge_server.retoucher import check_exemplar_frames
    check_exemplar_frames((1000, 1500, 3), (683, 1024, 3))  # Lightroom's 1024 px preview of the same frame
    check_exemplar_frames((333, 500), (107, 160))  # a small preview: a pixel of rounding is 0.9 %
    with pytest.raises(ExemplarError, match="crops or rotates"):
        check_exemplar_frames((1000, 1500), (683, 980))  # 4 % narrower: cropped
    with pytest.raises(ExemplarError, match="the edit rotates the photo") as caught:
        check_exemplar_frames((1000, 1500), (1024, 683))  # turned a quarter
    assert caught.value.code == "exemplar_mismatch" and caught.value.http_status == 422
