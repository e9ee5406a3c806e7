"""Shared test set-up: every test runs with its own config/data/cache folders and no network but loopback."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("AIRETOUCH_MODELS_DIR", str(ROOT / ".models"))
# Session-wide fallbacks for fixtures wider than one test (module/session scope run before the per-test
# isolation below): nothing may ever reach the real home or config folders.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="airetouch-tests-"))
for _var, _sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
    os.environ[_var] = str(_SESSION_HOME / _sub)
os.environ["AIRETOUCH_CONFIG_DIR"] = str(_SESSION_HOME / "config" / "airetouch")
os.environ["AIRETOUCH_DATA_DIR"] = str(_SESSION_HOME / "data" / "airetouch")
os.environ["AIRETOUCH_CACHE_DIR"] = str(_SESSION_HOME / "cache" / "airetouch")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Point every per-user folder (XDG, our own, keyring, HOME) at a temporary directory."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("AIRETOUCH_CONFIG_DIR", str(home / "config" / "airetouch"))
    monkeypatch.setenv("AIRETOUCH_DATA_DIR", str(home / "data" / "airetouch"))
    monkeypatch.setenv("AIRETOUCH_CACHE_DIR", str(home / "cache" / "airetouch"))
    # The vision models are provisioned once per machine (README set-up, .ci/run) and shared read-only.
    monkeypatch.setenv("AIRETOUCH_MODELS_DIR", os.environ["AIRETOUCH_MODELS_DIR"])
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("APPDATA", str(home / "AppData" / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(home / "AppData" / "Local"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (see README: tests use ../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_photos(shared_data) -> list[Path]:
    return sorted((shared_data / "photos").glob("*.*"))


@pytest.fixture(scope="session")
def preset_files(shared_data) -> list[Path]:
    return sorted((shared_data / "lightroom" / "presets").glob("*.xmp"))


class MemoryKeyring(KeyringBackend):
    """An OS keyring stand-in that keeps passwords in memory (headless machines have no keyring)."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    """Install an in-memory keyring for one test; `.items` holds what was stored."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def run_airetouch(*args, cwd=None):
    """Run the `airetouch` command line as a person does (a subprocess of this Python)."""
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "bridge_server.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture
def airetouch():
    return run_airetouch
