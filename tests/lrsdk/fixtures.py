"""pytest fixtures for the plug-in tests: the real bridge server and a Lightroom session talking to it.

Import them into a test module: `from lrsdk.fixtures import bridge, lightroom, planning  # noqa: F401`.
"""
from __future__ import annotations

import importlib.util
import socket

import pytest

from .harness import Lightroom


def free_port() -> int:
    """A loopback port with nothing listening on it (for "server not running")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def bridge(isolated_home):
    """The real bridge server on 127.0.0.1 (its token file lands in the test's AIRETOUCH_CONFIG_DIR)."""
    try:
        from bridge_server.service.app import create_app  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"waiting on the server: bridge_server.service.app is not importable ({exc})")
    from .bridge import BridgeServer
    server = BridgeServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lightroom(isolated_home, bridge) -> Lightroom:
    """Lightroom Classic on macOS with the plug-in, pointed at the test's bridge server."""
    lr = Lightroom(os_name="mac", home=isolated_home)
    lr.set_prefs(serverUrl=bridge.url)
    return lr


@pytest.fixture
def offline_lightroom(isolated_home) -> Lightroom:
    """Lightroom with the plug-in pointed at a loopback port where no server listens."""
    lr = Lightroom(os_name="mac", home=isolated_home)
    lr.set_prefs(serverUrl=f"http://127.0.0.1:{free_port()}")
    return lr


# What the server's routes import to plan, write sidecars, learn and write presets (bridge_server/retoucher.py).
PLAN_MODULES = ("bridge_server.vision.regions", "bridge_server.retouch.predictor", "bridge_server.lightroom.sdk")
SIDECAR_MODULES = PLAN_MODULES + ("bridge_server.lightroom.sidecar",)
LEARN_MODULES = ("bridge_server.vision.regions", "catalog.memory")
PRESET_MODULES = LEARN_MODULES + ("bridge_server.lightroom.preset",)


def _missing(modules) -> list[str]:
    missing = []
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except ModuleNotFoundError:
            missing.append(name)
    return missing


def wait_on_server(*groups) -> None:
    """Skip, naming them, while the server's pipeline modules that this test needs do not exist yet (a test
    whose modules exist runs, and fails if the server fails)."""
    missing = _missing(dict.fromkeys(name for group in groups for name in group))
    if missing:
        pytest.skip("waiting on the server: " + ", ".join(missing) + " not written yet")


@pytest.fixture
def planning(bridge):
    """The bridge, for tests that need real plans (skips while the plan pipeline is missing)."""
    wait_on_server(PLAN_MODULES)
    return bridge
