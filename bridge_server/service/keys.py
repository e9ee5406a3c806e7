"""Typed application state (`web.AppKey`): what the app factory sets up and the handlers read."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ..retoucher import Retoucher
    from .config import ServerConfig
    from .jobs import JobManager
    from .pool import WorkPool
    from .security import TokenInfo
    from .watch import Watcher

CONFIG = web.AppKey["ServerConfig"]("config")
TOKEN = web.AppKey["TokenInfo"]("token")
EXTRA_HOSTS = web.AppKey[frozenset]("extra_hosts")
POOL = web.AppKey["WorkPool"]("pool")
RETOUCHER = web.AppKey["Retoucher"]("retoucher")
JOBS = web.AppKey["JobManager"]("jobs")
WATCHERS = web.AppKey["list[Watcher]"]("watchers")
MODEL_HEALTH = web.AppKey[dict]("model_health")
