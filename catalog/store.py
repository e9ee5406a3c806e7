"""Where each catalog's style memory lives: one SQLite file per catalog, found by the catalog's stable id.

`MemoryStores` is the folder `data_dir()/catalogs/`: an index (`index.sqlite`) maps catalog ids, aliases and
known catalog paths to a store key, and `<key>.sqlite` holds that catalog's memory (`CatalogStore`). Every
store also records its own identity, so the index can be rebuilt from the stores if it is ever lost.

Identity rules: the plugin sends a stable id (a catalog UUID or an id it generated and keeps in the
catalog's preferences). The same id with a new path keeps its memory (the catalog was moved or renamed);
a request with only a path maps to the id last seen with that path, or starts a provisional memory that the
first request bringing an id for that path adopts. Watch-folder profiles are ids of the form "profile:NAME".

A store opens in WAL mode, runs `PRAGMA quick_check`, and migrates its schema forward (backing the file up
first). A damaged store is moved aside, never deleted, and a fresh one is started with a clear message.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from bridge_server.core.errors import PlanError
from bridge_server.core.paths import data_dir, ensure
from bridge_server.core.plan import RetouchPlan

from .errors import CatalogIdentityError, MemoryImportError, MemoryStoreError, StoreVersionError

log = logging.getLogger(__name__)

SOURCES = ("plugin", "lrcat", "watch")
EXPORT_FORMAT = "airetouch-style-memory"
EXPORT_VERSION = 1
PROFILE_PREFIX = "profile:"
PROVISIONAL_PREFIX = "path:"

# -- schema ----------------------------------------------------------------------------------------------

_V1 = (
    """CREATE TABLE schema_version (
        version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL, description TEXT NOT NULL)""",
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE catalog (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        catalog_id TEXT NOT NULL,             -- stable id sent by the plugin, or profile:NAME, or path:...
        kind TEXT NOT NULL CHECK (kind IN ('catalog', 'profile', 'provisional')),
        created_at REAL NOT NULL)""",
    """CREATE TABLE catalog_alias (alias TEXT PRIMARY KEY, added_at REAL NOT NULL)""",
    """CREATE TABLE catalog_path (path TEXT PRIMARY KEY, first_seen REAL NOT NULL, last_seen REAL NOT NULL)""",
    """CREATE TABLE catalog_name (name TEXT PRIMARY KEY, first_seen REAL NOT NULL, last_seen REAL NOT NULL)""",
    """CREATE TABLE event (
        id INTEGER PRIMARY KEY,
        photo_key TEXT NOT NULL UNIQUE,       -- Lightroom's photo uuid, else path:<path>
        photo_path TEXT,
        created_at REAL NOT NULL,             -- when the photographer made the edit (unix seconds)
        recorded_at REAL NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('plugin', 'lrcat', 'watch')),
        scene_vector TEXT NOT NULL,           -- JSON list of floats, about 0..1 per slot
        scene_tags TEXT NOT NULL,             -- JSON list of strings
        scene_model TEXT,                     -- which scene descriptor made the vector
        proposed_plan TEXT NOT NULL,          -- JSON RetouchPlan: what we proposed
        final_plan TEXT NOT NULL,             -- JSON RetouchPlan: what the photographer kept
        final_digest TEXT NOT NULL)""",
    "CREATE INDEX event_created ON event (created_at)",
    "INSERT INTO meta (key, value) VALUES ('revision', '0')",
)


@dataclass(frozen=True)
class Migration:
    """One step of the schema: `apply` runs inside the migration's transaction."""

    version: int
    description: str
    apply: Sequence[str] | Callable[[sqlite3.Connection], None]

    def run(self, conn: sqlite3.Connection) -> None:
        if callable(self.apply):
            self.apply(conn)
        else:
            for statement in self.apply:
                conn.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "catalog identity, feedback events", _V1),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


# -- events ----------------------------------------------------------------------------------------------

