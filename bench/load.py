"""Load benchmark of the bridge server: plan requests from many concurrent clients.

Starts `airetouch serve` as a subprocess on a free loopback port (with its own temporary config folder, so
the user's token is not touched), drives N POST /v1/plan requests from C concurrent clients, and prints
throughput, p50/p95 latency, the number of errors other than deliberate 503 busy answers (must be 0), how
many 503s were answered (each retried after its Retry-After), and the server's peak RSS (VmHWM).

    .venv/bin/python bench/load.py                       # 200 requests, 32 clients, sample photos
    .venv/bin/python bench/load.py --requests 500 --concurrency 64 --queue 16 --no-models
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PHOTOS = ROOT.parent / "shared" / "data" / "photos"


def peak_rss_mib(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a process in MiB, from /proc (Linux)."""
    values = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmHWM", float("nan")), values.get("VmRSS", float("nan"))


def start_server(args, config_home: Path) -> tuple[subprocess.Popen, int, Path]:
    """The server in a subprocess, its output in a log file (a full pipe would stall it)."""
    env = dict(os.environ, AIRETOUCH_CONFIG_DIR=str(config_home / "config"),
               AIRETOUCH_DATA_DIR=str(config_home / "data"), PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    if "AIRETOUCH_MODELS_DIR" not in env and (ROOT / ".models").is_dir():  # the checkout's models, as tests use
        env["AIRETOUCH_MODELS_DIR"] = str(ROOT / ".models")
    command = [sys.executable, "-m", "bridge_server.cli", "serve", "--port", "0"]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if args.queue:
        command += ["--queue", str(args.queue)]
    if args.no_models:
        command.append("--no-models")
    log = config_home / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        for line in log.read_text().splitlines():
            if "listening on http://127.0.0.1:" in line:
                return proc, int(line.strip().rsplit(":", 1)[1]), log
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the server did not start:\n{log.read_text()}")


async def drive(port: int, token: str, photos: list[Path], total: int, concurrency: int) -> dict:
    url = f"http://127.0.0.1:{port}/v1/plan"
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    errors: list[str] = []
    busy = 0
    todo: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        todo.put_nowait(i)

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal busy
        while True:
            try:
                i = todo.get_nowait()
            except asyncio.QueueEmpty:
                return
            body = {"photo": {"path": str(photos[i % len(photos)]), "photo_id": f"bench-{i}"}}
            started = time.perf_counter()
            while True:
                try:
                    async with session.post(url, json=body, headers=headers) as resp:
                        await resp.read()
                        if resp.status == 503:  # deliberate back-pressure: wait as told, then retry
                            busy += 1
                            await asyncio.sleep(min(float(resp.headers.get("Retry-After", "1")), 5.0))
                            continue
                        if resp.status != 200:
                            errors.append(f"{resp.status} {(await resp.text())[:200]}")
                        else:
                            latencies.append(time.perf_counter() - started)
                except aiohttp.ClientError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                break

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "busy": busy, "elapsed": elapsed}


async def warm_up(port: int, token: str, photo: Path) -> float:
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        async with session.post(f"http://127.0.0.1:{port}/v1/plan", json={"photo": {"path": str(photo)}},
                                headers={"Authorization": f"Bearer {token}"}) as resp:
            text = await resp.text()
            if resp.status != 200:
                raise SystemExit(f"warm-up request failed: {resp.status} {text[:300]}")
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, help="server worker threads (default: the server's)")
    parser.add_argument("--queue", type=int, help="server queue limit (default: the server's, 64)")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="folder of photos to plan")
    parser.add_argument("--no-models", action="store_true", help="server uses fallback detectors only")
    args = parser.parse_args()
    photos = sorted(p for p in args.photos.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif",
                                                                              ".tiff", ".dng"))
    if not photos:
        raise SystemExit(f"no photos in {args.photos}")
    with tempfile.TemporaryDirectory(prefix="airetouch-load-") as home:
        proc, port, log = start_server(args, Path(home))
        try:
            token = (Path(home) / "config" / "token").read_text().strip()
            try:
                first = asyncio.run(warm_up(port, token, photos[0]))
            except SystemExit:
                print(log.read_text()[-3000:], file=sys.stderr)
                raise
            result = asyncio.run(drive(port, token, photos, args.requests, args.concurrency))
            crashed = proc.poll()
            hwm, rss = peak_rss_mib(proc.pid) if crashed is None else (float("nan"), float("nan"))
            if crashed is not None:
                print(f"THE SERVER DIED during the run (exit status {crashed})", file=sys.stderr)
            if result["errors"]:
                print(f"server log (end):\n{log.read_text()[-3000:]}", file=sys.stderr)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    lat = sorted(result["latencies"])
    p50 = statistics.median(lat) if lat else float("nan")
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))] if lat else float("nan")
    print(f"server: pid {proc.pid}, port {port}, cpu cores {os.cpu_count()}, photos {len(photos)} "
          f"({', '.join(p.name for p in photos[:3])}{', ...' if len(photos) > 3 else ''})")
    print(f"first request (cold models): {first * 1000:.0f} ms")
    print(f"requests: {args.requests} at {args.concurrency} concurrent clients, {len(lat)} succeeded in "
          f"{result['elapsed']:.2f} s")
    print(f"throughput: {len(lat) / result['elapsed']:.2f} plans/s")
    print(f"latency: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (end to end, including any 503 retries)")
    print(f"deliberate 503 busy answers (retried): {result['busy']}")
    print(f"errors other than 503: {len(result['errors'])}")
    for error in result["errors"][:5]:
        print(f"  {error}")
    print(f"server peak RSS (VmHWM): {hwm:.0f} MiB (RSS at the end {rss:.0f} MiB)")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
