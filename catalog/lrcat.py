"""Read a Lightroom Classic catalog (.lrcat, LR 4 to current) without ever writing to it.

The live file is only read: under a shared SQLite lock (so Lightroom cannot commit half-way through) it is
copied, with its -wal/-journal when present, into a private temporary folder; the copy is brought to a
consistent state there and then opened `?mode=ro`. A catalog that Lightroom holds (lock file, SQLite busy),
a file that is not a catalog and a damaged one each give their own typed error before anything is read.
"""
from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Iterator

from bridge_server.core.params import CURVE, ENUM, GLOBAL_BY_XMP, is_default
from bridge_server.core.paths import cache_dir, ensure

from .errors import (
    CatalogError, CatalogLockedError, CatalogNotFoundError, CorruptCatalogError, NotACatalogError,
    SettingsParseError,
)
from .luatext import decode_settings_blob, parse_lua_table

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
LIGHTROOM_EPOCH = datetime(2001, 1, 1, tzinfo=timezone.utc)  # history dateCreated counts seconds from here
REQUIRED_TABLES = ("Adobe_images", "AgLibraryFile", "AgLibraryFolder", "AgLibraryRootFolder",
                   "Adobe_imageDevelopSettings")
RAW_FORMATS = frozenset({"RAW", "DNG"})
# Containers of local corrections: any entry in them is an edit.
CORRECTION_KEYS = ("MaskGroupBasedCorrections", "GradientBasedCorrections", "CircularGradientBasedCorrections",
                   "PaintBasedCorrections", "RetouchAreas", "RetouchInfo", "RedEyeInfo")
# Global groups that a photographer sets deliberately (white balance and detail differ by camera defaults).
STYLE_GROUPS = frozenset({"basic", "tone", "presence", "hsl", "grading", "effects"})

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 5, 6, 8, 11, 14, 26


@dataclass
class CatalogImage:
    """One photo (or virtual copy) of a catalog with its current and import-time develop settings."""

    image_id: int  # Adobe_images.id_local
    uuid: str  # Adobe_images.id_global: stable, distinguishes virtual copies of one file
    path: str  # as Lightroom records it: root folder + folder + base name + extension
    relative_path: str | None  # the same, relative to the catalog's folder (for catalogs moved with photos)
    file_format: str | None  # Lightroom's own: RAW, DNG, JPG, TIFF, PSD, PNG, VIDEO...
    capture_time: datetime | None
    copy_name: str | None  # virtual copy name
    has_adjustments: float | None  # hasDevelopAdjustmentsEx
    settings_text: str | None
    settings: dict[str, Any] | None
    settings_error: str | None
    import_settings: dict[str, Any] | None = None
    import_time: datetime | None = None
    last_edit_time: datetime | None = None
    history_steps: int = 0
    digest: str | None = None  # Lightroom's digest of the current settings
    import_digest: str | None = None
    edited: bool = False
    edited_because: str = ""

    @property
    def is_raw(self) -> bool:
        if self.settings and ("Temperature" in self.settings or "IncrementalTemperature" in self.settings):
            return "Temperature" in self.settings
        return (self.file_format or "").upper() in RAW_FORMATS

    def candidate_paths(self, catalog_path: Path | None = None) -> list[Path]:
        """Where the file may be now: its recorded path, then relative to the catalog's folder."""
        out = [Path(self.path)]
        if self.relative_path and catalog_path is not None:
            rel = self.relative_path.replace("\\", "/")
            out.append(Path(catalog_path).parent / Path(*PurePosixPath(rel).parts))
        return out

    def existing_path(self, catalog_path: Path | None = None) -> Path | None:
        for candidate in self.candidate_paths(catalog_path):
            try:
                if candidate.is_file():
                    return candidate
            except OSError:
                continue
        return None


@dataclass
class CatalogInfo:
    path: Path
    name: str
    catalog_id: str | None  # Adobe_storeProviderID: made when the catalog was created, kept when it moves
    db_version: str | None
    last_path: str | None  # where Lightroom last saw the catalog file
    image_count: int
    extra_ids: dict[str, str] = field(default_factory=dict)


