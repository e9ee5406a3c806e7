"""Reading Lightroom catalogs: the real LR5 catalog, catalogs derived from it, and files we must refuse."""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from catalog.errors import CatalogLockedError, CatalogNotFoundError, CorruptCatalogError, NotACatalogError
from catalog.lrcat import LightroomCatalog
from catalog.luatext import parse_lua_table
from test_catalog_support import LR5, compressed, copy_catalog, develop_text, lua_literal, set_develop

PATH_SQL = """
    SELECT i.id_local, r.absolutePath || fo.pathFromRoot || f.baseName || '.' || f.extension, i.fileFormat,
           i.captureTime
    FROM Adobe_images i JOIN AgLibraryFile f ON f.id_local = i.rootFile
    JOIN AgLibraryFolder fo ON fo.id_local = f.folder JOIN AgLibraryRootFolder r ON r.id_local = fo.rootFolder
    ORDER BY i.id_local"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sqlite_rows(path: Path, sql: str, args=()):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_real_lr5_catalog_lists_what_sqlite_sees(shared_data):
    live = shared_data / LR5
    before = digest(live)
    expected = sqlite_rows(live, PATH_SQL)
    texts = dict(sqlite_rows(live, "SELECT image, text FROM Adobe_imageDevelopSettings"))
    store_id = sqlite_rows(live, "SELECT value FROM Adobe_variablesTable WHERE name = 'Adobe_storeProviderID'")
    with LightroomCatalog(live) as catalog:
        info = catalog.info()
        images = list(catalog.images())
    assert info.image_count == len(expected) == 4
    assert info.catalog_id == store_id[0][0]
    assert info.db_version == "0500006"
    assert [(im.image_id, im.path, im.file_format) for im in images] == [(r[0], r[1], r[2]) for r in expected]
    assert images[0].path == "/Users/maxmouchet/Pictures/2013/12-01 (MO) Pre-party Phoelix/_MAX7667.NEF"
    assert [im.capture_time.isoformat(timespec="seconds") for im in images] == [r[3][:19] for r in expected]
    for im in images:
        assert im.settings == parse_lua_table(texts[im.image_id])
        assert im.settings["ProcessVersion"] == "6.7"
        assert im.import_settings is not None and im.history_steps == 1
        assert im.import_time.year == 2013  # history dates count from 2001-01-01
    assert [im.is_raw for im in images] == [True, True, False, False]
    assert images[0].settings["Temperature"] == 2900
    # Import-only photos (hasDevelopAdjustmentsEx = -1, settings as imported) are not edits.
    assert not any(im.edited for im in images)
    assert digest(live) == before  # the live catalog is never written
    assert not live.with_name(live.name + "-wal").exists()


def test_catalog_snapshot_lives_in_the_cache_and_is_removed_at_close(shared_data):
    from bridge_server.core.paths import cache_dir
    stale = cache_dir() / "lrcat-snapshots" / "snapshot-left-by-a-crash"
    stale.mkdir(parents=True)
    os.utime(stale, (0, 0))
    catalog = LightroomCatalog(shared_data / LR5)
    tmp = catalog._tmp
    assert tmp.parent == cache_dir() / "lrcat-snapshots" and (tmp / "catalog.lrcat").is_file()
    assert not stale.exists()  # a leftover from long ago is cleaned up
    catalog.close()
    assert not tmp.exists()


def edited_settings(original: str, **changes) -> str:
    table = parse_lua_table(original)
    table.update(changes)
    return "s = " + lua_literal(table)


FACE_MASK = [{"What": "Correction", "CorrectionAmount": 1, "CorrectionActive": True,
              "LocalExposure2012": 0.1, "LocalTemperature": 0.15,
              "CorrectionMasks": [{"What": "Mask/Image", "MaskSubType": 3, "MaskSubCategoryID": 2}]}]


@pytest.mark.parametrize("form", ["plain", "compressed"])
def test_edited_settings_are_read_plain_and_compressed(shared_data, tmp_path, form):
    path = copy_catalog(shared_data, tmp_path)
    text = edited_settings(develop_text(path, 63), Exposure2012=0.65, Contrast2012=18,
                           MaskGroupBasedCorrections=FACE_MASK)
    set_develop(path, 63, text if form == "plain" else compressed(text))
    with LightroomCatalog(path) as catalog:
        images = {im.image_id: im for im in catalog.images()}
    edited = images[63]
    assert edited.settings["Exposure2012"] == 0.65 and edited.settings["Contrast2012"] == 18
    assert edited.settings["MaskGroupBasedCorrections"][0]["CorrectionMasks"][0]["MaskSubCategoryID"] == 2
    assert edited.edited
    assert edited.import_settings["Exposure2012"] == 0  # the first history step: settings at import
    assert [i for i, im in images.items() if im.edited] == [63]


def test_edit_detected_from_settings_even_without_lightrooms_flag(shared_data, tmp_path):
    path = copy_catalog(shared_data, tmp_path)
    set_develop(path, 21, edited_settings(develop_text(path, 21), Shadows2012=35), has_adjustments=-1.0)
    with LightroomCatalog(path) as catalog:
        image = next(im for im in catalog.images() if im.image_id == 21)
    assert image.edited and "Shadows2012" in image.edited_because


def test_unreadable_settings_are_reported_per_image(shared_data, tmp_path):
    path = copy_catalog(shared_data, tmp_path)
    set_develop(path, 40, "s = { Exposure2012 = os.exit() }")
    with LightroomCatalog(path) as catalog:
        images = {im.image_id: im for im in catalog.images()}
    assert images[40].settings is None and "only data" in images[40].settings_error
    assert images[21].settings is not None  # the others are still read


def test_lock_file_means_lightroom_has_it_open(shared_data, tmp_path):
    path = copy_catalog(shared_data, tmp_path, "Locked.lrcat")
    (tmp_path / "Locked.lrcat.lock").write_text("")
    with pytest.raises(CatalogLockedError) as info:
        LightroomCatalog(path)
    assert info.value.code == "catalog_locked" and "Locked.lrcat.lock" in info.value.message
    with LightroomCatalog(path, ignore_lock_file=True) as catalog:  # a stale lock can be overridden
        assert catalog.image_count() == 4


def test_exclusive_transaction_of_another_connection_is_reported_busy(shared_data, tmp_path):
    path = copy_catalog(shared_data, tmp_path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(CatalogLockedError, match="busy"):
            LightroomCatalog(path, busy_timeout=0.1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with LightroomCatalog(path) as catalog:
        assert catalog.image_count() == 4


def test_a_writer_cannot_commit_while_the_snapshot_is_copied(shared_data, tmp_path):
    """The copy is taken under SQLite's shared lock: a concurrent commit waits until it is done."""
    path = copy_catalog(shared_data, tmp_path)
    copied = threading.Event()
    release = threading.Event()
    real_copy = shutil.copyfile

    def slow_copy(src, dst, *a, **k):
        out = real_copy(src, dst, *a, **k)
        if str(src) == str(path):
            copied.set()
            release.wait(5)
        return out

    result = {}

    def writer():
        copied.wait(5)
        conn = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE Adobe_images SET rating = 5")
            conn.execute("COMMIT")
            result["committed"] = True
        except sqlite3.OperationalError as exc:
            result["error"] = str(exc)
            conn.execute("ROLLBACK")
        finally:
            conn.close()
            release.set()

    thread = threading.Thread(target=writer)
    thread.start()
    import catalog.lrcat as lrcat_module
    original = lrcat_module.shutil.copyfile
    lrcat_module.shutil.copyfile = slow_copy
    try:
        with LightroomCatalog(path) as catalog:
            ratings = [r[0] for r in catalog.conn.execute("SELECT rating FROM Adobe_images")]
    finally:
        lrcat_module.shutil.copyfile = original
        thread.join()
    assert "locked" in result.get("error", "")
    assert 5 not in ratings


