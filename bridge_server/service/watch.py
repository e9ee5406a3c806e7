"""The watch-folder daemon: every photo in IN, now or later, gets a sidecar and/or a rendering, exactly once.

How a file goes through:
- it is *seen* (first scan, a watchdog event, or the periodic rescan that catches what events miss);
- it is *ready* once its size and mtime stay unchanged for `stable_s` (or `settle_s` after the writer closed it
  or renamed it into place): writers that never close and copies in progress are waited for;
- the SQLite journal decides: a file already done with the same content is skipped; one left `processing` by
  a killed process is redone; a replaced file (new content) is processed again;
- outputs are written atomically; a file that cannot be read is moved to `IN/_failed/` with `NAME.error.txt`.
Originals are only ever read (and, when unreadable, moved).
"""
from __future__ import annotations

import hashlib
import logging
import os
import queue
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..core.errors import DecodeError, NotFoundError, PermissionDeniedError, RetouchError
from ..core.paths import data_dir, ensure
from ..imaging.atomic import sha256_file
from ..retoucher import RAW_EXTENSIONS, PhotoRequest, PlanRequest, Retoucher
from .config import WatchFolder
from .errors import ConfigError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = RAW_EXTENSIONS | {".jpg", ".jpeg", ".png", ".tif", ".tiff"}
TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")
FAILED_DIR = "_failed"
RENDERED_DIR = "_rendered"
TMP_PREFIX = ".airetouch-tmp-"
JOURNAL_NAME = ".airetouch-journal.sqlite"

PENDING, PROCESSING, DONE, FAILED = "pending", "processing", "done", "failed"


def is_candidate(path: Path) -> bool:
    """A photo we should process: a supported image, not hidden, not a temporary or partial download."""
    name = path.name
    if name.startswith((".", "~")) or name.lower().endswith(TEMP_SUFFIXES):
        return False
    return path.suffix.lower() in IMAGE_EXTENSIONS


def rendered_name(source: Path, fmt: str) -> str:
    """`a.jpg` -> `a_retouched.jpg`; `a.CR3` -> `a_cr3_retouched.jpg` (a RAW+JPEG pair gets two renderings)."""
    ext = ".jpg" if fmt == "jpeg" else ".tif"
    family = {".jpg": ".jpg", ".jpeg": ".jpg", ".tif": ".tif", ".tiff": ".tif"}.get(source.suffix.lower())
    tag = "" if family == ext else "_" + source.suffix[1:].lower()
    return f"{source.stem}{tag}_retouched{ext}"


@contextmanager
def _replacing(target: Path) -> Iterator[tuple[int, Path]]:
    """A file descriptor of a hidden temporary beside `target` (our prefix, so a crash leaves nothing we can't
    find); on success it is flushed to disk and renamed into place, on error removed."""
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{target.name}-", dir=target.parent)
    try:
        yield fd, Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_copy(source: Path, target: Path) -> Path:
    """Copy with data and mtime into a hidden temporary beside the target, then rename it into place."""
    with _replacing(target) as (fd, tmp):
        with os.fdopen(fd, "wb") as out, open(source, "rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(source, tmp)
    return target


def atomic_write_text(target: Path, text: str) -> None:
    """Write a small text file (an error report) atomically, readable by everyone."""
    with _replacing(target) as (fd, tmp):
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)


