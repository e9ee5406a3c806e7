"""The bounded worker pool: CPU work runs on a few threads, never on the event loop, behind a bounded queue.

`depth` counts photos admitted and not yet finished (single requests plus the remaining photos of jobs).
Admission beyond `limit` raises `Busy` (503) with a Retry-After estimated from recent task durations.
"""
from __future__ import annotations

import asyncio
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from .errors import Busy


class WorkPool:
    def __init__(self, workers: int, limit: int):
        self.workers = workers
        self.limit = limit
        self.depth = 0
        self.running = 0
        self._avg_s = 1.0  # moving average of one task's duration, for Retry-After
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="airetouch-worker")

    def admit(self, n: int = 1, *, whole_batch: bool = False) -> None:
        """Reserve `n` places in the queue or raise Busy.

        `whole_batch`: a batch larger than the whole queue is still taken when the queue is empty, so that
        a big selection on an idle server is not refused forever.
        """
        if self.depth + n <= self.limit or (whole_batch and self.depth == 0):
            self.depth += n
            return
        raise Busy(f"the server is busy ({self.depth} photos queued, limit {self.limit}); try again shortly",
                   retry_after=self.retry_after())

    def release(self, n: int = 1) -> None:
        self.depth = max(0, self.depth - n)

    def retry_after(self) -> int:
        return max(1, math.ceil(self._avg_s * max(1, self.depth) / self.workers))

    async def run_reserved(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` on a worker for a place already admitted; the place is freed when the work ends
        (even if the awaiting request has gone away)."""
        loop = asyncio.get_running_loop()
        started = time.monotonic()

        def finished(_future) -> None:
            loop.call_soon_threadsafe(self._finished, time.monotonic() - started)

        def work():
            loop.call_soon_threadsafe(self._started)
            return fn(*args)

        try:
            future = self._executor.submit(work)
        except RuntimeError:  # shut down
            self.release(1)
            raise
        future.add_done_callback(finished)
        return await asyncio.wrap_future(future)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Admit one photo (or raise Busy) and run `fn(*args)` on a worker."""
        self.admit(1)
        return await self.run_reserved(fn, *args)

    async def run_unqueued(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Light blocking work (memory look-ups, file checks): off the loop, but not behind queued photos."""
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def _started(self) -> None:
        self.running += 1

    def _finished(self, seconds: float) -> None:
        self.running = max(0, self.running - 1)
        self.release(1)
        self._avg_s = 0.8 * self._avg_s + 0.2 * seconds

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def info(self) -> dict:
        return {"depth": self.depth, "limit": self.limit, "workers": self.workers, "running": self.running}