def test_wal_catalog_is_read_with_its_uncheckpointed_changes(shared_data, tmp_path):
    path = copy_catalog(shared_data, tmp_path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE Adobe_images SET rating = 4 WHERE id_local = 63")
    try:
        assert path.with_name(path.name + "-wal").stat().st_size > 0
        live_wal = digest(path.with_name(path.name + "-wal"))
        with LightroomCatalog(path) as catalog:
            rating = catalog.conn.execute("SELECT rating FROM Adobe_images WHERE id_local = 63").fetchone()[0]
        assert rating == 4
        assert digest(path.with_name(path.name + "-wal")) == live_wal
    finally:
        writer.close()


def test_garbage_file_is_not_a_catalog(tmp_path):
    path = tmp_path / "garbage.lrcat"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(NotACatalogError) as info:
        LightroomCatalog(path)
    assert info.value.code == "not_a_catalog" and info.value.path == str(path)


def test_empty_file_is_not_a_catalog(tmp_path):
    path = tmp_path / "empty.lrcat"
    path.write_bytes(b"")
    with pytest.raises(NotACatalogError):
        LightroomCatalog(path)


def test_sqlite_database_without_lightroom_tables_is_not_a_catalog(tmp_path):
    path = tmp_path / "other.lrcat"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (x)")
    with pytest.raises(NotACatalogError, match="Adobe_images"):
        LightroomCatalog(path)


def test_truncated_copy_is_corrupt(shared_data, tmp_path):
    path = tmp_path / "truncated.lrcat"
    data = (shared_data / LR5).read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptCatalogError) as info:
        LightroomCatalog(path)
    assert info.value.code == "catalog_corrupt"


