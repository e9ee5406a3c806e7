"""Server and watch-folder configuration: built-in defaults, then `<config>/config.toml`, then command-line flags.

```toml
[server]
host = "127.0.0.1"      # loopback only unless allow_remote = true
port = 8765
workers = 2             # CPU worker threads (default min(2, cpu count))

[limits]
body_mb = 64            # request body (uploaded previews)
megapixels = 200        # image size
queue = 64              # photos waiting or running before the server answers 503 busy

[match]
steps = 150             # most optimisation steps of a "match a look" fit (fewer: faster, less exact)

[[watch]]
in = "/Users/me/Pictures/Incoming"
out = "/Users/me/Pictures/Retouched"   # optional
mode = "sidecar"                        # sidecar | render | both
profile = "weddings"                    # optional: a style-memory profile
```
"""
from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..core.paths import config_dir
from .errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MiB = 1024 * 1024
WATCH_MODES = ("sidecar", "render", "both")


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True)
class WatchFolder:
    """One watched folder: what arrives in `in_dir` gets a sidecar and/or a rendering (in `out_dir` if given)."""

    in_dir: Path
    out_dir: Path | None = None
    mode: str = "sidecar"
    profile: str | None = None
    render_format: str = "jpeg"

    def __post_init__(self):
        if self.mode not in WATCH_MODES:
            raise ConfigError(f"watch mode must be one of {', '.join(WATCH_MODES)}, not {self.mode!r}",
                              field="watch.mode")
        if self.render_format not in ("jpeg", "tiff"):
            raise ConfigError(f"render format must be jpeg or tiff, not {self.render_format!r}",
                              field="watch.format")


@dataclass(frozen=True)
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    allow_remote: bool = False
    workers: int = field(default_factory=default_workers)
    max_body: int = 64 * MiB
    max_pixels: int = 200_000_000
    queue_limit: int = 64
    use_models: bool = True
    match_steps: int = 150  # most optimisation steps of an exemplar fit (POST /v1/match)
    job_retention_s: float = 3600.0  # finished jobs are kept this long for GET /v1/jobs/{id}
    max_finished_jobs: int = 200
    watch: tuple[WatchFolder, ...] = ()
    token: str | None = None  # None: the stored token (created on first start)
    token_file: Path | None = None  # None: <config>/token

    def __post_init__(self):
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0..65535, not {self.port}", field="port")
        if self.workers < 1:
            raise ConfigError("workers must be at least 1", field="workers")
        if self.queue_limit < 1:
            raise ConfigError("the queue limit must be at least 1", field="queue")
        if not 1 <= self.match_steps <= 2000:
            raise ConfigError("match steps must be 1..2000", field="match.steps")
        if not self.allow_remote and not is_loopback_host(self.host):
            raise ConfigError(f"refusing to listen on {self.host}: the bridge listens on loopback only "
                              "(127.0.0.1, ::1, localhost) unless remote access is allowed explicitly "
                              "(--allow-remote)", field="host")

    def with_overrides(self, **changes) -> "ServerConfig":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def is_loopback_host(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_file() -> Path:
    return config_dir() / "config.toml"


def load_config(path: Path | None = None, **overrides) -> ServerConfig:
    """Defaults, then the config file (when present), then `overrides` (None values are ignored)."""
    path = path or config_file()
    values: dict = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the configuration: {exc}", path=str(path)) from None
        server = data.get("server", {})
        limits = data.get("limits", {})
        for key in ("host", "port", "allow_remote", "workers", "use_models"):
            if key in server:
                values[key] = server[key]
        if "body_mb" in limits:
            values["max_body"] = int(float(limits["body_mb"]) * MiB)
        if "megapixels" in limits:
            values["max_pixels"] = int(float(limits["megapixels"]) * 1_000_000)
        if "queue" in limits:
            values["queue_limit"] = int(limits["queue"])
        if "steps" in data.get("match", {}):
            values["match_steps"] = int(data["match"]["steps"])
        folders = []
        for i, entry in enumerate(data.get("watch", [])):
            if "in" not in entry:
                raise ConfigError("a [[watch]] entry needs `in`", path=str(path), field=f"watch[{i}].in")
            folders.append(WatchFolder(Path(entry["in"]).expanduser(),
                                       Path(entry["out"]).expanduser() if entry.get("out") else None,
                                       entry.get("mode", "sidecar"), entry.get("profile"),
                                       entry.get("format", "jpeg")))
        values["watch"] = tuple(folders)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ServerConfig(**values)
    except TypeError as exc:
        raise ConfigError(f"bad configuration value: {exc}", path=str(path)) from None
