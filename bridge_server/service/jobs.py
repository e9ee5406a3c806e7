"""Batch jobs: photos run one after another on the worker pool, with progress, per-photo results and errors.

A job reserves its photos' places in the bounded queue when it is accepted. Cancelling lets the photo that
is running finish, then stops: the job reports which photos were done and which were not processed.
Finished jobs are kept for `retention_s` (and at most `max_finished`), then forgotten.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.errors import NotFoundError, RetouchError
from .pool import WorkPool

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, CANCELLED, FAILED = "queued", "running", "done", "cancelled", "failed"
FINISHED = frozenset({DONE, CANCELLED, FAILED})


@dataclass
class Job:
    id: str
    kind: str  # plan | sidecar | learn
    total: int
    state: str = QUEUED
    done: int = 0
    current: dict | None = None
    results: list[dict] = field(default_factory=list)
    error: dict | None = None
    cancel_requested: bool = False
    progress: dict | None = None  # within a single long item (learning a catalog): {done, total, current}
    created: float = field(default_factory=time.time)
    finished: float | None = None
    task: asyncio.Task | None = field(default=None, repr=False)

    def to_dict(self, since: int = 0) -> dict:
        out: dict[str, Any] = {
            "job_id": self.id, "kind": self.kind, "state": self.state, "done": self.done, "total": self.total,
            "current": self.current, "cancel_requested": self.cancel_requested,
            "results": self.results[since:] if since else list(self.results)}
        if self.state == CANCELLED:
            finished = {r["index"] for r in self.results}
            out["not_processed"] = [i for i in range(self.total) if i not in finished]
        if self.progress is not None:
            out["progress"] = dict(self.progress)
        if self.error is not None:
            out["error"] = self.error
        return out


class JobManager:
    def __init__(self, pool: WorkPool, *, retention_s: float = 3600.0, max_finished: int = 200):
        self.pool = pool
        self.retention_s = retention_s
        self.max_finished = max_finished
        self._jobs: dict[str, Job] = {}

    def submit(self, kind: str, items: list, run_one: Callable[[Any], dict],
               describe: Callable[[int, Any], dict], *, fail_on_error: bool = False) -> Job:
        """Accept a job (or raise Busy) and start it. `run_one(item)` runs on a worker and returns the
        result fields; `describe(index, item)` names the item in progress and results."""
        self.prune()
        self.pool.admit(len(items), whole_batch=True)
        job = Job(id=secrets.token_hex(8), kind=kind, total=len(items))
        self._jobs[job.id] = job
        job.task = asyncio.get_running_loop().create_task(
            self._run(job, items, run_one, describe, fail_on_error), name=f"job-{job.id}")
        return job

    def get(self, job_id: str) -> Job:
        self.prune()
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r} (finished jobs are kept for {self.retention_s:g} s)",
                                field="job_id")
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.state not in FINISHED:
            job.cancel_requested = True
        return job

    def active(self) -> int:
        return sum(1 for j in self._jobs.values() if j.state not in FINISHED)

    def prune(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        finished = sorted((j for j in self._jobs.values() if j.state in FINISHED), key=lambda j: j.finished or 0)
        excess = len(finished) - self.max_finished
        for i, job in enumerate(finished):
            if i < excess or (job.finished or now) + self.retention_s <= now:
                del self._jobs[job.id]

    async def close(self, timeout: float = 30.0) -> None:
        """Stop every job after its current photo; wait for them (then cancel what is still running)."""
        tasks = [j.task for j in self._jobs.values() if j.task is not None and not j.task.done()]
        for job in self._jobs.values():
            job.cancel_requested = True
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)

    async def _run(self, job: Job, items: list, run_one, describe, fail_on_error: bool) -> None:
        started = 0
        try:
            job.state = RUNNING
            for index, item in enumerate(items):
                if job.cancel_requested:
                    break
                info = describe(index, item)
                job.current = info
                started += 1
                try:
                    entry = {**info, "ok": True, **(await self.pool.run_reserved(run_one, item))}
                except RetouchError as exc:
                    entry = {**info, "ok": False, "error": exc.to_dict()}
                except Exception:  # noqa: BLE001 - one photo's bug must not end the batch
                    log.exception("job %s: %s failed", job.id, info.get("path"))
                    entry = {**info, "ok": False,
                             "error": {"code": "internal", "message": "internal error; see the server log"}}
                job.results.append(entry)
                job.done = len(job.results)
                if fail_on_error and not entry["ok"]:
                    job.error = entry["error"]
            job.current = None
            if job.error is not None:
                job.state = FAILED
            elif job.done < job.total or (job.cancel_requested and any(r.get("cancelled") for r in job.results)):
                job.state = CANCELLED
            else:
                job.state = DONE
        except asyncio.CancelledError:
            job.state = CANCELLED
            raise
        except Exception:  # noqa: BLE001
            log.exception("job %s failed", job.id)
            job.state = FAILED
            job.error = {"code": "internal", "message": "internal error; see the server log"}
        finally:
            job.current = None
            job.finished = time.time()
            self.pool.release(len(items) - started)  # places reserved for photos that never ran
