"""Server configuration: built-in defaults, the config file, command-line overrides."""
from __future__ import annotations

import os

import pytest

from bridge_server.core.paths import config_dir
from bridge_server.service.config import MiB, ServerConfig, WatchFolder, load_config
from bridge_server.service.errors import ConfigError


def test_defaults_are_loopback_8765_and_the_documented_limits():
    config = load_config()
    assert (config.host, config.port) == ("127.0.0.1", 8765)
    assert config.max_body == 64 * MiB and config.max_pixels == 200_000_000 and config.queue_limit == 64
    assert config.workers == max(1, min(2, os.cpu_count() or 1))
    assert config.watch == ()
    assert config.match_steps == 150


def test_the_config_file_is_read_and_flags_override_it(tmp_path):
    inbox = tmp_path / "incoming"
    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "config.toml").write_text(f"""
[server]
port = 9000
workers = 1

[limits]
body_mb = 8
megapixels = 50
queue = 5

[match]
steps = 40

[[watch]]
in = "{inbox}"
out = "{tmp_path / 'out'}"
mode = "both"
profile = "weddings"
""")
    config = load_config()
    assert config.port == 9000 and config.workers == 1
    assert config.max_body == 8 * MiB and config.max_pixels == 50_000_000 and config.queue_limit == 5
    assert config.watch == (WatchFolder(inbox, tmp_path / "out", "both", "weddings"),)
    assert config.match_steps == 40
    assert load_config(port=9100, workers=None).port == 9100


def test_a_bad_config_file_is_reported_with_its_path(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text('[[watch]]\nin = "/x"\nmode = "sometimes"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert caught.value.field == "watch.mode"
    bad.write_text("[server\nport = ")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert caught.value.path == str(bad)


def test_limits_must_be_sane():
    for bad in ({"port": 70000}, {"workers": 0}, {"queue_limit": 0}, {"host": "10.0.0.2"}, {"match_steps": 0}):
        with pytest.raises(ConfigError):
            ServerConfig(**bad)