@dataclass
class FeedbackEvent:
    """What the photographer kept for one photo, next to what we proposed, with the photo's scene."""

    photo_key: str
    proposed: RetouchPlan
    final: RetouchPlan
    scene_vector: list[float]
    scene_tags: list[str] = field(default_factory=list)
    source: str = "plugin"
    time: float = field(default_factory=time.time)
    photo_path: str | None = None
    scene_model: str | None = None
    id: int | None = None

    def __post_init__(self):
        if self.source not in SOURCES:
            raise MemoryStoreError(f"feedback source must be one of {', '.join(SOURCES)}, not {self.source!r}",
                                   field="source")
        if not self.photo_key:
            raise MemoryStoreError("feedback needs a photo id or path", field="photo_key")
        self.scene_vector = _vector(self.scene_vector)
        self.scene_tags = sorted({str(t).strip().lower() for t in self.scene_tags if str(t).strip()})
        if not math.isfinite(float(self.time)):
            raise MemoryStoreError("feedback time must be a finite number of seconds", field="time")

    @property
    def final_digest(self) -> str:
        return plan_digest(self.final)

    def to_dict(self) -> dict:
        return {"photo_key": self.photo_key, "photo_path": self.photo_path, "time": self.time,
                "source": self.source, "scene": {"vector": self.scene_vector, "tags": self.scene_tags,
                                                  "model": self.scene_model},
                "proposed": self.proposed.to_dict(), "final": self.final.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "FeedbackEvent":
        scene = data.get("scene") or {}
        return cls(photo_key=str(data["photo_key"]), photo_path=data.get("photo_path"),
                   time=float(data["time"]), source=data.get("source", "plugin"),
                   scene_vector=scene.get("vector") or [], scene_tags=scene.get("tags") or [],
                   scene_model=scene.get("model"), proposed=RetouchPlan.from_dict(data["proposed"]),
                   final=RetouchPlan.from_dict(data["final"]))


def photo_key(photo_id: str | None = None, path: str | Path | None = None) -> str:
    """A photo's key in the memory: Lightroom's photo uuid where known, else its normalised path."""
    if photo_id:
        return str(photo_id)
    if path:
        return PROVISIONAL_PREFIX + normalise_path(path)
    raise MemoryStoreError("feedback needs a photo id or path", field="photo_id")


def plan_digest(plan: RetouchPlan) -> str:
    data = {"global": plan.to_dict()["global"], "regions": [r.to_dict() for r in plan.regions]}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]


def normalise_path(path: str | Path) -> str:
    """One spelling per catalog path: forward slashes, no doubled separators, drive letters lower-case."""
    text = str(path).strip().replace("\\", "/")
    text = re.sub(r"(?<!^)/{2,}", "/", text)
    if re.match(r"^[A-Za-z]:/", text):
        text = text.lower()  # Windows paths are case-insensitive
    return text.rstrip("/") if len(text) > 1 else text


def _vector(values: Iterable[Any]) -> list[float]:
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        raise MemoryStoreError("a scene vector is a list of numbers", field="scene_vector") from None
    if not all(math.isfinite(v) for v in out):
        raise MemoryStoreError("a scene vector holds only finite numbers", field="scene_vector")
    return out


# -- one catalog's store --------------------------------------------------------------------------------