class Journal:
    """What happened to each file (by path, size, mtime and content hash), in SQLite; one thread uses it."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS files (
        path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT, state TEXT NOT NULL,
        error TEXT, outputs TEXT, moved_to TEXT, updated REAL);
    CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, sha256 TEXT, started REAL, finished REAL,
        result TEXT);
    """

    def __init__(self, path: Path):
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across a killed process
        self.db.executescript(self.SCHEMA)

    def get(self, path: Path) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM files WHERE path = ?", (str(path),)).fetchone()

    def seen(self, path: Path, size: int, mtime_ns: int) -> None:
        self.db.execute("INSERT OR IGNORE INTO files (path, size, mtime_ns, state, updated) VALUES (?, ?, ?, ?, ?)",
                        (str(path), size, mtime_ns, PENDING, time.time()))

    def begin(self, path: Path, size: int, mtime_ns: int, sha: str) -> int:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO files (path, size, mtime_ns, sha256, state, updated) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns, "
                "sha256=excluded.sha256, state=excluded.state, error=NULL, moved_to=NULL, updated=excluded.updated",
                (str(path), size, mtime_ns, sha, PROCESSING, time.time()))
            cur = self.db.execute("INSERT INTO runs (path, sha256, started) VALUES (?, ?, ?)",
                                  (str(path), sha, time.time()))
        return cur.lastrowid

    def finish(self, path: Path, run_id: int, state: str, *, outputs: list[str] | None = None,
               error: str | None = None, moved_to: Path | None = None) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("UPDATE files SET state=?, outputs=?, error=?, moved_to=?, updated=? WHERE path=?",
                            (state, "\n".join(outputs or []) or None, error,
                             str(moved_to) if moved_to else None, time.time(), str(path)))
            self.db.execute("UPDATE runs SET finished=?, result=? WHERE id=?", (time.time(), state, run_id))

    def set_state(self, path: Path, state: str, size: int | None = None, mtime_ns: int | None = None) -> None:
        if size is None:
            self.db.execute("UPDATE files SET state=?, updated=? WHERE path=?", (state, time.time(), str(path)))
        else:
            self.db.execute("UPDATE files SET state=?, size=?, mtime_ns=?, updated=? WHERE path=?",
                            (state, size, mtime_ns, time.time(), str(path)))

    def forget(self, path: Path) -> None:
        self.db.execute("DELETE FROM files WHERE path=?", (str(path),))

    def counts(self) -> dict[str, int]:
        return {row[0]: row[1] for row in self.db.execute("SELECT state, COUNT(*) FROM files GROUP BY state")}

    def close(self) -> None:
        self.db.close()


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float  # when this size+mtime was first observed
    closed: bool = False  # the writer closed (or renamed) the file after its last change


@dataclass
class _Outcome:
    kind: str  # done | unreadable | error | vanished
    outputs: list[str] = field(default_factory=list)
    error: RetouchError | None = None
    seconds: float = 0.0


@dataclass
class WatchStats:
    processed: int = 0
    skipped: int = 0
    failed: int = 0  # moved to _failed
    errors: int = 0  # could be read, but an output could not be written: left in place
    resumed: int = 0  # left "processing" by an earlier run that stopped

    def summary(self) -> str:
        parts = [f"{self.processed} processed", f"{self.skipped} already done"]
        if self.resumed:
            parts.append(f"{self.resumed} resumed after an interrupted run")
        parts.append(f"{self.failed} failed (moved to {FAILED_DIR}/)")
        if self.errors:
            parts.append(f"{self.errors} error(s) writing outputs (left in place)")
        return ", ".join(parts)


class _Events:
    """Watchdog handler: pushes (path, closed) for files directly in the folder onto a queue."""

    def __init__(self, folder: Path, sink: queue.Queue):
        from watchdog.events import FileSystemEventHandler

        class Handler(FileSystemEventHandler):
            def _push(self, raw, closed: bool) -> None:
                path = Path(os.fsdecode(raw))
                if path.parent == folder:
                    sink.put((path, closed))

            def on_created(self, event):
                if not event.is_directory:
                    self._push(event.src_path, False)

            def on_modified(self, event):
                if not event.is_directory:
                    self._push(event.src_path, False)

            def on_closed(self, event):
                self._push(event.src_path, True)

            def on_moved(self, event):
                if not event.is_directory:
                    self._push(event.dest_path, True)

        self.handler = Handler()


