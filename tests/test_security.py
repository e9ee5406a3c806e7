"""The bridge's defences, against a real server on 127.0.0.1: token, Host and Origin checks, body size,
loopback-only binding, and the token's storage (0600 file, keyring)."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import keyring
import pytest

from bridge_server import cli
from bridge_server.core.paths import config_dir
from bridge_server.service.app import create_app
from bridge_server.service.config import ServerConfig
from bridge_server.service.errors import ConfigError
from bridge_server.core.secrets import SERVICE as KEYRING_SERVICE
from bridge_server.service.security import KEYRING_NAME, load_or_create_token

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server(aiohttp_client):
    async def make(**config):
        app = create_app(ServerConfig(**{"use_models": False, **config}))
        client = await aiohttp_client(app)
        client.token = (config_dir() / "token").read_text().strip()
        return client
    return make


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}




# -- bearer token ----------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_routes_need_the_token_and_health_does_not(server):
    client = await server()
    for headers in ({}, bearer("wrong-token"), bearer(client.token + "x"), {"Authorization": client.token},
                    {"Authorization": f"Basic {client.token}"}):
        resp = await client.get("/v1/schema/plan", headers=headers)
        assert resp.status == 401, headers
        assert (await resp.json())["error"]["code"] == "unauthorized"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = await client.post("/v1/plan", json={"photo": {"path": "/etc/hostname"}})
    assert resp.status == 401
    assert (await client.get("/v1/schema/plan", headers=bearer(client.token))).status == 200
    assert (await client.get("/v1/health")).status == 200


# -- Host and Origin -------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_foreign_host_headers_are_refused_even_for_health(server):
    client = await server()
    port = client.port
    for host in ("evil.example", f"evil.example:{port}", f"localhost.evil.example:{port}",
                 f"127.0.0.1.nip.io:{port}", f"127.0.0.1:{port + 1}", "192.168.1.10", ""):
        resp = await client.get("/v1/health", headers={"Host": host})
        assert resp.status == 403, host
        assert (await resp.json())["error"]["code"] == "forbidden_host"
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost", "127.0.0.1"):
        resp = await client.get("/v1/schema/plan", headers={"Host": host, **bearer(client.token)})
        assert resp.status == 200, host


@pytest.mark.asyncio
async def test_cross_origin_browser_requests_are_refused(server):
    client = await server()
    for origin in ("http://evil.example", "https://localhost.evil.example", "null", "file://",
                   "http://127.0.0.1.evil.example:8765"):
        resp = await client.get("/v1/schema/plan", headers={"Origin": origin, **bearer(client.token)})
        assert resp.status == 403, origin
        assert (await resp.json())["error"]["code"] == "forbidden_origin"
    resp = await client.options("/v1/plan", headers={"Origin": "http://evil.example",
                                                     "Access-Control-Request-Method": "POST"})
    assert resp.status == 403
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = await client.get("/v1/schema/plan", headers={"Origin": "http://localhost:3000", **bearer(client.token)})
    assert resp.status == 200


# -- sizes -----------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_oversized_bodies_are_413(server):
    client = await server(max_body=64 * 1024)
    body = b'{"photo": {"preview": "' + b"A" * (100 * 1024) + b'"}}'
    resp = await client.post("/v1/plan", data=body, headers={**bearer(client.token),
                                                             "Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "payload_too_large"

    async def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(10):
            yield b"A" * (16 * 1024)

    resp = await client.post("/v1/plan", data=chunks(), headers={**bearer(client.token),
                                                                 "Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "payload_too_large"
    small = await client.post("/v1/plan", json={"photo": {}}, headers=bearer(client.token))
    assert small.status == 400


# -- token storage ---------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_token_file_is_0600_in_a_0700_folder_and_holds_the_served_token(server):
    client = await server()
    token_file = config_dir() / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    assert len(client.token) >= 43  # 32 random bytes, URL-safe base64
    assert (await client.get("/v1/schema/plan", headers=bearer(client.token))).status == 200


def test_token_is_created_once_and_reused():
    first = load_or_create_token()
    second = load_or_create_token()
    assert first.created and not second.created
    assert first.token == second.token
    assert not first.in_keyring  # the null keyring of the tests: file only


def test_a_token_file_readable_by_others_is_made_private_again():
    info = load_or_create_token()
    info.file.chmod(0o644)
    again = load_or_create_token()
    assert again.token == info.token
    assert stat.S_IMODE(info.file.stat().st_mode) == 0o600


def test_token_is_kept_in_the_keyring_and_the_file(memory_keyring):
    info = load_or_create_token()
    assert info.in_keyring
    assert memory_keyring.items[(KEYRING_SERVICE, KEYRING_NAME)] == info.token
    assert info.file.read_text().strip() == info.token
    info.file.unlink()  # the file is restored from the keyring, with the same token
    again = load_or_create_token()
    assert again.token == info.token and info.file.read_text().strip() == info.token
    assert stat.S_IMODE(info.file.stat().st_mode) == 0o600


def test_token_command_shows_where_the_token_lives(capsys):
    assert cli.main(["token", "--show"]) == 0
    out = capsys.readouterr().out
    token = (config_dir() / "token").read_text().strip()
    assert str(config_dir() / "token") in out and token in out
    assert cli.main(["token", "--rotate"]) == 0
    assert (config_dir() / "token").read_text().strip() != token


# -- binding ---------------------------------------------------------------------------------------------
def test_the_server_refuses_to_listen_beyond_loopback_unless_allowed():
    with pytest.raises(ConfigError):
        ServerConfig(host="0.0.0.0")
    with pytest.raises(ConfigError):
        ServerConfig(host="192.168.1.10")
    assert ServerConfig(host="0.0.0.0", allow_remote=True).host == "0.0.0.0"
    assert ServerConfig(host="::1").host == "::1"
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 1


def _start_server(env: dict, *extra: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "bridge_server.cli", "serve", "--port", "0", "--no-models",
                             *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "listening on http://127.0.0.1:" in line:
            return proc, int(line.rsplit(":", 1)[1])
    proc.kill()
    raise AssertionError(f"the server did not start: {proc.stdout.read()}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_where_it_listens_and_stops_cleanly_on_signals(signum):
    import urllib.request
    proc, port = _start_server(dict(os.environ))
    try:
        rest = proc.stdout.readline()
        assert str(config_dir() / "token") in rest
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=10) as resp:
            assert resp.status == 200
        proc.send_signal(signum)
        proc.wait(30)
        out = proc.stdout.read()  # (communicate() with a timeout would skip buffered lines)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "stopped" in out and "Traceback" not in out
