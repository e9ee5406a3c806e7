"""`airetouch serve`: run the bridge server (loopback only by default) and any configured watch folders."""
from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the local bridge server for the Lightroom plugin",
                       description="Run the HTTP bridge the Lightroom Classic plugin talks to (docs/API.md). It "
                                   "listens on 127.0.0.1 only, needs the bearer token kept in the token file "
                                   "(`airetouch token`), and stops cleanly on Ctrl-C or SIGTERM.")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1; others need --allow-remote)")
    p.add_argument("--port", type=int, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow listening on a non-loopback address (anyone who can reach it and has the token "
                        "can read files this user can read)")
    p.add_argument("--watch", action="append", type=Path, default=[], metavar="DIR",
                   help="also watch this folder (sidecar mode, sidecars beside the photos); repeatable")
    p.add_argument("--workers", type=int, help="CPU worker threads (default min(2, cpu count))")
    p.add_argument("--queue", type=int, help="photos queued before answering 503 busy (default 64)")
    p.add_argument("--no-models", action="store_true", help="use the fallback detectors only")
    p.add_argument("--config", type=Path, help="configuration file (default <config>/config.toml)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..service.config import WatchFolder, is_loopback_host, load_config
    config = load_config(args.config, host=args.host, port=args.port, workers=args.workers,
                         queue_limit=args.queue, allow_remote=args.allow_remote or None,
                         use_models=False if args.no_models else None)
    if args.watch:
        config = config.with_overrides(watch=config.watch + tuple(WatchFolder(d) for d in args.watch))
    if not is_loopback_host(config.host):
        print(f"WARNING: listening on {config.host}: other machines can reach the bridge. Anyone with the token "
              "can make it read files this user can read.", file=sys.stderr)
    return asyncio.run(serve(config))


async def serve(config) -> int:
    from aiohttp import web

    from ..service import keys
    from ..service.app import create_app

    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else config.port
    host = f"[{config.host}]" if ":" in config.host else config.host
    token = app[keys.TOKEN]
    print(f"AI Retouch bridge listening on http://{host}:{port}", flush=True)
    print(f"token file: {token.file}" + (" (also in the OS keyring)" if token.in_keyring else ""), flush=True)
    for watcher in app[keys.WATCHERS]:
        print(f"watching {watcher.in_dir} ({watcher.mode})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C arrives as KeyboardInterrupt
            pass
    try:
        await stop.wait()
    finally:
        print("stopping: finishing the photos in progress ...", flush=True)
        await runner.cleanup()
        print("stopped", flush=True)
    return 0
