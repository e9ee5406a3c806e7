"""The per-catalog memory store: schema and migrations, damage recovery, catalog identity, export/import."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bridge_server.core.paths import data_dir
from bridge_server.core.plan import RetouchPlan
from catalog.errors import CatalogIdentityError, MemoryImportError, MemoryStoreError, StoreVersionError
from catalog.store import (
    MIGRATIONS, SCHEMA_VERSION, CatalogStore, FeedbackEvent, MemoryStores, Migration, normalise_path,
)


def event(key: str = "photo-1", exposure: float = 0.5, when: float = 1_700_000_000.0, **kw) -> FeedbackEvent:
    proposed = RetouchPlan.build({"Exposure2012": 0.2}, [{"region": "face_skin", "values": {"Exposure2012": 0.1}}])
    final = RetouchPlan.build({"Exposure2012": exposure}, [{"region": "face_skin", "values": {"Exposure2012": 0.3}}])
    return FeedbackEvent(photo_key=key, proposed=proposed, final=final, scene_vector=kw.pop("vector", [0.1, 0.9]),
                         scene_tags=kw.pop("tags", ["Indoor", "portrait"]), time=when, **kw)


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_new_store_has_schema_v1_in_wal_mode(tmp_path):
    store = CatalogStore(tmp_path / "c.sqlite")
    assert store.schema_version() == SCHEMA_VERSION == 1
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"schema_version", "catalog", "catalog_path", "catalog_name", "catalog_alias", "event"} <= tables(store.path)
    assert store.backups == []  # nothing to back up in a new file
    store.close()


def test_events_round_trip_and_newer_edit_of_a_photo_replaces_the_older(tmp_path):
    store = CatalogStore(tmp_path / "c.sqlite")
    store.add_event(event("p1", 0.5, when=100.0, source="lrcat", photo_path="/a/p1.jpg"))
    store.add_event(event("p2", 0.7, when=100.0))
    got = {e.photo_key: e for e in store.events()}
    assert got["p1"].final.global_["Exposure2012"] == 0.5 and got["p1"].source == "lrcat"
    assert got["p1"].scene_tags == ["indoor", "portrait"] and got["p1"].scene_vector == [0.1, 0.9]
    assert got["p1"].final.region_edits("face_skin")[0].values["Exposure2012"] == 0.3
    store.add_event(event("p1", 0.9, when=200.0))
    store.add_event(event("p1", 0.1, when=150.0))  # an older edit does not overwrite a newer one
    assert store.event_count() == 2
    assert {e.photo_key: e for e in store.events()}["p1"].final.global_["Exposure2012"] == 0.9
    store.close()


def test_batch_of_events_is_all_or_nothing(tmp_path):
    store = CatalogStore(tmp_path / "c.sqlite")
    good = event("p1")
    bad = event("p2")
    bad.source = "nowhere"  # set after validation: the table's CHECK constraint refuses it
    with pytest.raises(sqlite3.IntegrityError):
        store.add_events([good, bad])
    assert store.event_count() == 0
    store.close()


def test_invalid_feedback_is_refused_before_storage():
    with pytest.raises(Exception, match="source"):
        event(source="email")
    with pytest.raises(Exception, match="finite"):
        event(vector=[0.1, float("inf")])


def test_revision_grows_with_every_change(tmp_path):
    store = CatalogStore(tmp_path / "c.sqlite")
    r0 = store.revision()
    store.add_event(event("p1"))
    r1 = store.revision()
    store.delete_event("p1")
    assert r0 < r1 < store.revision()
    store.close()


def v2_migration(conn):
    conn.execute("ALTER TABLE event ADD COLUMN rating INTEGER")
    conn.execute("UPDATE event SET rating = 3")


def test_migration_backs_up_and_keeps_data(tmp_path):
    path = tmp_path / "c.sqlite"
    store = CatalogStore(path)
    store.add_event(event("p1", 0.5))
    store.record_identity("CAT-1", "catalog", path="/x/Cat.lrcat", name="Cat")
    store.close()
    newer = MIGRATIONS + (Migration(2, "ratings on events", v2_migration),)
    store = CatalogStore(path, migrations=newer)
    assert store.schema_version() == 2
    assert len(store.backups) == 1 and store.backups[0].exists()
    assert "v1-backup" in store.backups[0].name
    assert [e.photo_key for e in store.events()] == ["p1"]
    assert store._conn.execute("SELECT rating FROM event").fetchone()[0] == 3
    assert store.identity().catalog_id == "CAT-1"
    store.close()
    # The backup is the v1 file as it was, data included.
    backup = CatalogStore(store.backups[0])
    assert backup.schema_version() == 1 and backup.event_count() == 1
    backup.close()


@pytest.mark.parametrize("failure", ["python", "sqlite"])
def test_failed_migration_leaves_the_store_as_it_was(tmp_path, failure):
    path = tmp_path / "c.sqlite"
    store = CatalogStore(path)
    store.add_event(event("p1"))
    store.close()

    def broken(conn):
        conn.execute("ALTER TABLE event ADD COLUMN x INTEGER")
        if failure == "python":
            raise RuntimeError("migration bug")
        conn.execute("UPDATE no_such_table SET y = 1")

    expected = RuntimeError if failure == "python" else MemoryStoreError
    with pytest.raises(expected):
        CatalogStore(path, migrations=MIGRATIONS + (Migration(2, "broken", broken),))
    store = CatalogStore(path)
    assert store.recovery is None and store.schema_version() == 1 and store.event_count() == 1
    assert "x" not in {r[1] for r in store._conn.execute("PRAGMA table_info(event)")}
    assert list(tmp_path.glob("*.damaged-*")) == []
    store.close()


def test_v0_empty_file_is_initialised(tmp_path):
    path = tmp_path / "c.sqlite"
    sqlite3.connect(path).close()  # an empty SQLite file: version 0
    store = CatalogStore(path)
    assert store.schema_version() == 1 and store.recovery is None
    store.close()


def test_store_from_a_newer_version_is_left_untouched(tmp_path):
    path = tmp_path / "c.sqlite"
    CatalogStore(path, migrations=MIGRATIONS + (Migration(2, "future", ["CREATE TABLE future (x)"]),)).close()
    before = path.read_bytes()
    with pytest.raises(StoreVersionError) as info:
        CatalogStore(path)
    assert info.value.code == "memory_store_too_new"
    assert path.read_bytes() == before


def test_damaged_store_is_moved_aside_and_a_fresh_one_started(tmp_path):
    path = tmp_path / "c.sqlite"
    store = CatalogStore(path)
    store.add_event(event("p1"))
    store.close()
    data = bytearray(path.read_bytes())
    data[100:4096 * 2] = b"\xff" * (4096 * 2 - 100)
    path.write_bytes(bytes(data))
    store = CatalogStore(path)
    assert store.recovery and "damaged" in store.recovery and store.moved_aside.name in store.recovery
    assert store.moved_aside.exists() and store.moved_aside.read_bytes() == bytes(data)
    assert store.event_count() == 0 and store.schema_version() == 1
    store.close()


def test_garbage_and_foreign_files_are_kept_not_overwritten(tmp_path):
    garbage = tmp_path / "g.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    store = CatalogStore(garbage)
    assert store.moved_aside.read_bytes() == b"not a database at all" * 100
    store.close()
    foreign = tmp_path / "f.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE someone_elses (x)")
    store = CatalogStore(foreign)
    assert "not a style-memory file" in store.recovery
    assert "someone_elses" in tables(store.moved_aside)
    store.close()


# -- identity -------------------------------------------------------------------------------------------

def test_stores_live_in_the_data_folder():
    stores = MemoryStores()
    store = stores.open("CAT-1", path="/photos/Main.lrcat")
    assert store.path.parent == data_dir() / "catalogs"
    assert store.path.suffix == ".sqlite"
    stores.close()


def test_moved_catalog_keeps_its_memory(tmp_path):
    stores = MemoryStores(tmp_path)
    first = stores.open("CAT-UUID-1", path="/Users/me/Pictures/Lightroom/Main.lrcat", name="Main")
    first.add_event(event("p1"))
    moved = stores.open("CAT-UUID-1", path="/Volumes/Disk/Catalogs/Main-2024.lrcat")
    assert moved.path == first.path and moved.event_count() == 1
    # A request with only the new path, or only the old one, finds the same memory.
    assert stores.open(path="/Volumes/Disk/Catalogs/Main-2024.lrcat").path == first.path
    assert stores.open(path="/Users/me/Pictures/Lightroom/Main.lrcat").path == first.path
    ident = moved.identity()
    assert ident.catalog_id == "CAT-UUID-1"
    assert set(ident.paths) == {"/Users/me/Pictures/Lightroom/Main.lrcat", "/Volumes/Disk/Catalogs/Main-2024.lrcat"}
    assert "Main" in ident.names and "Main-2024" in ident.names
    stores.close()


def test_memory_survives_a_new_process(tmp_path):
    stores = MemoryStores(tmp_path)
    stores.open("CAT-1", path="C:\\Users\\me\\Lightroom\\Cat.lrcat").add_event(event("p1"))
    stores.close()
    again = MemoryStores(tmp_path)
    store = again.open(path="c:/users/me/lightroom/cat.lrcat")  # Windows spelling differs, same file
    assert store.identity().catalog_id == "CAT-1" and store.event_count() == 1
    again.close()


def test_different_catalogs_have_separate_memories(tmp_path):
    stores = MemoryStores(tmp_path)
    a = stores.open("CAT-A", path="/c/A.lrcat")
    b = stores.open("CAT-B", path="/c/B.lrcat")
    a.add_event(event("p1"))
    assert a.path != b.path and b.event_count() == 0
    stores.close()


def test_path_only_memory_is_adopted_by_the_first_id_for_that_path(tmp_path):
    stores = MemoryStores(tmp_path)
    provisional = stores.open(path="/c/Main.lrcat")
    provisional.add_event(event("p1"))
    assert provisional.identity().kind == "provisional"
    adopted = stores.open("CAT-NEW", path="/c/Main.lrcat")
    assert adopted.path == provisional.path and adopted.event_count() == 1
    assert adopted.identity().catalog_id == "CAT-NEW" and adopted.identity().kind == "catalog"
    assert stores.open("CAT-NEW").path == provisional.path
    stores.close()


def test_new_catalog_saved_at_an_old_path_takes_the_path_over(tmp_path):
    stores = MemoryStores(tmp_path)
    old = stores.open("CAT-OLD", path="/c/Main.lrcat")
    new = stores.open("CAT-NEWER", path="/c/Main.lrcat")
    assert new.path != old.path
    assert stores.open(path="/c/Main.lrcat").path == new.path
    assert stores.open("CAT-OLD").path == old.path
    stores.close()


def test_profiles_use_the_same_mechanism(tmp_path):
    stores = MemoryStores(tmp_path)
    weddings = stores.profile("Weddings 2024")
    weddings.add_event(event("p1"))
    assert weddings.path.name.startswith("profile-weddings-2024-")
    assert stores.open("profile:Weddings 2024").event_count() == 1
    assert stores.profile("Portraits").event_count() == 0
    with pytest.raises(CatalogIdentityError):
        stores.profile("  ")
    stores.close()


def test_request_without_id_or_path_is_refused(tmp_path):
    stores = MemoryStores(tmp_path)
    with pytest.raises(CatalogIdentityError) as info:
        stores.open()
    assert info.value.code == "catalog_identity_missing"
    assert list(tmp_path.glob("catalog-*.sqlite")) == []
    stores.close()


def test_lost_index_is_rebuilt_from_the_stores(tmp_path):
    stores = MemoryStores(tmp_path)
    stores.open("CAT-1", path="/c/Main.lrcat").add_event(event("p1"))
    stores.close()
    index = tmp_path / "index.sqlite"
    for side in (index.with_name("index.sqlite-wal"), index.with_name("index.sqlite-shm")):
        side.unlink(missing_ok=True)
    index.write_bytes(b"\x00garbage" * 512)
    again = MemoryStores(tmp_path)
    assert again.index_recovery and "rebuilt" in again.index_recovery
    assert again.find(path="/c/Main.lrcat") == again.find("CAT-1") is not None
    assert again.open(path="/c/Main.lrcat").event_count() == 1
    again.close()


def test_normalised_paths():
    assert normalise_path("C:\\Users\\Me\\Cat.lrcat") == "c:/users/me/cat.lrcat"
    assert normalise_path("/Users//me/Cat.lrcat/") == "/Users/me/Cat.lrcat"


# -- export, import, reset -------------------------------------------------------------------------------

def test_export_import_round_trip(tmp_path):
    a = CatalogStore(tmp_path / "a.sqlite")
    a.add_event(event("p1", 0.5))
    a.add_event(event("p2", 0.8, tags=["outdoor"]))
    exported = json.loads(json.dumps(a.export_json()))
    b = CatalogStore(tmp_path / "b.sqlite")
    assert b.import_json(exported) == 2
    assert [e.to_dict() for e in b.events()] == [e.to_dict() for e in a.events()]
    assert b.import_json(exported) == 0  # nothing newer: nothing changes
    a.close()
    b.close()


def test_bad_import_writes_nothing(tmp_path):
    store = CatalogStore(tmp_path / "c.sqlite")
    store.add_event(event("p0"))
    good = store.export_json()
    broken = json.loads(json.dumps(good))
    broken["events"].append({"photo_key": "p9", "time": 1.0, "proposed": {}, "final": {"global": {"Nope": 1}}})
    broken["events"][0]["photo_key"] = "p-new"
    with pytest.raises(MemoryImportError) as info:
        store.import_json(broken, replace=True)
    assert "events[1]" in info.value.field
    assert [e.photo_key for e in store.events()] == ["p0"]
    for bad in ({"format": "other"}, {"format": "airetouch-style-memory", "version": 99, "events": []},
                {"format": "airetouch-style-memory", "version": 1, "events": "x"}, [1, 2]):
        with pytest.raises(MemoryImportError):
            store.import_json(bad)
    assert store.event_count() == 1
    store.close()


def test_reset_keeps_a_json_backup_that_can_be_imported(tmp_path):
    store = CatalogStore(tmp_path / "c.sqlite")
    store.add_event(event("p1"))
    backup = store.reset()
    assert store.event_count() == 0 and backup.exists()
    assert store.import_json(json.loads(backup.read_text())) == 1
    assert store.reset(keep_backup=False) is None and store.event_count() == 0
    store.close()
