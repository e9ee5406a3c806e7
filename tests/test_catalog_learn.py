"""Learning from a Lightroom catalog: which photos become events, what is skipped, and bad catalogs."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

from bridge_server.core.errors import DecodeError
from bridge_server.core.plan import RetouchPlan
from catalog.errors import CatalogLockedError, CorruptCatalogError, NotACatalogError
from catalog.learn import learn_catalog_file, learn_from_catalog
from catalog.lrcat import LightroomCatalog
from catalog.luatext import parse_lua_table
from catalog.memory import StyleMemory
from catalog.store import CatalogStore, MemoryStores
from test_catalog_support import compressed, copy_catalog, develop_text, lua_literal, point_photos_at, set_develop

FACE_MASK = [{"What": "Correction", "CorrectionAmount": 1, "CorrectionActive": True, "LocalExposure2012": 0.1,
              "CorrectionMasks": [{"What": "Mask/Image", "MaskSubType": 3, "MaskSubCategoryID": 2}]}]


def propose(path: Path):
    """A small stand-in for analyse + predict: reads the real file, derives a scene from its pixels."""
    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB").resize((64, 64)), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as exc:
        raise DecodeError(f"cannot decode ({exc})", path=str(path)) from None
    means = rgb.reshape(-1, 3).mean(axis=0)
    plan = RetouchPlan.build({"Exposure2012": round(float(0.5 - means.mean()), 2)},
                             [{"region": "face_skin", "values": {"Exposure2012": 0.1}}])
    return plan, [float(v) for v in means] + [float(rgb.std())], ["indoor"]


def photo_of(lrcat: Path, image_id: int) -> Path:
    with LightroomCatalog(lrcat) as catalog:
        return Path(next(im.path for im in catalog.images() if im.image_id == image_id))


def edited(text: str, **changes) -> str:
    table = parse_lua_table(text)
    table.update(changes)
    return "s = " + lua_literal(table)


@pytest.fixture
def lrcat(shared_data, tmp_path):
    """A catalog derived from the real LR5 one, its photos placed in a folder:
    21 edited (compressed BLOB), 40 edited (plain text) but its file does not decode,
    63 edited but its file is missing, 78 not edited."""
    path = copy_catalog(shared_data, tmp_path, "Learn.lrcat")
    photos = shared_data / "photos"
    files = point_photos_at(path, tmp_path / "photos", {21: photos / "portrait_headshot.jpg",
                                                      40: photos / "two_women_indoor.jpg",
                                                      63: tmp_path / "absent.jpg",
                                                      78: photos / "costume_group.jpg"})
    files[40].write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    set_develop(path, 21, compressed(edited(develop_text(path, 21), Exposure2012=0.65, Contrast2012=12,
                                            WhiteBalance="Custom", Temperature=3400,
                                            MaskGroupBasedCorrections=FACE_MASK)))
    set_develop(path, 40, edited(develop_text(path, 40), Exposure2012=-0.3))
    set_develop(path, 63, edited(develop_text(path, 63), Vibrance=25))
    return path


def test_learns_edited_readable_photos_and_counts_the_rest(lrcat, tmp_path):
    store = CatalogStore(tmp_path / "memory.sqlite")
    seen = []
    summary = learn_from_catalog(lrcat, store, propose, progress=lambda i, n, p: seen.append((i, n, p)))
    assert (summary.read, summary.learned) == (4, 1)
    assert summary.skipped == {"decode_failed": 1, "file_missing": 1, "not_edited": 1}
    assert summary.catalog_id == "15484F94-CB1B-4B9A-B150-D8652ECCA148"
    assert [s[:2] for s in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert {e["reason"] for e in summary.errors} == {"decode_failed", "file_missing"}
    [event] = store.events()
    assert event.source == "lrcat" and event.photo_key == "50025F26-FBAA-4EE4-9C13-1A6D6AA65C83"
    assert event.photo_path == str(photo_of(lrcat, 21))
    assert event.final.global_["Exposure2012"] == 0.65 and event.final.global_["Contrast2012"] == 12
    assert event.final.global_["Temperature"] == 3400
    assert event.final.region_edits("face_skin")[0].values["Exposure2012"] == pytest.approx(0.4)
    expected_plan, vector, tags = propose(Path(event.photo_path))
    assert event.scene_vector == pytest.approx(vector) and event.scene_tags == tags
    assert event.proposed.global_["Exposure2012"] == expected_plan.global_["Exposure2012"]
    # Globals our proposal left alone are what Lightroom had at import, so they are no "habit".
    # Lightroom fills the as-shot white balance in after import: with no earlier value, no offset is made up.
    assert "Temperature" not in event.proposed.global_
    assert event.proposed.global_["Sharpness"] == event.final.global_["Sharpness"] == 25
    assert event.time == pytest.approx(LightroomCatalog(lrcat).images().__next__().last_edit_time.timestamp())
    store.close()


def test_learning_twice_adds_nothing_and_a_re_edit_replaces(lrcat, tmp_path):
    store = CatalogStore(tmp_path / "memory.sqlite")
    learn_from_catalog(lrcat, store, propose)
    again = learn_from_catalog(lrcat, store, propose)
    assert again.learned == 0 and again.skipped["already_learned"] == 1
    with LightroomCatalog(lrcat) as catalog:
        text = next(im.settings_text for im in catalog.images() if im.image_id == 21)
    set_develop(lrcat, 21, edited(text, Exposure2012=0.9))  # re-edited, now stored as plain text
    third = learn_from_catalog(lrcat, store, propose)
    assert third.learned == 1 and store.event_count() == 1
    assert store.events()[0].final.global_["Exposure2012"] == 0.9
    store.close()


def test_unreadable_settings_and_failing_analysis_are_skipped_with_reasons(lrcat, tmp_path):
    set_develop(lrcat, 78, "s = { Exposure2012 = dofile('x') }")
    store = CatalogStore(tmp_path / "memory.sqlite")

    def flaky(path):
        raise ValueError("model exploded")

    summary = learn_from_catalog(lrcat, store, flaky)
    assert summary.skipped == {"analysis_failed": 2, "file_missing": 1, "unreadable_settings": 1}
    assert summary.learned == 0
    assert any("model exploded" in e["message"] for e in summary.errors)
    assert store.event_count() == 0
    store.close()


def test_cancel_stops_and_keeps_what_was_learned(lrcat, tmp_path):
    store = CatalogStore(tmp_path / "memory.sqlite")
    calls = []
    summary = learn_from_catalog(lrcat, store, propose, cancel=lambda: calls.append(1) or len(calls) > 1)
    assert summary.cancelled and summary.read == 2 and summary.learned == 1
    assert store.event_count() == 1
    store.close()


def test_photos_moved_with_the_catalog_are_found_beside_it(lrcat, tmp_path):
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copytree(tmp_path / "photos", moved / "photos")
    shutil.copyfile(lrcat, moved / "Learn.lrcat")
    shutil.rmtree(tmp_path / "photos")
    store = CatalogStore(tmp_path / "memory.sqlite")
    summary = learn_from_catalog(moved / "Learn.lrcat", store, propose)
    assert summary.learned == 1
    recorded = photo_of(moved / "Learn.lrcat", 21)  # the catalog still names the old, gone folder
    assert not recorded.exists()
    assert store.events()[0].photo_path == str(moved / recorded.relative_to(tmp_path))
    store.close()


@pytest.mark.parametrize("damage", ["lock_file", "exclusive", "garbage", "truncated"])
def test_bad_catalog_raises_and_writes_nothing(lrcat, tmp_path, damage):
    store = CatalogStore(tmp_path / "memory.sqlite")
    revision = store.revision()
    holder = None
    expected = {"lock_file": CatalogLockedError, "exclusive": CatalogLockedError, "garbage": NotACatalogError,
                "truncated": CorruptCatalogError}[damage]
    if damage == "lock_file":
        lrcat.with_name(lrcat.name + ".lock").write_text("")
    elif damage == "exclusive":
        holder = sqlite3.connect(lrcat, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    elif damage == "garbage":
        lrcat.write_bytes(bytes(range(256)) * 64)
    else:
        lrcat.write_bytes(lrcat.read_bytes()[:300_000])
    try:
        with pytest.raises(expected):
            learn_from_catalog(lrcat, store, propose)
    finally:
        if holder is not None:
            holder.execute("ROLLBACK")
            holder.close()
    assert store.event_count() == 0 and store.revision() == revision
    store.close()


def test_learning_a_locked_catalog_file_creates_no_memory(lrcat, tmp_path):
    lrcat.with_name(lrcat.name + ".lock").write_text("")
    root = tmp_path / "stores"
    stores = MemoryStores(root)
    with pytest.raises(CatalogLockedError):
        learn_catalog_file(lrcat, propose, stores=stores)
    assert stores.list() == [] and list(root.glob("catalog-*")) == []
    stores.close()


def test_catalog_file_keeps_its_memory_when_moved_and_the_plugin_adopts_it(lrcat, tmp_path):
    stores = MemoryStores(tmp_path / "stores")
    store, summary = learn_catalog_file(lrcat, propose, stores=stores)
    assert summary.learned == 1
    moved = tmp_path / "elsewhere" / "Renamed.lrcat"
    moved.parent.mkdir()
    shutil.move(lrcat, moved)
    again, summary = learn_catalog_file(moved, propose, stores=stores)
    assert again.path == store.path and summary.skipped.get("already_learned") == 1
    # The plugin then names the catalog by its own id and the new path: same memory, now keyed by that id.
    memory = StyleMemory.for_catalog({"id": "PLUGIN-ID-1", "path": str(moved)}, stores=stores)
    assert memory.store.path == store.path and len(memory) == 1
    assert stores.open("PLUGIN-ID-1").path == store.path
    stores.close()


def test_learned_catalog_shifts_the_next_plan(lrcat, tmp_path):
    store = CatalogStore(tmp_path / "memory.sqlite")
    learn_from_catalog(lrcat, store, propose)
    memory = StyleMemory(store)
    plan, vector, tags = propose(photo_of(lrcat, 21))
    result = memory.adjust(plan, vector, tags)
    assert result.plan.global_["Exposure2012"] > plan.global_["Exposure2012"]
    assert result.plan.region_edits("face_skin")[0].values["Exposure2012"] > 0.1
    assert "your 1 indoor photo" in result.note
    store.close()