@dataclass
class StoreIdentity:
    catalog_id: str | None
    kind: str | None
    aliases: list[str]
    paths: list[str]
    names: list[str]

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class CatalogStore:
    """The memory of one catalog (or watch profile) in one SQLite file. Safe to share between threads."""

    def __init__(self, path: str | Path, *, migrations: Sequence[Migration] = MIGRATIONS,
                 check_integrity: bool = True, busy_timeout: float = 10.0):
        self.path = Path(path)
        self.migrations = tuple(sorted(migrations, key=lambda m: m.version))
        self.recovery: str | None = None  # set when a damaged file was moved aside at open
        self.moved_aside: Path | None = None
        self.backups: list[Path] = []
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        ensure(self.path.parent)
        self._conn = self._connect()
        problem = self._integrity_problem() if check_integrity else None
        if problem:  # only damage found by the check moves a file aside, never a failing migration
            self._move_aside(problem)
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            kept = f" (a backup is at {self.backups[-1].name})" if self.backups else ""
            raise MemoryStoreError(f"the style memory could not be brought up to date (SQLite: {exc}); it was "
                                   f"left as it was{kept}", path=str(self.path)) from None

    # -- opening ------------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=self._busy_timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError:
            pass  # a damaged file: the integrity check that follows reports it
        return conn

    def _integrity_problem(self) -> str | None:
        try:
            rows = [r[0] for r in self._conn.execute("PRAGMA quick_check(5)")]
        except sqlite3.DatabaseError as exc:
            return f"SQLite: {exc}"
        if rows != ["ok"]:
            return "integrity check: " + "; ".join(rows)[:300]
        tables = self._tables()
        if tables and "schema_version" not in tables:
            return "not a style-memory file (tables " + ", ".join(sorted(tables))[:200] + ")"
        return None

    def _tables(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _move_aside(self, problem: str) -> None:
        """Keep the damaged file (renamed, with its -wal/-shm) and start a fresh one in its place."""
        try:
            self._conn.close()
        except sqlite3.Error:
            pass
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.stem}.damaged-{stamp}{self.path.suffix}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.stem}.damaged-{stamp}-{n}{self.path.suffix}")
            n += 1
        self.path.replace(target)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.replace(target.with_name(target.name + suffix))
        self.moved_aside = target
        self.recovery = (f"the style memory file {self.path.name} was damaged ({problem}); it was kept as "
                         f"{target.name} and a fresh memory was started for this catalog")
        log.warning("%s", self.recovery)
        self._conn = self._connect()

    def schema_version(self) -> int:
        if "schema_version" not in self._tables():
            return 0
        row = self._conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _migrate(self) -> None:
        current = self.schema_version()
        latest = self.migrations[-1].version if self.migrations else 0
        if current > latest:
            self._conn.close()
            raise StoreVersionError(
                f"this style memory was written by a newer version of AI Retouch (schema {current}; this "
                f"version knows up to {latest}). Update AI Retouch; the file was left untouched",
                path=str(self.path))
        pending = [m for m in self.migrations if m.version > current]
        if not pending:
            return
        if current > 0:
            self.backups.append(self.backup(f"v{current}"))
        for migration in pending:
            with self._tx() as conn:
                migration.run(conn)
                conn.execute("INSERT INTO schema_version (version, applied_at, description) VALUES (?, ?, ?)",
                             (migration.version, _now_iso(), migration.description))
            log.info("%s: style memory schema now at version %d (%s)", self.path.name, migration.version,
                     migration.description)

    def backup(self, label: str) -> Path:
        """A consistent copy of the whole store (SQLite's backup API), next to it. Returns its path."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.stem}.{label}-backup-{stamp}{self.path.suffix}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.stem}.{label}-backup-{stamp}-{n}{self.path.suffix}")
            n += 1
        with self._lock:
            dest = sqlite3.connect(str(target))
            try:
                self._conn.backup(dest)
            finally:
                dest.close()
        return target

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _bump(self, conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")

    def revision(self) -> int:
        """Grows with every change to the events: memories cache their model per revision."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass

    def __enter__(self) -> "CatalogStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- identity ----------------------------------------------------------------------------------------
    def identity(self) -> StoreIdentity:
        with self._lock:
            row = self._conn.execute("SELECT catalog_id, kind FROM catalog WHERE id = 1").fetchone()
            aliases = [r[0] for r in self._conn.execute("SELECT alias FROM catalog_alias ORDER BY added_at")]
            paths = [r[0] for r in self._conn.execute("SELECT path FROM catalog_path ORDER BY last_seen DESC")]
            names = [r[0] for r in self._conn.execute("SELECT name FROM catalog_name ORDER BY last_seen DESC")]
        return StoreIdentity(row[0] if row else None, row[1] if row else None, aliases, paths, names)

    def record_identity(self, catalog_id: str, kind: str, *, aliases: Iterable[str] = (),
                        path: str | None = None, name: str | None = None) -> None:
        """Mirror what the index knows about this catalog into the store itself (idempotent)."""
        now = time.time()
        with self._tx() as conn:
            conn.execute("INSERT INTO catalog (id, catalog_id, kind, created_at) VALUES (1, ?, ?, ?) "
                         "ON CONFLICT(id) DO UPDATE SET catalog_id = excluded.catalog_id, kind = excluded.kind",
                         (catalog_id, kind, now))
            for alias in {catalog_id, *aliases}:
                conn.execute("INSERT OR IGNORE INTO catalog_alias (alias, added_at) VALUES (?, ?)", (alias, now))
            if path:
                conn.execute("INSERT INTO catalog_path (path, first_seen, last_seen) VALUES (?, ?, ?) "
                             "ON CONFLICT(path) DO UPDATE SET last_seen = excluded.last_seen",
                             (normalise_path(path), now, now))
            if name:
                conn.execute("INSERT INTO catalog_name (name, first_seen, last_seen) VALUES (?, ?, ?) "
                             "ON CONFLICT(name) DO UPDATE SET last_seen = excluded.last_seen", (name, now, now))

    # -- events ------------------------------------------------------------------------------------------
    def add_event(self, event: FeedbackEvent) -> int:
        """Store one piece of feedback. A newer edit of the same photo replaces the older one."""
        return self.add_events([event])[0]

    def add_events(self, events: Sequence[FeedbackEvent]) -> list[int]:
        """Store several events in one transaction: all of them, or none."""
        rows = [self._row(e) for e in events]
        ids = []
        with self._tx() as conn:
            for row in rows:
                cur = conn.execute(
                    "INSERT INTO event (photo_key, photo_path, created_at, recorded_at, source, scene_vector, "
                    "scene_tags, scene_model, proposed_plan, final_plan, final_digest) "
                    "VALUES (:photo_key, :photo_path, :created_at, :recorded_at, :source, :scene_vector, "
                    ":scene_tags, :scene_model, :proposed_plan, :final_plan, :final_digest) "
                    "ON CONFLICT(photo_key) DO UPDATE SET photo_path = excluded.photo_path, "
                    "created_at = excluded.created_at, recorded_at = excluded.recorded_at, "
                    "source = excluded.source, scene_vector = excluded.scene_vector, "
                    "scene_tags = excluded.scene_tags, scene_model = excluded.scene_model, "
                    "proposed_plan = excluded.proposed_plan, final_plan = excluded.final_plan, "
                    "final_digest = excluded.final_digest "
                    "WHERE excluded.created_at >= event.created_at RETURNING id", row)
                got = cur.fetchone()
                ids.append(int(got[0]) if got else self._id_of(conn, row["photo_key"]))
            if rows:
                self._bump(conn)
        return ids

    @staticmethod
    def _id_of(conn: sqlite3.Connection, key: str) -> int:
        return int(conn.execute("SELECT id FROM event WHERE photo_key = ?", (key,)).fetchone()[0])

    @staticmethod
    def _row(event: FeedbackEvent) -> dict:
        return {"photo_key": event.photo_key, "photo_path": event.photo_path, "created_at": float(event.time),
                "recorded_at": time.time(), "source": event.source,
                "scene_vector": json.dumps(event.scene_vector), "scene_tags": json.dumps(event.scene_tags),
                "scene_model": event.scene_model, "proposed_plan": json.dumps(event.proposed.to_dict()),
                "final_plan": json.dumps(event.final.to_dict()), "final_digest": event.final_digest}

    def events(self) -> list[FeedbackEvent]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, photo_key, photo_path, created_at, source, scene_vector, scene_tags, scene_model, "
                "proposed_plan, final_plan FROM event ORDER BY created_at, id").fetchall()
        out = []
        for row in rows:
            try:
                out.append(FeedbackEvent(
                    id=row[0], photo_key=row[1], photo_path=row[2], time=row[3], source=row[4],
                    scene_vector=json.loads(row[5]), scene_tags=json.loads(row[6]), scene_model=row[7],
                    proposed=RetouchPlan.from_dict(json.loads(row[8])),
                    final=RetouchPlan.from_dict(json.loads(row[9]))))
            except (ValueError, PlanError, MemoryStoreError) as exc:
                log.warning("%s: event %s skipped, unreadable (%s)", self.path.name, row[0], exc)
        return out

    def event_count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM event").fetchone()[0])

    def has_event(self, key: str, final_digest: str | None = None) -> bool:
        """Whether this photo is remembered (with exactly this final plan, when a digest is given)."""
        with self._lock:
            row = self._conn.execute("SELECT final_digest FROM event WHERE photo_key = ?", (key,)).fetchone()
        return row is not None and (final_digest is None or row[0] == final_digest)

    def delete_event(self, key: str) -> bool:
        with self._tx() as conn:
            gone = conn.execute("DELETE FROM event WHERE photo_key = ?", (key,)).rowcount
            if gone:
                self._bump(conn)
        return bool(gone)

    # -- export, import, reset --------------------------------------------------------------------------
    def export_json(self) -> dict:
        return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": _now_iso(),
                "catalog": self.identity().to_dict(), "events": [e.to_dict() for e in self.events()]}

    def import_json(self, data: Any, *, replace: bool = False) -> int:
        """Add the events of an export (all checked first: a bad export imports nothing). Returns the count.

        An imported edit of a photo already remembered wins only when it is newer. `replace` forgets the
        current events first (in the same transaction).
        """
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            raise MemoryImportError(f"not an AI Retouch style-memory export (format must be {EXPORT_FORMAT!r})")
        if not isinstance(data.get("version"), int) or data["version"] > EXPORT_VERSION:
            raise MemoryImportError(f"memory export version {data.get('version')!r} is not supported "
                                    f"(this version reads 1..{EXPORT_VERSION})", field="version")
        raw = data.get("events")
        if not isinstance(raw, list):
            raise MemoryImportError("a memory export needs a list of events", field="events")
        events = []
        for i, item in enumerate(raw):
            try:
                events.append(FeedbackEvent.from_dict(item))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise MemoryImportError(f"event {i} is incomplete or malformed ({exc})",
                                        field=f"events[{i}]") from None
            except (PlanError, MemoryStoreError) as exc:
                raise MemoryImportError(f"event {i}: {exc.message}", field=f"events[{i}]") from None
        with self._tx() as conn:
            if replace:
                conn.execute("DELETE FROM event")
            before = conn.total_changes
            for event in events:
                conn.execute(
                    "INSERT INTO event (photo_key, photo_path, created_at, recorded_at, source, scene_vector, "
                    "scene_tags, scene_model, proposed_plan, final_plan, final_digest) "
                    "VALUES (:photo_key, :photo_path, :created_at, :recorded_at, :source, :scene_vector, "
                    ":scene_tags, :scene_model, :proposed_plan, :final_plan, :final_digest) "
                    "ON CONFLICT(photo_key) DO UPDATE SET photo_path = excluded.photo_path, "
                    "created_at = excluded.created_at, source = excluded.source, "
                    "scene_vector = excluded.scene_vector, scene_tags = excluded.scene_tags, "
                    "scene_model = excluded.scene_model, proposed_plan = excluded.proposed_plan, "
                    "final_plan = excluded.final_plan, final_digest = excluded.final_digest "
                    "WHERE excluded.created_at > event.created_at", self._row(event))
            changed = conn.total_changes - before
            self._bump(conn)
        return changed

    def reset(self, *, keep_backup: bool = True) -> Path | None:
        """Forget every event. By default the memory is first exported next to the store (undo by import)."""
        backup = None
        if keep_backup and self.event_count():
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            backup = self.path.with_name(f"{self.path.stem}.reset-{stamp}.json")
            _atomic_write_text(backup, json.dumps(self.export_json()))
        with self._tx() as conn:
            conn.execute("DELETE FROM event")
            self._bump(conn)
        return backup