class Watcher:
    """Process a folder's photos (now and as they arrive) through the shared Retoucher."""

    def __init__(self, retoucher: Retoucher, folder: WatchFolder, *, workers: int = 1, stable_s: float = 1.0,
                 settle_s: float = 0.25, rescan_s: float = 30.0, journal_path: Path | None = None,
                 retry_failed: bool = False, report: Callable[[str], None] | None = None):
        self.retoucher = retoucher
        self.in_dir = Path(folder.in_dir).expanduser().resolve()
        self.out_dir = Path(folder.out_dir).expanduser().resolve() if folder.out_dir else None
        self.mode = folder.mode
        self.render_format = folder.render_format
        self.catalog = {"id": f"profile:{folder.profile}"} if folder.profile else None
        self.workers = max(1, workers)
        self.stable_s = stable_s
        self.settle_s = min(settle_s, stable_s)
        self.rescan_s = rescan_s
        self.retry_failed = retry_failed
        self.report = report or (lambda line: log.info("%s", line))
        self.stats = WatchStats()
        self._check_folders()
        self.render_dir = self.out_dir or (self.in_dir / RENDERED_DIR)
        self.journal_path = journal_path or self._default_journal()
        self._events: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict[Path, _Seen] = {}
        self._confirm: dict[Path, tuple[_Seen, float, _Outcome, int, str]] = {}
        self._inflight: dict[Future, tuple[Path, _Seen, str, int, float]] = {}
        self._count = 0
        self._total: int | None = None
        self._lock_fh = None

    # -- set-up ------------------------------------------------------------------------------------------
    def _check_folders(self) -> None:
        if not self.in_dir.is_dir():
            raise ConfigError("the watch folder does not exist", path=str(self.in_dir), field="in")
        if self.out_dir is not None:
            if self.out_dir == self.in_dir:
                raise ConfigError("the output folder must differ from the watched folder (originals are never "
                                  "overwritten)", path=str(self.out_dir), field="out")
            ensure(self.out_dir, 0o755)

    def _state_file(self, suffix: str) -> Path:
        """<data>/watch/<hash of IN><suffix>: per-folder state that must not live in the folder itself."""
        key = hashlib.sha256(str(self.in_dir).encode()).hexdigest()[:16]
        return ensure(data_dir() / "watch", 0o700) / f"{key}{suffix}"

    def _default_journal(self) -> Path:
        return self.out_dir / JOURNAL_NAME if self.out_dir is not None else self._state_file(".sqlite")

    def _lock(self) -> None:
        """One watcher per folder (whatever its OUT): a second one would process the same files."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock; the journal still prevents repeats after the fact
            return
        self._lock_fh = open(self._state_file(".lock"), "a+")
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.close()
            self._lock_fh = None
            raise ConfigError("another watcher is already processing this folder",
                              path=str(self.in_dir), field="in") from None

    def _clean_temporaries(self) -> None:
        """Half-written outputs of a run that was killed (our own hidden temporaries only)."""
        for folder in {self.render_dir, self.out_dir} - {None}:
            if folder.is_dir():
                for tmp in folder.glob(f"{TMP_PREFIX}*"):
                    tmp.unlink(missing_ok=True)

    # -- running -----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Run in a background thread (inside the server). A folder another watcher holds raises here."""
        self._lock()
        self._thread = threading.Thread(target=self._run_logged, name=f"watch {self.in_dir.name}", daemon=True)
        self._thread.start()

    def _run_logged(self) -> None:
        try:
            self.run()
        except Exception:  # noqa: BLE001 - a thread's death must at least be told
            log.exception("the watcher of %s stopped", self.in_dir)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self, once: bool = False) -> WatchStats:
        """Process what is there and (unless `once`) what arrives, until `stop()`."""
        if self._lock_fh is None:
            self._lock()
        journal = Journal(self.journal_path)
        observer = None
        executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="airetouch-watch")
        try:
            self._clean_temporaries()
            if not once:
                observer = self._observe()
            self._scan(journal)
            if once:
                self._total = len(self._seen)
            next_rescan = time.monotonic() + self.rescan_s
            while True:
                stopping = self._stop.is_set()
                self._drain_events(journal)
                now = time.monotonic()
                if not once and now >= next_rescan:
                    self._scan(journal)
                    next_rescan = now + self.rescan_s
                self._collect(journal)
                if not stopping:
                    self._confirm_failures(journal, now)
                    self._dispatch_ready(journal, executor, now)
                idle = not self._inflight and not self._confirm and not self._seen
                if (stopping and not self._inflight) or (once and idle):
                    break
                self._wait(0.05 if self._inflight or self._confirm else 0.1)
        finally:
            if observer is not None:
                observer.stop()
                observer.join(5)
            executor.shutdown(wait=True)
            self._collect(journal)
            journal.close()
            if self._lock_fh is not None:
                self._lock_fh.close()
                self._lock_fh = None
        return self.stats

    def _observe(self):
        try:
            from watchdog.observers import Observer
        except ImportError:
            log.warning("watchdog is not installed: relying on rescans every %s s", self.rescan_s)
            return None
        observer = Observer()
        observer.schedule(_Events(self.in_dir, self._events).handler, str(self.in_dir), recursive=False)
        observer.start()
        return observer

    def _wait(self, seconds: float) -> None:
        try:
            item = self._events.get(timeout=seconds)
        except queue.Empty:
            return
        self._events.put(item)  # handled by the next _drain_events

    def _drain_events(self, journal: Journal) -> None:
        while True:
            try:
                path, closed = self._events.get_nowait()
            except queue.Empty:
                return
            self._consider(journal, path, closed)

    def _scan(self, journal: Journal) -> None:
        try:
            entries = sorted(self.in_dir.iterdir())
        except OSError as exc:
            log.warning("cannot list %s: %s", self.in_dir, exc)
            return
        for path in entries:
            self._consider(journal, path, False)

    def _busy_with(self, path: Path) -> bool:
        return path in self._confirm or any(p == path for p, *_ in self._inflight.values())

    def _consider(self, journal: Journal, path: Path, closed: bool) -> None:
        """Start (or keep) watching a file until it is stable, unless the journal says it is done."""
        if not is_candidate(path) or self._busy_with(path):
            return
        try:
            st = path.stat()
        except OSError:
            self._seen.pop(path, None)
            return
        if not stat.S_ISREG(st.st_mode):
            return
        now = time.monotonic()
        seen = self._seen.get(path)
        if seen is None:
            row = journal.get(path)
            if row is not None and self._unchanged_and_settled(row, st.st_size, st.st_mtime_ns):
                return
            journal.seen(path, st.st_size, st.st_mtime_ns)
            self._seen[path] = _Seen(st.st_size, st.st_mtime_ns, now, closed)
        elif (seen.size, seen.mtime_ns) != (st.st_size, st.st_mtime_ns):
            self._seen[path] = _Seen(st.st_size, st.st_mtime_ns, now, closed)
        elif closed:
            seen.closed = True

    def _unchanged_and_settled(self, row, size: int, mtime_ns: int) -> bool:
        """Done (or failed in place) with the same size and mtime: nothing to do, not even hashing."""
        if (row["size"], row["mtime_ns"]) != (size, mtime_ns):
            return False
        return row["state"] == DONE or (row["state"] == FAILED and not row["moved_to"] and not self.retry_failed)

    def _dispatch_ready(self, journal: Journal, executor: ThreadPoolExecutor, now: float) -> None:
        for path, seen in list(self._seen.items()):
            if len(self._inflight) >= self.workers:
                return
            if now - seen.since < (self.settle_s if seen.closed else self.stable_s):
                continue  # not due yet (events reset `since` on every change they report)
            try:
                st = path.stat()
            except OSError:
                del self._seen[path]
                continue
            if (st.st_size, st.st_mtime_ns) != (seen.size, seen.mtime_ns):  # a change no event reported
                self._seen[path] = _Seen(st.st_size, st.st_mtime_ns, now)
                continue
            del self._seen[path]
            self._start(journal, executor, path, seen)

    def _start(self, journal: Journal, executor: ThreadPoolExecutor, path: Path, seen: _Seen) -> None:
        try:
            sha = sha256_file(path)
        except OSError as exc:
            log.warning("cannot read %s yet: %s", path, exc)
            return
        row = journal.get(path)
        if row is not None and row["sha256"] == sha:
            same_done = row["state"] == DONE
            same_failed = row["state"] == FAILED and not row["moved_to"] and not self.retry_failed
            if same_done or same_failed:  # touched or copied over with the same bytes
                journal.set_state(path, row["state"], seen.size, seen.mtime_ns)
                self.stats.skipped += 1
                self._line("skip", path, f"same content as before ({row['state']})")
                return
        if row is not None and row["state"] == PROCESSING:
            self.stats.resumed += 1
        run_id = journal.begin(path, seen.size, seen.mtime_ns, sha)
        future = executor.submit(self._process, path)
        self._inflight[future] = (path, seen, sha, run_id, time.monotonic())

    # -- one file (on a worker thread) --------------------------------------------------------------------
    def _process(self, path: Path) -> _Outcome:
        started = time.monotonic()
        try:
            photo = PhotoRequest(path=path)
            result = self.retoucher.plan(photo, PlanRequest(catalog=self.catalog))
            outputs: list[str] = []
            if self.mode in ("sidecar", "both"):
                target = photo
                if self.out_dir is not None:
                    target = PhotoRequest(path=atomic_copy(path, self.out_dir / path.name))
                    outputs.append(str(target.path))
                written = self.retoucher.write_sidecar(target, result.plan)
                outputs.append(str(getattr(written, "path", written)))
            if self.mode in ("render", "both"):
                ensure(self.render_dir, 0o755)
                out = self.render_dir / rendered_name(path, self.render_format)
                rendered = self.retoucher.render(photo, result.plan, out, format=self.render_format)
                outputs.append(str(rendered["out"]))
            return _Outcome("done", outputs, seconds=time.monotonic() - started)
        except (DecodeError, PermissionDeniedError) as exc:
            return _Outcome("unreadable", error=exc, seconds=time.monotonic() - started)
        except NotFoundError as exc:
            if not path.exists():
                return _Outcome("vanished", error=exc)
            return _Outcome("error", error=exc, seconds=time.monotonic() - started)
        except RetouchError as exc:
            return _Outcome("error", error=exc, seconds=time.monotonic() - started)
        except Exception as exc:  # noqa: BLE001 - one file's bug must not stop the watcher
            log.exception("processing %s failed", path)
            error = RetouchError(f"internal error ({type(exc).__name__}: {exc})", path=str(path))
            error.code = "internal"
            return _Outcome("error", error=error, seconds=time.monotonic() - started)

    # -- results (scheduler thread) -----------------------------------------------------------------------
    def _collect(self, journal: Journal) -> None:
        for future in [f for f in self._inflight if f.done()]:
            path, seen, sha, run_id, _ = self._inflight.pop(future)
            outcome = future.result()
            if outcome.kind == "vanished":
                journal.finish(path, run_id, PENDING, error="the file disappeared while being processed")
                journal.forget(path)
                self._line("gone", path, "disappeared before it was processed")
                continue
            changed = self._changed(path, seen)
            if changed and outcome.kind != "done":
                journal.finish(path, run_id, PENDING, error="changed while being processed")
                self._consider(journal, path, False)
                continue
            if outcome.kind == "done":
                journal.finish(path, run_id, DONE, outputs=outcome.outputs)
                self.stats.processed += 1
                shown = ", ".join(Path(o).name for o in outcome.outputs)
                self._line("done", path, f"-> {shown} ({outcome.seconds:.2f} s)")
                if changed:  # new content arrived meanwhile: process that too
                    self._consider(journal, path, False)
            elif outcome.kind == "unreadable":
                # Give a slow writer one more stable interval before calling the file bad.
                self._confirm[path] = (seen, time.monotonic(), outcome, run_id, sha)
            else:
                err = outcome.error
                journal.finish(path, run_id, FAILED, error=f"{err.code}: {err.message}")
                self.stats.errors += 1
                self._line("ERROR", path, f"{err.code}: {err.message} (left in place)")

    def _changed(self, path: Path, seen: _Seen) -> bool:
        try:
            st = path.stat()
        except OSError:
            return False
        return (st.st_size, st.st_mtime_ns) != (seen.size, seen.mtime_ns)

    def _confirm_failures(self, journal: Journal, now: float) -> None:
        for path, (seen, when, outcome, run_id, _sha) in list(self._confirm.items()):
            if not path.exists():
                del self._confirm[path]
                journal.finish(path, run_id, PENDING)
                journal.forget(path)
                continue
            if self._changed(path, seen):
                del self._confirm[path]
                journal.finish(path, run_id, PENDING, error="changed after a failed read; retrying")
                self._consider(journal, path, False)
                continue
            if now - when < self.stable_s:
                continue
            del self._confirm[path]
            err = outcome.error
            moved = self._move_to_failed(path, err)
            journal.finish(path, run_id, FAILED, error=f"{err.code}: {err.message}", moved_to=moved)
            self.stats.failed += 1
            self._line("FAILED", path, f"{err.code}: {err.message} (moved to {FAILED_DIR}/{moved.name})")

    def _move_to_failed(self, path: Path, err: RetouchError) -> Path:
        """The reason first (so a crash in between still leaves it), then the file itself."""
        failed = ensure(self.in_dir / FAILED_DIR, 0o755)
        target = failed / path.name
        n = 1
        while target.exists():
            target = failed / f"{path.stem}-{n}{path.suffix}"
            n += 1
        atomic_write_text(failed / f"{target.name}.error.txt",
                          f"{err.code}: {err.message}\nfile: {path}\n"
                          f"when: {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
                          "AI Retouch could not read this file. Fix or re-export it, then put it back in the "
                          "watched folder.\n")
        os.replace(path, target)
        return target

    def _line(self, what: str, path: Path, text: str) -> None:
        self._count += 1
        counter = f"[{self._count}/{self._total}]" if self._total else f"[{self._count}]"
        self.report(f"{counter} {what:<6} {path.name} {text}")

    def status(self) -> dict:
        return {"in": str(self.in_dir), "out": str(self.out_dir) if self.out_dir else None, "mode": self.mode,
                "processed": self.stats.processed, "skipped": self.stats.skipped, "failed": self.stats.failed,
                "errors": self.stats.errors, "waiting": len(self._seen), "running": len(self._inflight),
                "alive": bool(self._thread and self._thread.is_alive())}
