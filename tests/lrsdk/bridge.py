"""The real bridge server (bridge_server.service.app.create_app) on 127.0.0.1 and a free port, in a thread.

    with BridgeServer() as server:
        server.url, server.token, server.token_file
        server.call("POST", "/v1/plan", body)  -> (status, decoded JSON)
"""
from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from typing import Any

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BridgeServer:
    def __init__(self, **config):
        from bridge_server.service.config import ServerConfig  # the test skips when the service is missing
        self.config = ServerConfig(host="127.0.0.1", port=0, **{"workers": 1, "use_models": False, **config})
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bridge-server", daemon=True)
        self.runner = None
        self.port = None
        self.app = None

    async def _start(self) -> None:
        from aiohttp import web

        from bridge_server.service.app import create_app
        self.app = create_app(self.config)
        self.runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    def start(self) -> "BridgeServer":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=300)
        return self

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=120)
            self.runner = None
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)
        if not self.loop.is_closed() and not self.loop.is_running():
            self.loop.close()

    def __enter__(self) -> "BridgeServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_info(self):
        from bridge_server.service import keys
        return self.app[keys.TOKEN]

    @property
    def token(self) -> str:
        return self.token_info.token

    @property
    def token_file(self):
        return self.token_info.file

    def call(self, method: str, path: str, body: Any = None, *, timeout: float = 300) -> tuple[int, Any]:
        """Ask the server directly (as the tests' reference), with the token."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
        try:
            with _opener.open(request, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")
