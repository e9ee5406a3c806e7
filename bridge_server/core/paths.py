"""Where the bridge keeps its configuration, data and caches (XDG on Linux, the usual folders elsewhere).

Every location can be redirected with an environment variable, which is how tests keep away from the real
home folder: AIRETOUCH_CONFIG_DIR, AIRETOUCH_DATA_DIR, AIRETOUCH_CACHE_DIR, or the XDG variables.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "airetouch"


def _base(env_app: str, xdg: str, xdg_default: str, mac: str, win_env: str) -> Path:
    if os.environ.get(env_app):
        return Path(os.environ[env_app])
    if sys.platform == "darwin" and not os.environ.get(xdg):
        return Path.home() / mac / APP
    if sys.platform == "win32" and not os.environ.get(xdg):
        return Path(os.environ.get(win_env) or Path.home() / "AppData" / "Roaming") / APP
    return Path(os.environ.get(xdg) or Path.home() / xdg_default) / APP


def config_dir() -> Path:
    return _base("AIRETOUCH_CONFIG_DIR", "XDG_CONFIG_HOME", ".config", "Library/Application Support", "APPDATA")


def data_dir() -> Path:
    return _base("AIRETOUCH_DATA_DIR", "XDG_DATA_HOME", ".local/share", "Library/Application Support",
                 "LOCALAPPDATA")


def cache_dir() -> Path:
    return _base("AIRETOUCH_CACHE_DIR", "XDG_CACHE_HOME", ".cache", "Library/Caches", "LOCALAPPDATA")


def ensure(path: Path, mode: int = 0o700) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    return path