# -- the folder of stores -------------------------------------------------------------------------------

_INDEX_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS store (
        key TEXT PRIMARY KEY, catalog_id TEXT NOT NULL, kind TEXT NOT NULL, created_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS alias (alias TEXT PRIMARY KEY, key TEXT NOT NULL REFERENCES store(key))""",
    """CREATE TABLE IF NOT EXISTS path (
        path TEXT PRIMARY KEY, key TEXT NOT NULL REFERENCES store(key), last_seen REAL NOT NULL)""",
)


class MemoryStores:
    """All style memories of this machine: `open(catalog_id=..., path=...)` finds (or starts) the right one."""

    def __init__(self, root: str | Path | None = None):
        self.root = ensure(Path(root) if root else data_dir() / "catalogs")
        self._lock = threading.RLock()
        self._open: dict[str, CatalogStore] = {}
        self._mirrored: dict[str, tuple] = {}
        self.index_recovery: str | None = None
        self._index = self._open_index()

    def _open_index(self) -> sqlite3.Connection:
        path = self.root / "index.sqlite"
        try:
            conn = self._index_connection(path)
            ok = [r[0] for r in conn.execute("PRAGMA quick_check(1)")] == ["ok"]
        except sqlite3.DatabaseError as exc:
            conn, ok = None, False
            problem = str(exc)
        else:
            problem = "integrity check failed"
        if ok:
            return conn
        if conn is not None:
            conn.close()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        kept = path.with_name(f"index.damaged-{stamp}.sqlite")
        path.replace(kept)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.replace(kept.with_name(kept.name + suffix))
        self.index_recovery = (f"the memory index was damaged ({problem}); kept as {kept.name} and rebuilt "
                               "from the catalog memories")
        log.warning("%s", self.index_recovery)
        conn = self._index_connection(path)
        self._rebuild_index(conn)
        return conn

    @staticmethod
    def _index_connection(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        for statement in _INDEX_SCHEMA:
            conn.execute(statement)
        return conn

    def _rebuild_index(self, conn: sqlite3.Connection) -> None:
        for file in sorted(self.root.glob("*.sqlite")):
            if file.name == "index.sqlite" or "." in file.stem:
                continue  # backups and damaged copies have dotted names
            try:
                src = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
                try:
                    row = src.execute("SELECT catalog_id, kind, created_at FROM catalog WHERE id = 1").fetchone()
                    aliases = [r[0] for r in src.execute("SELECT alias FROM catalog_alias")]
                    paths = src.execute("SELECT path, last_seen FROM catalog_path").fetchall()
                finally:
                    src.close()
            except sqlite3.DatabaseError as exc:
                log.warning("index rebuild: %s skipped (%s)", file.name, exc)
                continue
            if row is None:
                continue
            key = file.stem
            conn.execute("INSERT OR REPLACE INTO store (key, catalog_id, kind, created_at) VALUES (?, ?, ?, ?)",
                         (key, row[0], row[1], row[2]))
            for alias in {row[0], *aliases}:
                conn.execute("INSERT OR REPLACE INTO alias (alias, key) VALUES (?, ?)", (alias, key))
            for path, seen in paths:
                old = conn.execute("SELECT last_seen FROM path WHERE path = ?", (path,)).fetchone()
                if old is None or old[0] < seen:
                    conn.execute("INSERT OR REPLACE INTO path (path, key, last_seen) VALUES (?, ?, ?)",
                                 (path, key, seen))

    # -- resolving identity --------------------------------------------------------------------------------
    def resolve(self, catalog_id: str | None = None, path: str | Path | None = None) -> str:
        """The store key for a catalog id and/or catalog path (created or adopted as needed)."""
        catalog_id = (catalog_id or "").strip() or None
        npath = normalise_path(path) if path else None
        if catalog_id is None and npath is None:
            raise CatalogIdentityError("name the catalog: its id (sent by the plugin) or its file path",
                                       field="catalog_id")
        now = time.time()
        with self._lock:
            conn = self._index
            conn.execute("BEGIN IMMEDIATE")
            try:
                by_id = self._lookup(conn, "SELECT key FROM alias WHERE alias = ?", catalog_id)
                by_path = self._lookup(conn, "SELECT key FROM path WHERE path = ?", npath)
                if catalog_id is None:
                    key = by_path or self._create(conn, PROVISIONAL_PREFIX + npath, "provisional", now)
                elif by_id:
                    key = by_id
                elif by_path and self._kind(conn, by_path) == "provisional":
                    key = by_path  # the first id sent for a path adopts the memory started for that path
                    conn.execute("UPDATE store SET catalog_id = ?, kind = ? WHERE key = ?",
                                 (catalog_id, _kind_of(catalog_id), key))
                    conn.execute("INSERT OR REPLACE INTO alias (alias, key) VALUES (?, ?)", (catalog_id, key))
                else:
                    key = self._create(conn, catalog_id, _kind_of(catalog_id), now)
                if npath:  # newest claim on a path wins: a new catalog saved where an old one was
                    conn.execute("INSERT INTO path (path, key, last_seen) VALUES (?, ?, ?) ON CONFLICT(path) "
                                 "DO UPDATE SET key = excluded.key, last_seen = excluded.last_seen",
                                 (npath, key, now))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return key

    @staticmethod
    def _lookup(conn: sqlite3.Connection, sql: str, value: str | None) -> str | None:
        if value is None:
            return None
        row = conn.execute(sql, (value,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _kind(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT kind FROM store WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _create(self, conn: sqlite3.Connection, catalog_id: str, kind: str, now: float) -> str:
        key = store_key(catalog_id)
        conn.execute("INSERT OR IGNORE INTO store (key, catalog_id, kind, created_at) VALUES (?, ?, ?, ?)",
                     (key, catalog_id, kind, now))
        conn.execute("INSERT OR REPLACE INTO alias (alias, key) VALUES (?, ?)", (catalog_id, key))
        return key

    # -- opening stores --------------------------------------------------------------------------------
    def open(self, catalog_id: str | None = None, *, path: str | Path | None = None,
             name: str | None = None, aliases: Iterable[str] = ()) -> CatalogStore:
        """The memory of a catalog, by its stable id and/or its path; `aliases` are further ids of it
        (e.g. "lrcat:<the catalog file's own id>")."""
        key = self.resolve(catalog_id, path)
        with self._lock:
            for alias in aliases:
                if alias:
                    self._index.execute("INSERT OR IGNORE INTO alias (alias, key) VALUES (?, ?)", (alias, key))
            row = self._index.execute("SELECT catalog_id, kind FROM store WHERE key = ?", (key,)).fetchone()
            known = [r[0] for r in self._index.execute("SELECT alias FROM alias WHERE key = ?", (key,))]
            store = self._open.get(key)
            if store is None:
                store = CatalogStore(self.root / f"{key}.sqlite")
                self._open[key] = store
        if name is None and path:
            name = normalise_path(path).rsplit("/", 1)[-1].rsplit(".", 1)[0] or None
        mirror = (row[0], row[1], tuple(sorted(known)), normalise_path(path) if path else None, name)
        if self._mirrored.get(key) != mirror:  # write the identity into the store only when it changed
            store.record_identity(row[0], row[1], aliases=known, path=mirror[3], name=name)
            self._mirrored[key] = mirror
        return store

    def profile(self, name: str) -> CatalogStore:
        """The memory of a named watch-folder profile."""
        clean = (name or "").strip()
        if not clean:
            raise CatalogIdentityError("a profile needs a name", field="profile")
        return self.open(PROFILE_PREFIX + clean, name=clean)

    def find(self, catalog_id: str | None = None, path: str | Path | None = None) -> str | None:
        """The key of an existing memory, without creating one."""
        with self._lock:
            if catalog_id:
                key = self._lookup(self._index, "SELECT key FROM alias WHERE alias = ?", catalog_id)
                if key:
                    return key
            if path:
                return self._lookup(self._index, "SELECT key FROM path WHERE path = ?", normalise_path(path))
        return None

    def catalog_id_for(self, alias: str) -> str | None:
        """The primary id of the memory an alias (or id) belongs to."""
        with self._lock:
            row = self._index.execute("SELECT s.catalog_id FROM alias a JOIN store s ON s.key = a.key "
                                      "WHERE a.alias = ?", (alias,)).fetchone()
        return row[0] if row else None

    def list(self) -> list[dict]:
        with self._lock:
            rows = self._index.execute("SELECT key, catalog_id, kind, created_at FROM store ORDER BY created_at")
            out = []
            for key, catalog_id, kind, created in rows.fetchall():
                paths = [r[0] for r in self._index.execute(
                    "SELECT path FROM path WHERE key = ? ORDER BY last_seen DESC", (key,))]
                out.append({"key": key, "catalog_id": catalog_id, "kind": kind, "created_at": created,
                            "paths": paths, "file": str(self.root / f"{key}.sqlite")})
        return out

    def close(self) -> None:
        with self._lock:
            for store in self._open.values():
                store.close()
            self._open.clear()
            self._index.close()

    def __enter__(self) -> "MemoryStores":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def store_key(catalog_id: str) -> str:
    """A file-name-safe key: readable for profiles, a hash of the id for catalogs."""
    digest = hashlib.sha256(catalog_id.encode("utf-8")).hexdigest()
    if catalog_id.startswith(PROFILE_PREFIX):
        slug = re.sub(r"[^a-z0-9]+", "-", catalog_id[len(PROFILE_PREFIX):].lower()).strip("-")[:32]
        return f"profile-{slug or 'unnamed'}-{digest[:8]}"
    return f"catalog-{digest[:24]}"


def _kind_of(catalog_id: str) -> str:
    if catalog_id.startswith(PROFILE_PREFIX):
        return "profile"
    if catalog_id.startswith(PROVISIONAL_PREFIX):
        return "provisional"
    return "catalog"


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