class LightroomCatalog:
    """A read-only snapshot of a catalog. Use as a context manager; `images()` yields `CatalogImage`s."""

    def __init__(self, path: str | Path, *, ignore_lock_file: bool = False, check_integrity: bool = True,
                 busy_timeout: float = 0.5):
        self.path = Path(path)
        self._tmp: Path | None = None
        self._conn: sqlite3.Connection | None = None
        try:
            self._open(ignore_lock_file, check_integrity, busy_timeout)
        except BaseException:
            self.close()
            raise

    # -- opening --------------------------------------------------------------------------------------
    def _open(self, ignore_lock_file: bool, check_integrity: bool, busy_timeout: float) -> None:
        path = self.path
        if not path.exists():
            raise CatalogNotFoundError("no Lightroom catalog at this path", path=str(path))
        if not path.is_file():
            raise NotACatalogError("this is a folder, not a Lightroom catalog file (.lrcat)", path=str(path))
        try:
            with path.open("rb") as fh:
                header = fh.read(100)
        except OSError as exc:
            raise CatalogError(f"cannot read the catalog ({exc.strerror or exc})", path=str(path)) from None
        if not header.startswith(SQLITE_HEADER):
            raise NotACatalogError("not a Lightroom catalog: the file is not an SQLite database "
                                   "(choose the .lrcat file itself)", path=str(path))
        lock = path.with_name(path.name + ".lock")
        if lock.exists() and not ignore_lock_file:
            raise CatalogLockedError(
                f"Lightroom has this catalog open ({lock.name} exists). Close Lightroom and try again; if "
                "Lightroom is not running, the lock file was left by a crash and can be deleted",
                path=str(path))
        self._tmp = Path(tempfile.mkdtemp(prefix="snapshot-", dir=snapshot_dir()))
        copy = self._tmp / "catalog.lrcat"
        self._copy_under_shared_lock(copy, busy_timeout)
        self._settle(copy)
        self._conn = sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        try:
            if check_integrity:
                problems = [r[0] for r in self._conn.execute("PRAGMA quick_check(5)")]
                if problems != ["ok"]:
                    raise CorruptCatalogError(
                        "the catalog is damaged (" + "; ".join(problems)[:300] + "). Open it in Lightroom, "
                        "or use a backup of it", path=str(path))
            tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise self._mapped(exc) from None
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise NotACatalogError(f"an SQLite database, but not a Lightroom catalog (no {', '.join(missing)})",
                                   path=str(path))
        self._tables = tables

    def _copy_under_shared_lock(self, copy: Path, busy_timeout: float) -> None:
        """Copy the file while holding SQLite's shared lock, so that no writer commits during the copy."""
        src = self.path
        companions = [(src.with_name(src.name + suffix), copy.with_name(copy.name + suffix))
                      for suffix in ("-wal", "-journal")]
        probe = None
        try:
            probe = sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout,
                                    isolation_level=None)
            probe.execute("BEGIN")
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            if probe is not None:
                probe.close()
                probe = None
            code = getattr(exc, "sqlite_errorcode", None)
            if code is None or (code & 0xFF) not in (_SQLITE_CANTOPEN, _SQLITE_READONLY):
                raise self._mapped(exc) from None
            # A WAL catalog without its -shm, or one with a hot journal left by a crash, cannot be read in
            # place without writing: copy it as it is and let SQLite recover the private copy.
        try:
            shutil.copyfile(src, copy)
            for live, mine in companions:
                if live.exists():
                    shutil.copyfile(live, mine)
        except OSError as exc:
            raise CatalogError(f"cannot copy the catalog to read it ({exc.strerror or exc})",
                               path=str(src)) from None
        finally:
            if probe is not None:
                try:
                    probe.execute("COMMIT")
                finally:
                    probe.close()

    def _settle(self, copy: Path) -> None:
        """On our private copy only: replay a -wal or roll back a -journal, then leave a single file."""
        if not any(copy.with_name(copy.name + s).exists() for s in ("-wal", "-journal")):
            return
        try:
            conn = sqlite3.connect(str(copy), isolation_level=None)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("PRAGMA journal_mode=DELETE")
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise self._mapped(exc) from None

    def _mapped(self, exc: sqlite3.DatabaseError) -> CatalogError:
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        where = str(self.path)
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in str(exc):
            return CatalogLockedError("the catalog is in use by another program (SQLite reports it busy). Close "
                                      "Lightroom and try again", path=where)
        if code == _SQLITE_NOTADB or "not a database" in str(exc):
            return NotACatalogError("not a Lightroom catalog: the file is not a readable SQLite database",
                                    path=where)
        if code == _SQLITE_CORRUPT or "malformed" in str(exc):
            return CorruptCatalogError("the catalog is damaged (SQLite: " + str(exc) + "). Open it in Lightroom, "
                                       "or use a backup of it", path=where)
        return CatalogError(f"cannot read the catalog (SQLite: {exc})", path=where)

    # -- queries --------------------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise CatalogError("the catalog is closed", path=str(self.path))
        return self._conn

    def _columns(self, table: str) -> set[str]:
        return {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}

    def _variable(self, name: str) -> str | None:
        if "Adobe_variablesTable" not in self._tables:
            return None
        row = self.conn.execute("SELECT value FROM Adobe_variablesTable WHERE name = ?", (name,)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def info(self) -> CatalogInfo:
        try:
            count = self.conn.execute("SELECT count(*) FROM Adobe_images").fetchone()[0]
            extra = {}
            if "Adobe_variablesTable" in self._tables:
                row = self.conn.execute("SELECT id_global FROM Adobe_variablesTable WHERE name = "
                                        "'Adobe_entityIDCounter'").fetchone()
                if row and row[0]:
                    extra["entity_counter_uuid"] = str(row[0])
            return CatalogInfo(path=self.path, name=self.path.stem, catalog_id=self._variable("Adobe_storeProviderID"),
                               db_version=self._variable("Adobe_DBVersion"),
                               last_path=self._variable("Adobe_lastScannedCatalogPath"), image_count=count,
                               extra_ids=extra)
        except sqlite3.DatabaseError as exc:
            raise self._mapped(exc) from None

    def image_count(self) -> int:
        return self.info().image_count

    def images(self) -> Iterator[CatalogImage]:
        """Every image (virtual copies included), ordered by id, with parsed settings where readable."""
        dev_cols = self._columns("Adobe_imageDevelopSettings")
        has_ex = "hasDevelopAdjustmentsEx" in dev_cols
        root_cols = self._columns("AgLibraryRootFolder")
        rel = "r.relativePathFromCatalog" if "relativePathFromCatalog" in root_cols else "NULL"
        history = "Adobe_libraryImageDevelopHistoryStep" in self._tables
        sql = f"""
            WITH current AS (
                SELECT i.id_local AS image_id,
                       coalesce((SELECT d1.id_local FROM Adobe_imageDevelopSettings d1
                                 WHERE d1.id_local = i.developSettingsIDCache AND d1.image = i.id_local),
                                (SELECT max(d2.id_local) FROM Adobe_imageDevelopSettings d2
                                 WHERE d2.image = i.id_local)) AS dev
                FROM Adobe_images i)
            SELECT i.id_local AS image_id, i.id_global AS uuid, i.fileFormat AS file_format,
                   i.captureTime AS capture_time, i.copyName AS copy_name,
                   r.absolutePath AS root, {rel} AS root_rel, fo.pathFromRoot AS folder,
                   f.baseName AS base, f.extension AS ext,
                   ds.text AS text, {"ds.digest" if "digest" in dev_cols else "NULL"} AS digest,
                   {"ds.hasDevelopAdjustmentsEx" if has_ex else "NULL"} AS has_ex
            FROM Adobe_images i
            JOIN current c ON c.image_id = i.id_local
            JOIN AgLibraryFile f ON f.id_local = i.rootFile
            JOIN AgLibraryFolder fo ON fo.id_local = f.folder
            JOIN AgLibraryRootFolder r ON r.id_local = fo.rootFolder
            LEFT JOIN Adobe_imageDevelopSettings ds ON ds.id_local = c.dev
            ORDER BY i.id_local"""
        try:
            rows = self.conn.execute(sql)
            for row in rows:
                yield self._image(row, history)
        except sqlite3.DatabaseError as exc:
            raise self._mapped(exc) from None

    def _image(self, row: sqlite3.Row, history: bool) -> CatalogImage:
        name = f"{row['base'] or ''}.{row['ext']}" if row["ext"] else (row["base"] or "")
        folder = row["folder"] or ""
        path = _join(row["root"] or "", folder, name)
        relative = _join(row["root_rel"], folder, name) if row["root_rel"] else None
        text, settings, error = None, None, None
        try:
            text = decode_settings_blob(row["text"])
            settings = parse_lua_table(text) if text else None
            if not text:
                error = "no develop settings"
        except SettingsParseError as exc:
            error = exc.message
        image = CatalogImage(
            image_id=int(row["image_id"]), uuid=str(row["uuid"]), path=path, relative_path=relative,
            file_format=row["file_format"], capture_time=_capture_time(row["capture_time"]),
            copy_name=row["copy_name"], has_adjustments=_float(row["has_ex"]), settings_text=text,
            settings=settings, settings_error=error, digest=row["digest"])
        if history:
            self._history(image)
        image.edited, image.edited_because = _edited(image)
        return image

    def _history(self, image: CatalogImage) -> None:
        steps = self.conn.execute(
            "SELECT count(*), min(dateCreated), max(dateCreated) FROM Adobe_libraryImageDevelopHistoryStep "
            "WHERE image = ?", (image.image_id,)).fetchone()
        image.history_steps = int(steps[0] or 0)
        if not image.history_steps:
            return
        image.import_time, image.last_edit_time = _lr_time(steps[1]), _lr_time(steps[2])
        first = self.conn.execute(
            "SELECT text, digest FROM Adobe_libraryImageDevelopHistoryStep WHERE image = ? "
            "ORDER BY dateCreated, id_local LIMIT 1", (image.image_id,)).fetchone()
        image.import_digest = first[1]
        try:
            text = decode_settings_blob(first[0])
            image.import_settings = parse_lua_table(text) if text else None
        except SettingsParseError as exc:
            log.info("%s: import settings unreadable: %s", image.path, exc.message)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> "LightroomCatalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def snapshot_dir() -> Path:
    """Where private catalog copies are made: the cache folder (catalogs can be gigabytes, /tmp may be
    memory). Copies left by a process that died more than a week ago are removed."""
    root = ensure(cache_dir() / "lrcat-snapshots")
    cutoff = time.time() - 7 * 86400
    for old in root.glob("snapshot-*"):
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
    return root


def open_catalog(path: str | Path, **kwargs) -> LightroomCatalog:
    return LightroomCatalog(path, **kwargs)


def modelled_settings(settings: dict | None) -> dict[str, Any]:
    """The part of a settings table that matters for style: parameter-table globals and local corrections."""
    if not settings:
        return {}
    out = {k: v for k, v in settings.items() if k in GLOBAL_BY_XMP}
    for key in CORRECTION_KEYS:
        if settings.get(key):
            out[key] = settings[key]
    return out


def _edited(image: CatalogImage) -> tuple[bool, str]:
    if image.has_adjustments is not None and image.has_adjustments > 0:
        return True, "Lightroom marks it as adjusted"
    if image.settings is None:
        return False, "no readable settings"
    current = modelled_settings(image.settings)
    if image.import_settings is not None:
        before = modelled_settings(image.import_settings)
        changed = sorted(k for k in set(current) | set(before) if _differs(k, current, before))
        if changed:
            return True, "changed since import: " + ", ".join(changed[:5])
        return False, "same settings as at import"
    changed = []
    for key, value in current.items():
        p = GLOBAL_BY_XMP.get(key)
        if p is None:
            changed.append(key)  # a correction container with entries
        elif p.group in STYLE_GROUPS and p.kind not in (ENUM, CURVE) and p.default is not None:
            try:
                if not is_default(p, value):
                    changed.append(key)
            except (TypeError, ValueError):
                continue
    if changed:
        return True, "differs from Lightroom's defaults: " + ", ".join(sorted(changed)[:5])
    return False, "default settings"


def _differs(key: str, current: dict, before: dict) -> bool:
    """A setting changed. One missing on a side counts as its default; one without a default (the as-shot
    Temperature/Tint Lightroom fills in after import) only counts when both sides have it."""
    if key in current and key in before:
        return current[key] != before[key]
    p = GLOBAL_BY_XMP.get(key)
    if p is None:
        return True  # a correction container appeared or vanished
    if p.default is None:
        return False
    value = current.get(key, before.get(key))
    try:
        return not is_default(p, value)
    except (TypeError, ValueError):
        return True


def _join(root: str, folder: str, name: str) -> str:
    root = root or ""
    if root and not root.endswith(("/", "\\")):
        root += "/"
    return f"{root}{folder or ''}{name}"


def _capture_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    for candidate in (text, text.replace("Z", "+00:00")):
        try:
            return datetime.fromisoformat(candidate)
        except ValueError:
            continue
    try:
        return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None


def _lr_time(value: Any) -> datetime | None:
    number = _float(value)
    if number is None:
        return None
    try:
        return LIGHTROOM_EPOCH + timedelta(seconds=number)
    except OverflowError:
        return None


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def is_windows_path(path: str) -> bool:
    return bool(PureWindowsPath(path).drive)
