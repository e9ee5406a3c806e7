"""The app factory: `create_app(config)` wires middlewares, routes and the long-lived resources.

Resources live in `cleanup_ctx`, opened at start-up and closed at shutdown in reverse order: the worker pool,
the Retoucher (one ExifTool process, warm models), the job manager, the watch folders.
"""
from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator

from aiohttp import web

from ..retoucher import Retoucher
from . import keys
from .config import ServerConfig, is_loopback_host
from .jobs import JobManager
from .middlewares import MIDDLEWARES
from .pool import WorkPool
from .routes import routes
from .security import TokenInfo, load_or_create_token

log = logging.getLogger(__name__)


def create_app(config: ServerConfig, *, retoucher: Retoucher | None = None) -> web.Application:
    """The bridge's application. `retoucher`: use this one (the caller closes it) instead of opening one."""
    app = web.Application(middlewares=MIDDLEWARES, client_max_size=config.max_body)
    app[keys.CONFIG] = config
    if config.token:
        app[keys.TOKEN] = TokenInfo(config.token, config.token_file, in_keyring=False, created=False)
    else:
        app[keys.TOKEN] = load_or_create_token(config.token_file)
    remote = config.allow_remote and not is_loopback_host(config.host)
    app[keys.EXTRA_HOSTS] = frozenset({config.host.lower()}) if remote else frozenset()
    app.add_routes(routes)
    app.cleanup_ctx.append(_pool)
    app.cleanup_ctx.append(_retoucher(retoucher))
    app.cleanup_ctx.append(_jobs)
    app.cleanup_ctx.append(_watchers)
    return app


async def _pool(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    pool = WorkPool(config.workers, config.queue_limit)
    app[keys.POOL] = pool
    yield
    await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)


def _retoucher(given: Retoucher | None):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        config = app[keys.CONFIG]
        retoucher = given or Retoucher(use_models=config.use_models, max_pixels=config.max_pixels)
        app[keys.RETOUCHER] = retoucher
        loop = asyncio.get_running_loop()
        app[keys.MODEL_HEALTH] = await loop.run_in_executor(None, retoucher.health)
        yield
        if given is None:
            await loop.run_in_executor(None, retoucher.close)
    return ctx


async def _jobs(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    jobs = JobManager(app[keys.POOL], retention_s=config.job_retention_s, max_finished=config.max_finished_jobs)
    app[keys.JOBS] = jobs

    async def prune_forever() -> None:
        while True:
            await asyncio.sleep(60)
            jobs.prune()

    pruner = asyncio.get_running_loop().create_task(prune_forever(), name="prune-jobs")
    yield
    pruner.cancel()
    await jobs.close()


async def _watchers(app: web.Application) -> AsyncIterator[None]:
    from .watch import Watcher
    config = app[keys.CONFIG]
    loop = asyncio.get_running_loop()
    watchers: list[Watcher] = []
    try:
        for folder in config.watch:
            watcher = Watcher(app[keys.RETOUCHER], folder, workers=1,
                              report=lambda line: log.info("watch %s", line))
            watcher.start()
            log.info("watching %s (%s)", watcher.in_dir, watcher.mode)
            watchers.append(watcher)
    except BaseException:
        await asyncio.gather(*(loop.run_in_executor(None, w.stop) for w in watchers))
        raise
    app[keys.WATCHERS] = watchers
    yield
    await asyncio.gather(*(loop.run_in_executor(None, w.stop) for w in watchers))