def test_damaged_pages_are_corrupt(shared_data, tmp_path):
    path = copy_catalog(shared_data, tmp_path)
    data = bytearray(path.read_bytes())
    page = 4096
    for n in range(3, len(data) // page, 2):  # scribble over the b-tree page headers
        data[n * page: n * page + 64] = os.urandom(64)
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptCatalogError):
        with LightroomCatalog(path) as catalog:
            list(catalog.images())


def test_missing_catalog_and_folder(tmp_path):
    with pytest.raises(CatalogNotFoundError):
        LightroomCatalog(tmp_path / "nope.lrcat")
    with pytest.raises(NotACatalogError, match="folder"):
        LightroomCatalog(tmp_path)


def test_virtual_copy_is_its_own_image_with_the_same_file(shared_data, tmp_path):
    path = copy_catalog(shared_data, tmp_path)
    with sqlite3.connect(path) as conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(Adobe_images)")]
        row = dict(zip(cols, conn.execute("SELECT * FROM Adobe_images WHERE id_local = 63").fetchone()))
        row.update(id_local=500, id_global="VIRTUAL-COPY-1", copyName="Copy 1", masterImage=63,
                   developSettingsIDCache=501)
        conn.execute(f"INSERT INTO Adobe_images ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                     [row[c] for c in cols])
        dcols = [r[1] for r in conn.execute("PRAGMA table_info(Adobe_imageDevelopSettings)")]
        drow = dict(zip(dcols, conn.execute("SELECT * FROM Adobe_imageDevelopSettings WHERE image = 63").fetchone()))
        drow.update(id_local=501, image=500, hasDevelopAdjustmentsEx=1.0,
                    text=edited_settings(drow["text"], Vibrance=40))
        conn.execute(f"INSERT INTO Adobe_imageDevelopSettings ({', '.join(dcols)}) VALUES "
                     f"({', '.join('?' * len(dcols))})", [drow[c] for c in dcols])
    with LightroomCatalog(path) as catalog:
        images = {im.image_id: im for im in catalog.images()}
    assert images[500].path == images[63].path and images[500].copy_name == "Copy 1"
    assert images[500].settings["Vibrance"] == 40 and "Vibrance" not in images[63].settings
    assert images[500].edited and not images[63].edited


def test_hot_journal_left_by_a_crash_is_rolled_back_in_the_copy_only(shared_data, tmp_path):
    live = copy_catalog(shared_data, tmp_path, "Crashed.lrcat")
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("PRAGMA cache_size=1")  # spill the half-done transaction into the file
    writer.execute("BEGIN")
    writer.execute("UPDATE Adobe_images SET rating = 9")
    writer.execute("UPDATE Adobe_imageDevelopSettings SET text = text || ' -- half written'")
    # The "crash": the file and its journal as they are mid-transaction.
    crashed = tmp_path / "crash"
    crashed.mkdir()
    shutil.copyfile(live, crashed / "Crashed.lrcat")
    shutil.copyfile(live.with_name("Crashed.lrcat-journal"), crashed / "Crashed.lrcat-journal")
    writer.execute("ROLLBACK")
    writer.close()
    files = {p.name: digest(p) for p in crashed.iterdir()}
    assert files["Crashed.lrcat"] != digest(shared_data / LR5)  # half the transaction is in the file
    with LightroomCatalog(crashed / "Crashed.lrcat") as catalog:
        ratings = [r[0] for r in catalog.conn.execute("SELECT rating FROM Adobe_images")]
        texts = [im.settings_text for im in catalog.images()]
    assert 9 not in ratings and not any("half written" in t for t in texts)
    assert {p.name: digest(p) for p in crashed.iterdir()} == files  # the journal is still there, untouched
