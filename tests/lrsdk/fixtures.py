"""pytest fixtures for the plug-in tests: the real bridge server and a Lightroom session talking to it.

Import them into a test module: `from lrsdk.fixtures import bridge, lightroom  # noqa: F401`.
"""
from __future__ import annotations

import socket
from contextlib import contextmanager

import pytest

from .harness import Lightroom


def free_port() -> int:
    """A loopback port with nothing listening on it (for "server not running")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_bridge(**options):
    """The real bridge server on 127.0.0.1 for the duration (options: see BridgeServer)."""
    from .bridge import BridgeServer
    server = BridgeServer(**options).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bridge(isolated_home):
    """The real bridge server on 127.0.0.1 (its token file lands in the test's AIRETOUCH_CONFIG_DIR)."""
    with running_bridge() as server:
        yield server


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
